"""The reference SQL: checked to be one read-only query, transpiled to DuckDB, and read for
how it orders its rows (which decides how results are compared)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import attrs

from ibert_validator_duckdb.compare import Ordering
from ibert_validator_duckdb.fixtures import Targets

KEY_PREFIX = "__ibert_order_key_"


class BadReference(Exception):
    """The reference SQL cannot be used (not a query, unparsable, unknown dialect)."""


@attrs.frozen
class Reference:
    """`sql` runs on DuckDB; when the ORDER BY keys are not output columns, `keyed_sql`
    returns them as `extra_keys` trailing columns."""

    sql: str
    ordering: Ordering
    keyed_sql: str | None = None
    extra_keys: int = 0
    literals: tuple[object, ...] = ()
    tables: frozenset[str] = frozenset()  # lower-cased names of the tables it reads
    #: Output columns that are `array_agg(x)` without an ORDER BY: their element order is
    #: not defined, so results compare them as bags.
    unordered_lists: tuple[int, ...] = ()
    #: What it compares with a constant besides plain columns (aggregates, parts of a
    #: column), for fixtures to aim rows at.
    targets: Targets = attrs.field(factory=Targets)


@lru_cache(maxsize=512)
def prepare(sql: str, dialect: str = "duckdb") -> Reference:
    """Parse once per (sql, dialect); raises `BadReference` with what to fix."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as err:
        raise BadReference(f"the reference SQL does not parse as {dialect}: {err}") from err
    except ValueError as err:  # unknown dialect
        raise BadReference(str(err)) from err
    if len(statements) != 1:
        raise BadReference(
            f"the reference SQL must be exactly one query, got {len(statements)} statements"
        )
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise BadReference(
            f"the reference SQL must be a query (SELECT ...), not {tree.key.upper()}"
        )
    duck_sql = sql.strip().rstrip(";") if dialect == "duckdb" else tree.sql(dialect="duckdb")
    ordering, key_exprs = _ordering(tree)
    keyed_sql = None
    if ordering.ordered and ordering.keys is None and key_exprs:
        keyed = _with_keys(tree, key_exprs)
        keyed_sql = keyed.sql(dialect="duckdb") if keyed is not None else None
    return Reference(
        duck_sql,
        ordering,
        keyed_sql,
        len(key_exprs) if keyed_sql else 0,
        _literals(tree),
        _tables(tree),
        _unordered_lists(tree),
        _targets(tree),
    )


#: A column's part a comparison may read, by the sqlglot class of the function
_PARTS = {
    "Length": "length",
    "Year": "year",
    "Month": "month",
    "Quarter": "quarter",
    "Day": "day",
    "DayOfMonth": "day",
    "Hour": "hour",
    "Abs": "abs",
}
_COMPARISONS = ("GT", "GTE", "LT", "LTE", "EQ", "NEQ", "Between", "In")


def _targets(tree: object) -> Targets:
    """The constants the query compares with a COUNT, another aggregate or a part of a
    column."""
    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    counts: list[int] = []
    aggregates: list[object] = []
    parts: list[tuple[str, str, int]] = []
    for node in tree.find_all(*(getattr(exp, name) for name in _COMPARISONS)):
        sides = [
            node.this,
            node.args.get("expression"),
            node.args.get("low"),
            node.args.get("high"),
        ]
        sides += node.args.get("expressions") or []
        constants = [s for s in sides if isinstance(s, exp.Literal) and not s.is_string]
        if not constants:
            continue
        numbers = [_number(c.this) for c in constants]
        for side in sides:
            if not isinstance(side, exp.Expression) or isinstance(side, exp.Literal):
                continue
            if side.find(exp.Count):
                counts += [n for n in numbers if isinstance(n, int)]
            elif side.find(exp.Sum, exp.Avg, exp.Min, exp.Max):
                aggregates += numbers
            part = _part(side)
            if part is not None:
                parts += [(part[0], part[1], n) for n in numbers if isinstance(n, int)]
    return Targets(
        tuple(dict.fromkeys(counts)), tuple(dict.fromkeys(aggregates)), tuple(dict.fromkeys(parts))
    )


def _part(node: object) -> tuple[str, str] | None:
    """(column, part) when `node` is a part of a column: `length(name)`, `hour(ts)`,
    `EXTRACT(MONTH FROM d)`."""
    from sqlglot import exp

    if isinstance(node, exp.Extract) and isinstance(node.expression, exp.Column):
        part = str(node.this.name).lower()
        if part in _PARTS.values():
            return node.expression.name.lower(), part
        return None
    name = _PARTS.get(type(node).__name__)
    if name is not None and isinstance(node.this, exp.Column):  # type: ignore[attr-defined]
        return node.this.name.lower(), name  # type: ignore[attr-defined]
    return None


def _number(text: str) -> object:
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return int(number) if number == number.to_integral_value() else number


def _unordered_lists(tree: object) -> tuple[int, ...]:
    """Positions of output columns that aggregate into a list in no stated order."""
    from sqlglot import exp

    assert isinstance(tree, exp.Query)
    out = []
    for i, select in enumerate(tree.selects):
        body = select.this if isinstance(select, exp.Alias) else select
        if isinstance(body, exp.ArrayAgg) and not isinstance(body.this, exp.Order):
            out.append(i)
    return tuple(out)


def _tables(tree: object) -> frozenset[str]:
    """Every table name the query mentions (CTE names included: a superset is harmless,
    it only decides which fixture tables get the query's constants)."""
    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    return frozenset(t.name.lower() for t in tree.find_all(exp.Table) if t.name)


def _literals(tree: object) -> tuple[object, ...]:
    """The query's constants (numbers as numbers), which fixtures put into the data."""
    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    out: list[object] = []
    for lit in tree.find_all(exp.Literal):
        if lit.is_string:
            out.append(lit.this)
        elif not isinstance(number := _number(lit.this), str):
            out.append(number)
    return tuple(dict.fromkeys(out))


def _ordering(tree: object) -> tuple[Ordering, list[object]]:
    from sqlglot import exp

    assert isinstance(tree, exp.Query)
    order = tree.args.get("order")
    limited = tree.args.get("limit") is not None or tree.args.get("fetch") is not None
    if not order:
        return Ordering(False, None, limited), []
    outputs = [s for s in (tree.selects if isinstance(tree, exp.Query) else [])]
    names = [o.alias_or_name.lower() for o in outputs]
    bodies = [(o.this if isinstance(o, exp.Alias) else o).sql().lower() for o in outputs]
    keys: list[int] = []
    key_exprs = [o.this for o in order.expressions]
    for expr in key_exprs:
        if isinstance(expr, exp.Literal) and expr.is_int:
            keys.append(int(expr.this) - 1)
        elif isinstance(expr, exp.Column) and expr.name.lower() in names:
            keys.append(names.index(expr.name.lower()))
        elif expr.sql().lower() in bodies:
            keys.append(bodies.index(expr.sql().lower()))
        else:
            return Ordering(True, None, limited), key_exprs
    return Ordering(True, tuple(keys), limited), []


def _with_keys(tree: object, key_exprs: list[object]) -> Any:
    """The query with its ORDER BY expressions appended as output columns, if possible."""
    from sqlglot import exp

    if not isinstance(tree, exp.Select) or tree.args.get("distinct"):
        return None
    keyed = tree.copy()
    for i, expr in enumerate(key_exprs):
        assert isinstance(expr, exp.Expression)
        keyed = keyed.select(exp.alias_(expr.copy(), f"{KEY_PREFIX}{i}"), copy=False)
    return keyed
