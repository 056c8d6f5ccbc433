"""error_resolution through the core engine and the real DuckDB validator, including
matching a reference SQL by executing both on synthesized fixtures."""

from __future__ import annotations

from ibert_core import engine
from ibert_core.testing import TaskConformance
from ibert_core.types import Schema, TaskRequest

SCHEMA = Schema.from_dict(
    {"orders": {"id": "int64", "category": "string", "price": "float64", "qty": "int64"}}
)


def request(text: str, **options: object) -> TaskRequest:
    return TaskRequest("error_resolution", text, schema=SCHEMA, options=options)


class TestResolutionConformance(TaskConformance):
    task_name = "error_resolution"
    good_requests = (
        request('expr = orders.groupby("category").agg(n=_.count())'),
        request("expr = orders.filter(orders.price > 1 and orders.qty < 3)"),
    )
    bad_candidate = "expr = orders.groupby('category')"


def test_fix_matches_reference_sql(context) -> None:
    code = 'expr = orders.filter(orders.qty > "2" and orders.category == "a").select("id")'
    sql = "SELECT id FROM orders WHERE qty > 2 AND category = 'a'"
    result = engine.run(context, request(code, sql=sql))
    assert result.verified, result.notes
    assert [s.name for s in result.verdict.stages][-1] == "compare"
    assert result.answer == ('expr = orders.filter((orders.qty > 2) & (orders.category == "a"))'
                             '.select("id")')
    rules = [c["rule"] for c in result.extra["changes"]]
    assert rules == ["quoted-number", "python-bool-ops"]  # in the order the errors surface
    assert result.extra["diff"].startswith("--- original")


def test_code_that_builds_but_differs_from_sql_is_not_verified(context) -> None:
    result = engine.run(context, request("expr = orders.select('id')",
                                         sql="SELECT id FROM orders WHERE qty > 100"))
    assert not result.verified
    assert any(n.startswith("NOT VERIFIED") for n in result.notes)


def test_unfixable_code_is_marked_not_verified(context) -> None:
    result = engine.run(context, request("expr = orders.filter(orders.zzzzzz > 1)"))
    assert not result.verified
    assert result.verdict.failed.name == "build"
