"""Multi-token completions: a method call with arguments drawn from the schema.

`t.group_by("category").` + `agg` is more useful as `agg(n=_.count())`; each template picks
columns of a fitting type from the relation the call applies to. The completion engine
builds every snippet it shows against the schema, so a template only has to be plausible.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ibis.expr.types as ir

from ibert_tasks_sql.editing.ranking import is_key

Columns = Sequence[tuple[str, str]]  # (name, dtype string)


def _of(cols: Columns, *prefixes: str) -> str | None:
    for name, dtype in cols:
        if dtype.lstrip("!").startswith(prefixes):
            return name
    return None


NUMERIC = ("int", "uint", "float", "decimal")


def _measure(cols: Columns) -> str | None:
    """A numeric column that is a measure, not a key: summing `order_id` answers nothing."""
    return _of([(n, d) for n, d in cols if not is_key(n)], *NUMERIC)


def _numeric(cols: Columns) -> str | None:
    """A measure when there is one, else any numeric column (a filter on a key still reads
    naturally: `_.order_id > 0`)."""
    return _measure(cols) or _of(cols, *NUMERIC)


def _string(cols: Columns) -> str | None:
    return _of(cols, "string")


def _any(cols: Columns) -> str | None:
    return cols[0][0] if cols else None


def _group_by(cols: Columns) -> str | None:
    """A grouping is not an expression until aggregated: the snippet carries on to `agg`."""
    key = _string(cols) or _any(cols)
    return f'group_by("{key}").agg(n=_.count())' if key else None


def _agg(cols: Columns, name: str = "agg") -> str | None:
    num = _measure(cols)
    return f"{name}(total=_.{num}.sum())" if num else f"{name}(n=_.count())"


def _filter(cols: Columns) -> str | None:
    num = _numeric(cols)
    if num:
        return f"filter(_.{num} > 0)"
    col = _any(cols)
    return f"filter(_.{col}.notnull())" if col else None


def _select(cols: Columns) -> str | None:
    names = [n for n, _ in cols[:2]]
    return "select(" + ", ".join(f'"{n}"' for n in names) + ")" if names else None


def _order_by(cols: Columns) -> str | None:
    col = _any(cols)
    return f'order_by("{col}")' if col else None


def _mutate(cols: Columns) -> str | None:
    num = _measure(cols)
    return f"mutate({num}_x2=_.{num} * 2)" if num else None


def _having(cols: Columns) -> str | None:
    return "having(_.count() > 1).agg(n=_.count())"


TEMPLATES: dict[str, Callable[[Columns], str | None]] = {
    "group_by": _group_by,
    "agg": _agg,
    "aggregate": lambda cols: _agg(cols, "aggregate"),
    "filter": _filter,
    "select": _select,
    "order_by": _order_by,
    "mutate": _mutate,
    "having": _having,
    "limit": lambda cols: "limit(10)",
    "head": lambda cols: "head(5)",
    "distinct": lambda cols: "distinct()",
    "drop": lambda cols: f'drop("{cols[-1][0]}")' if cols else None,
    "count": lambda cols: "count()",
    "isin": lambda cols: "isin([])",
    "cast": lambda cols: 'cast("string")',
    "name": lambda cols: 'name("value")',
    "fill_null": lambda cols: "fill_null(0)",
    "between": lambda cols: "between(0, 10)",
}


def required_params(method: Any) -> list[inspect.Parameter] | None:
    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):
        return None
    return [
        p for p in sig.parameters.values()
        if p.name != "self" and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def columns_for(value: Any) -> Columns:
    """Columns the call's arguments may name: the table's, a grouped table's, or none."""
    from ibert_tasks_sql.editing.members import grouped_table

    table = value if isinstance(value, ir.Table) else None
    if table is None and type(value).__name__ == "GroupedTable":
        table = grouped_table(value)
    if table is None:
        return ()
    return tuple((name, str(dtype)) for name, dtype in table.schema().items())


JOINS = frozenset({"join", "inner_join", "left_join", "right_join", "outer_join",
                   "semi_join", "anti_join"})


def join_snippet(value: Any, name: str, names: Mapping[str, Any]) -> str | None:
    """`join(other, "key")` with another bound table that shares a column name (a key
    column, `*_id`/`*key`, preferred)."""
    if not isinstance(value, ir.Table):
        return None
    mine = set(value.columns)
    best: tuple[int, str, str] | None = None
    for var, other in names.items():
        if not isinstance(other, ir.Table) or other is value or var.startswith("_"):
            continue
        for col in other.columns:
            if col in mine:
                rank = 0 if col == "id" or col.endswith(("_id", "key")) else 1
                if best is None or rank < best[0]:
                    best = (rank, var, col)
    return f'{name}({best[1]}, "{best[2]}")' if best else None


#: Functions of the `ibis` module whose argument is a column of the table being worked on.
COLUMN_FUNCTIONS = frozenset({"desc", "asc"})


def snippet(value: Any, name: str, kind: str, names: Mapping[str, Any] | None = None,
            context: Columns = ()) -> str:
    """The text to insert for member `name` of `value`: a full call when we know one.
    `context` holds the columns of the table the enclosing call works on."""
    if kind not in ("method", "function"):
        return name
    if name in COLUMN_FUNCTIONS and kind == "function" and context:
        # A descending order is a top-N: by a measure when there is one.
        col = (_measure(context) if name == "desc" else None) or context[0][0]
        return f'{name}("{col}")'
    if name in JOINS and names:
        text = join_snippet(value, name, names)
        if text:
            return text
    template = TEMPLATES.get(name) if kind == "method" else None
    if template is not None:
        text = template(columns_for(value))
        if text:
            return text
    method = getattr(value, name, None)
    required = required_params(method) if method is not None else None
    if required == []:
        return f"{name}()"
    return f"{name}("
