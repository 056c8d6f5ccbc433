"""`ibis.memtable` in candidate code: its rows are registered for the check, then dropped."""

from __future__ import annotations

import resource

import pytest

from ibert_core.types import Schema, ValidationJob
from ibert_validator_duckdb import worker
from ibert_validator_duckdb.limits import Limits

PRICES = "prices = ibis.memtable({'sku': ['a', 'b', 'c'], 'price': [1.5, 2.0, None]})\n"


def test_memtable_alone_matches_the_sql_of_its_rows(validator):
    verdict = validator.validate(
        ValidationJob(
            code=PRICES + "expr = prices.filter(prices.price.notnull()).select('sku')",
            schema=Schema(()),  # no tables: fixtures are empty
            reference_sql="SELECT * FROM (VALUES ('a'), ('b')) v(sku)",
            options={"seeds": 2},
        )
    )
    assert verdict.passed, verdict.feedback
    assert verdict.artifacts["row_counts"] == [2, 2]


def test_memtable_joined_with_a_fixture_table(validator, shop):
    """The memtable's rows are the example's, the table's the fixture's: a wrong join key
    shows as a difference."""
    code = (
        "cities = ibis.memtable({'city': ['Paris', 'Oslo'], 'country': ['FR', 'NO']})\n"
        "expr = users.join(cities, 'city').select('name', 'country')"
    )
    sql = (
        "SELECT u.name, c.country FROM users u "
        "JOIN (VALUES ('Paris', 'FR'), ('Oslo', 'NO')) c(city, country) ON u.city = c.city"
    )
    verdict = validator.validate(ValidationJob(code=code, schema=shop, reference_sql=sql))
    assert verdict.passed, verdict.feedback
    wrong = sql.replace("'Oslo', 'NO'", "'Oslo', 'SE'")
    assert not validator.validate(ValidationJob(code=code, schema=shop, reference_sql=wrong)).passed


@pytest.fixture
def in_process_cpu_limit():
    """`run_job` in this process sets its CPU limit (RLIMIT_CPU) as in a worker: put back
    the test process's own afterwards, or a later test dies of SIGXCPU."""
    before = resource.getrlimit(resource.RLIMIT_CPU)
    yield
    resource.setrlimit(resource.RLIMIT_CPU, before)


def test_a_checks_memtables_do_not_outlive_it(shop, in_process_cpu_limit):
    """Registered on the cached fixture connections for one check, unregistered after it
    (pass or fail), so later checks never see them and the connections do not grow."""
    state = worker.State(Limits())
    ok = ValidationJob(code=PRICES + "expr = prices", schema=shop, reference_sql="SELECT 1",
                       stages=("parse", "build", "compile", "execute"))
    failing = ValidationJob(code=PRICES + "expr = prices.mutate(x=prices.sku.cast('int64'))",
                            schema=shop, stages=("parse", "build", "compile", "execute"))
    assert worker.run_job(ok, state).passed
    assert not worker.run_job(failing, state).passed  # 'a' is no integer: DuckDB fails
    assert len(state.connections) == 3
    for con, _, _ in state.connections.values():
        views = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'ibis_%memtable%'"
        ).fetchone()
        assert views == (0,)
