"""Fixers for operators and literals written the pandas or SQL way: pandas's operator
methods (`.eq`, `.add`, ...), `str.match`, a grouped column reduced directly, a scalar
where a list is expected, SQL join kinds and NULL tests, booleans and day offsets as
literals. Same contract as `habit_rules`: edits, or nothing when unsure.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

import ibis.expr.types as ir
from ibis.common.deferred import Deferred

from ibert_tasks_sql.editing.ast_helpers import calls, recall, str_const, value_of
from ibert_tasks_sql.editing.edits import Edit, operand

if TYPE_CHECKING:
    from ibert_tasks_sql.editing.fix_rules import FixContext

#: pandas operator methods → the Python operator Ibis overloads.
OPERATOR_METHODS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
                    "add": "+", "sub": "-", "mul": "*", "div": "/", "truediv": "/",
                    "floordiv": "//", "mod": "%", "pow": "**"}


def fix_operator_method(ctx: FixContext, owner: str) -> list[Edit]:
    """`col.eq("x")` → `(col == "x")`, `a.mul(b)` → `(a * b)`."""
    edits = []
    for c in calls(ctx, *OPERATOR_METHODS):
        assert isinstance(c.func, ast.Attribute)
        if len(c.args) != 1 or c.keywords or not isinstance(value_of(ctx, c.func.value), ir.Value):
            continue
        op = OPERATOR_METHODS[c.func.attr]
        left = operand(ctx.source, c.func.value)
        edits.append(ctx.source.replace(c, f"({left} {op} {operand(ctx.source, c.args[0])})"))
    return edits


def fix_str_match(ctx: FixContext, owner: str) -> list[Edit]:
    """pandas `s.str.match(p)` anchors at the start → `s.re_search("^p")`;
    `fullmatch(p)` → `s.re_search("^p$")` (literal patterns only)."""
    edits = []
    for c in calls(ctx, "match", "fullmatch"):
        assert isinstance(c.func, ast.Attribute)
        pattern = str_const(c.args[0]) if len(c.args) == 1 and not c.keywords else None
        if pattern is None or not isinstance(value_of(ctx, c.func.value), ir.StringValue):
            continue
        anchored = pattern if pattern.startswith("^") else "^" + pattern
        if c.func.attr == "fullmatch" and not anchored.endswith("$"):
            anchored += "$"
        edits.append(recall(ctx, c, "re_search", repr(anchored)))
    return edits


def fix_grouped_column(ctx: FixContext) -> list[Edit]:
    """pandas `t.group_by("k")["c"].sum()` / `.c.sum()` → `t.group_by("k").agg(c=_.c.sum())`."""
    edits = []
    for c in ast.walk(ctx.tree):
        if not (isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                and not c.args and not c.keywords):
            continue
        picked = c.func.value
        if isinstance(picked, ast.Subscript):
            column, grouped = str_const(picked.slice), picked.value
        elif isinstance(picked, ast.Attribute):
            column, grouped = picked.attr, picked.value
        else:
            continue
        if column is None or not (isinstance(grouped, ast.Call)
                                  and isinstance(grouped.func, ast.Attribute)
                                  and grouped.func.attr == "group_by"):
            continue
        table = value_of(ctx, grouped.func.value)
        if not isinstance(table, ir.Table) or column not in table.columns \
                or not callable(getattr(table[column], c.func.attr, None)):
            continue
        edits.append(Edit(ctx.source.span(grouped)[1], ctx.source.span(c)[1],
                          f".agg({column}=_.{column}.{c.func.attr}())"))
    return edits


def fix_scalar_options(ctx: FixContext) -> list[Edit]:
    """`col.isin("a")` / `col.notin("a")`: one value where a list goes → `["a"]`."""
    return [recall(ctx, c, c.func.attr, f"[{ctx.source.text(c.args[0])}]")  # type: ignore[attr-defined]
            for c in calls(ctx, "isin", "notin")
            if len(c.args) == 1 and isinstance(c.args[0], ast.Constant)]


def fix_table_count_column(ctx: FixContext) -> list[Edit]:
    """pandas-ish `t.count("col")` (non-null values of a column) → `t.col.count()`."""
    edits = []
    for c in calls(ctx, "count"):
        assert isinstance(c.func, ast.Attribute)
        name = str_const(c.args[0]) if len(c.args) == 1 and not c.keywords else None
        table = value_of(ctx, c.func.value)
        if name and isinstance(table, ir.Table) and name in table.columns \
                and name.isidentifier():
            edits.append(Edit(ctx.source.span(c.func.value)[1], ctx.source.span(c)[1],
                              f".{name}.count()"))
    return edits


_JOIN_KINDS = {"inner": "inner", "left": "left", "right": "right", "full": "outer",
               "outer": "outer", "cross": "cross", "semi": "semi", "anti": "anti"}


def fix_join_kind(ctx: FixContext) -> list[Edit]:
    """SQL's `how="inner join"`, `"LEFT"`, `"full outer join"` → Ibis's `"inner"`, `"left"`,
    `"outer"`."""
    edits = []
    for c in calls(ctx, "join"):
        for k in c.keywords:
            text = str_const(k.value) if k.arg == "how" else None
            if text is None:
                continue
            words = [w for w in text.lower().replace("_", " ").split() if w not in ("join",)]
            kind = _JOIN_KINDS.get(words[0]) if words and (
                len(words) == 1 or words[1:] == ["outer"]) else None
            if kind is not None and kind != text:
                edits.append(ctx.source.replace(k.value, repr(kind)))
    return edits


def fix_bool_string(ctx: FixContext) -> list[Edit]:
    """`flag == "true"`: a boolean compared with the text "true"/"false" → `True`/`False`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Compare) and len(n.ops) == 1):
            continue
        for side, other in ((n.comparators[0], n.left), (n.left, n.comparators[0])):
            text = str_const(side)
            # `_.flag` cannot be typed here; the message already says a boolean was compared
            if text is not None and text.lower() in ("true", "false") \
                    and isinstance(value_of(ctx, other), (ir.BooleanValue, Deferred)):
                edits.append(ctx.source.replace(side, text.capitalize()))
    return edits


def fix_date_plus_days(ctx: FixContext) -> list[Edit]:
    """`date_col + 30`: SQL adds days to a date → `date_col + ibis.interval(days=30)`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if (isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub))
                and isinstance(n.right, ast.Constant) and type(n.right.value) is int
                and isinstance(value_of(ctx, n.left), ir.DateValue)):
            edits.append(ctx.source.replace(n.right, f"ibis.interval(days={n.right.value})"))
    return edits


def fix_null_name(ctx: FixContext) -> list[Edit]:
    """SQL's `NULL` as a Python name → `None` (the `== None` rule then makes it `isnull()`)."""
    return [ctx.source.replace(n, "None") for n in ast.walk(ctx.tree)
            if isinstance(n, ast.Name) and n.id == "NULL"]


# --- code that does not parse --------------------------------------------------------------------

_IS_NULL = re.compile(r"(?P<x>[\w.\]\[)('\"]+)\s+IS\s+(?P<not>NOT\s+)?NULL\b")
_C_OPERATORS = {"||": " or ", "&&": " and "}


def fix_sql_null_and_c_operators(code: str) -> str | None:
    """`x IS NULL` / `x IS NOT NULL` → `x.isnull()` / `x.notnull()`; C's `||`/`&&` between
    comparisons → `or`/`and` (the bool-ops rule makes them `|`/`&`); SQL's `||` next to a
    string literal → `+` (concatenation). Only when the result parses."""
    fixed = _IS_NULL.sub(lambda m: f"{m['x']}.{'notnull' if m['not'] else 'isnull'}()", code)
    for c_op, py_op in _C_OPERATORS.items():
        if c_op in fixed:
            spaced = re.compile(r"\s*" + re.escape(c_op) + r"\s*")
            candidate = spaced.sub(py_op, fixed)
            if _joins_comparisons(candidate):
                fixed = candidate
            elif c_op == "||" and _concatenates_text(concat := spaced.sub(" + ", fixed)):
                fixed = concat
    if fixed == code:
        return None
    try:
        ast.parse(fixed)
    except SyntaxError:
        return None
    return fixed


def _concatenates_text(code: str) -> bool:
    """SQL's `a || ' ' || b`: `+` joins operands one of which is a string literal."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add)
               and any(str_const(side) is not None for side in (n.left, n.right))
               for n in ast.walk(tree))


def _joins_comparisons(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    ops = [n for n in ast.walk(tree) if isinstance(n, ast.BoolOp)]
    return bool(ops) and all(isinstance(v, (ast.Compare, ast.Call, ast.BoolOp, ast.UnaryOp))
                             for op in ops for v in op.values)
