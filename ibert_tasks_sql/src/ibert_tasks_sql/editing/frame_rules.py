"""Fixers for dataframe habits (pandas and polars) whose Ibis spelling is a different shape:
row-offset methods that need a window (`shift`, `diff`), value mappings
(`replace({...})`), pandas `rank(method=...)`, polars `pl.col(...)` expressions, lists of
sort keys, `strftime(...)` parts compared with numbers.

Same contract as `habit_rules`: a fixer returns edits only when it is sure of the intent.
A row offset means nothing without an order, so `shift` is rewritten only when the code
orders the rows itself (`t.order_by(k).mutate(...shift...)`); else the advice in
`fix_rules.ADVICE` says which `order_by` to add.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from ibert_tasks_sql.editing.ast_helpers import calls, keyword, recall, str_const, value_of
from ibert_tasks_sql.editing.edits import Edit, Source, apply_edits, needs_parens, operand
from ibert_tasks_sql.editing.habit_rules import KeywordFixer, fix_keyword

if TYPE_CHECKING:
    from ibert_tasks_sql.editing.fix_rules import FixContext


# --- lists of sort keys --------------------------------------------------------------------


def fix_list_sort_key(ctx: FixContext, owner: str = "") -> list[Edit]:
    """`order_by(ibis.desc(["a", "b"]))` → `order_by(ibis.desc("a"), ibis.desc("b"))`: `desc`
    takes one key, so a list of keys is spread into one key each (only as an argument of
    `order_by`, where the spread keys stay arguments)."""
    keys = {id(a) for c in calls(ctx, "order_by") for a in c.args}
    edits = []
    for c in calls(ctx, "desc", "asc"):
        func = c.func
        assert isinstance(func, ast.Attribute)
        if (id(c) in keys and isinstance(func.value, ast.Name) and func.value.id == "ibis"
                and len(c.args) == 1 and isinstance(c.args[0], (ast.List, ast.Tuple))
                and c.args[0].elts):
            rest = "".join(f", {k.arg}={ctx.source.text(k.value)}" for k in c.keywords)
            edits.append(ctx.source.replace(c, ", ".join(
                f"ibis.{func.attr}({ctx.source.text(e)}{rest})" for e in c.args[0].elts)))
    return edits


# --- pandas value mapping ------------------------------------------------------------------


def fix_replace_mapping(ctx: FixContext, owner: str = "") -> list[Edit]:
    """pandas `col.replace({"a": "A"})` maps whole values (others kept) → Ibis
    `col.substitute({"a": "A"})`; `num.replace(0, 1)` → `num.substitute({0: 1})`. Ibis's
    string `replace(a, b)` replaces substrings, so on text only the dict form is rewritten."""
    edits = []
    for c in calls(ctx, "replace"):
        recv = c.func.value  # type: ignore[attr-defined]
        value = value_of(ctx, recv)
        if c.keywords or not isinstance(value, ir.Value):
            continue
        if len(c.args) == 1 and isinstance(c.args[0], ast.Dict):
            edits.append(recall(ctx, c, "substitute", ctx.source.text(c.args[0])))
        elif len(c.args) == 2 and not isinstance(value, ir.StringValue) and all(
                isinstance(a.operand if isinstance(a, ast.UnaryOp) else a, ast.Constant)
                for a in c.args):
            old, new = (ctx.source.text(a) for a in c.args)
            edits.append(recall(ctx, c, "substitute", f"{{{old}: {new}}}"))
    return edits


# --- row offsets: shift / diff ----------------------------------------------


def _enclosing_order(ctx: FixContext, node: ast.AST) -> str | None:
    """The `order_by` keys (text) of the relation `node` is computed on: the call whose
    arguments hold `node` (`mutate`, `select`...) must be made on `t.order_by(keys)`."""
    for call in ast.walk(ctx.tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        args = [*call.args, *(k.value for k in call.keywords)]
        if not any(node in ast.walk(a) for a in args):
            continue
        recv = call.func.value
        if (isinstance(recv, ast.Call) and isinstance(recv.func, ast.Attribute)
                and recv.func.attr == "order_by" and recv.args and not recv.keywords):
            if len(recv.args) == 1:
                return ctx.source.text(recv.args[0])
            return "[" + ", ".join(ctx.source.text(a) for a in recv.args) + "]"
    return None


def _periods(call: ast.Call) -> int | None:
    """pandas `periods` (positional or keyword; default 1), an int literal only."""
    kw = keyword(call, "periods")
    if len(call.args) + len(call.keywords) > 1 or (call.keywords and kw is None):
        return None
    node = call.args[0] if call.args else (kw.value if kw else ast.Constant(1))
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1, node.operand
    value = node.value if isinstance(node, ast.Constant) else None
    if not isinstance(value, int) or isinstance(value, bool) or not value:
        return None
    return sign * value


def fix_row_offset(ctx: FixContext, owner: str = "") -> list[Edit]:
    """`col.shift(1)` → `col.lag().over(ibis.window(order_by=k))` (`shift(-1)` → `lead`),
    `col.diff()` → `(col - col.lag().over(...))`; `k` is the `order_by` the code applied to
    the rows. (`pct_change` is left to the advice: pandas fills missing values first and
    divides by 0 into inf, SQL does neither.)"""
    edits = []
    for c in calls(ctx, "shift", "diff"):
        func = c.func
        assert isinstance(func, ast.Attribute)
        periods, order = _periods(c), _enclosing_order(ctx, c)
        if periods is None or order is None or not isinstance(
                value_of(ctx, func.value), ir.Column):
            continue
        if func.attr != "shift" and periods != 1:
            continue
        col = operand(ctx.source, func.value)
        method = "lag" if periods > 0 else "lead"
        arg = "" if abs(periods) == 1 else str(abs(periods))
        prev = f"{col}.{method}({arg}).over(ibis.window(order_by={order}))"
        text = prev if func.attr == "shift" else f"({col} - {prev})"
        edits.append(ctx.source.replace(c, text))
    return edits


# --- pandas rank(method=...) ---------------------------------------------------------------

#: pandas rank methods Ibis has (pandas ranks from 1, Ibis from 0). "average" has no match.
_RANKS = {"min": "rank", "dense": "dense_rank"}


def fix_rank_method(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """`col.rank(method="dense")` → `ibis.cases((col.notnull(), col.dense_rank() + 1))`
    (`"min"` → `rank`): pandas ranks from 1 and leaves a missing value's rank missing."""
    method = str_const(kw.value)
    if call.args or len(call.keywords) != 1 or method not in _RANKS:
        return []
    assert isinstance(call.func, ast.Attribute)
    col = operand(ctx.source, call.func.value)
    return [ctx.source.replace(
        call, f"ibis.cases(({col}.notnull(), {col}.{_RANKS[method]}() + 1))")]


def fix_nulls_last(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """`desc(nulls_last=True)` → `desc(nulls_first=False)`: Ibis names the other end."""
    if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool)):
        return []
    start, end = ctx.source.span(kw)
    return [Edit(start, end, f"nulls_first={not kw.value.value}")]


def fix_descending(ctx: FixContext, call: ast.Call, kw: ast.keyword) -> list[Edit]:
    """polars `sort("a", descending=True)` → `order_by(ibis.desc("a"))` (a list of flags
    per key too)."""
    keys = call.args[0].elts if len(call.args) == 1 and isinstance(
        call.args[0], (ast.List, ast.Tuple)) else call.args
    flags = kw.value.elts if isinstance(kw.value, (ast.List, ast.Tuple)) else [kw.value] * len(
        keys)
    if len(call.keywords) != 1 or len(flags) != len(keys) or not keys or not all(
            isinstance(f, ast.Constant) and isinstance(f.value, bool) for f in flags):
        return []
    args = ", ".join(f"ibis.desc({ctx.source.text(a)})" if f.value  # type: ignore[attr-defined]
                     else ctx.source.text(a) for a, f in zip(keys, flags, strict=True))
    return [recall(ctx, call, "order_by", args)]


#: Keyword arguments of pandas/polars whose Ibis spelling has another shape.
KEYWORD_FIXES: dict[tuple[str, str], KeywordFixer] = {
    ("desc", "nulls_last"): fix_nulls_last,
    ("asc", "nulls_last"): fix_nulls_last,
    ("order_by", "descending"): fix_descending,
    ("rank", "method"): fix_rank_method,
}


def fix_frame_keyword(ctx: FixContext) -> list[Edit]:
    """`fix_keyword` over this module's table."""
    return fix_keyword(ctx, KEYWORD_FIXES)


# --- polars expressions --------------------------------------------------------------------


def _polars_calls(tree: ast.AST) -> list[ast.Call]:
    return [c for c in ast.walk(tree) if isinstance(c, ast.Call)
            and isinstance(c.func, ast.Attribute) and isinstance(c.func.value, ast.Name)
            and c.func.value.id == "pl" and not c.keywords]


def _polars_edits(src: Source, tree: ast.AST) -> list[Edit]:
    """`pl.col("x")` → `_.x`, `pl.lit(v)` → `ibis.literal(v)`, `pl.len()` → `_.count()`."""
    edits = []
    for c in _polars_calls(tree):
        attr = c.func.attr  # type: ignore[attr-defined]
        name = str_const(c.args[0]) if len(c.args) == 1 else None
        if attr == "col" and name is not None:
            edits.append(src.replace(c, f"_.{name}" if name.isidentifier() else f"_[{name!r}]"))
        elif attr == "lit" and len(c.args) == 1:
            edits.append(src.replace(c, f"ibis.literal({src.text(c.args[0])})"))
        elif attr in ("len", "count") and not c.args:
            edits.append(src.replace(c, "_.count()"))
    return edits


def _polars_name(arg: ast.AST) -> str | None:
    """The name polars gives an unnamed expression: its leftmost column (`pl.len()`:
    "len"); None when it is named already (`.alias`) or has no polars root."""
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) \
            and arg.func.attr in ("alias", "name"):
        return None
    roots = sorted(((c.lineno, c.col_offset), c) for c in _polars_calls(arg)
                   if c.func.attr in ("col", "len", "count"))  # type: ignore[attr-defined]
    if not roots:
        return None
    first = roots[0][1]
    return str_const(first.args[0]) if first.args else first.func.attr  # type: ignore[attr-defined]


def fix_polars(ctx: FixContext) -> list[Edit]:
    """polars expressions → Ibis deferred ones on `_` (the relation they are used on, as in
    polars). An unnamed expression in `with_columns`/`agg`/`select` keeps polars' name
    (its leftmost column, so `with_columns(pl.col("a") * 2)` still replaces `a`)."""
    edits, done = [], set()
    for call in calls(ctx, "with_columns", "mutate", "agg", "aggregate", "select"):
        for arg in call.args:
            name = _polars_name(arg)
            if name is None:
                continue
            text = ctx.source.text(arg)
            inner = Source(text)
            body, _ = apply_edits(text, _polars_edits(inner, ast.parse(text, mode="eval")))
            body = f"({body})" if needs_parens(arg) else body
            edits.append(ctx.source.replace(arg, f"{body}.name({name!r})"))
            done |= {id(n) for n in ast.walk(arg)}
    rest = [c for c in _polars_calls(ctx.tree) if id(c) not in done]
    return edits + [e for e in _polars_edits(ctx.source, ctx.tree)
                    if any(ctx.source.span(c) == (e.start, e.end) for c in rest)]


# --- strftime parts compared with numbers --------------------------------------------------

#: A strftime format that is one date part, and the Ibis method giving it as a number.
_PARTS = {"%Y": "year", "%m": "month", "%d": "day", "%H": "hour", "%M": "minute",
          "%S": "second"}


def fix_strftime_number(ctx: FixContext) -> list[Edit]:
    """`d.strftime("%Y") == 2024` (text vs number) → `d.year() == 2024`, for a format that
    is exactly one part. Quoting the number instead would be wrong for `"%m" == 3`
    (`"03"`), so other formats are left to the advice."""
    edits = []
    for n in ast.walk(ctx.tree):
        if not (isinstance(n, ast.Compare) and len(n.ops) == 1):
            continue
        for side, other in ((n.left, n.comparators[0]), (n.comparators[0], n.left)):
            if not (isinstance(side, ast.Call) and isinstance(side.func, ast.Attribute)
                    and side.func.attr == "strftime" and len(side.args) == 1
                    and not side.keywords and isinstance(other, ast.Constant)
                    and isinstance(other.value, int) and not isinstance(other.value, bool)):
                continue
            part = _PARTS.get(str_const(side.args[0]) or "")
            temporal = (ir.DateValue, ir.TimestampValue, ir.TimeValue)
            if part and isinstance(value_of(ctx, side.func.value), temporal):
                edits.append(recall(ctx, side, part, ""))
    return edits
