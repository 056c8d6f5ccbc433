"""The pool's footprint: one worker until a batch needs more, and pandas/pyarrow only in a
worker whose code builds a memtable (they double a worker's start-up time and memory)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ibert_core.types import Schema, ValidationJob
from ibert_validator_duckdb.limits import Limits
from ibert_validator_duckdb.validator import DuckDBValidator

SHOP = Schema.from_dict({"users": {"id": "!int64", "name": "string", "age": "int32"}})
TEST_LIMITS = Limits(timeout=5.0, grace=1.5, memory_mb=1024, duckdb_memory_mb=256)


def _maps_arrow(pid: int) -> bool:
    return "libarrow" in Path(f"/proc/{pid}/maps").read_text()


COUNT = ValidationJob(
    code="expr = users.count()", schema=SHOP, reference_sql="SELECT count(*) FROM users"
)
MEMTABLE = ValidationJob(
    code="expr = ibis.memtable({'a': [1, 2, 2]}).filter(_.a > 1)",
    schema=SHOP,
    reference_sql="SELECT * FROM (VALUES (1), (2), (2)) AS t(a) WHERE a > 1",
)


def test_one_worker_until_a_batch_needs_more():
    with DuckDBValidator(workers=2, limits=TEST_LIMITS) as v:
        assert v.validate(COUNT).passed
        assert len(v.pool.pids) == 1
        assert all(x.passed for x in v.validate_many([COUNT] * 4))
        assert len(v.pool.pids) == 2


def test_pandas_and_pyarrow_load_only_for_memtable_code():
    with DuckDBValidator(workers=1, limits=TEST_LIMITS) as v:
        assert v.validate(COUNT).passed
        (pid,) = v.pool.pids
        assert not _maps_arrow(pid)
        verdict = v.validate(MEMTABLE)
        # Built, compiled and run under the memory limit: the memtable's rows are
        # registered on the fixture connections for the check.
        assert verdict.passed, verdict.feedback
        assert v.pool.pids == [pid] and _maps_arrow(pid)
        assert v.validate(COUNT).passed  # the memory limit is back above the new mapping


def test_memory_limit_still_holds_after_the_late_import():
    # 1.25 GB: over the 1 GB headroom, under what the import's raised limit would allow
    with DuckDBValidator(workers=1, limits=TEST_LIMITS) as v:
        assert v.validate(MEMTABLE).stages[1].ok
        balloon = ValidationJob(
            code="x = [0] * (160 * 1024 * 1024)\nexpr = users",
            schema=SHOP,
            reference_sql="SELECT * FROM users",
        )
        verdict = v.validate(balloon)
        assert not verdict.passed
        assert "memory limit" in verdict.feedback or "allowed" in verdict.feedback


def _userns_available() -> bool:
    import subprocess

    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _userns_available(), reason="user namespaces are disabled here")
def test_workers_have_no_network():
    with DuckDBValidator(workers=1, limits=TEST_LIMITS) as v:
        assert v.validate(COUNT).passed
        (pid,) = v.pool.pids
        mine = os.stat("/proc/self/ns/net").st_ino
        assert os.stat(f"/proc/{pid}/ns/net").st_ino != mine
        devices = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
        assert [d.split(":")[0].strip() for d in devices] == ["lo"]


def test_query_results_are_reused_across_checks_of_the_same_code():
    code = "expr = users.filter(users.age > 1)"
    first = ValidationJob(code, schema=SHOP, reference_sql="SELECT * FROM users WHERE age > 1")
    other = ValidationJob(code, schema=SHOP, reference_sql="SELECT * FROM users WHERE 1 < age")
    wrong = ValidationJob(
        "expr = users.filter(users.age >= 1)",
        schema=SHOP,
        reference_sql="SELECT * FROM users WHERE 1 < age",
    )
    with DuckDBValidator(workers=1, limits=TEST_LIMITS) as v:
        a, b, c = (v.validate(j) for j in (first, other, wrong))
    assert a.passed and a.artifacts["results_reused"] == 0
    # the candidate's rows on the three seeds come from the first check
    assert b.passed and b.artifacts["results_reused"] == 3
    # other code runs afresh (the reference's rows are reused) and its difference shows
    assert not c.passed and "results differ" in c.feedback
    assert c.artifacts["results_reused"] >= 1


def test_jobs_queued_behind_a_killed_check_still_get_their_verdicts():
    limits = Limits(timeout=1.0, grace=0.5, memory_mb=1024, duckdb_memory_mb=256)
    # a Python loop (the worker interrupts itself) and a C loop (only the parent's kill stops it)
    hang = ValidationJob("x = [ibis.literal(i) for i in range(10 ** 8)]\nexpr = users", schema=SHOP)
    bomb = ValidationJob("x = sum(range(10 ** 12))\nexpr = users", schema=SHOP)
    with DuckDBValidator(workers=1, limits=limits) as v:
        verdicts = v.validate_many([COUNT, hang, COUNT, bomb, COUNT, COUNT])
        restarts = v.pool.restarts
    assert [x.passed for x in verdicts] == [True, False, True, False, True, True]
    assert "limit" in verdicts[1].feedback and "limit" in verdicts[3].feedback
    assert restarts >= 2  # both stopped workers were replaced
