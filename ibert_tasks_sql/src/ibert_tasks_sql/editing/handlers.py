"""The two task handlers: each is its deterministic engine as a candidate source, and its
check through the shared DuckDB validator (never the in-process build alone)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from ibert_core.engine import Context, candidate
from ibert_core.errors import IbertError
from ibert_core.types import (
    STAGES,
    Attempt,
    Candidate,
    Schema,
    TaskRequest,
    ValidationJob,
    Verdict,
)
from ibert_tasks_sql.editing.building import with_expr_assignment

BUILD_STAGES = ("parse", "build", "compile")


def _dialect(request: TaskRequest) -> str:
    return request.dialect or "duckdb"


class CompletionHandler:
    """Completions from type introspection, ranked by usage; the answer is the code with
    the best completion that builds inserted at the cursor."""

    name = "code_completion"

    def __init__(self, context: Context) -> None:
        from ibert_tasks_sql.editing.usage import load_usage

        self.context = context
        self.usage = load_usage(context.config)

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> Iterator[Candidate]:
        from ibert_tasks_sql.editing.completion import complete

        if feedback:
            return
        n = int(request.options.get("n") or 5)
        result = complete(request.text, request.schema, self.usage,
                          request.options.get("cursor"), n)
        if not result.completions:
            raise IbertError(
                f"nothing to complete at the cursor ({result.site.kind} position)",
                result.note or "put the cursor after a `.`, inside a call, or after a name",
            )
        listing = [c.to_dict() for c in result.completions]
        common = {"completions": listing, "receiver_type": result.receiver_type,
                  "site": result.site.kind, "usage_source": self.usage.source}
        ordered = [c for c in result.completions if c.checked] + [
            c for c in result.completions if not c.checked]
        for c in ordered:
            yield candidate(result.completed(c), "type_introspection", completion=c.text, **common)

    def validate(self, request: TaskRequest, candidate: Candidate) -> Verdict:
        job = ValidationJob(with_expr_assignment(candidate.text), request.schema,
                            dialect=_dialect(request), data=request.data, stages=BUILD_STAGES)
        return self.context.validator("duckdb").validate(job)


class ResolutionHandler:
    """Fixed code from the rule engine; a failed check's message drives the next round."""

    name = "error_resolution"

    def __init__(self, context: Context) -> None:
        self.context = context

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> Iterator[Candidate]:
        from ibert_tasks_sql.editing.resolution import resolve

        config = self.context.config
        if not feedback:
            res = resolve(request.text, request.schema, request.options.get("error"),
                          _dialect(request), config=config)
            previous: list[dict[str, Any]] = []
        else:
            last = feedback[-1]
            res = resolve(last.candidate.text, request.schema, last.verdict.feedback,
                          _dialect(request), config=config, force=True)
            if res.code == last.candidate.text:
                return
            previous = list(last.candidate.extra.get("changes", ()))
        extra = res.to_extra()
        extra["changes"] = previous + extra["changes"]
        extra["notes"] = list(res.notes)
        if res.hint:
            extra["hint"] = res.hint
        yield candidate(res.code, "fix_rules", **extra)

    def validate(self, request: TaskRequest, candidate: Candidate) -> Verdict:
        sql = request.options.get("sql")
        if sql:
            stages: tuple[str, ...] = STAGES
        elif request.data is not None or _on_schema_tables(candidate.text, request.schema):
            # run it (on the user's data or on fixtures from the schema): a fix that compiles
            # can still fail in DuckDB, e.g. `date_col == "2024"`
            stages = STAGES[:4]
        else:
            stages = BUILD_STAGES
        job = ValidationJob(with_expr_assignment(candidate.text), request.schema,
                            reference_sql=sql, dialect=_dialect(request), data=request.data,
                            stages=stages)
        verdict = self.context.validator("duckdb").validate(job)
        return _with_hint(verdict, candidate.extra.get("hint"))


def _on_schema_tables(code: str, schema: Schema | None) -> bool:
    """Whether the code reads only tables of the schema (fixtures exist for those; code
    that declares its own `ibis.table(...)` is checked up to compile, as before)."""
    if schema is None:
        return False
    import ibis.expr.operations as ops

    from ibert_tasks_sql.editing.building import build

    out = build(code, schema, compile_sql=False)
    if not out.ok:
        return True  # the validator reports the failure itself
    known = {t.name for t in schema.tables}
    return all(t.name in known for t in out.expr.op().find(ops.UnboundTable))


def _with_hint(verdict: Verdict, hint: str | None) -> Verdict:
    """The failed check's message followed by what to do, when the rules know (the CLI
    prints only the failure; ibis's own "did you mean" may point the wrong way)."""
    failed = verdict.failed
    if hint is None or failed is None:
        return verdict
    stages = tuple(attrs.evolve(st, message=f"{st.message}; what to do: {hint}")
                   if st is failed else st for st in verdict.stages)
    return attrs.evolve(verdict, stages=stages)
