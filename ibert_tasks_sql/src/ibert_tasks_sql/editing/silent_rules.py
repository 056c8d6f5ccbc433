"""Rules for code that the error-driven rules never see: code that does not parse (SQL's
`=`, `AND`, `<>` written in Python) and code that builds but surely means something else
(`lint`: pandas keywords that become group keys, named-aggregation tuples that become
literals, a method compared without calling it). The lint's message is then handled like
an error by the rules in `fix_rules`.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from ibert_tasks_sql.editing.ast_helpers import calls, recall, str_const, value_of
from ibert_tasks_sql.editing.edits import Edit, apply_edits

if TYPE_CHECKING:
    from ibert_tasks_sql.editing.fix_rules import FixContext


# --- code that does not parse ------------------------------------------------------------------

_SINGLE_EQUALS = re.compile(r"(?<![=!<>])=(?!=)")


def fix_assignment_in_call(code: str, error: BaseException | None) -> Edit | None:
    """`t.filter(t.a = 1)` (SQL's `=`): Python says "expression cannot contain assignment";
    the one `=` in the span it points at becomes `==`. Anything else that does not parse
    is left to the user."""
    if not isinstance(error, SyntaxError) or "cannot contain assignment" not in str(error.msg) \
            or not error.lineno or not error.offset or not error.end_offset \
            or error.end_lineno not in (None, error.lineno):
        return None
    line = code.splitlines()[error.lineno - 1]
    segment = line[error.offset - 1:error.end_offset - 1]
    found = list(_SINGLE_EQUALS.finditer(segment))
    if len(found) != 1:
        return None
    col = error.offset - 1 + found[0].start()
    start = sum(len(x.encode()) for x in code.splitlines(keepends=True)[:error.lineno - 1])
    start += len(line[:col].encode())
    edit = Edit(start, start + 1, "==")
    try:
        ast.parse(apply_edits(code, [edit])[0])
    except SyntaxError:
        return None
    return edit

_SQL_WORDS = {"AND": "and", "OR": "or", "NOT": "not"}


def fix_sql_operators(code: str) -> str | None:
    """`a != 1 AND b > 2`, `a <> 1`: SQL's AND/OR/NOT and `<>` in Python code → `and`/`or`/
    `not` (the bool-ops rule then makes them `&`/`|`/`~`) and `!=`; only when the result
    parses. Names inside strings are untouched (the tokenizer skips them)."""
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (line, start col, end col, text)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    for prev, tok in zip([None, *tokens], tokens, strict=False):
        if tok.type == tokenize.NAME and tok.string in _SQL_WORDS:
            edits.append((tok.start[0], tok.start[1], tok.end[1], _SQL_WORDS[tok.string]))
        elif tok.type == tokenize.OP and tok.string == "<>":
            edits.append((tok.start[0], tok.start[1], tok.end[1], "!="))
        elif (prev is not None and prev.type == tokenize.OP and prev.string == "<"
              and tok.type == tokenize.OP and tok.string == ">" and prev.end == tok.start):
            edits.append((prev.start[0], prev.start[1], tok.end[1], "!="))
    if not edits:
        return None
    for line, start, end, text in reversed(edits):
        row = lines[line - 1]
        lines[line - 1] = row[:start] + text + row[end:]
    fixed = "".join(lines)
    try:
        ast.parse(fixed)
    except SyntaxError:
        return None
    return fixed


# --- code that builds but does not mean what it says ------------------------------------------

#: pandas `groupby` keywords; Ibis's `group_by(**kw)` would make each a constant group key.
PANDAS_GROUPBY_KEYWORDS = ("as_index", "sort", "dropna", "observed", "group_keys")


def _pandas_groupby_keyword(k: ast.keyword) -> bool:
    """`as_index=False` and friends: a pandas keyword with a bool (not a named group key)."""
    return k.arg in PANDAS_GROUPBY_KEYWORDS and isinstance(k.value, ast.Constant) \
        and isinstance(k.value.value, bool)


def _named_agg_tuples(ctx: FixContext) -> list[tuple[ast.Tuple, str, str]]:
    out = []
    for c in calls(ctx, "agg", "aggregate"):
        for k in c.keywords:
            v = k.value
            if isinstance(v, ast.Tuple) and len(v.elts) == 2:
                col, fn = (str_const(e) for e in v.elts)
                if col is not None and fn is not None:
                    out.append((v, col, fn))
    return out


def _uncalled_in_comparisons(ctx: FixContext) -> list[ast.Attribute]:
    return [side for n in ast.walk(ctx.tree) if isinstance(n, ast.Compare)
            for side in (n.left, *n.comparators) if isinstance(side, ast.Attribute)
            and callable(v := value_of(ctx, side)) and isinstance(getattr(v, "__self__", None),
                                                                  ir.Value)]


def lint(ctx: FixContext) -> str | None:
    """A message for code that builds but surely means something else (pandas keywords
    that become group keys, named-aggregation tuples that become literals, a method
    compared without calling it, which is always False); None when nothing is found."""
    for c in calls(ctx, "group_by"):
        for k in c.keywords:
            if _pandas_groupby_keyword(k):
                return f"PandasHabit: group_by() got the pandas keyword argument '{k.arg}'"
    if _named_agg_tuples(ctx):
        return "PandasHabit: a (column, function) tuple in agg() is a literal in Ibis"
    uncalled = _uncalled_in_comparisons(ctx)
    if uncalled:
        return f"UncalledMethod: `{ctx.source.text(uncalled[0])}` is compared without calling it"
    return None


def fix_groupby_keywords(ctx: FixContext) -> list[Edit]:
    """`group_by("k", as_index=False)` → `group_by("k")`."""
    edits = []
    for c in calls(ctx, "group_by"):
        if any(_pandas_groupby_keyword(k) for k in c.keywords):
            args = [ctx.source.text(a) for a in c.args] + [
                f"{k.arg}={ctx.source.text(k.value)}" for k in c.keywords
                if not _pandas_groupby_keyword(k)]
            edits.append(recall(ctx, c, "group_by", ", ".join(args)))
    return edits


def fix_named_agg(ctx: FixContext) -> list[Edit]:
    """pandas `agg(n=("col", "count"))` → `agg(n=_.col.count())`."""
    edits = []
    for node, col, fn in _named_agg_tuples(ctx):
        method = {"size": "count", "nunique": "nunique"}.get(fn, fn)
        known = any(callable(getattr(t, method, None)) for t in (ir.Column, ir.NumericColumn))
        if not col.isidentifier() or not known:
            continue
        edits.append(ctx.source.replace(node, f"_.{col}.{method}()"))
    return edits
