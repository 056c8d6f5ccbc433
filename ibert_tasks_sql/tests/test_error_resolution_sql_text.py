"""error_resolution of SQL written as strings in Ibis calls (`filter("a > 1")`), put through
the SQL→Ibis translator and checked like every answer (against `--sql` when given)."""

from __future__ import annotations

import pytest

from ibert_core import engine
from ibert_core.types import Schema, TaskRequest

SCHEMA = Schema.from_dict(
    {
        "orders": {"id": "int64", "status": "string", "placed": "date", "customer_id": "int64"},
        "items": {"order_id": "int64", "qty": "int64", "price": "float64"},
    }
)

# (broken code, reference SQL, fixed code)
CASES = [
    (
        'expr = items.filter("qty > 2")',
        "SELECT * FROM items WHERE qty > 2",
        "expr = items.filter(_.qty > 2)",
    ),
    (
        "expr = orders.filter(\"status = 'paid' AND placed >= '2024-01-01'\")",
        "SELECT * FROM orders WHERE status = 'paid' AND placed >= DATE '2024-01-01'",
        'expr = orders.filter(_.status == "paid", _.placed >= "2024-01-01")',
    ),
    (
        "expr = orders.filter(\"status IN ('a', 'b') OR customer_id IS NULL\")",
        "SELECT * FROM orders WHERE status IN ('a', 'b') OR customer_id IS NULL",
        'expr = orders.filter(_.status.isin(["a", "b"]) | _.customer_id.isnull())',
    ),
    (
        'expr = items.select("order_id", "qty * price AS total")',
        "SELECT order_id, qty * price AS total FROM items",
        'expr = items.select("order_id", total=_.qty * _.price)',
    ),
    (
        'expr = items.group_by("order_id").agg(total="sum(qty * price)", n="count(*)")',
        "SELECT order_id, sum(qty * price) AS total, count(*) AS n FROM items GROUP BY order_id",
        'expr = items.group_by("order_id").agg(total=(_.qty * _.price).sum(), n=_.count())',
    ),
    (  # the receiver is a chain: its columns (a new one included) are what the SQL reads
        'expr = items.mutate(total="qty * price").filter("total > 10")',
        "SELECT *, qty * price AS total FROM items WHERE qty * price > 10",
        "expr = items.mutate(total=_.qty * _.price).filter(_.total > 10)",
    ),
]


@pytest.mark.parametrize(("code", "sql", "fixed"), CASES, ids=[c[0][7:40] for c in CASES])
def test_sql_text_is_translated_and_matches_the_reference(context, code, sql, fixed) -> None:
    request = TaskRequest("error_resolution", code, schema=SCHEMA, options={"sql": sql})
    result = engine.run(context, request)
    assert result.verified, result.notes
    assert [s.name for s in result.verdict.stages][-1] == "compare"
    assert result.answer == fixed
    assert "sql-text" in [c["rule"] for c in result.extra["changes"]]


def test_text_that_is_not_sql_over_the_receiver_is_left_alone(context) -> None:
    """No column of that name and no SQL the translator reads: no guess is made."""
    for code in ('expr = orders.filter("nonsense((")', 'expr = orders.filter("amount > 1")'):
        result = engine.run(context, TaskRequest("error_resolution", code, schema=SCHEMA))
        assert not result.verified
        assert result.answer == code
