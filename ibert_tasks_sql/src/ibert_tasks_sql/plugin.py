"""Hook implementations of ibert-tasks-sql; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ibert_core import hookimpl
from ibert_core.registry import SqlReaderSpec, TaskSpec

if TYPE_CHECKING:
    import click

    from ibert_core.types import Schema


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    from ibert_tasks_sql.editing.specs import TASKS as editing_tasks
    from ibert_tasks_sql.translation.specs import TASKS as translation_tasks

    for spec in (*translation_tasks, *editing_tasks):
        register(spec)


def _read_sql(sql: str, dialect: str | None, schema: Schema | None) -> str:
    """The reference the translation is checked against, always in DuckDB's SQL: corrected
    where sqlglot misreads the dialect, else sqlglot's own transpilation."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    from ibert_core.errors import BadInput, UnsupportedConstruct
    from ibert_core.types import Schema
    from ibert_tasks_sql.translation.readings import corrected

    try:
        text, read = corrected(sql, dialect, schema if schema is not None else Schema(()))
    except UnsupportedConstruct as err:  # its meaning in the dialect is not certain
        raise BadInput(str(err)) from None
    if read == "duckdb":
        return text
    try:
        return ";\n".join(sqlglot.transpile(text, read=read, write="duckdb"))
    except SqlglotError as err:
        why = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise BadInput(f"sqlglot cannot parse it: {why}") from None


@hookimpl
def register_sql_readers(register: Callable[[SqlReaderSpec], None]) -> None:
    register(
        SqlReaderSpec(
            name="sql_readings",
            summary="Reads dialect SQL as the SQL→Ibis translator does (Redshift "
            "REGEXP_REPLACE and TRUNC, Snowflake TO_CHAR, T-SQL CONVERT styles ...)",
            read=_read_sql,
        )
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ibert_core.cli import data_commands
    from ibert_tasks_sql.corpus.cli import build_command, validate_command
    from ibert_tasks_sql.corpus.export import export_command

    data_commands(cli).add_command(build_command)
    data_commands(cli).add_command(validate_command)
    data_commands(cli).add_command(export_command)
