"""SQL text → one qualified sqlglot tree, with errors that point at the line and column.

Qualifying first (every column carries its table alias, stars are expanded, alias references
are resolved) means the translator never has to guess which table a name comes from.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify

from ibert_core.errors import BadInput, UnknownNameError, UnsupportedConstruct
from ibert_core.types import Schema


def dialect_name(dialect: str | None) -> str:
    """The sqlglot dialect for `--dialect`, or an error suggesting the closest known one."""
    from sqlglot.dialects.dialect import Dialect

    name = (dialect or "duckdb").lower()
    if name in ("", "ansi", "sql"):
        return ""
    try:
        Dialect.get_or_raise(name)
    except ValueError:
        from sqlglot.dialects import DIALECTS

        raise UnknownNameError("dialect", name, [d.lower() for d in DIALECTS]) from None
    return name


def position(node: exp.Expr, sql: str | None = None) -> tuple[int | None, int | None]:
    """Line and column (1-based) where `node` starts in the original text, when known."""
    best: dict | None = None
    for sub in node.walk():
        meta = sub.meta
        if (
            meta
            and "line" in meta
            and (best is None or meta.get("start", 0) < best.get("start", 0))
        ):
            best = meta
    if best is None:
        return None, None
    if sql is not None and "start" in best:
        start = best["start"]
        line_start = sql.rfind("\n", 0, start) + 1
        return sql.count("\n", 0, start) + 1, start - line_start + 1
    return best.get("line"), best.get("col")


def unsupported(
    node: exp.Expr, construct: str, detail: str | None = None, sql: str | None = None
) -> UnsupportedConstruct:
    line, col = position(node, sql)
    return UnsupportedConstruct(construct, line, col, detail)


def parse(sql: str, dialect: str | None = None) -> exp.Expr:
    """Exactly one statement, parsed in `dialect`."""
    read = dialect_name(dialect)
    try:
        trees = [t for t in sqlglot.parse(sql, read=read) if t is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        where = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        detail = first.get("description", str(err)).split("<Token")[0].strip()
        raise BadInput(
            f"cannot parse the SQL{where}: {detail}",
            f"check the syntax, or pass --dialect (read as {read or 'ansi'})",
        ) from None
    if not trees:
        raise BadInput("the SQL input is empty", "pass one SELECT statement")
    if len(trees) > 1:
        raise BadInput(
            f"the SQL input holds {len(trees)} statements", "pass one SELECT statement at a time"
        )
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        raise unsupported(tree, f"{tree.key.upper()} statement", "only queries translate", sql)
    return tree


_SQL_TYPES = {
    "boolean": "BOOLEAN",
    "bool": "BOOLEAN",
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INT",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINTEGER",
    "uint64": "UBIGINT",
    "float16": "REAL",
    "float32": "REAL",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
    "uuid": "UUID",
    "interval": "INTERVAL",
    "decimal": "DECIMAL",
    "json": "JSON",
}


def sql_type(dtype: str) -> str:
    """A DuckDB SQL type for an ibis dtype string (`UNKNOWN` for nested and exotic ones).

    Qualifying needs only the column names; the types help type inference (integer
    division). Kept as a table so that translating does not import ibis.
    """
    text = dtype.strip().lstrip("!").lower()
    base, _, rest = text.partition("(")
    if base == "decimal" and rest:
        return f"DECIMAL({rest.rstrip(')')})"
    if base.startswith("timestamp"):
        return "TIMESTAMP"
    return _SQL_TYPES.get(base, "UNKNOWN")


def annotate(tree: exp.Expr, schema: Schema, dialect: str | None = None) -> exp.Expr:
    """Every node of the qualified `tree` typed, once per tree: readings, integer division
    and CONCAT's operands all read the types, and annotating costs a walk of the query."""
    if not tree.meta.get("ibert_typed"):
        from sqlglot.optimizer.annotate_types import annotate_types

        annotate_types(tree, schema=_sqlglot_schema(schema), dialect=dialect or None)
        tree.meta["ibert_typed"] = True
    return tree


@functools.lru_cache(maxsize=64)
def _sqlglot_schema(schema: Schema) -> dict[str, Any]:
    """The schema as sqlglot wants it: `{table: {column: SQL type}}`."""
    return {t.name: {c.name: sql_type(c.dtype) for c in t.columns} for t in schema.tables}


def check_tables(tree: exp.Expr, schema: Schema, sql: str | None = None) -> None:
    """Every table the query reads exists in the schema (CTE names excepted)."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if not table.name or isinstance(table.this, exp.Func):
            continue
        if table.name.lower() in ctes or table.name in schema:
            continue
        err = UnknownNameError("table", table.name, schema.names)
        line, col = position(table, sql)
        if line is not None:
            err.message += f" (line {line}, column {col})"
            err.args = (str(err),)
        raise err


def qualify_tree(
    tree: exp.Expr, schema: Schema, dialect: str | None = None, sql: str | None = None
) -> exp.Expr:
    """Qualify columns and tables, expand stars and alias references."""
    check_tables(tree, schema, sql)
    try:
        qualified = qualify(
            tree,
            schema=_sqlglot_schema(schema),
            dialect=dialect_name(dialect),
            quote_identifiers=False,
            identify=False,
            validate_qualify_columns=True,
        )
    except OptimizeError as err:
        message = str(err)
        raise BadInput(
            f"cannot resolve the query against the schema: {message}",
            "check the column names (the schema lists " + ", ".join(schema.names) + ")",
        ) from None
    # quoting says nothing once names are resolved; unquoted, `c."country"` equals
    # `c.country` when GROUP BY and SELECT spell it differently
    for ident in qualified.find_all(exp.Identifier):
        ident.set("quoted", False)
    return qualified
