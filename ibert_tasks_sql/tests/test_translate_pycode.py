"""The code layout: what a person would write, and always valid Python."""

from __future__ import annotations

import ast

from ibert_tasks_sql.translation import pycode as py
from ibert_tasks_sql.translation.relations import TABLE_ATTRS


def test_table_attribute_list_covers_the_installed_ibis():
    from ibis.expr.types.joins import Join
    from ibis.expr.types.relations import Table

    public = {n for cls in (Table, Join) for n in dir(cls) if not n.startswith("_")}
    assert public <= TABLE_ATTRS


def test_columns_named_like_methods_are_subscripted():
    t = py.name("t")
    assert py.unparse(py.column(t, "count", TABLE_ATTRS)) == 't["count"]'
    assert py.unparse(py.column(t, "total", TABLE_ATTRS)) == "t.total"
    assert py.unparse(py.column(t, "my col")) == 't["my col"]'
    assert py.unparse(py.column(t, "class")) == 't["class"]'


def test_strings_use_double_quotes_and_escape_correctly():
    for text in ["it's", 'say "hi"', "both ' and \"", "back\\slash", "tab\t"]:
        source = py.unparse(py.lit(text))
        assert source.startswith('"')
        assert ast.literal_eval(source) == text


def test_long_chains_break_one_call_a_line():
    chain = py.name("orders")
    for i in range(6):
        chain = py.method(
            chain, "filter", py.binop(py.attr(py.name("_"), f"column_{i}"), ">", py.lit(i))
        )
    text = py.fmt(chain, len("expr = "))
    lines = text.splitlines()
    assert lines[0] == "("
    assert lines[1].startswith("    orders.filter(")
    assert all(ln.startswith("    .filter(") for ln in lines[2:-1])
    assert lines[-1] == ")"
    assert ast.parse("expr = " + text)


def test_long_boolean_operands_stay_parenthesized():
    parts = [
        py.binop(py.attr(py.name("t"), f"a_long_column_name_{i}"), "==", py.lit(i))
        for i in range(5)
    ]
    cond = parts[0]
    for p in parts[1:]:
        cond = py.binop(cond, "|", p)
    text = py.fmt(py.method(cond, "any"), 8, 2)
    tree = ast.parse(text.strip())
    # the `.any()` applies to the whole disjunction, not its last operand
    call = tree.body[0].value
    assert isinstance(call.func.value, ast.BinOp)


def test_identical_bindings_share_one_variable_but_views_do_not():
    program = py.Program(reserved={"t"})
    value = py.method(py.name("t"), "filter", py.lit(True))
    first = program.bind(value, "rows")
    again = program.bind(py.method(py.name("t"), "filter", py.lit(True)), "other")
    assert py.unparse(first) == py.unparse(again) == "rows"
    v1 = program.bind(py.method(py.name("t"), "view"), "a")
    v2 = program.bind(py.method(py.name("t"), "view"), "b")
    assert py.unparse(v1) != py.unparse(v2)
