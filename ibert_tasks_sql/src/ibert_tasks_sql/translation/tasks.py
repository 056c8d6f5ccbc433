"""The `sql_to_ibis` and `ibis_to_sql` task handlers.

Both are thin: the deterministic engine proposes (the translator, or ibis's own compiler),
the DuckDB validator from the registry judges by execution. A model configured with
`--model` adds candidates that are judged the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ibert_core.engine import Context, candidate
from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.types import Attempt, Candidate, TaskRequest, ValidationJob, Verdict

ENGINE = "sql_to_ibis.transpiler"
COMPILER = "ibis_to_sql.compiler"

#: Dialects `ibis.to_sql` compiles to (ibis backend names) and the sqlglot name of each.
IBIS_DIALECTS: dict[str, str | None] = {
    "athena": "athena",
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "datafusion": None,
    "druid": "druid",
    "duckdb": "duckdb",
    "exasol": "exasol",
    "flink": None,
    "impala": "hive",
    "materialize": "materialize",
    "mssql": "tsql",
    "mysql": "mysql",
    "oracle": "oracle",
    "postgres": "postgres",
    "pyspark": "spark",
    "risingwave": "risingwave",
    "singlestoredb": "singlestore",
    "snowflake": "snowflake",
    "sqlite": "sqlite",
    "trino": "trino",
}
#: sqlglot spellings users type, mapped to ibis backend names.
DIALECT_ALIASES = {
    "tsql": "mssql",
    "sqlserver": "mssql",
    "spark": "pyspark",
    "postgresql": "postgres",
    "singlestore": "singlestoredb",
}


def _require_schema(request: TaskRequest, what: str) -> None:
    if request.schema is None or not request.schema.tables:
        raise BadInput(
            f"{what} needs the tables' schema",
            "pass --schema FILE (or inline 't(a int64, b string)'), --db FILE or --parquet DIR",
        )


class SqlToIbis:
    """SQL → idiomatic Ibis code; the translator answers once, models may refine."""

    name = "sql_to_ibis"

    def __init__(self, context: Context) -> None:
        self.context = context

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> Iterable[Candidate]:
        if feedback:
            return []  # deterministic: a second try would be the same translation
        _require_schema(request, "sql_to_ibis")
        from ibert_tasks_sql.translation.translate import translate

        assert request.schema is not None
        result = translate(request.text, request.schema, request.dialect)
        extra: dict[str, Any] = {"code": result.code, "tables": list(result.tables)}
        text = result.code
        if request.options.get("standalone"):
            from ibert_tasks_sql.translation.standalone import standalone_script

            text = standalone_script(result.code, request.schema, result.tables, request.data)
        return [candidate(text, ENGINE, **extra)]

    def validate(self, request: TaskRequest, cand: Candidate) -> Verdict:
        from ibert_tasks_sql.translation.readings import reference

        code = cand.extra.get("code", cand.text)
        sql, dialect = request.text, request.dialect or "duckdb"
        if request.schema is not None:
            # sqlglot's misreadings of the dialect corrected, as for the translation
            sql, dialect = reference(request.text, request.dialect, request.schema)
        job = ValidationJob(
            code, schema=request.schema, reference_sql=sql, dialect=dialect, data=request.data
        )
        return self.context.validator("duckdb").validate(job)


def ibis_dialect(name: str | None) -> str:
    """The ibis compiler name for `--to`, or an error suggesting the closest one."""
    wanted = (name or "duckdb").lower()
    wanted = DIALECT_ALIASES.get(wanted, wanted)
    if wanted not in IBIS_DIALECTS:
        raise UnknownNameError("SQL dialect", wanted, IBIS_DIALECTS)
    return wanted


class IbisToSql:
    """Ibis code → SQL in a dialect, checked by running the expression against its SQL."""

    name = "ibis_to_sql"

    def __init__(self, context: Context) -> None:
        self.context = context

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> Iterable[Candidate]:
        if feedback:
            return []
        _require_schema(request, "ibis_to_sql")
        # the input is Ibis, so a --dialect can only mean the SQL wanted (it was ignored)
        target = ibis_dialect(request.options.get("to") or request.dialect)
        job = ValidationJob(
            request.text,
            schema=request.schema,
            data=request.data,
            stages=("parse", "build", "compile"),
            options={"compile_dialect": target},
        )
        verdict = self.context.validator("duckdb").validate(job)
        if not verdict.passed:
            failed = verdict.failed
            # the DuckDB SQL is there when only the compilation to the target failed
            if failed is not None and failed.name == "compile" and "sql" in verdict.artifacts:
                raise BadInput(
                    f"{target} cannot express this Ibis code: {failed.message}",
                    "it compiles to DuckDB; rewrite the part named or pick another --to",
                )
            raise BadInput(
                f"the Ibis code does not compile: {verdict.feedback}",
                "fix the code (it reads tables as free names and assigns `expr`)",
            )
        duckdb_sql = verdict.artifacts["sql"]
        sql = verdict.artifacts.get("dialect_sql", duckdb_sql)
        return [candidate(sql, COMPILER, code=request.text, duckdb_sql=duckdb_sql, to=target)]

    def validate(self, request: TaskRequest, cand: Candidate) -> Verdict:
        """Run the expression and compare with the SQL: the target dialect's SQL read back
        into DuckDB when sqlglot can, else ibis's DuckDB SQL for the same expression."""
        code = cand.extra.get("code", request.text)
        target = cand.extra.get("to", "duckdb")
        validator = self.context.validator("duckdb")
        read_as = IBIS_DIALECTS.get(target)
        if read_as is not None:
            verdict = validator.validate(
                ValidationJob(
                    code,
                    schema=request.schema,
                    reference_sql=cand.text,
                    dialect=read_as,
                    data=request.data,
                )
            )
            if "reference_error" not in verdict.artifacts:
                return verdict
        reference = cand.extra.get("duckdb_sql", cand.text)
        return validator.validate(
            ValidationJob(
                code,
                schema=request.schema,
                reference_sql=reference,
                dialect="duckdb",
                data=request.data,
            )
        )
