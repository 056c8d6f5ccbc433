"""Benchmark of `ibert run qa` retrieval over the installed ibis.

Each question is labelled with the ibis symbols that answer it (any one of them counts
as found). Measures recall@1, recall@5 and MRR, the cold build and cached load times of
the index, and the warm per-question latency; for whole answers, the share verified and
the share whose example shows a labelled symbol ("on target"); and how many symbols with
docstring examples get one that runs in the sandbox, with why the others do not. Writes
bench/results/qa.json.

The questions below have been used to tune retrieval (the dev set). `--heldout` scores the
questions of bench/qa_heldout.json instead, written in users' words and never used
for tuning, and writes bench/results/qa_heldout.json (without the example coverage, which
does not depend on the questions).

    .venv/bin/python bench/qa.py
    .venv/bin/python bench/qa.py --heldout
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

#: (question, symbols that answer it). Written from the ibis API; every label is
#: checked against the index before scoring, so a renamed symbol fails loudly.
QUESTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("how do I compute a rolling mean?",
     ("Value.over", "ibis.trailing_window", "ibis.rows_window", "ibis.window")),
    ("how to pivot wider?", ("Table.pivot_wider",)),
    ("how do I read parquet into duckdb with ibis?", ("ibis.read_parquet", "Backend.read_parquet")),
    ("difference between mutate and select", ("Table.mutate", "Table.select")),
    ("how do I filter rows of a table with a condition?", ("Table.filter",)),
    ("group by a column and compute the sum of another",
     ("Table.group_by", "GroupedTable.aggregate", "Table.aggregate", "NumericColumn.sum")),
    ("how do I join two tables on a key column?", ("Table.join", "Table.inner_join")),
    ("left join keeping all rows from the left table", ("Table.left_join",)),
    ("keep only rows that have no match in another table", ("Table.anti_join",)),
    ("sort a table by a column in descending order",
     ("Table.order_by", "ibis.desc", "Value.desc")),
    ("show only the first 10 rows", ("Table.limit", "Table.head")),
    ("rename a column", ("Table.rename",)),
    ("drop a column from a table", ("Table.drop",)),
    ("replace missing values with zero", ("Table.fill_null", "Value.fill_null", "Value.coalesce")),
    ("remove rows that contain nulls", ("Table.drop_null",)),
    ("check whether a value is null", ("Value.isnull",)),
    ("count the distinct values of a column", ("Column.nunique",)),
    ("how often does each value occur in a column?",
     ("Column.value_counts", "Table.value_counts")),
    ("remove duplicate rows", ("Table.distinct",)),
    ("write a SQL CASE WHEN expression", ("ibis.cases", "Value.cases")),
    ("if else on a boolean condition", ("ibis.ifelse", "BooleanValue.ifelse")),
    ("cast a column to a different data type", ("Value.cast",)),
    ("compile an ibis expression to a SQL string", ("ibis.to_sql", "Expr.compile")),
    ("execute an expression and get a pandas DataFrame", ("Table.to_pandas", "Expr.execute")),
    ("load a CSV file", ("ibis.read_csv", "Backend.read_csv")),
    ("connect to a duckdb database file", ("ibis.connect", "BaseBackend.connect")),
    ("create a table from in-memory data like a pandas dataframe", ("ibis.memtable",)),
    ("define an unbound table from a schema without data", ("ibis.table",)),
    ("extract the year from a date column", ("DateValue.year", "TimestampValue.year")),
    ("truncate a timestamp to the month", ("TimestampValue.truncate", "DateValue.truncate")),
    ("format a date as a string", ("TimestampValue.strftime", "DateValue.strftime")),
    ("parse a string column into a timestamp", ("StringValue.as_timestamp",)),
    ("convert a string column to lowercase", ("StringValue.lower",)),
    ("take a substring of a string", ("StringValue.substr",)),
    ("extract a part of a string with a regular expression", ("StringValue.re_extract",)),
    ("replace text inside a string column", ("StringValue.replace", "StringValue.re_replace")),
    ("check if a string contains a substring", ("StringValue.contains", "StringValue.like")),
    ("split a string into an array", ("StringValue.split",)),
    ("length of a string", ("StringValue.length",)),
    ("concatenate two string columns", ("StringValue.concat",)),
    ("compute the 90th percentile of a column",
     ("Column.quantile", "NumericColumn.approx_quantile")),
    ("median of a column", ("Column.median",)),
    ("standard deviation of a numeric column", ("NumericColumn.std",)),
    ("number the rows within each group", ("ibis.row_number", "Column.rank", "ibis.rank")),
    ("get the value from the previous row", ("Column.lag",)),
    ("running total / cumulative sum", ("NumericColumn.cumsum",)),
    ("stack the rows of two tables with the same columns", ("Table.union", "ibis.union")),
    ("rows that appear in both tables", ("Table.intersect", "ibis.intersect")),
    ("unpivot columns into rows (melt)", ("Table.pivot_longer",)),
    ("explode an array column into one row per element", ("Table.unnest", "ArrayValue.unnest")),
    ("select all numeric columns", ("ibis.selectors.numeric", "ibis.selectors.of_type")),
    ("apply the same function to many columns", ("ibis.selectors.across",)),
    ("select columns whose names start with a prefix", ("ibis.selectors.startswith",)),
    ("write a scalar python user defined function", ("scalar.python", "scalar.builtin")),
    ("round a number to two decimals", ("NumericValue.round",)),
    ("absolute value of a number", ("NumericValue.abs",)),
    ("bin numeric values into buckets", ("NumericColumn.bucket", "NumericColumn.histogram")),
    ("take a random sample of rows", ("Table.sample",)),
    ("count the number of rows in a table", ("Table.count",)),
    ("save the result of an expression to a parquet file",
     ("Expr.to_parquet", "Backend.to_parquet")),
    ("write the results to a csv file", ("Expr.to_csv", "Backend.to_csv")),
    ("run a raw SQL query and use the result as a table", ("SQLBackend.sql", "Table.sql")),
    ("list the tables in a database", ("BaseBackend.list_tables", "Backend.list_tables")),
    ("create a new table in the database", ("BaseBackend.create_table", "Backend.create_table")),
    ("number of days between two dates", ("DateValue.delta", "TimestampValue.delta")),
    ("add an interval of days to a timestamp", ("ibis.interval", "TimestampValue.add")),
    ("current timestamp", ("ibis.now",)),
    ("check if a value is in a list of values", ("Value.isin",)),
    ("check whether a value lies between two bounds", ("Value.between",)),
    ("first non-null value among several columns", ("ibis.coalesce", "Value.coalesce")),
    ("largest value across several columns in a row", ("ibis.greatest",)),
    ("length of an array column", ("ArrayValue.length",)),
    ("filter groups after aggregation like HAVING", ("GroupedTable.having",)),
    ("summary statistics of every column", ("Table.describe",)),
    ("window function partitioned by a column", ("ibis.window", "Value.over")),
    ("first value of a column in each group", ("Column.first",)),
    ("collect the values of a group into an array", ("Value.collect",)),
    ("join strings of a group with a separator", ("Value.group_concat",)),
    ("correlation between two columns", ("NumericColumn.corr",)),
    ("move a column to the front", ("Table.relocate",)),
    ("set the default backend", ("ibis.set_backend",)),
    ("join on the nearest earlier timestamp (as-of join)", ("Table.asof_join",)),
    ("cartesian product of two tables", ("Table.cross_join",)),
    ("value of one column where another column is largest", ("Column.argmax",)),
    ("aggregate over tumbling time windows", ("Table.window_by", "WindowedTable.tumble")),
    ("lead: the value from the next row", ("Column.lead",)),
)


HELDOUT = Path(__file__).parent / "qa_heldout.json"


def load_heldout(path: Path = HELDOUT) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The held-out questions, in the same (question, labels) shape as QUESTIONS."""
    data = json.loads(path.read_text())
    return tuple((q, tuple(labels)) for q, labels in data["questions"])


def _answers(
    questions: tuple[tuple[str, tuple[str, ...]], ...], wanted: list[set[str]]
) -> dict[str, object]:
    """Whole answers through the engine (retrieval + examples run in the validator's
    sandbox), warm: the index loaded and the validator's workers started. An answer's
    example is "on target" when it shows one of the question's labelled symbols (else it
    shows a neighbour's, because the labelled symbols' own examples did not run)."""
    from ibert_core import engine
    from ibert_core.plugins import make_context
    from ibert_core.types import TaskRequest

    with tempfile.TemporaryDirectory() as tmp:
        context = make_context(config={"cache_dir": tmp})
        try:
            engine.run(context, TaskRequest("qa", questions[0][0]))  # warm up
            times, verified, rounds, on_target, off = [], 0, [], 0, []
            for (question, _), labels in zip(questions, wanted, strict=True):
                t0 = time.perf_counter()
                result = engine.run(context, TaskRequest("qa", question))
                times.append((time.perf_counter() - t0) * 1000)
                verified += result.verified
                rounds.append(len(result.attempts))
                shown = str(result.extra.get("example_symbol") or "")
                if result.verified and shown in labels:
                    on_target += 1
                else:
                    off.append({"question": question, "example_of": shown or None})
        finally:
            context.close()
    times.sort()
    return {
        "verified_share": round(verified / len(questions), 3),
        "latency_ms": {"median": round(statistics.median(times), 1),
                       "p95": round(times[int(0.95 * (len(times) - 1))], 1),
                       "max": round(times[-1], 1)},
        "examples_tried_mean": round(sum(rounds) / len(rounds), 2),
        "example_on_target_share": round(on_target / len(questions), 3),
        "example_off_target": off,
    }


def _example_coverage(index: object) -> dict[str, object]:
    """How many symbols with docstring examples get one that runs in the validator's
    sandbox (on fixture rows, else on the rows the example wrote), and why the rest fail
    (the first failure's stage and rule, grouped)."""
    import re
    from collections import Counter

    from ibert_core.types import Schema, ValidationJob
    from ibert_tasks_docs.qa.examples import examples_for
    from ibert_validator_duckdb.validator import DuckDBValidator

    jobs, owners = [], []
    symbols = [s for s in index.symbols if s.kind != "doc" and s.examples]  # type: ignore[attr-defined]
    for sym in symbols:
        for ex in examples_for(sym):
            for variant in ex.variants():
                jobs.append(ValidationJob(variant.code, Schema.from_dict(variant.tables),
                                          stages=("parse", "build", "compile", "execute"),
                                          options={"seeds": (0,)}))
                owners.append(sym.qualname)
    t0 = time.perf_counter()
    with DuckDBValidator(workers=2) as validator:
        verdicts = validator.validate_many(jobs)
    seconds = time.perf_counter() - t0
    ran: dict[str, bool] = {s.qualname: False for s in symbols}
    first_failure: dict[str, str] = {}
    for owner, verdict in zip(owners, verdicts, strict=True):
        ran[owner] = ran[owner] or verdict.passed
        if not verdict.passed:
            first_failure.setdefault(owner, verdict.feedback)
    reasons = Counter(
        re.sub(r" \(line \d+\)|'[^']*'", lambda m: "'…'" if m.group(0)[0] == "'" else "",
               first_failure.get(q, "no example made runnable"))[:80]
        for q, ok in ran.items() if not ok
    )
    return {
        "symbols_with_examples": len(symbols),
        "symbols_with_a_running_example": sum(ran.values()),
        "share": round(sum(ran.values()) / len(symbols), 3),
        "examples_checked": len(jobs),
        "check_seconds": round(seconds, 2),
        "why_not": dict(reasons.most_common(12)),
    }


def main() -> None:
    from ibert_tasks_docs.qa.index import open_index

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--heldout", action="store_true",
                        help=f"score the held-out questions of {HELDOUT.name}")
    args = parser.parse_args()
    questions = load_heldout() if args.heldout else QUESTIONS

    with tempfile.TemporaryDirectory() as tmp:
        config = {"cache_dir": tmp}
        t0 = time.perf_counter()
        index = open_index(config=config)
        cold = time.perf_counter() - t0
        from ibert_tasks_docs.qa import index as index_mod

        index_mod._LOADED.clear()
        t0 = time.perf_counter()
        index = open_index(config=config)
        cached = time.perf_counter() - t0

    missing = [lab for _, labels in questions for lab in labels if not index.resolve(lab)]
    if missing:
        sys.exit(f"labels not in the index: {missing}")

    ranks: list[int | None] = []
    latencies: list[float] = []
    failures = []
    for question, labels in questions:
        wanted = {s.qualname for lab in labels for s in index.resolve(lab)}
        index.search(question, k=10)  # warm
        t0 = time.perf_counter()
        hits = index.search(question, k=10)
        latencies.append(time.perf_counter() - t0)
        rank = next((i + 1 for i, h in enumerate(hits) if h.symbol.qualname in wanted), None)
        ranks.append(rank)
        if rank is None or rank > 5:
            failures.append({"question": question, "labels": list(labels),
                             "top5": [h.symbol.short for h in hits[:5]]})

    answers = _answers(questions, [{s.qualname for lab in labels for s in index.resolve(lab)}
                                   for _, labels in questions])

    n = len(questions)
    lat_ms = sorted(x * 1000 for x in latencies)
    result = {
        "set": "heldout" if args.heldout else "dev",
        "questions": n,
        "retrieval": index.retrieval,
        "symbols": len(index.symbols),
        "recall@1": round(sum(r == 1 for r in ranks) / n, 3),
        "recall@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 3),
        "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
        "latency_ms": {
            "median": round(statistics.median(lat_ms), 2),
            "p95": round(lat_ms[int(0.95 * (n - 1))], 2),
            "max": round(lat_ms[-1], 2),
        },
        "answer": answers,
        **({} if args.heldout else {"examples": _example_coverage(index)}),
        "index_build_s": round(cold, 2),
        "index_cached_load_s": round(cached, 3),
        "misses_at_5": failures,
        "machine": {"python": platform.python_version(), "cpus": 2},
    }
    out = Path(__file__).parent / "results" / ("qa_heldout.json" if args.heldout else "qa.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "misses_at_5"}, indent=2))
    for f in failures:
        print("miss:", f["question"], f["labels"], "->", f["top5"])


if __name__ == "__main__":
    main()
