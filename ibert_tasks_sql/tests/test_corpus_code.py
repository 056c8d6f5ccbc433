"""Ibis-code rewrites, completion cuts, mutations, docstrings and normal forms, run for real."""

from __future__ import annotations

import ast
import random

import ibis
import pandas as pd
import pytest

from ibert_tasks_sql.corpus import completion, docstrings, ibis_code, mutations
from ibert_tasks_sql.corpus.normalize import dedup_key, normalized_sql, skeleton, split_of

TABLES = {
    "orders": {"order_id": "int64", "customer_id": "int64", "status": "string",
               "amount": "float64"},
    "customers": {"customer_id": "int64", "name": "string"},
}
ROWS = {
    "orders": pd.DataFrame({"order_id": [1, 2, 3, 4, 5], "customer_id": [1, 1, 2, 3, 2],
                            "status": ["paid", "paid", "open", "paid", "open"],
                            "amount": [10.0, 250.0, 120.0, 300.0, 80.0]}),
    "customers": pd.DataFrame({"customer_id": [1, 2, 3], "name": ["Ann", "Bo", "Cy"]}),
}

CODES = [
    """from ibis import _
expr = (
    orders.filter(_.amount > 100)
    .group_by('status')
    .agg(total=_.amount.sum(), n=_.count())
    .order_by(ibis.desc('status'))
)
""",
    """expr = (
    orders.filter(orders.status == 'paid')
    .select(orders.order_id, orders.amount)
    .order_by(orders.order_id)
)
""",
    """expr = (
    orders.join(customers, orders.customer_id == customers.customer_id)
    .group_by('name')
    .agg(customers.name.count().name('n'), orders.amount.max().name('top'))
    .order_by('name')
)
""",
]


def run(code: str) -> pd.DataFrame:
    con = ibis.duckdb.connect()
    env = {"ibis": ibis, "_": ibis._}
    for name, frame in ROWS.items():
        env[name] = con.create_table(name, frame, schema=ibis.schema(TABLES[name]))
    exec(code, env)
    return con.execute(env["expr"]).reset_index(drop=True)


@pytest.mark.parametrize("code", CODES)
def test_formulations_are_equivalent_when_run(code: str) -> None:
    expected = run(code)
    alternatives = ibis_code.formulations(code, TABLES)
    assert alternatives, "each snippet admits at least one equivalent formulation"
    for name, alt in alternatives.items():
        result = run(alt)
        assert result.values.tolist() == expected.values.tolist(), name
        assert ibis_code.normalized_dump(alt) != ibis_code.normalized_dump(code)


def test_formulation_kinds() -> None:
    alts = ibis_code.formulations(CODES[0], TABLES)
    assert "orders.amount.sum()" in alts["explicit_refs"]
    assert '_.amount.sum().name("total")' in alts["named_exprs"]
    # text edits keep the author's layout: same lines, only the touched nodes change
    assert alts["named_exprs"].count("\n") == CODES[0].count("\n")
    alts = ibis_code.formulations(CODES[1], TABLES)
    assert "_.status == 'paid'" in alts["deferred_refs"]
    assert alts["deferred_refs"].startswith("from ibis import _")
    alts = ibis_code.formulations(CODES[2], TABLES)
    assert "n=customers.name.count()" in alts["keyword_exprs"]


def test_features_from_the_ibis_ast() -> None:
    feats, anti = ibis_code.features(CODES[0])
    assert {"filter", "group_by", "aggregate", "deferred", "order_by"} <= set(feats)
    assert anti == []
    _, anti = ibis_code.features("expr = t.filter(t.d > ibis.literal('2020-01-01').cast('date'))")
    assert anti == ["literal_cast_noise"]


@pytest.mark.parametrize("code", CODES)
def test_completion_cuts_are_syntactic_and_exact(code: str) -> None:
    cuts = completion.cuts(code)
    assert len(cuts) >= 3
    for cut in cuts:
        prefix, rest = code[: cut.offset], code[cut.offset:]
        assert prefix + rest == code
        if cut.kind == "method":
            assert rest.startswith(".")
        assert "expr = " in prefix and rest.strip()
    pieces = completion.split(code, random.Random(1), k=2)
    assert len(pieces) == 2 and all(p + r == code for p, r, _ in pieces)


@pytest.mark.parametrize("name", sorted(mutations.MUTATORS))
def test_mutations_break_the_code_for_real(name: str) -> None:
    broken = None
    for code in CODES:
        for seed in range(5):
            broken = mutations.MUTATORS[name](code, TABLES, random.Random(seed))
            if broken:
                break
        if broken:
            break
    assert broken, f"{name} applies to none of the snippets"
    # the layout is kept: only the mutated token changes
    assert broken.count("\n") == code.count("\n")
    with pytest.raises(Exception):  # noqa: B017 - any real ibis/python error is the point
        run(broken)


def test_docstring_wraps_and_checks() -> None:
    sql = ("SELECT status, SUM(amount) AS total, COUNT(*) AS n FROM orders "
           "WHERE amount > 100 GROUP BY status ORDER BY status")
    params = ibis_code.table_names_used(CODES[0], TABLES)
    assert params == ["orders"]
    used = docstrings.columns_used(CODES[0], {"orders": TABLES["orders"]})
    assert used == {"orders": ["status", "amount"]}
    doc = docstrings.docstring(sql, params, used, ["status", "total", "n"])
    assert doc.startswith("Aggregates orders by status where amount > 100.")
    fn = docstrings.wrap(CODES[0], "totals", params, doc)
    assert docstrings.check(fn, params, ["status", "total", "n"]) is None
    env = {"ibis": ibis}
    exec(fn, env)  # the documented function is real code: call it
    con = ibis.duckdb.connect()
    t = con.create_table("orders", ROWS["orders"], schema=ibis.schema(TABLES["orders"]))
    assert con.execute(env["totals"](t)).shape == (2, 3)
    assert ast.get_docstring(ast.parse(fn).body[-1]) == doc
    assert "differ" in docstrings.check(fn, ["orders", "customers"], [])
    wrong = fn.replace("        orders: The", "        order: The")
    assert "documents" in docstrings.check(wrong, params, [])
    assert "Returns" in docstrings.check(fn, params, ["status", "missing_col"])


def test_dedup_key_compares_asts_not_text() -> None:
    a = dedup_key("sql_to_ibis", "duckdb", {"sql": "select a from t where x>1"},
                  {"code": "expr = t.filter(t.x > 1).select('a')"})
    b = dedup_key("sql_to_ibis", "duckdb", {"sql": "SELECT a\nFROM t\nWHERE x > 1"},
                  {"code": "expr = (\n    t.filter(t.x > 1)\n    .select(\"a\")\n)"})
    c = dedup_key("sql_to_ibis", "duckdb", {"sql": "SELECT a FROM t WHERE x > 2"},
                  {"code": "expr = t.filter(t.x > 2).select('a')"})
    assert a == b != c
    assert normalized_sql("select A from T") == normalized_sql("SELECT a  FROM t")


def test_skeleton_and_split() -> None:
    base = "SELECT a, SUM(b) AS s FROM t WHERE c = 'x' AND d > 3 GROUP BY a"
    same = "SELECT q, SUM(r) AS total FROM u WHERE d2 > 10 AND c2 = 'y' GROUP BY q"
    other = "SELECT a, AVG(b) AS s FROM t WHERE c = 'x' AND d > 3 GROUP BY a"
    assert skeleton(base) == skeleton(same) != skeleton(other)
    assert split_of(skeleton(base)) == split_of(skeleton(same))
    splits = {split_of(skeleton(f"SELECT {'a, ' * i}b FROM t")) for i in range(60)}
    assert splits == {"train", "val", "test"}
