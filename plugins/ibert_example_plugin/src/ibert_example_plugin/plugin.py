"""The `sql_pretty` task: lay SQL out readably, and prove the layout changed nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import click

from ibert_core import hookimpl
from ibert_core.engine import candidate
from ibert_core.errors import BadInput
from ibert_core.registry import TaskSpec
from ibert_core.types import Attempt, Candidate, Stage, TaskRequest, Verdict


class SqlPretty:
    name = "sql_pretty.sqlglot"

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> list[Candidate]:
        import sqlglot  # heavy imports inside the handler, never at plugin import

        if feedback:  # a deterministic engine has nothing new to offer on a retry
            return []
        dialect = request.dialect or "duckdb"
        lead = bool(request.options.get("leading_comma"))
        try:
            parts = sqlglot.transpile(request.text, read=dialect, pretty=True, leading_comma=lead)
        except sqlglot.ParseError as err:
            raise BadInput(f"cannot parse the SQL: {str(err).splitlines()[0]}") from None
        return [candidate(";\n\n".join(parts), self.name)]

    def validate(self, request: TaskRequest, cand: Candidate) -> Verdict:
        import sqlglot

        dialect, started = request.dialect or "duckdb", time.perf_counter()
        try:
            ours = sqlglot.parse(cand.text, read=dialect)
        except sqlglot.ParseError as err:
            msg = str(err).splitlines()[0]
            return Verdict([Stage("parse", False, msg)], required=("parse", "compare"))
        parsed = Stage("parse", True, duration=time.perf_counter() - started)
        same = ours == sqlglot.parse(request.text, read=dialect)
        why = "" if same else "the laid-out SQL parses to a different statement than the input"
        return Verdict([parsed, Stage("compare", same, why)], required=("parse", "compare"))


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    register(
        TaskSpec(
            name="sql_pretty",
            summary="Lay out SQL readably; verified by re-parsing to the same statement.",
            factory=lambda context: SqlPretty(),
            input_kind="sql",
            output_kind="sql",
            options=(click.Option(["--leading-comma"], is_flag=True, help="Commas first."),),
        )
    )
