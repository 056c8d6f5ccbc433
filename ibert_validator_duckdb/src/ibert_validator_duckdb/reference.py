"""The reference SQL: checked to be one read-only query, transpiled to DuckDB, and read for
how it orders its rows (which decides how results are compared)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import attrs

from ibert_validator_duckdb.compare import Ordering

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
    #: Integer constants a row count is compared with (`HAVING count(*) > 3`): fixtures
    #: hold groups of exactly that many rows and one more.
    counts: tuple[int, ...] = ()


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
        _counts(tree),
    )


def _counts(tree: object) -> tuple[int, ...]:
    """Integer constants in a HAVING clause, or compared with a COUNT anywhere."""
    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    scopes: list[exp.Expression] = list(tree.find_all(exp.Having))
    scopes += [
        c.parent
        for c in tree.find_all(exp.Count)
        if isinstance(c.parent, (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.EQ, exp.NEQ))
    ]
    out = [int(lit.this) for scope in scopes for lit in scope.find_all(exp.Literal) if lit.is_int]
    return tuple(dict.fromkeys(out))


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
    from decimal import Decimal, InvalidOperation

    from sqlglot import exp

    assert isinstance(tree, exp.Expression)
    out: list[object] = []
    for lit in tree.find_all(exp.Literal):
        if lit.is_string:
            out.append(lit.this)
            continue
        try:
            number = Decimal(lit.this)
        except InvalidOperation:
            continue
        out.append(int(number) if number == number.to_integral_value() else number)
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
