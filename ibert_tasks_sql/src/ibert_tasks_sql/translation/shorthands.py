"""`GROUP BY ALL` and `ORDER BY ALL` (DuckDB, Snowflake, Databricks) spelled out.

The translator reads explicit keys, so the shorthand is expanded on the qualified tree
into the keys it stands for: GROUP BY ALL groups by every SELECT item that neither
aggregates nor is a window function; ORDER BY ALL sorts by every SELECT item, left to
right, in the direction (and NULLS placement) written after ALL.
"""

from __future__ import annotations

from sqlglot import exp

from ibert_tasks_sql.translation.scalars import contains_aggregate, contains_window


def mark(tree: exp.Expr) -> int:
    """Before qualifying, in place: an ORDER BY ALL that the dialect read as a column named
    ALL (Snowflake; sqlglot then writes `ORDER BY "ALL"` for DuckDB, which fails) becomes
    the bare word DuckDB's reading gives, which qualifying leaves be. How many changed."""
    changed = 0
    for select in tree.find_all(exp.Select):
        only = _order_by_all_key(select)
        if only is not None and isinstance(only.this, exp.Column):
            only.set("this", exp.var("ALL"))
            changed += 1
    return changed


def expand(tree: exp.Expr) -> exp.Expr:
    """`tree` with every SELECT's GROUP BY ALL / ORDER BY ALL replaced by explicit keys."""
    for select in tree.find_all(exp.Select):
        _group_by_all(select)
        _order_by_all(select)
    return tree


def _group_by_all(select: exp.Select) -> None:
    group = select.args.get("group")
    if group is None or not group.args.get("all"):
        return
    keys = [
        item.unalias().copy()
        for item in select.expressions
        if not contains_aggregate(item) and not contains_window(item)
    ]
    # nothing but aggregates: one group over the whole table, as GROUP BY ALL gives
    select.set("group", exp.Group(expressions=keys) if keys else None)


def _order_by_all_key(select: exp.Select) -> exp.Ordered | None:
    """The ORDER BY's one key when it is ALL, however the dialect read the word."""
    order = select.args.get("order")
    if order is None or len(order.expressions) != 1:
        return None
    (only,) = order.expressions
    return only if isinstance(only, exp.Ordered) and _is_all(only.this) else None


def _order_by_all(select: exp.Select) -> None:
    only = _order_by_all_key(select)
    if only is None:
        return
    # by output name (qualifying gave every item one), as ORDER BY <alias> is written
    keys = [
        exp.Ordered(
            this=exp.column(item.alias_or_name),
            desc=only.args.get("desc"),
            nulls_first=only.args.get("nulls_first"),
        )
        for item in select.expressions
    ]
    select.set("order", exp.Order(expressions=keys))


def _is_all(node: exp.Expr) -> bool:
    """ALL as the ORDER BY key: sqlglot reads it as a bare word (Var) or, in some
    dialects, as a column named ALL; a real column of that name would be quoted."""
    if isinstance(node, exp.Var):
        return node.name.upper() == "ALL"
    if isinstance(node, exp.Column) and not node.table:
        return node.name.upper() == "ALL" and not node.this.args.get("quoted")
    return False
