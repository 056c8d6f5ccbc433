"""The hooks a plugin can implement. Each docstring is the reference for that hook.

Plugins are found through the `ibert` entry-point group. A plugin module holds only
hookimpls; heavy imports belong in the factories the specs point to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from ibert_core.registry import (
        AdapterSpec,
        EmbedderSpec,
        MinerSpec,
        SqlReaderSpec,
        TaskSpec,
        ValidatorSpec,
    )
    from ibert_core.types import Schema

hookspec = pluggy.HookspecMarker("ibert")
hookimpl = pluggy.HookimplMarker("ibert")


@hookspec
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Add tasks that `ibert run NAME` can perform.

    Runs once when the plugin manager's registries are first built. Call
    `register(TaskSpec(...))` for each task; the core records the plugin and
    distribution, and refuses a name another plugin already took.
    """


@hookspec
def register_validators(register: Callable[[ValidatorSpec], None]) -> None:
    """Add validators that judge candidates (a DSL checked on some backends).

    Runs once when the registries are built. Call `register(ValidatorSpec(...))`;
    tasks obtain validators from the registry by name, never by import.
    """


@hookspec
def register_miners(register: Callable[[MinerSpec], None]) -> None:
    """Add miners that find examples in a kind of source (git, path, package, notebook, docs).

    Runs once when the registries are built. Call `register(MinerSpec(...))`.
    """


@hookspec
def register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    """Add model backends or adapter providers (for example Hugging Face + LoRA).

    Runs once when the registries are built. Call `register(AdapterSpec(...))`.
    """


@hookspec
def register_embedders(register: Callable[[EmbedderSpec], None]) -> None:
    """Add text embedders that dense retrieval (the `qa` task's index) can use.

    Runs once when the registries are built. Call `register(EmbedderSpec(...))`; a task
    asks `context.embedder()`, which picks the configured one (`embedder = NAME`) or the
    first whose model is installed, so no task imports a model library itself.
    """


@hookspec
def register_sql_readers(register: Callable[[SqlReaderSpec], None]) -> None:
    """Add readers that say what SQL in a dialect means, as DuckDB SQL.

    Runs once when the registries are built. Call `register(SqlReaderSpec(...))`; its
    `read(sql, dialect, schema)` corrects what sqlglot's transpilation misreads (a
    function the warehouse defines otherwise). `ibert validate --dialect X` reads its
    reference with the configured one (`sql_reader = NAME`) or the first registered.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the `ibert` CLI.

    Runs when the CLI is first invoked, after the built-in commands exist.
    `cli` is the top-level group: use `@cli.command()` or `cli.add_command(...)`.
    """


@hookspec(firstresult=True)
def resolve_model(model_id: str, adapter: str | None) -> str | None:
    """Name the adapter backend (an `AdapterSpec` name) that serves `model_id`.

    Runs when a request names a model with `--model`. Return the backend's name if this
    plugin can load the model, else None; the first non-None answer wins. When no plugin
    answers, the run fails naming the model (no other model is substituted).
    """


@hookspec(firstresult=True)
def load_schema(kind: str, location: str) -> Schema | None:
    """Read a schema the core cannot read itself.

    Runs when a user passes `--schema file.sql` (kind `"sql"`), `--db file.duckdb`
    (kind `"db"`) or `--parquet DIR` (kind `"parquet"`). Return a `Schema`, or None
    to let another plugin answer. The first non-None answer wins.
    """
