"""SQL written as strings inside Ibis calls, put through the SQL→Ibis translator.

`t.filter("amount > 100 AND status = 'paid'")`, `t.select("id", "qty * price AS total")`
and `t.group_by("k").agg(total="sum(qty)")` are SQL habits: ibis reads each string as a
column name and fails. The string is a SQL expression over the receiver's columns, so the
translator (which verifies nothing here; the fixed program is built and validated like any
other answer) turns a one-table query around it into Ibis, and the call's arguments are
taken from that translation:

    filter("c")            → SELECT * FROM t WHERE c        → t.filter(ARGS)
    select / mutate("e AS n", "col") → SELECT e AS n, col FROM t → t.select(ARGS)
    agg / aggregate(n="e") → SELECT e AS n FROM t          → t.agg(ARGS)

The translated arguments use `_`, so they read the same on the receiver, whatever it is.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import ibis.expr.types as ir

from ibert_tasks_sql.editing.ast_helpers import value_of
from ibert_tasks_sql.editing.edits import Edit

if TYPE_CHECKING:
    from ibert_tasks_sql.editing.fix_rules import FixContext

#: The one table the translated query reads (a name no user code uses).
TABLE = "sql_text_input"

#: method whose string arguments are SQL → the method the translation must call on TABLE
#: (`filter` strings are WHERE conditions; the others are SELECT items)
EXPECTED = {"filter": "filter", "select": "select", "mutate": "select", "agg": "agg",
            "aggregate": "agg"}


def _query(method: str, items: list[str]) -> str:
    if method == "filter":
        return f"SELECT * FROM {TABLE} WHERE " + " AND ".join(f"({i})" for i in items)
    return f"SELECT {', '.join(items)} FROM {TABLE}"


def fix_sql_text(ctx: FixContext, text: str) -> list[Edit]:
    """Edits rewriting each call that passes `text` (and maybe other SQL strings) as SQL."""
    edits = []
    for call in _calls_with(ctx.tree, text):
        edit = _rewrite(ctx, call)
        if edit is not None:
            edits.append(edit)
    return edits


def _calls_with(tree: ast.Module, text: str) -> list[ast.Call]:
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in EXPECTED):
            continue
        values = [*node.args, *(k.value for k in node.keywords)]
        if any(isinstance(v, ast.Constant) and v.value == text for v in values):
            out.append(node)
    return out


def _rewrite(ctx: FixContext, call: ast.Call) -> Edit | None:
    assert isinstance(call.func, ast.Attribute)
    method = call.func.attr
    table = _receiver_table(ctx, call.func.value)
    if table is None:
        return None
    items = _items(call, method)
    if items is None:
        return None
    args = _translated_args(_query(method, items), table, EXPECTED[method])
    if args is None:
        return None
    start = ctx.source.span(call.func.value)[1]
    return Edit(start, ctx.source.span(call)[1], f".{method}({args})")


def _receiver_table(ctx: FixContext, node: ast.AST) -> ir.Table | None:
    """The table the call's SQL reads: the receiver, or the table under a grouping."""
    from ibert_tasks_sql.editing.members import grouped_table

    value = value_of(ctx, node)  # None when the receiver does not build: nothing to read
    if isinstance(value, ir.Table):
        return value
    return grouped_table(value) if type(value).__name__ == "GroupedTable" else None


def _items(call: ast.Call, method: str) -> list[str] | None:
    """The call's arguments as SQL items: strings as written (a keyword's string gets
    `AS name`), plain column names quoted; None when an argument is not a string."""
    items = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return None
        if method == "filter":
            items.append(arg.value)
        elif arg.value.isidentifier():
            items.append(_quoted(arg.value))
        elif _aliased(arg.value) or method in ("agg", "aggregate"):
            items.append(arg.value)
        else:  # `select("price * qty")`: a new column needs a name only the user can give
            return None
    for kw in call.keywords:
        if kw.arg is None or method == "filter":
            return None
        if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
            return None
        items.append(f"{kw.value.value} AS {_quoted(kw.arg)}")
    return items or None


def _aliased(item: str) -> bool:
    """Whether a SELECT item names its column (`qty * price AS total`)."""
    import sqlglot
    from sqlglot import exp

    try:
        select = sqlglot.parse_one(f"SELECT {item}", read="duckdb")
    except Exception:  # noqa: BLE001 - not SQL: the translation would fail too
        return False
    items = select.expressions if isinstance(select, exp.Select) else []
    return len(items) == 1 and isinstance(items[0], exp.Alias)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _translated_args(sql: str, table: ir.Table, method: str) -> str | None:
    """The arguments of `TABLE.method(...)` in the translation of `sql`, or None when the
    translator refuses it or writes anything else (several statements, another method)."""
    from ibert_core.types import Schema
    from ibert_tasks_sql.translation.translate import translate

    schema = Schema.from_dict(
        {TABLE: {name: str(dtype) for name, dtype in table.schema().items()}}
    )
    try:
        code = translate(sql, schema, "duckdb").code
        tree = ast.parse(code)
    except Exception:  # noqa: BLE001 - not SQL the translator reads: no fix
        return None
    body = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    if len(body) != 1 or not isinstance(body[0], ast.Assign):
        return None
    value = body[0].value
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr == method and isinstance(value.func.value, ast.Name)
            and value.func.value.id == TABLE):
        return None
    def text(node: ast.expr) -> str:  # as the translator wrote it (its quotes, spacing)
        return ast.get_source_segment(code, node) or ast.unparse(node)

    parts = [text(a) for a in value.args]
    parts += [f"{k.arg}={text(k.value)}" for k in value.keywords if k.arg]
    if any(TABLE in p for p in parts):
        return None
    return ", ".join(parts)
