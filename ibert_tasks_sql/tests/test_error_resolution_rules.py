"""Each fix rule on the mistake it exists for, with the real ibis and the real semgrep:
the fixed code must build and compile, and the change list must name the rule."""

from __future__ import annotations

import pytest

from ibert_core.types import Schema
from ibert_tasks_sql.editing.building import build
from ibert_tasks_sql.editing.edits import Edit, apply_edits
from ibert_tasks_sql.editing.resolution import resolve, resolve_many
from ibert_tasks_sql.editing.static_rules import may_match, scan

from .error_resolution_shared import SCHEMA, needs_semgrep

# (broken code, fixed code, rule that must be among the changes)
CASES = [
    # pandas habits
    ('expr = orders.groupby("category").agg(n=_.count())',
     'expr = orders.group_by("category").agg(n=_.count())', "pandas-groupby"),
    ('expr = orders.sort_values("price")', 'expr = orders.order_by("price")', "pandas-sort-values"),
    ('expr = orders.sort_values("price", ascending=False)',
     'expr = orders.order_by(ibis.desc("price"))', "pandas-sort-values-desc"),
    ("expr = orders.loc[orders.price > 1]", "expr = orders.filter((orders.price > 1))",
     "pandas-loc"),
    ("expr = len(orders)", "expr = orders.count()", "pandas-len"),
    ("expr = orders.price.apply(lambda x: x * 2)", "expr = (orders.price * 2)",
     "missing-attribute"),
    ('expr = orders.category.str.upper()', 'expr = orders.category.upper()', "pandas-str-accessor"),
    ("expr = orders.price.isna()", "expr = orders.price.isnull()", "pandas-isna"),
    ('expr = orders.qty.astype("float64")', 'expr = orders.qty.cast("float64")', "pandas-astype"),
    ("expr = orders.drop_duplicates()", "expr = orders.distinct()", "pandas-drop-duplicates"),
    ('expr = orders.merge(customers, on="customer_id")',
     'expr = orders.join(customers, "customer_id")', "pandas-merge"),
    ('expr = orders.group_by("category").mean()',
     'expr = orders.group_by("category").agg(id=_.id.mean(), price=_.price.mean(), '
     'qty=_.qty.mean(), customer_id=_.customer_id.mean())', "missing-attribute"),
    ('expr = orders.group_by("category").agg({"price": "sum"})',
     'expr = orders.group_by("category").agg(price=_.price.sum())', "column-not-found"),
    # Python operators on expressions
    ("expr = orders.filter(orders.price > 1 and orders.qty < 5 or not orders.id == 3)",
     "expr = orders.filter(((orders.price > 1) & (orders.qty < 5)) | (~(orders.id == 3)))",
     "python-bool-ops"),
    ("expr = orders.filter(orders.category == None)",
     "expr = orders.filter(orders.category == None)", None),  # builds: left alone
    ('expr = orders.filter(orders.qty > "5")', "expr = orders.filter(orders.qty > 5)",
     "quoted-number"),
    # names
    ("expr = orders.filter(orders.prise > 1)", "expr = orders.filter(orders.price > 1)",
     "missing-attribute"),
    ('expr = orders.select("categry", "price")', 'expr = orders.select("category", "price")',
     "column-not-found"),
    ("expr = orders.filter(orders._price > 1)", "expr = orders.filter(orders.price > 1)",
     "private-attribute"),
    ("expr = order.filter(order.price > 1)", "expr = orders.filter(orders.price > 1)",
     "unknown-name"),
    # relations that changed
    ('expr = orders.group_by("category").agg(total=orders.price.sum())'
     ".filter(orders.total > 100)",
     'expr = orders.group_by("category").agg(total=orders.price.sum())'
     ".filter(_.total > 100)", "relation-changed"),
    ('expr = orders.group_by("category").filter(_.price.sum() > 10).agg(total=_.price.sum())',
     'expr = orders.group_by("category").having(_.price.sum() > 10).agg(total=_.price.sum())',
     "grouped-filter"),
    ('expr = orders.group_by("category").agg(orders.price.sum(), orders.price.sum())',
     'expr = orders.group_by("category").agg(price_sum=orders.price.sum(), '
     'price_sum_2=orders.price.sum())', "duplicate-names"),
    # older Ibis
    ('expr = orders.mutate(size=ibis.case().when(orders.qty > 10, "big").else_("small").end())',
     'expr = orders.mutate(size=ibis.cases((orders.qty > 10, "big"), else_="small"))',
     "missing-attribute"),
    ("expr = orders.sort_by(orders.price)", "expr = orders.order_by(orders.price)", "old-sort-by"),
    ("expr = orders.mutate(x=ibis.where(orders.qty > 1, 1, 0))",
     "expr = orders.mutate(x=ibis.ifelse((orders.qty > 1), 1, 0))", "old-ibis-where"),
    # string methods on non-strings
    ("expr = orders.id.upper()", 'expr = orders.id.cast("string").upper()', "missing-attribute"),
    ('expr = orders.qty.startswith("1")', 'expr = orders.qty.cast("string").startswith("1")',
     "missing-attribute"),
]


@pytest.fixture(scope="module")
def resolutions():
    """All cases in one batch: one semgrep call per round for the whole batch."""
    return resolve_many([c[0] for c in CASES], SCHEMA)


@needs_semgrep
@pytest.mark.parametrize("index", range(len(CASES)), ids=[c[2] or "no-op" for c in CASES])
def test_rule_fixes_its_mistake(resolutions, index: int) -> None:
    _broken, fixed, rule = CASES[index]
    res = resolutions[index]
    assert res.code == fixed, res.notes
    assert res.fixed and build(res.code, SCHEMA).ok
    if rule is None:
        assert not res.changes and res.rounds == 0
    else:
        assert rule in {c.rule for c in res.changes}
        assert all(c.reason for c in res.changes)
        assert res.diff.startswith("--- original")
        assert res.rounds <= 3


def test_dynamic_rules_work_without_semgrep() -> None:
    """Static rules are skipped with a note; the error-driven rules still fix pandas names."""
    config = {"semgrep": "/nonexistent/semgrep"}
    res = resolve('expr = orders.groupby("category").agg(n=_.count())', SCHEMA, config=config)
    assert res.fixed and res.code == 'expr = orders.group_by("category").agg(n=_.count())'
    assert any("static rules skipped" in n for n in res.notes)
    assert [c.engine for c in res.changes] == ["dynamic"]


def test_unfixable_code_stops_with_a_reason() -> None:
    res = resolve("expr = orders.filter(orders.nothing_like_this > 1)", SCHEMA,
                  config={"semgrep": "/nonexistent/semgrep"})
    assert not res.fixed and res.rounds <= 3
    assert any("no rule fixes" in n for n in res.notes)
    syntax = resolve("expr = orders.filter(", SCHEMA)
    assert not syntax.fixed and any("does not parse" in n for n in syntax.notes)


def test_user_error_message_drives_rules_for_code_that_builds_here() -> None:
    # Builds over unbound tables; the user reports the error they saw elsewhere.
    res = resolve("expr = orders.filter(orders.price > 1)", SCHEMA,
                  error="NameError: name 'order' is not defined")
    assert res.fixed and res.code == "expr = orders.filter(orders.price > 1)"


@needs_semgrep
def test_semgrep_batch_reports_per_program_and_skips_unmatchable_code() -> None:
    codes = ['expr = orders.groupby("a")', "expr = orders.count()", "expr = orders.isna()"]
    assert not may_match("expr = orders.count()")
    found = scan(codes)
    assert [[f.rule for f in fs] for fs in found] == [["pandas-groupby"], [], ["pandas-isna"]]


def test_overlapping_edits_wait_for_the_next_round() -> None:
    code = "abcdef"
    out, applied = apply_edits(code, [Edit(0, 4, "X"), Edit(2, 3, "Y"), Edit(5, 6, "Z")])
    assert out == "XeZ" and len(applied) == 2


def test_misspelled_column_is_matched_against_its_own_table() -> None:
    schema = Schema.from_dict({"nation": {"n_name": "string", "n_key": "int64"},
                               "region": {"r_name": "string"}})
    config = {"semgrep": "/nonexistent/semgrep"}
    for broken in ("expr = nation.mutate(code=nation._nname.substr(0, 3))",
                   "expr = nation.mutate(code=nation.nname.substr(0, 3))"):
        res = resolve(broken, schema, config=config)
        assert res.code == "expr = nation.mutate(code=nation.n_name.substr(0, 3))"
