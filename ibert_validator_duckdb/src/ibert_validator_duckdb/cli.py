"""`ibert validate`: check Ibis code against SQL from the command line.

Exit 0 when equivalent, 1 when not, 2 when the input cannot be used (including a
reference SQL that does not run).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import click

from ibert_core.cli import current_pm, read_input, resolve_schema, schema_options
from ibert_core.errors import BadInput, IbertError
from ibert_core.types import STAGES, Schema, ValidationJob, Verdict, to_jsonable

#: What the build stage says of a free name the (empty) schema does not define.
UNDEFINED = "is not defined"


def _check_dialect(dialect: str) -> None:
    """A dialect sqlglot does not know, said before any check runs."""
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(dialect)
    except ValueError as err:
        raise BadInput(f"unknown --dialect {dialect!r}: {err}", "pass a dialect sqlglot reads "
                       "(duckdb, postgres, snowflake, bigquery, tsql ...)") from None


def _read_reference(
    sql: str, dialect: str, schema: Schema | None, config: Mapping[str, Any]
) -> tuple[str, str, str | None]:
    """The reference as the validator runs it, its dialect, and the reader that read it.

    sqlglot's transpilation misreads some dialects' functions (Redshift's REGEXP_REPLACE
    replaces every match, not the first): an installed SQL reader (`register_sql_readers`,
    e.g. ibert-tasks-sql's, which the SQL→Ibis translator uses too) says what the query
    means in DuckDB's SQL. With none installed the validator transpiles it with sqlglot.
    """
    if dialect == "duckdb":
        return sql, dialect, None
    reader = current_pm().registries.sql_reader(config.get("sql_reader") or None)
    if reader is None:
        return sql, dialect, None
    try:
        duck = reader.read(sql, dialect, schema)
    except IbertError as err:  # the reader refuses this SQL; anything else is its bug
        lines = str(err).strip().splitlines()
        source = f" from {reader.distribution}" if reader.distribution else ""
        raise BadInput(
            f"SQL reader {reader.name!r}{source} cannot read --sql as {dialect}: "
            f"{lines[0].rstrip('.') if lines else type(err).__name__}",
            "fix --sql, or pick another reader (sql_reader = NAME, IBERT_SQL_READER)",
        ) from None
    return duck, "duckdb", reader.name


def _print(verdict: Verdict, as_json: bool, reader: str | None = None) -> None:
    if as_json:
        data = to_jsonable(verdict)
        data["passed"] = verdict.passed
        data["reference_reader"] = reader
        click.echo(json.dumps(data, indent=2, default=str))
        return
    for stage in verdict.stages:
        mark = "ok  " if stage.ok else "FAIL"
        text = f" {stage.message}" if stage.message else ""
        click.echo(f"{mark} {stage.name:<8} {stage.duration * 1000:7.1f} ms{text}")
    click.echo("equivalent" if verdict.passed else f"not equivalent: {verdict.feedback}")


@click.command("validate")
@click.option("--sql", "sql", metavar="SQL", help="Reference SQL: a file path or the text.")
@click.option(
    "--ibis",
    "code",
    required=True,
    metavar="CODE",
    help="Ibis code (tables as free names, result in `expr`): a file path or text.",
)
@schema_options
@click.option(
    "--dialect",
    default="duckdb",
    show_default=True,
    help="SQL dialect of --sql (any dialect sqlglot reads).",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=None,
    help="Number of fixture seeds (default 3).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Wall seconds per check.",
)
@click.option(
    "--ordered/--unordered",
    default=None,
    help="Force order-sensitive comparison (default: when the SQL has ORDER BY).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdict with every stage.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def validate_command(
    sql: str | None,
    code: str,
    schema: str | None,
    db: str | None,
    parquet: str | None,
    dialect: str,
    seeds: int | None,
    timeout: float | None,
    ordered: bool | None,
    as_json: bool,
    debug: bool,
) -> None:
    """Check that Ibis code returns what SQL returns, on fixtures or on real data."""
    from ibert_core.config import load_config
    from ibert_validator_duckdb.validator import from_config

    schema_value, data = resolve_schema(schema, db, parquet)
    # Code that reads no table (literals, `ibis.memtable`) needs no schema; code that does
    # fails to build on the empty one, and is told to pass one below.
    tableless = schema_value is None and data is None
    if tableless:
        schema_value = Schema(())
    options: dict[str, object] = {}
    if seeds is not None:
        options["seeds"] = seeds
    if timeout is not None:
        options["timeout"] = timeout
    if ordered is not None:
        options["ordered"] = ordered
    reference = read_input(sql) if sql is not None else None
    if reference is not None and not reference.strip():
        raise BadInput("--sql is empty", "pass the reference query (text or a file), or leave "
                       "--sql out to check only that the code runs")
    _check_dialect(dialect)
    config = load_config()
    reader = None
    if reference is not None:
        reference, dialect, reader = _read_reference(reference, dialect, schema_value, config)
    job = ValidationJob(
        code=read_input(code),
        schema=schema_value,
        reference_sql=reference,
        dialect=dialect,
        data=data,
        stages=STAGES if reference else STAGES[:4],
        options=options,
    )
    with from_config(config, workers=1) as validator:  # [validators.duckdb] limits
        verdict = validator.validate(job)
    failed = verdict.failed
    if tableless and failed is not None and failed.name == "build" and UNDEFINED in failed.message:
        raise BadInput(f"no schema given: {failed.message}", "pass --schema, --db or --parquet")
    _print(verdict, as_json, reader)
    if "reference_error" in verdict.artifacts:
        raise BadInput(
            f"the reference SQL cannot be used: {verdict.artifacts['reference_error']}",
            "fix --sql (it must be one query that runs on the schema)",
        )
    sys.exit(0 if verdict.passed else 1)
