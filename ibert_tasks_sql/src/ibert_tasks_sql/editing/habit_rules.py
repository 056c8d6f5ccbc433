"""Fixers for pandas, SQL and old-Ibis habits that need the AST (not a semgrep pattern):
inverted rename mappings, keyword arguments Ibis spells differently, Python builtins and
operator precedence on expressions, uncalled methods, `'col DESC'` strings.

Each fixer takes a `FixContext` and returns edits, or nothing when the code is not the
shape it knows; the rules table in `fix_rules` decides which message runs which fixer.
A fixer that cannot be sure of the intent returns nothing: a refusal with advice beats a
plausible-looking wrong answer.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
import re
import tokenize
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from ibert_tasks_sql.editing.ast_helpers import calls, keyword, recall, str_const, value_of
from ibert_tasks_sql.editing.edits import Edit, operand

if TYPE_CHECKING:
    from ibert_tasks_sql.editing.fix_rules import FixContext


def _args_text(ctx: FixContext, call: ast.Call, drop: str | None = None,
               extra: tuple[str, ...] = ()) -> str:
    parts = [ctx.source.text(a) for a in call.args]
    parts += [f"{k.arg}={ctx.source.text(k.value)}" if k.arg else f"**{ctx.source.text(k.value)}"
              for k in call.keywords if k.arg != drop]
    return ", ".join([*parts, *extra])


# --- renames whose mapping runs the other way ------------------------------------------------


def _inverted_rename(pairs: dict[str, str]) -> str:
    """`{old: new}` (pandas, old `relabel`) as Ibis 12's `rename(new="old")`."""
    if all(new.isidentifier() for new in pairs.values()):
        return ", ".join(f"{new}={old!r}" for old, new in pairs.items())
    return "{" + ", ".join(f"{new!r}: {old!r}" for old, new in pairs.items()) + "}"


def _mapping(node: ast.AST | None) -> dict[str, str] | None:
    if not isinstance(node, ast.Dict):
        return None
    keys = [str_const(k) for k in node.keys]
    values = [str_const(v) for v in node.values]
    if any(k is None for k in keys) or any(v is None for v in values):
        return None
    return dict(zip(keys, values, strict=True))  # type: ignore[arg-type]


def fix_rename_mapping(ctx: FixContext, owner: str = "") -> list[Edit]:
    """`t.relabel({"old": "new"})` / `t.rename(columns={"old": "new"})` → `t.rename(new="old")`:
    both map old → new, Ibis 12's `rename` maps new → old."""
    edits = []
    for call in calls(ctx, "relabel", "rename"):
        assert isinstance(call.func, ast.Attribute)
        if call.func.attr == "relabel" and len(call.args) == 1 and not call.keywords:
            pairs = _mapping(call.args[0])
        elif call.func.attr == "rename" and not call.args and len(call.keywords) == 1 \
                and call.keywords[0].arg == "columns":
            pairs = _mapping(call.keywords[0].value)
            if not isinstance(call.keywords[0].value, ast.Dict):  # a function: `str.upper`
                edits.append(recall(ctx, call, "rename", ctx.source.text(
                    call.keywords[0].value)))
                continue
        else:
            continue
        if pairs:
            edits.append(recall(ctx, call, "rename", _inverted_rename(pairs)))
    return edits


# --- keyword arguments spelled the pandas / SQL way -------------------------------------------


def _order_by_ascending(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """`ascending=False` → every key in `ibis.desc`; `ascending=[False, True]` → per key."""
    keys = call.args[0].elts if len(call.args) == 1 and isinstance(
        call.args[0], ast.List) else call.args
    flags = kw.value.elts if isinstance(kw.value, (ast.List, ast.Tuple)) else [kw.value] * len(
        keys)
    if len(flags) != len(keys) or not all(
            isinstance(f, ast.Constant) and isinstance(f.value, bool) for f in flags):
        return []
    args = ", ".join(ctx.source.text(a) if f.value else f"ibis.desc({ctx.source.text(a)})"  # type: ignore[attr-defined]
                     for a, f in zip(keys, flags, strict=True))
    return [recall(ctx, call, "order_by", args)]


def _positional(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    assert isinstance(call.func, ast.Attribute)
    args = [ctx.source.text(a) for a in call.args] + [ctx.source.text(kw.value)]
    args += [f"{k.arg}={ctx.source.text(k.value)}" for k in call.keywords if k is not kw]
    method = {"fillna": "fill_null", "dropna": "drop_null"}.get(call.func.attr, call.func.attr)
    return [recall(ctx, call, method, ", ".join(args))]


def _over_partition_by(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    args = [ctx.source.text(a) for a in call.args]
    args += [f"{'group_by' if k is kw else k.arg}={ctx.source.text(k.value)}"
             for k in call.keywords]
    return [recall(ctx, call, "over", ", ".join(args))]


def _contains_regex(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    if not isinstance(kw.value, ast.Constant) or len(call.args) != 1:
        return []
    rest = _args_text(ctx, call, drop="regex")
    return [recall(ctx, call, "re_search" if kw.value.value else "contains", rest)]


def _contains_case(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """`contains("x", case=False)` → `.lower().contains("x")` (a literal pattern only)."""
    if not isinstance(kw.value, ast.Constant) or len(call.args) != 1:
        return []
    if kw.value.value:
        return [recall(ctx, call, "contains", _args_text(ctx, call, drop="case"))]
    needle = str_const(call.args[0])
    if needle is None or any(k.arg not in ("case", "regex") for k in call.keywords):
        return []
    regex = keyword(call, "regex")
    if regex is not None and not (isinstance(regex.value, ast.Constant) and not regex.value.value):
        return []
    assert isinstance(call.func, ast.Attribute)
    start = ctx.source.span(call.func.value)[1]
    return [Edit(start, ctx.source.span(call)[1], f".lower().contains({needle.lower()!r})")]


def _drop_columns(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """pandas `drop(columns=[...])` → `drop("a", "b")`."""
    if call.args or len(call.keywords) != 1:
        return []
    names = kw.value.elts if isinstance(kw.value, (ast.List, ast.Tuple)) else [kw.value]
    return [recall(ctx, call, "drop", ", ".join(ctx.source.text(n) for n in names))]


def _count_distinct(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """SQL `COUNT(DISTINCT x)` spelled `x.count(distinct=True)` → `x.nunique()`."""
    if call.args or len(call.keywords) != 1 or not (
            isinstance(kw.value, ast.Constant) and kw.value.value is True):
        return []
    return [recall(ctx, call, "nunique", "")]


def _join_left_right_on(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """pandas `join(r, left_on="a", right_on="b")` → `join(r, l.a == r.b)`."""
    left, right = keyword(call, "left_on"), keyword(call, "right_on")
    if left is None or right is None or len(call.args) != 1:
        return []
    lcol, rcol = str_const(left.value), str_const(right.value)
    assert isinstance(call.func, ast.Attribute)
    lt, rt = call.func.value, call.args[0]
    if lcol is None or rcol is None or not isinstance(lt, ast.Name) \
            or not isinstance(rt, ast.Name):
        return []
    rest = [f"{k.arg}={ctx.source.text(k.value)}" for k in call.keywords
            if k.arg not in ("left_on", "right_on")]
    args = ", ".join([rt.id, f"{lt.id}.{lcol} == {rt.id}.{rcol}", *rest])
    return [recall(ctx, call, "join", args)]


KEYWORD_FIXES: dict[tuple[str, str], Callable[[FixContext, ast.Call, ast.keyword], list[Edit]]] = {
    ("order_by", "ascending"): _order_by_ascending,
    ("join", "on"): _positional,
    ("fillna", "value"): _positional,
    ("fill_null", "value"): _positional,
    ("over", "partition_by"): _over_partition_by,
    ("contains", "regex"): _contains_regex,
    ("contains", "case"): _contains_case,
    ("drop", "columns"): _drop_columns,
    ("count", "distinct"): _count_distinct,
    ("join", "left_on"): _join_left_right_on,
    ("join", "right_on"): _join_left_right_on,
}


_UNEXPECTED = re.compile(r"(\w+)\(\) got an unexpected keyword argument '(\w+)'")
_POSITIONAL_ONLY = re.compile(
    r"(\w+)\(\) got some positional-only arguments passed as keyword arguments: '(\w+)'")


KeywordFixer = Callable[["FixContext", ast.Call, ast.keyword], list[Edit]]


def fix_keyword(ctx: FixContext,
                table: dict[tuple[str, str], KeywordFixer] | None = None) -> list[Edit]:
    """A keyword argument Ibis does not take: the known pandas/SQL spellings (`table`,
    by default this module's), and any positional-only parameter passed by name."""
    m = _UNEXPECTED.search(ctx.message)
    positional_only = m is None
    m = m or _POSITIONAL_ONLY.search(ctx.message)
    if m is None:
        return []
    method, name = m.groups()
    fixer = _positional if positional_only else (
        KEYWORD_FIXES if table is None else table).get((method, name))
    if fixer is None:
        return []
    edits = []
    for call in calls(ctx, method):
        kw = keyword(call, name)
        if kw is not None:
            edits += fixer(ctx, call, kw)
    return edits


# --- arguments in the wrong shape --------------------------------------------------------------


def fix_isin_varargs(ctx: FixContext) -> list[Edit]:
    """`col.isin("a", "b")` → `col.isin(["a", "b"])`."""
    return [recall(ctx, c, "isin", "[" + ", ".join(ctx.source.text(a) for a in c.args) + "]")
            for c in calls(ctx, "isin") if len(c.args) > 1 and not c.keywords]


def fix_between_list(ctx: FixContext) -> list[Edit]:
    """`col.between([lo, hi])` → `col.between(lo, hi)`."""
    edits = []
    for c in calls(ctx, "between"):
        if len(c.args) == 1 and isinstance(c.args[0], (ast.List, ast.Tuple)) \
                and len(c.args[0].elts) == 2:
            lo, hi = c.args[0].elts
            edits.append(recall(ctx, c, "between",
                                 f"{ctx.source.text(lo)}, {ctx.source.text(hi)}"))
    return edits


def fix_limit_offset(ctx: FixContext) -> list[Edit]:
    """`t.limit(5, 10)` → `t.limit(5, offset=10)` (the offset is keyword-only)."""
    return [recall(ctx, c, "limit", f"{ctx.source.text(c.args[0])}, "
                                     f"offset={ctx.source.text(c.args[1])}")
            for c in calls(ctx, "limit") if len(c.args) == 2 and not c.keywords]


def fix_quoted_operand(ctx: FixContext) -> list[Edit]:
    """`qty + "1"`: arithmetic with a quoted number → the number."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not isinstance(n, ast.BinOp):
            continue
        for side, other in ((n.right, n.left), (n.left, n.right)):
            text = str_const(side)
            if text is not None and re.fullmatch(r"-?\d+(\.\d+)?", text.strip()) \
                    and isinstance(value_of(ctx, other), ir.NumericValue):
                edits.append(ctx.source.replace(side, text.strip()))
    return edits


def fix_python_builtin(ctx: FixContext) -> list[Edit]:
    """`sum(col)` / `max(col)` / `min(col)`: Python iterates, Ibis reduces → `col.sum()`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                and n.func.id in ("sum", "max", "min") and len(n.args) == 1 and not n.keywords
                and isinstance(value_of(ctx, n.args[0]), ir.Column)):
            edits.append(ctx.source.replace(n, f"{operand(ctx.source, n.args[0])}.{n.func.id}()"))
    return edits


def fix_chained_comparison(ctx: FixContext) -> list[Edit]:
    """`a >= x & b < y` parses as `a >= (x & b) < y`; `&`/`|` bind tighter than comparisons
    in Python → `(a >= x) & (b < y)`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Compare) and len(n.ops) == 2
                and isinstance(n.comparators[0], ast.BinOp)
                and isinstance(n.comparators[0].op, (ast.BitAnd, ast.BitOr))):
            continue
        mid = n.comparators[0]
        op = "&" if isinstance(mid.op, ast.BitAnd) else "|"
        src = ctx.source
        left = f"{src.text(n.left)} {_CMP[type(n.ops[0])]} {src.text(mid.left)}"
        right = f"{src.text(mid.right)} {_CMP[type(n.ops[1])]} {src.text(n.comparators[1])}"
        edits.append(src.replace(n, f"({left}) {op} ({right})"))
    return edits


def fix_python_in(ctx: FixContext) -> list[Edit]:
    """`col in ["a", "b"]` asks Python for a bool → `col.isin(["a", "b"])` (`not in` →
    `notin`)."""
    edits = []
    for n in ast.walk(ctx.tree):
        if (isinstance(n, ast.Compare) and len(n.ops) == 1
                and isinstance(n.ops[0], (ast.In, ast.NotIn))
                and isinstance(n.comparators[0], (ast.List, ast.Tuple, ast.Set))
                and isinstance(value_of(ctx, n.left), ir.Value)):
            method = "isin" if isinstance(n.ops[0], ast.In) else "notin"
            values = "[" + ", ".join(ctx.source.text(e) for e in n.comparators[0].elts) + "]"
            edits.append(ctx.source.replace(
                n, f"{operand(ctx.source, n.left)}.{method}({values})"))
    return edits


_CMP = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def fix_uncalled_method(ctx: FixContext) -> list[Edit]:
    """`col.year == 2024`, `agg(total=col.sum)`: a method of an expression used without
    calling it (a bound method compares False, so the filter drops every row) → `col.year()`."""
    called = {id(n.func) for n in ast.walk(ctx.tree) if isinstance(n, ast.Call)}
    edits = []
    for n in ast.walk(ctx.tree):
        if isinstance(n, ast.Attribute) and id(n) not in called:
            value = value_of(ctx, n)
            if callable(value) and isinstance(getattr(value, "__self__", None), ir.Value):
                edits.append(Edit(ctx.source.span(n)[1], ctx.source.span(n)[1], "()"))
    return edits


def fix_string_concat(ctx: FixContext) -> list[Edit]:
    """`name + id`: a string plus a number → `name + id.cast("string")`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Add):
            left, right = value_of(ctx, n.left), value_of(ctx, n.right)
            for side, value, other in ((n.right, right, left), (n.left, left, right)):
                if isinstance(other, ir.StringValue) and isinstance(value, ir.NumericValue):
                    end = ctx.source.span(side)[1]
                    edits.append(Edit(end, end, '.cast("string")') if not isinstance(
                        side, ast.BinOp) else ctx.source.replace(
                        side, f'({ctx.source.text(side)}).cast("string")'))
    return edits


def fix_temporal_string(ctx: FixContext) -> list[Edit]:
    """`date_col - "2024-01-01"`: arithmetic needs a typed literal → `ibis.date("...")`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub))):
            continue
        text = str_const(n.right)
        value = value_of(ctx, n.left)
        if text is None or not isinstance(value, (ir.DateValue, ir.TimestampValue)):
            continue
        try:
            dt.date.fromisoformat(text) if isinstance(value, ir.DateValue) \
                else dt.datetime.fromisoformat(text)
        except ValueError:
            continue
        kind = "date" if isinstance(value, ir.DateValue) else "timestamp"
        edits.append(ctx.source.replace(n.right, f"ibis.{kind}({ctx.source.text(n.right)})"))
    return edits


def _temporal_literal_sides(ctx: FixContext) -> list[tuple[ast.Compare, ast.AST, Any, str]]:
    """(comparison, the literal's node, its value, the temporal side's text) for every
    `temporal_expr <op> literal` (either order) in the code."""
    out: list[tuple[ast.Compare, ast.AST, Any, str]] = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Compare) and len(n.ops) == 1):
            continue
        left, right = n.left, n.comparators[0]
        for expr, lit in ((left, right), (right, left)):
            if isinstance(lit, ast.Constant) and isinstance(
                    value_of(ctx, expr), (ir.DateValue, ir.TimestampValue)):
                out.append((n, lit, lit.value, operand(ctx.source, expr)))
    return out


def fix_year_string(ctx: FixContext) -> list[Edit]:
    """`date_col == "2024"`: DuckDB cannot read "2024" as a date → `date_col.year() == 2024`
    (a four-digit year only; anything else is left for the user)."""
    edits = []
    for cmp, lit, value, expr in _temporal_literal_sides(ctx):
        if isinstance(value, str) and re.fullmatch(r"\d{4}", value):
            year = ctx.source.span(lit)
            side = cmp.left if lit is not cmp.left else cmp.comparators[0]
            edits += [ctx.source.replace(side, f"{expr}.year()"), Edit(*year, value)]
    return edits


def fix_numeric_date(ctx: FixContext) -> list[Edit]:
    """`date_col > 20240101`: an eight-digit YYYYMMDD number that is a real date →
    `ibis.date("2024-01-01")`."""
    edits = []
    for _cmp, lit, value, _expr in _temporal_literal_sides(ctx):
        if isinstance(value, int) and not isinstance(value, bool) \
                and re.fullmatch(r"(19|20)\d{6}", str(value)):
            try:
                day = dt.datetime.strptime(str(value), "%Y%m%d").date()
            except ValueError:
                continue
            edits.append(ctx.source.replace(lit, f'ibis.date("{day.isoformat()}")'))
    return edits


# --- attributes pandas has and Ibis does not (keyed by name in fix_rules.ATTRIBUTE_FIXES) -----


def fix_iloc(ctx: FixContext, owner: str) -> list[Edit]:
    """`t.iloc[:n]` → `t.head(n)`, `t.iloc[a:b]` → `t.limit(b - a, offset=a)` (int literals)."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute)
                and n.value.attr == "iloc" and isinstance(n.slice, ast.Slice)
                and n.slice.step is None):
            continue
        lo, hi = (s.value if isinstance(s, ast.Constant) and isinstance(s.value, int) else
                  (0 if s is None else None) for s in (n.slice.lower, n.slice.upper))
        if lo is None or hi is None or n.slice.upper is None or hi < lo:
            continue
        table = ctx.source.text(n.value.value)
        text = f"{table}.head({hi})" if lo == 0 else f"{table}.limit({hi - lo}, offset={lo})"
        edits.append(ctx.source.replace(n, text))
    return edits


def fix_nlargest(ctx: FixContext, owner: str) -> list[Edit]:
    """pandas `t.nlargest(n, "col")` → `t.order_by(ibis.desc("col")).head(n)`
    (`nsmallest` → ascending)."""
    edits = []
    for c in calls(ctx, "nlargest", "nsmallest"):
        assert isinstance(c.func, ast.Attribute)
        if len(c.args) != 2 or c.keywords or not isinstance(value_of(ctx, c.func.value), ir.Table):
            continue
        n, col = (ctx.source.text(a) for a in c.args)
        key = f"ibis.desc({col})" if c.func.attr == "nlargest" else col
        start = ctx.source.span(c.func.value)[1]
        edits.append(Edit(start, ctx.source.span(c)[1], f".order_by({key}).head({n})"))
    return edits


def fix_loc_columns(ctx: FixContext, owner: str) -> list[Edit]:
    """pandas `t.loc[cond, ["a", "b"]]` → `t.filter(cond).select("a", "b")`; `t.loc[cond]`
    → `t.filter(cond)`."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Subscript) and isinstance(n.value, ast.Attribute)
                and n.value.attr == "loc"):
            continue
        table = ctx.source.text(n.value.value)
        if isinstance(n.slice, ast.Tuple) and len(n.slice.elts) == 2:
            cond, cols = n.slice.elts
            names = cols.elts if isinstance(cols, ast.List) else [cols]
            select = ", ".join(ctx.source.text(c) for c in names)
            rows = "" if isinstance(cond, ast.Slice) else f".filter({ctx.source.text(cond)})"
            edits.append(ctx.source.replace(n, f"{table}{rows}.select({select})"))
        elif not isinstance(n.slice, ast.Slice):
            edits.append(ctx.source.replace(n, f"{table}.filter({ctx.source.text(n.slice)})"))
    return edits


_REDUCTIONS = {"count": "count", "sum": "sum", "mean": "mean", "avg": "mean", "max": "max",
               "min": "min", "median": "median", "count_distinct": "nunique"}


def fix_ibis_reduction(ctx: FixContext, owner: str) -> list[Edit]:
    """SQL-style `ibis.sum(x)` / `ibis.count()` → `x.sum()` / `_.count()`."""
    if owner != "ibis":
        return []
    edits = []
    for c in calls(ctx, *_REDUCTIONS):
        assert isinstance(c.func, ast.Attribute)
        if not (isinstance(c.func.value, ast.Name) and c.func.value.id == "ibis") or c.keywords:
            continue
        method = _REDUCTIONS[c.func.attr]
        if not c.args and method == "count":
            edits.append(ctx.source.replace(c, "_.count()"))
        elif len(c.args) == 1:
            edits.append(ctx.source.replace(c, f"{operand(ctx.source, c.args[0])}.{method}()"))
    return edits


def fix_reset_index(ctx: FixContext, owner: str) -> list[Edit]:
    """Ibis tables have no index: `.reset_index()` is a no-op, so it is dropped."""
    if owner != "Table":
        return []
    return [Edit(ctx.source.span(c.func.value)[1], ctx.source.span(c)[1], "")  # type: ignore[attr-defined]
            for c in calls(ctx, "reset_index") if not c.args and all(
                k.arg == "drop" for k in c.keywords)]


#: pandas `.dt` parts whose Ibis name differs (attribute or zero-argument method alike).
DT_PARTS = {"dayofweek": ".day_of_week.index()", "weekday": ".day_of_week.index()",
            "day_name": ".day_of_week.full_name()", "dayofyear": ".day_of_year()",
            "day_of_year": ".day_of_year()", "date": ".date()"}


def fix_dt_accessor(ctx: FixContext, owner: str) -> list[Edit]:
    """`d.dt.year` → `d.year()`, `d.dt.strftime(f)` → `d.strftime(f)`: no `.dt` accessor in
    Ibis, and its datetime parts are methods."""
    called = {id(n.func) for n in ast.walk(ctx.tree) if isinstance(n, ast.Call)}
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Attribute)
                and n.value.attr == "dt"):
            continue
        base = value_of(ctx, n.value.value)
        temporal = isinstance(base, (ir.DateValue, ir.TimestampValue, ir.TimeValue))
        start, end = ctx.source.span(n.value.value)[1], ctx.source.span(n)[1]
        if temporal and n.attr in DT_PARTS:
            call = next((c for c in ast.walk(ctx.tree) if isinstance(c, ast.Call)
                         and c.func is n and not c.args), None)
            end = ctx.source.span(call)[1] if call else end
            edits.append(Edit(start, end, DT_PARTS[n.attr]))
            continue
        if not temporal or not callable(getattr(base, n.attr, None)):
            continue
        call_parens = "" if id(n) in called else "()"
        edits.append(Edit(start, end, f".{n.attr}{call_parens}"))
    return edits


def fix_unique(ctx: FixContext, owner: str) -> list[Edit]:
    """`t.col.unique()` (pandas: the distinct values) → `t.select("col").distinct()`."""
    edits = []
    for c in calls(ctx, "unique"):
        recv = c.func.value  # type: ignore[attr-defined]
        if c.args or c.keywords or not isinstance(recv, ast.Attribute):
            continue
        if isinstance(value_of(ctx, recv.value), ir.Table):
            edits.append(ctx.source.replace(
                c, f"{ctx.source.text(recv.value)}.select({recv.attr!r}).distinct()"))
    return edits


def fix_column_agg(ctx: FixContext, owner: str) -> list[Edit]:
    """`t.col.agg(["sum", "mean"])` → `t.aggregate(sum=t.col.sum(), mean=t.col.mean())`."""
    edits = []
    for c in calls(ctx, "agg"):
        recv = c.func.value  # type: ignore[attr-defined]
        if len(c.args) != 1 or c.keywords or not isinstance(c.args[0], (ast.List, ast.Tuple)):
            continue
        names = [str_const(e) for e in c.args[0].elts]
        column = value_of(ctx, recv)
        if not isinstance(recv, ast.Attribute) or not isinstance(column, ir.Column) \
                or not isinstance(value_of(ctx, recv.value), ir.Table) or not names \
                or any(n is None or not callable(getattr(column, n, None)) for n in names):
            continue
        col = ctx.source.text(recv)
        parts = ", ".join(f"{n}={col}.{n}()" for n in names)
        edits.append(ctx.source.replace(c, f"{ctx.source.text(recv.value)}.aggregate({parts})"))
    return edits


def fix_offset(ctx: FixContext, owner: str) -> list[Edit]:
    """`t.limit(n).offset(m)` (SQL order of clauses) → `t.limit(n, offset=m)`."""
    edits = []
    for c in calls(ctx, "offset"):
        recv = c.func.value  # type: ignore[attr-defined]
        if (len(c.args) == 1 and not c.keywords and isinstance(recv, ast.Call)
                and isinstance(recv.func, ast.Attribute) and recv.func.attr == "limit"
                and len(recv.args) == 1 and not recv.keywords):
            edits.append(Edit(ctx.source.span(recv.func.value)[1], ctx.source.span(c)[1],
                              f".limit({ctx.source.text(recv.args[0])}, "
                              f"offset={ctx.source.text(c.args[0])})"))
    return edits


def fix_ibis_concat(ctx: FixContext, owner: str) -> list[Edit]:
    """`ibis.concat(a, b, ...)` (SQL CONCAT) → `a.concat(b, ...)`."""
    if owner != "ibis":
        return []
    return [ctx.source.replace(c, f"{operand(ctx.source, c.args[0])}.concat("
                               + ", ".join(ctx.source.text(a) for a in c.args[1:]) + ")")
            for c in calls(ctx, "concat") if isinstance(c.func.value, ast.Name)  # type: ignore[attr-defined]
            and c.func.value.id == "ibis" and len(c.args) >= 2 and not c.keywords]  # type: ignore[attr-defined]


def fix_query(ctx: FixContext, owner: str) -> list[Edit]:
    """pandas `t.query("a == 1 and b > 2")` → `t.filter(t.a == 1 and t.b > 2)` (its names
    bound to the table's columns; the next round turns `and`/`or` into `&`/`|`)."""
    edits = []
    for c in calls(ctx, "query"):
        recv = c.func.value  # type: ignore[attr-defined]
        table = value_of(ctx, recv)
        text = str_const(c.args[0]) if len(c.args) == 1 and not c.keywords else None
        if not isinstance(table, ir.Table) or text is None or not isinstance(recv, ast.Name):
            continue
        try:
            expr = ast.parse(text, mode="eval")
        except SyntaxError:
            continue
        names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
        if not names or not names <= set(table.columns) or "@" in text or "\n" in text:
            continue
        edits.append(recall(ctx, c, "filter", _qualify(text, names, recv.id)))
    return edits


def _qualify(text: str, columns: set[str], table: str) -> str:
    """`status == 'x'` → `t.status == 'x'`: NAME tokens only, never inside string literals
    (the query is one line, as `ast.parse` in `fix_query` accepted it in eval mode)."""
    starts = [tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
              if tok.type == tokenize.NAME and tok.string in columns and tok.start[0] == 1]
    for col in reversed(starts):
        text = f"{text[:col]}{table}.{text[col:]}"
    return text.strip()


# --- strings that are SQL, not column names ---------------------------------------------------

_ORDER_WORD = re.compile(r"^\s*(\w+)\s+(asc|desc)\s*$", re.IGNORECASE)


def fix_sql_strings(ctx: FixContext, name: str, existing: list[str]) -> list[Edit]:
    """`order_by("d DESC")` → `order_by(ibis.desc("d"))`; `.select("*")` → dropped;
    `value_counts()`'s count column is `<col>_count`, not `count`."""
    consts = [n for n in ast.walk(ctx.tree) if isinstance(n, ast.Constant) and n.value == name]
    if "," in name and consts:
        keys = [_order_key(part, existing, ctx.source.text(consts[0])[-1])
                for part in name.split(",")]
        if all(keys):
            return [ctx.source.replace(n, ", ".join(keys)) for n in consts  # type: ignore[arg-type]
                    if _is_order_by_arg(ctx, n)]
    m = _ORDER_WORD.match(name)
    if m and (not existing or m.group(1) in existing):
        quote = ctx.source.text(consts[0])[-1] if consts else '"'
        col = f"{quote}{m.group(1)}{quote}"
        text = f"ibis.desc({col})" if m.group(2).lower() == "desc" else col
        return [ctx.source.replace(n, text) for n in consts]
    if name == "*":
        return [Edit(ctx.source.span(c.func.value)[1], ctx.source.span(c)[1], "")  # type: ignore[attr-defined]
                for c in calls(ctx, "select")
                if [str_const(a) for a in c.args] == ["*"] and not c.keywords]
    counts = [c for c in existing if c.endswith("_count")]
    if name == "count" and len(counts) == 1:
        quotes = [ctx.source.text(n)[-1] for n in consts]
        return [ctx.source.replace(n, f"{q}{counts[0]}{q}") for n, q in zip(consts, quotes,
                                                                             strict=True)]
    return []


def _order_key(part: str, existing: list[str], quote: str) -> str | None:
    """One clause of "a ASC, b DESC" as an order_by argument, if `a` is a column."""
    m = _ORDER_WORD.match(part) or re.fullmatch(r"\s*(\w+)\s*()", part)
    if m is None or (existing and m.group(1) not in existing):
        return None
    col = f"{quote}{m.group(1)}{quote}"
    return f"ibis.desc({col})" if m.group(2).lower() == "desc" else col


def _is_order_by_arg(ctx: FixContext, node: ast.AST) -> bool:
    return any(node in c.args for c in calls(ctx, "order_by"))


def ibis_name(name: str) -> str | None:
    """A bare name that is an `ibis` function (`desc`, `literal`, ...): `ibis.desc`."""
    public = not name.startswith("_") and name not in ("ibis", "expr", "backends")
    return f"ibis.{name}" if public and callable(getattr(ibis, name, None)) else None
