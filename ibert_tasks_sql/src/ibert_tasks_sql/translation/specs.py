"""Task specs of this package: cheap to import (no ibis, no sqlglot); factories import."""

from __future__ import annotations

from typing import Any

import click

from ibert_core.registry import TaskSpec


def _sql_to_ibis(context: Any) -> Any:
    from ibert_tasks_sql.translation.tasks import SqlToIbis

    return SqlToIbis(context)


def _ibis_to_sql(context: Any) -> Any:
    from ibert_tasks_sql.translation.tasks import IbisToSql

    return IbisToSql(context)


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        name="sql_to_ibis",
        summary="Translate a SQL query into idiomatic Ibis code, verified by running both.",
        factory=_sql_to_ibis,
        validators=("duckdb",),
        input_kind="sql",
        output_kind="ibis",
        options=(
            click.Option(
                ["--standalone"],
                is_flag=True,
                help="Print a runnable script: connect to DuckDB, define the tables, print.",
            ),
        ),
    ),
    TaskSpec(
        name="ibis_to_sql",
        summary="Compile Ibis code (free table names, assigns `expr`) to SQL, verified by running.",
        factory=_ibis_to_sql,
        validators=("duckdb",),
        input_kind="ibis",
        output_kind="sql",
        options=(
            click.Option(
                ["--to"],
                default=None,
                help="Target SQL dialect (any ibis SQL backend: postgres, snowflake, mssql...); "
                "default: --dialect if given, else duckdb.",
            ),
        ),
    ),
)
