"""Mined code in validator form: free table names, `expr`, schemas read or inferred."""

from __future__ import annotations

import ast

import pytest

from ibert_miner_github.rewrite import NotRewritable, rewrite


def _rewrite(source: str, **kwargs):
    body = ast.parse(source).body
    value = body[-1].value
    return rewrite(body[:-1], value, **kwargs)


def test_connection_table_becomes_a_free_name_and_schema_is_inferred():
    out = _rewrite(
        "import ibis\ncon = ibis.duckdb.connect('x.db')\nt = con.table('orders')\n"
        "t.filter(t.amount > 10).group_by('region').agg(total=t.amount.sum())",
        sql="SELECT region, SUM(amount) AS total FROM orders WHERE amount > 10 GROUP BY region",
    )
    assert "con" not in out.code and "t = orders" in out.code
    assert out.code.splitlines()[-1].startswith("expr = t.filter(")
    assert out.inferred is True
    assert out.schema == {"orders": {"amount": "int64", "region": "string"}}


def test_schema_read_from_ibis_table_memtable_and_create_table():
    out = _rewrite("t = ibis.table({'a': 'int', 'b': 'str'}, name='events')\nt.a.sum()")
    assert out.schema == {"events": {"a": "int64", "b": "string"}} and not out.inferred
    out = _rewrite(
        "t = ibis.memtable({'x': [1, None], 'y': ['a', 'b'], 'z': [1.5, 2]})\nt.x.mean()"
    )
    assert out.schema == {"t": {"x": "int64", "y": "string", "z": "float64"}}
    assert "memtable" not in out.code
    out = _rewrite(
        "con = ibis.connect('duckdb://')\n"
        "con.create_table('items', schema=ibis.schema({'price': 'float64'}))\n"
        "items = con.table('items')\nitems.price.max()"
    )
    assert out.schema == {"items": {"price": "float64"}} and not out.inferred


def test_pandas_data_becomes_memtable_data():
    out = _rewrite(
        "import pandas as pd\ndf = pd.DataFrame({'k': ['a'], 'v': [1]})\n"
        "t = ibis.memtable(df)\nt.group_by('k').agg(s=t.v.sum())"
    )
    assert out.schema == {"t": {"k": "string", "v": "int64"}}
    assert "pd" not in out.code


def test_function_parameters_are_tables_and_output_calls_are_stripped():
    out = _rewrite("x = orders.filter(orders.qty > 1)\nx.execute()", params=("orders",))
    assert out.code.endswith("expr = x")
    assert out.schema == {"orders": {"qty": "int64"}}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "import numpy as np\nt = ibis.table({'a': 'int'}, name='t')\nt.a + np.pi",
            "non_ibis_import",
        ),
        ("con = ibis.connect('duckdb://')\ncon.list_tables()", "uses_connection"),
        ("for i in range(3):\n    pass\nt.a", "control_flow"),
        ("t = ibis.table({'a': 'int'}, name='t')\nhelper(t)", "undefined_name"),
        ("t = con.sql('select 1')\nt.count()", "raw_sql_in_ibis_code"),
    ],
)
def test_what_cannot_be_rewritten_says_why(source, reason):
    with pytest.raises(NotRewritable) as err:
        _rewrite(source)
    assert err.value.reason == reason


@pytest.mark.parametrize(
    ("code", "prefix", "rest"),
    [
        ("expr = t.s.strip()", "expr = t.s", ".strip()"),
        ("expr = ((t.a > 1) & (t.a < 5)).cumany()", "expr = ((t.a > 1) & (t.a < 5))", ".cumany()"),
        ("x = t.a\nexpr = x", "x = t.a\nexpr = ", "x"),
    ],
)
def test_completion_is_cut_before_the_last_call(code, prefix, rest):
    from ibert_miner_github.records import completion_split

    assert completion_split(code) == (prefix, rest)
