"""`ibert data validate DIR`: re-run every record's check and report the ones that fail.

A corpus can outlive the ibis version, the validator or the translator that built it; this
re-proves each record with what is installed now. Every record carries the verified pair it
came from (`meta.pair`), so even derived tasks can be re-checked against their source SQL.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import sqlglot
from sqlglot.errors import ErrorLevel

from ibert_core.corpus import read_examples
from ibert_core.errors import BadInput
from ibert_core.types import STAGES, Example, Schema, ValidationJob, Verdict
from ibert_tasks_sql.corpus import docstrings

BATCH = 64


@attrs.frozen
class Check:
    """The validation jobs one record needs and how to judge their verdicts."""

    jobs: tuple[ValidationJob, ...]
    judge: Callable[[Sequence[Verdict]], str | None]  # None = fine, else the failure


def _passes(verdicts: Sequence[Verdict]) -> str | None:
    for v in verdicts:
        if not v.passed:
            return v.feedback
    return None


def _schema(ex: Example) -> Schema:
    return Schema.from_dict(ex.context.get("tables") or {})


def _pair_sql(ex: Example) -> str:
    pair = ex.meta.get("pair") or {}
    if not pair.get("sql"):
        raise BadInput(f"record {ex.id} has no meta.pair.sql", "rebuild it with ibert data build")
    return str(pair["sql"])


def check_sql_to_ibis(ex: Example) -> Check:
    job = ValidationJob(ex.target["code"], _schema(ex), reference_sql=ex.input["sql"])
    return Check((job,), _passes)


def check_ibis_to_sql(ex: Example) -> Check:
    sql, dialect = str(ex.target["sql"]), ex.dialect or "duckdb"
    options: dict[str, Any] = {}
    if dialect != "duckdb":
        sql = sqlglot.transpile(
            sql, read=dialect, write="duckdb", unsupported_level=ErrorLevel.RAISE
        )[0]
        options["seeds"] = 1
    job = ValidationJob(ex.input["code"], _schema(ex), reference_sql=sql, options=options)
    return Check((job,), _passes)


def _mined_without_reference(ex: Example) -> bool:
    """A mined record checked without a SQL reference (the miner ran it, nothing to compare)."""
    return ex.meta.get("source") == "mined" and not (ex.meta.get("pair") or {}).get("sql")


def check_completion(ex: Example) -> Check:
    code = ex.input["prefix"] + ex.target["rest"]
    if _mined_without_reference(ex):
        required = tuple(ex.verdict.get("required") or STAGES[:-1])
        stages = tuple(s for s in STAGES if s in required and s != "compare")
        return Check((ValidationJob(code, _schema(ex), stages=stages),), _passes)
    return Check((ValidationJob(code, _schema(ex), reference_sql=_pair_sql(ex)),), _passes)


def check_error_resolution(ex: Example) -> Check:
    sql = _pair_sql(ex)
    broken = ValidationJob(ex.input["code"], _schema(ex), reference_sql=sql)
    fixed = ValidationJob(ex.target["code"], _schema(ex), reference_sql=sql)

    def judge(verdicts: Sequence[Verdict]) -> str | None:
        broken_v, fixed_v = verdicts
        failed = broken_v.failed
        if broken_v.passed or failed is None:
            return "the broken code passes now: it is no longer an error"
        if failed.name == "compare":
            return "the broken code now runs and only differs in its results"
        return _passes([fixed_v])

    return Check((broken, fixed), judge)


def check_documentation(ex: Example) -> Check:
    code = str(ex.meta.get("pair", {}).get("code") or "")
    job = ValidationJob(code, _schema(ex), reference_sql=_pair_sql(ex))
    documented = str(ex.target["code"])

    def judge(verdicts: Sequence[Verdict]) -> str | None:
        problem = _passes(verdicts)
        if problem:
            return problem
        funcs = [n for n in ast.parse(documented).body if isinstance(n, ast.FunctionDef)]
        params = [a.arg for a in funcs[0].args.args] if funcs else []
        columns = list(verdicts[0].artifacts.get("columns") or ())
        return docstrings.check(documented, params, columns)

    return Check((job,), judge)


CHECKS: dict[str, Callable[[Example], Check]] = {
    "sql_to_ibis": check_sql_to_ibis,
    "ibis_to_sql": check_ibis_to_sql,
    "code_completion": check_completion,
    "error_resolution": check_error_resolution,
    "documentation": check_documentation,
}


def _records(path: Path) -> Iterator[Example]:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise BadInput(f"{path} holds no .jsonl files", "point at a corpus built by ibert data")
    for file in files:
        yield from read_examples(file)


def recheck(
    path: Path, validator: Any, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """Counts of passed / failed / skipped per task and the failures (id, task, reason)."""
    tally: dict[str, Counter[str]] = {}
    failures: list[dict[str, str]] = []
    batch: list[tuple[Example, Check]] = []

    def flush(items: Iterable[tuple[Example, Check]]) -> None:
        items = list(items)
        jobs = [job for _, check in items for job in check.jobs]
        verdicts = validator.validate_many(jobs) if jobs else []
        at = 0
        for ex, check in items:
            mine = verdicts[at : at + len(check.jobs)]
            at += len(check.jobs)
            problem = check.judge(mine)
            tally.setdefault(ex.task, Counter())["failed" if problem else "passed"] += 1
            if problem:
                failures.append({"id": ex.id, "task": ex.task, "reason": problem})
        if progress:
            progress(len(items))

    mined_skipped = 0
    for ex in _records(path):
        maker = CHECKS.get(ex.task)
        if ex.task == "documentation" and _mined_without_reference(ex):
            maker = None  # the mined function runs only with the miner's call site
            mined_skipped += 1
        if maker is None:
            tally.setdefault(ex.task, Counter())["skipped"] += 1
            continue
        try:
            batch.append((ex, maker(ex)))
        except (BadInput, KeyError, sqlglot.errors.SqlglotError) as err:
            tally.setdefault(ex.task, Counter())["failed"] += 1
            failures.append({"id": ex.id, "task": ex.task, "reason": f"not checkable: {err}"})
        if len(batch) >= BATCH:
            flush(batch)
            batch = []
    flush(batch)
    total: Counter[str] = Counter()
    for counts in tally.values():
        total.update(counts)
    return {
        "passed": total["passed"],
        "failed": total["failed"],
        "skipped": total["skipped"],
        "by_task": {t: dict(c) for t, c in sorted(tally.items())},
        "failures": failures,
        "notes": (
            ["qa answers are text from the docs index; they are not re-run here"]
            if "qa" in tally
            else []
        )
        + (
            [f"{mined_skipped} mined documentation records have no reference to re-run: skipped"]
            if mined_skipped
            else []
        ),
    }
