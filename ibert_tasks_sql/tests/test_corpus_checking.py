"""The builder's validation: each distinct check runs once, batches run beside the builder,
and overlapping units changes no record. Real DuckDB validator throughout."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

import attrs
import pytest

from ibert_core.types import Schema, ValidationJob, Verdict
from ibert_tasks_sql.corpus.checking import Checker
from ibert_tasks_sql.corpus.pipeline import (
    COMPILE_STAGES,
    BuildConfig,
    UnitProcessor,
    pick_seed,
    run_steps,
)

SCHEMA = Schema.from_dict({"t": {"a": "!int64", "b": "string"}})
GOOD = "expr = t.filter(t.a > 1).select('a')"
BAD = "expr = t.filter(t.nope > 1)"
REF = "SELECT a FROM t WHERE a > 1"


class Counting:
    """The real validator, with the jobs it was asked to run written down."""

    def __init__(self, validator: object) -> None:
        self.validator = validator
        self.asked: list[list[ValidationJob]] = []

    def validate_many(self, jobs: Sequence[ValidationJob]) -> list[Verdict]:
        self.asked.append(list(jobs))
        return self.validator.validate_many(jobs)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def validator():  # type: ignore[no-untyped-def]
    from ibert_validator_duckdb.validator import DuckDBValidator

    with DuckDBValidator(workers=2) as v:
        yield v


def test_repeated_jobs_run_once_and_share_their_verdict(validator: object) -> None:
    counting = Counting(validator)
    checker = Checker(counting)
    good, bad = ValidationJob(GOOD, SCHEMA, REF), ValidationJob(BAD, SCHEMA, REF)
    first = checker.check([good, bad, good])
    assert [v.passed for v in first.verdicts] == [True, False, True]
    assert first.cached == [False, False, True]
    assert [len(b) for b in counting.asked] == [2]
    # another reference or other options are another check
    other = ValidationJob(GOOD, SCHEMA, "SELECT a FROM t", options={"seeds": 1})
    second = checker.check([bad, other])
    assert second.cached == [True, False]
    assert second.verdicts[1] is not first.verdicts[0]
    assert [len(b) for b in counting.asked] == [2, 1]
    assert checker.check([]).verdicts == []


def test_background_batches_keep_their_order_and_merge(validator: object) -> None:
    counting = Counting(validator)
    checker = Checker(counting)
    try:
        futures = [
            checker.submit([ValidationJob(GOOD, SCHEMA, REF)]),
            checker.submit([ValidationJob(BAD, SCHEMA, REF), ValidationJob(GOOD, SCHEMA, REF)]),
            checker.submit([]),
        ]
        results = [f.result(timeout=120) for f in futures]
    finally:
        checker.close()
    assert [[v.passed for v in r.verdicts] for r in results] == [[True], [False, True], []]
    assert results[1].cached == [False, True]
    assert sum(len(b) for b in counting.asked) == 2  # GOOD once, BAD once


def test_overlapped_units_give_the_same_records_as_one_at_a_time() -> None:
    config = BuildConfig(seed=3, tasks=("sql_to_ibis", "ibis_to_sql", "error_resolution"))
    processor = UnitProcessor(config)
    try:
        overlapped = list(processor.process_many(range(3), depth=3))
        one_by_one = [processor.process(i) for i in range(3)]
    finally:
        processor.close()
    assert [u.index for u in overlapped] == [0, 1, 2]
    assert [u.records for u in overlapped] == [u.records for u in one_by_one]
    assert sum(len(u.records) for u in overlapped) > 0
    ran = sum(v for u in overlapped for k, v in u.counters.items() if k.startswith("jobs|"))
    assert ran > 0
    # the second pass found every check in memory
    assert not any(k.startswith("jobs|") for u in one_by_one for k in u.counters)


def test_stats_name_the_checks_run_and_the_rejection_rates() -> None:
    from ibert_tasks_sql.corpus.stats import rejection_rates, validation

    counters = {
        "attempted|template|t1": 6, "attempted|augment|rename": 4,
        "attempted|formulation|deferred": 5, "accepted|formulation|deferred": 4,
        "rejected|compare": 2, "rejected|translate": 1,
        "derived_rejected|formulation|compare": 1,
        "records|ibis_to_sql": 9, "derived_rejected|ibis_to_sql|compile_postgres": 1,
        "records|sql_to_ibis": 7,
        "jobs|roundtrip": 3, "cached|roundtrip": 5, "job_cpu_seconds|roundtrip": 0.06,
        "job_seconds|roundtrip": 0.09,
    }
    rates = rejection_rates(counters)
    assert rates["seeds_attempted"] == 10  # formulations are not seeds
    assert rates["seeds"]["compare"] == {"rejected": 2, "rate": 0.2}
    assert rates["tasks"]["ibis_to_sql"]["candidates"] == 10
    assert rates["tasks"]["ibis_to_sql"]["by_reason"]["compile_postgres"]["rate"] == 0.1
    assert rates["tasks"]["sql_to_ibis"]["rate"] == 0.0
    assert rates["tasks"]["formulation"] == {
        "candidates": 5, "rejected": 1, "rate": 0.2,
        "by_reason": {"compare": {"rejected": 1, "rate": 0.2}},
    }
    assert validation(counters) == {
        "roundtrip": {"run": 3, "cached": 5, "inline": 0, "seconds": 0.09, "cpu_seconds": 0.06,
                      "cpu_ms_per_check": 20.0},
    }


def test_dialect_sql_compiled_by_the_pair_check_needs_no_compile_check_of_its_own() -> None:
    config = BuildConfig(seed=0, tasks=("ibis_to_sql",), dialects=("duckdb", "postgres"))
    processor = UnitProcessor(config)
    try:
        assert processor.pair_options() == {"compile_dialects": ("postgres",)}
        rng = random.Random("dialects")
        pairs: list = []
        while not pairs:
            pairs = run_steps(
                processor.pairs([pick_seed(config, rng)], Counter()), processor.checker.check
            )
        pair = pairs[0]
        # what the pair's check reports when the validator compiles to the other dialects too
        compiled = processor.checker.check([ValidationJob(
            pair.code, pair.seed.schema_obj, stages=COMPILE_STAGES,
            options={"compile_dialect": "postgres"},
        )]).verdicts[0]
        postgres = compiled.artifacts["dialect_sql"]
        artifacts = {**pair.verdict.artifacts, "dialect_sqls": {"postgres": postgres}}
        inline = attrs.evolve(pair, verdict=attrs.evolve(pair.verdict, artifacts=artifacts))
        counters: Counter = Counter()
        steps = processor.executed_tasks([inline], rng, counters)
        first = next(steps)
        assert [j.stages for j in first] == [tuple(pair.verdict.required)]  # the round trip
        with pytest.raises(StopIteration) as done:
            steps.send(processor.checker.check(first))
        records = done.value.value
        assert counters["inline|compile"] == 1 and not counters["jobs|compile"]
        by_dialect = {r.dialect: r.target["sql"] for r in records}
        assert by_dialect == {"duckdb": pair.verdict.artifacts["sql"], "postgres": postgres}
        # a dialect the pair's check could not compile gets no record, and no check either
        failed = {**pair.verdict.artifacts, "dialect_errors": {"postgres": "cannot compile"}}
        broken = attrs.evolve(pair, verdict=attrs.evolve(pair.verdict, artifacts=failed))
        counters = Counter()
        records = run_steps(
            processor.executed_tasks([broken], rng, counters), processor.checker.check
        )
        assert [r.dialect for r in records] == ["duckdb"]
        assert counters["derived_rejected|ibis_to_sql|compile_postgres"] == 1
        assert not any(k.startswith(("jobs|", "cached|")) for k in counters)
    finally:
        processor.close()
