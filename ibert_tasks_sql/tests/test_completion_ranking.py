"""The ranking signals of `editing.ranking`, through the real engine with the counts it
ships with (mined from the installed ibis, whose tests favour `t.<column>`, `select` and
`mutate`): each test is a place where those counts alone put the wrong member first."""

from __future__ import annotations

import pytest

from ibert_core.types import Schema
from ibert_tasks_sql.editing import ranking
from ibert_tasks_sql.editing.completion import complete
from ibert_tasks_sql.editing.cursor import analyze
from ibert_tasks_sql.editing.usage import Usage, load_usage

SCHEMA = Schema.from_dict(
    {
        "orders": {"order_id": "int64", "customer_id": "int64", "status": "string",
                   "price": "float64", "placed": "date"},
        "customers": {"customer_id": "int64", "name": "string", "country": "string"},
    }
)


@pytest.fixture(scope="module")
def usage(tmp_path_factory: pytest.TempPathFactory) -> Usage:
    return load_usage({"cache_dir": str(tmp_path_factory.mktemp("usage"))})


def top(prefix: str, usage: Usage, n: int = 1) -> list[str]:
    result = complete(prefix, SCHEMA, usage, n=max(n, 5), verify=False)
    return [c.text for c in result.completions][:n]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        # The pipeline prior: a table starts with a filter (an aggregate is then sorted, as
        # the counts already say: kept as a guard).
        ("expr = orders.", "filter"),
        ('expr = orders.group_by("status").agg(n=_.count()).', "order_by"),
        # A step the chain already took is damped: after a HAVING-like filter, sort.
        ('expr = orders.group_by("status").agg(n=_.count()).filter(_.n > 1).', "order_by"),
        # The alias names the operation.
        ("expr = orders.mutate(year=orders.placed.", "year"),
        ("expr = customers.mutate(name_upper=customers.name.", "upper"),
        ('expr = orders.group_by("status").agg(avg_price=_.price.', "mean"),
        # A reduction fit for the dtype: a date's minimum, a key's count (never its sum).
        ('expr = orders.group_by("status").agg(since=_.placed.', "min"),
        ('expr = orders.group_by("status").agg(buyers=_.customer_id.', "count"),
        # A predicate in a filter, by dtype.
        ("expr = orders.filter(orders.price.", "between"),
        ("expr = orders.filter(orders.status.", "isin"),
        # A column ending a statement is summarized.
        ("expr = orders.price.", "sum"),
        # `n=_.` counts rows; a plural alias that names no column does too.
        ('expr = orders.group_by("status").agg(n=_.', "count"),
        ('expr = orders.group_by("status").agg(rows=_.count(), sales=_.', "count"),
        # The alias names a column.
        ('expr = orders.group_by("status").agg(avg_price=_.', "price"),
        ('expr = orders.group_by("status").agg(last=_.', "placed"),
        # Keys go last in predicates and sums, first in a join (the key both tables have).
        ("expr = customers.filter(customers.", "name"),
        ("expr = orders.join(customers, orders.", "customer_id"),
        ("expr = customers.join(orders, customers.customer_id == orders.", "customer_id"),
        # A derived column comes from a measure or a label, not a key.
        ("expr = orders.mutate(doubled=orders.", "status"),
        # A threshold on a measure is the commonest filter; a date compares with a date.
        ("expr = orders.filter(orders.", "price"),
        ("expr = orders.filter(orders.placed >= ibis.", "date"),
        # A string column to group by.
        ("expr = orders.group_by(orders.", "status"),
        # What the chain just made is what it uses next.
        ('expr = orders.group_by("status").agg(total=_.price.sum()).filter(_.', "total"),
    ],
)
def test_top_completion(prefix: str, expected: str, usage: Usage) -> None:
    assert top(prefix, usage) == [expected]


def test_a_reduction_is_damped_inside_a_row_filter(usage: Usage) -> None:
    assert "sum" not in top("expr = orders.filter(orders.price.", usage, n=5)


def test_a_column_the_call_already_uses_goes_after_the_others(usage: Usage) -> None:
    first = top("expr = orders.select(orders.status, orders.", usage, n=5)
    assert first.index("status") > first.index("price")


def test_where_reads_the_call_keyword_and_operator() -> None:
    at = ranking.where(analyze('t.join(c, t.c_custkey == c.'))
    assert (at.call, at.operator, at.left, at.role) == ("join", "==", "c_custkey", "join")
    at = ranking.where(analyze('t.group_by("k").agg(n=_.count(), total=(_.'))
    assert (at.call, at.keyword, at.role) == ("agg", "total", "reduce")
    at = ranking.where(analyze("t.mutate(net=t.price * (1 - t."))
    assert at.role == "arith"
    assert ranking.where(analyze("expr = t.price.")).role == "top"


@pytest.mark.parametrize(
    ("name", "key"),
    [("id", True), ("customer_id", True), ("o_custkey", True), ("price", False),
     ("keyword", False)],
)
def test_is_key(name: str, key: bool) -> None:
    assert ranking.is_key(name) is key


def test_pipeline_prior_is_a_distribution_over_each_row() -> None:
    for label, row in ranking.PIPELINE.items():
        total = sum(ranking.pipeline_prior(label, m) for m in row)
        assert total == pytest.approx(1.0), label
    assert ranking.pipeline_prior("group_by", "agg") > ranking.pipeline_prior("group_by", "having")
    assert ranking.pipeline_prior("group_by", "nope") == 0.0


def test_the_completed_alias_snippet_builds(usage: Usage) -> None:
    """The top completion is applied and the code built, as the CLI answers."""
    result = complete('expr = orders.group_by("status").agg(n=_.', SCHEMA, usage, n=3)
    assert result.completions[0].text == "count"
    assert result.code == 'expr = orders.group_by("status").agg(n=_.count())'


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        # Columns named inside a call follow the same signals as after a dot.
        ("expr = orders.group_by(", '"status"'),
        ('expr = orders.group_by("', 'status"'),
        ("expr = orders.filter(", "_.price"),
        ('expr = orders.group_by("status").agg(n=_.count()).order_by(ibis.desc("', 'n"'),
    ],
)
def test_columns_inside_a_call(prefix: str, expected: str, usage: Usage) -> None:
    assert top(prefix, usage) == [expected]


def test_a_chain_written_one_step_per_line_in_brackets_completes(usage: Usage) -> None:
    code = 'expr = (orders\n    .filter(_.price > 1)\n    .group_by("status")\n    .'
    result = complete(code, SCHEMA, usage, n=3)
    assert result.receiver_type == "GroupedTable"
    assert result.completions[0].text == "agg"
