"""Hook implementations of ibert-validator-duckdb; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ibert_core.hookspecs import hookimpl

if TYPE_CHECKING:
    import click

    from ibert_core.types import Schema


def _factory(context: Any) -> Any:
    from ibert_validator_duckdb.validator import factory

    return factory(context)


@hookimpl
def register_validators(register: Callable[[Any], None]) -> None:
    from ibert_core.registry import ValidatorSpec

    register(
        ValidatorSpec(
            name="duckdb",
            summary="Runs Ibis code and reference SQL on DuckDB fixtures in a sandbox; "
            "compares the results",
            factory=_factory,
            dsl="ibis",
            backends=("duckdb",),
        )
    )


@hookimpl
def load_schema(kind: str, location: str) -> Schema | None:
    if kind not in ("sql", "db", "parquet"):
        return None
    from ibert_validator_duckdb.schemas import load_schema as load

    return load(kind, location)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ibert_validator_duckdb.cli import validate_command

    cli.add_command(validate_command)
