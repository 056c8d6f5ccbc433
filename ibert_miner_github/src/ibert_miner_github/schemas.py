"""Table schemas for mined code: read from the code when it creates tables, else inferred.

Reading uses `ast.literal_eval` on literals only (a dict of dtypes, memtable data), so
nothing from a mined file runs. Inference looks at how columns are used (methods called
on them, literals compared with them, the reference SQL) and falls back to name hints;
records built from an inferred schema say so (`meta.schema_inferred`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

#: Schemas of `ibis.examples` datasets mined code often fetches (the public data's columns).
KNOWN_EXAMPLES: Mapping[str, Mapping[str, str]] = {
    "penguins": {
        "species": "string",
        "island": "string",
        "bill_length_mm": "float64",
        "bill_depth_mm": "float64",
        "flipper_length_mm": "int64",
        "body_mass_g": "int64",
        "sex": "string",
        "year": "int64",
    },
}

DTYPE_ALIASES: Mapping[str, str] = {
    "int": "int64",
    "integer": "int64",
    "bigint": "int64",
    "float": "float64",
    "double": "float64",
    "str": "string",
    "text": "string",
    "varchar": "string",
    "bool": "boolean",
    "datetime": "timestamp",
}


def normalize_dtype(value: str) -> str:
    text = value.strip()
    return DTYPE_ALIASES.get(text.lower(), text)


def literal(node: ast.AST | None) -> Any:
    """The value of a literal expression, else raise ValueError (never evaluates code)."""
    if node is None:
        raise ValueError("no node")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        if node.args:
            raise ValueError("dict(...) with positional arguments")
        return {kw.arg: literal(kw.value) for kw in node.keywords if kw.arg}
    return ast.literal_eval(node)


def schema_literal(node: ast.AST) -> dict[str, str]:
    """`{"a": "int64"}`, `dict(a="int")`, `[("a", "int64")]` or `ibis.schema(<one of those>)`."""
    if isinstance(node, ast.Call) and _dotted(node.func) in ("ibis.schema", "schema"):
        if not node.args:
            return schema_literal(ast.Dict([], [])) if not node.keywords else {}
        node = node.args[0]
    value = literal(node)
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = [tuple(pair) for pair in value]
    else:
        raise ValueError("not a schema literal")
    out = {}
    for name, dtype in items:
        if not isinstance(name, str) or not isinstance(dtype, str):
            raise ValueError("schema entries must be strings")
        out[name] = normalize_dtype(dtype)
    return out


def _value_dtype(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        inner = next((d for d in map(_value_dtype, value) if d), None)
        return f"array<{inner or 'int64'}>"
    if isinstance(value, dict):
        fields = ", ".join(f"{k}: {_value_dtype(v) or 'string'}" for k, v in value.items())
        return f"struct<{fields}>" if fields else None
    return None


def data_schema(value: Any) -> dict[str, str]:
    """Column dtypes of memtable data: a dict of columns or a list of row dicts."""
    columns: dict[str, list[Any]] = {}
    if isinstance(value, dict):
        columns = {
            str(k): list(v) if isinstance(v, (list, tuple)) else [v] for k, v in value.items()
        }
    elif isinstance(value, (list, tuple)) and value and all(isinstance(r, dict) for r in value):
        for row in value:
            for k, v in row.items():
                columns.setdefault(str(k), []).append(v)
    else:
        raise ValueError("memtable data is not a dict of columns or a list of rows")
    out = {}
    for name, values in columns.items():
        dtype = next((d for d in map(_value_dtype, values) if d), None)
        out[name] = dtype or "string"
    return out


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


# --- inference from usage --------------------------------------------------------------------

STRING_METHODS = frozenset(
    [
        "upper",
        "lower",
        "contains",
        "startswith",
        "endswith",
        "length",
        "strip",
        "lstrip",
        "rstrip",
        "like",
        "ilike",
        "re_search",
        "re_extract",
        "re_replace",
        "split",
        "substr",
        "replace",
        "capitalize",
        "lpad",
        "rpad",
        "find",
        "concat",
        "left",
        "right",
        "to_date",
        "to_timestamp",
        "ascii_str",
        "reverse",
    ]
)
FLOAT_METHODS = frozenset(
    [
        "mean",
        "std",
        "var",
        "round",
        "ceil",
        "floor",
        "log",
        "ln",
        "sqrt",
        "exp",
        "quantile",
        "median",
    ]
)
NUMBER_METHODS = frozenset(
    ["sum", "abs", "cumsum", "clip", "negate", "sign", "bucket", "histogram"]
)
TIME_METHODS = frozenset(
    [
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "second",
        "date",
        "time",
        "truncate",
        "strftime",
        "epoch_seconds",
        "day_of_week",
        "quarter",
        "week_of_year",
        "delta",
        "millisecond",
    ]
)
BOOL_METHODS = frozenset(["ifelse", "negate_bool"])

NAME_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(is|has)_|_flag$|^active$"), "boolean"),
    (re.compile(r"(^|_)(date|day)$"), "date"),
    (re.compile(r"(_at|_time|^time|timestamp|^ts|datetime)$"), "timestamp"),
    (re.compile(r"(^id$|_id$|count$|^n$|^num|qty|quantity|year$|^age$|_n$|rank$)"), "int64"),
    (
        re.compile(r"(price|amount|total|value|score|rate|salary|revenue|cost|avg|mean|mm$|_g$)"),
        "float64",
    ),
)


def dtype_from_name(name: str) -> str:
    lowered = name.lower()
    for pattern, dtype in NAME_HINTS:
        if pattern.search(lowered):
            return dtype
    return "string"


class Usage:
    """Columns seen per table with the dtype hints their usage gave."""

    def __init__(self) -> None:
        self.columns: dict[str, dict[str, str | None]] = {}

    def add(self, table: str, column: str, hint: str | None = None) -> None:
        cols = self.columns.setdefault(table, {})
        if hint or column not in cols:
            cols[column] = hint or cols.get(column)

    def table(self, table: str) -> None:
        self.columns.setdefault(table, {})

    def schema(self) -> dict[str, dict[str, str]]:
        return {
            t: {c: hint or dtype_from_name(c) for c, hint in cols.items()}
            for t, cols in self.columns.items()
        }


def _hint_from_literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant):
        return _value_dtype(node.value)
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        if name in ("ibis.date",):
            return "date"
        if name in ("ibis.timestamp", "ibis.now"):
            return "timestamp"
    return None


def hint_for_use(parent: ast.AST | None, node: ast.AST) -> str | None:
    """The dtype a column reference's use suggests (its parent node in the AST)."""
    if isinstance(parent, ast.Attribute) and parent.value is node:
        attr = parent.attr
        if attr in STRING_METHODS:
            return "string"
        if attr in FLOAT_METHODS:
            return "float64"
        if attr in TIME_METHODS:
            return "timestamp"
        if attr in NUMBER_METHODS:
            return "int64"
    if isinstance(parent, ast.Compare):
        for other in (parent.left, *parent.comparators):
            if other is not node:
                hint = _hint_from_literal(other)
                if hint:
                    return hint
    if isinstance(parent, ast.BinOp):
        other = parent.right if parent.left is node else parent.left
        hint = _hint_from_literal(other)
        if hint in ("int64", "float64"):
            return hint
        if isinstance(parent.op, (ast.Div, ast.Mult, ast.Sub, ast.Pow)):
            return "float64"
    return None


def sql_usage(sql: str, usage: Usage, default_table: str | None) -> None:
    """Tables and columns the reference SQL reads, with hints from literals it compares."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except Exception:  # noqa: BLE001 - unparseable SQL just gives no hints
        return
    aliases: dict[str, str] = {}
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name and table.name not in ctes:
            usage.table(table.name)
            aliases[table.alias_or_name] = table.name
    real = [t for t in usage.columns if t in aliases.values()]
    fallback = real[0] if len(real) == 1 else (default_table or (real[0] if real else None))
    outputs = {a.alias for a in tree.find_all(exp.Alias) if isinstance(a.parent, exp.Select)}
    for column in tree.find_all(exp.Column):
        name = column.name
        if not name or name == "*":
            continue
        owner = aliases.get(column.table) if column.table else None
        if column.table and owner is None:
            continue  # a CTE or subquery alias
        if owner is None:
            if name in outputs:
                continue
            owner = fallback
        if owner is None:
            continue
        hint = None
        parent = column.parent
        if isinstance(parent, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
            other = parent.expression if parent.this is column else parent.this
            if isinstance(other, exp.Literal):
                hint = (
                    "string" if other.is_string else ("float64" if "." in other.this else "int64")
                )
        elif isinstance(parent, (exp.Avg, exp.Stddev, exp.Variance)):
            hint = "float64"
        elif isinstance(parent, (exp.Like, exp.ILike, exp.Upper, exp.Lower, exp.Length)):
            hint = "string"
        elif isinstance(parent, (exp.Year, exp.Month, exp.Day, exp.DateTrunc, exp.TimestampTrunc)):
            hint = "timestamp"
        usage.add(owner, name, hint)
