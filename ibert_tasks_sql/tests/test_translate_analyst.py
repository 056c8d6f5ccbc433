"""Typical analyst queries that once failed: each translates to the expected code, returns
the SQL's rows on DuckDB, and the ones asked of the bundled example schema are verified
by the real validator through the engine, as `ibert run sql_to_ibis` does.
"""

from __future__ import annotations

import pytest

from ibert_core import engine
from ibert_core.errors import UnsupportedConstruct
from ibert_core.plugins import make_context
from ibert_core.types import TaskRequest
from ibert_tasks_sql.examples import example_path
from ibert_tasks_sql.translation.translate import translate

# (id, dialect, sql, expected code, ordered result)
CASES = [
    (
        "order_by_position_of_unaliased_aggregate",
        "duckdb",
        (
            "SELECT c.country, avg(i.price) FROM customers c JOIN orders o ON c.customer_id = "
            "o.customer_id JOIN items i ON o.order_id = i.order_id WHERE o.status <> 'cancelled' "
            "GROUP BY c.country ORDER BY 2 DESC"
        ),
        """\
expr = (
    customers.join(orders, customers.customer_id == orders.customer_id)
    .join(items, orders.order_id == items.order_id)
    .filter(orders.status != "cancelled")
    .group_by("country")
    .agg(avg_price=items.price.mean())
    .order_by(ibis.desc("avg_price"))
)
""",
        True,
    ),
    (
        "order_by_position_of_unaliased_expression",
        "duckdb",
        "SELECT upper(name), customer_id FROM customers ORDER BY 1, 2",
        """\
expr = (
    customers.select(upper_name=_.name.upper(), customer_id=_.customer_id)
    .order_by("upper_name", "customer_id")
)
""",
        True,
    ),
    (
        "order_by_unaliased_count_expression",
        "duckdb",
        "SELECT country, count(*) FROM customers GROUP BY country ORDER BY count(*) DESC, 1",
        """\
expr = customers.group_by("country").agg(count=_.count()).order_by(ibis.desc("count"), "country")
""",
        True,
    ),
]


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"), [c[1:4] for c in CASES], ids=[c[0] for c in CASES]
)
def test_translation_is_the_expected_code(shop, dialect, sql, expected):
    assert shop.body(shop.translate(sql, dialect)) == expected.strip()


@pytest.mark.parametrize(
    ("dialect", "sql", "ordered"),
    [(c[1], c[2], c[4]) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_translation_returns_the_sql_result(shop, dialect, sql, ordered):
    shop.check(sql, dialect, ordered=ordered)


REFUSED = [
    # (dialect, sql, construct named in the error)
    (
        "duckdb",
        "SELECT DISTINCT ON (country) country, name FROM customers ORDER BY country, name",
        "DISTINCT ON",
    ),
]


@pytest.mark.parametrize(("dialect", "sql", "construct"), REFUSED)
def test_what_cannot_be_expressed_exactly_is_refused(shop_schema, dialect, sql, construct):
    with pytest.raises(UnsupportedConstruct, match=construct):
        translate(sql, shop_schema, dialect)


# the user-eye queries, asked of the bundled example schema as `ibert run` asks them
ECOMMERCE = [
    "SELECT c.country, avg(oi.unit_price) FROM customers c JOIN orders o ON c.customer_id "
        "= o.customer_id JOIN order_items oi ON o.order_id = oi.order_id WHERE o.status <> "
        "'cancelled' GROUP BY c.country ORDER BY 2 DESC",
]


@pytest.fixture(scope="module")
def context(installed_plugin_manager):
    ctx = make_context(installed_plugin_manager)
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def ecommerce():
    from ibert_core.schema import load

    return load(str(example_path("ecommerce.yaml")), lambda kind, location: None)


@pytest.mark.parametrize("sql", ECOMMERCE)
def test_analyst_query_is_verified_by_the_validator(context, ecommerce, sql):
    result = engine.run(context, TaskRequest("sql_to_ibis", sql, schema=ecommerce))
    assert result.verified, result.verdict.feedback
    assert result.provenance.engine == "sql_to_ibis.transpiler"
