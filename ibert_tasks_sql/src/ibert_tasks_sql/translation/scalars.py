"""Scalar SQL expressions → Ibis value expressions, one handler per sqlglot expression class.

`HANDLERS` maps an expression class to a function `(Scalars, node) -> ast.expr`, the way
sqlglot's generators map classes to SQL (`TRANSFORMS`); a dialect-specific table can extend
it with `{**HANDLERS, ...}`. A node with no handler is an `UnsupportedConstruct` naming the
construct and where it is: nothing is guessed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ibert_tasks_sql.translation import pycode as py

if TYPE_CHECKING:
    from ibert_tasks_sql.translation.relations import Frame, Translator

Handler = Callable[["Scalars", Any], ast.expr]


class Scalars:
    """Translates scalar expressions inside one frame (the SELECT they belong to).

    `lookup` is consulted first for every node: after aggregation it maps group keys and
    aggregates to the names they have in the aggregated table.
    """

    def __init__(
        self,
        tr: Translator,
        frame: Frame,
        lookup: Callable[[exp.Expr], ast.expr | None] | None = None,
        handlers: Mapping[type, Handler] | None = None,
        grouped: bool = False,
    ) -> None:
        self.tr = tr
        self.frame = frame
        self.lookup = lookup
        self.handlers = handlers or HANDLERS
        # inside group_by/having/agg a reduction over the grouped table is per group, so an
        # uncorrelated subquery's reduction must be marked `.as_scalar()`
        self.grouped = grouped

    def __call__(self, node: exp.Expr) -> ast.expr:
        if self.lookup is not None:
            found = self.lookup(node)
            if found is not None:
                return found
        for cls in type(node).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                return handler(self, node)
        raise self.tr.unsupported(node, describe(node))

    def value(self, node: exp.Expr) -> ast.expr:
        """Like `__call__`, but a bare Python literal becomes `ibis.literal(...)` so that
        methods can be called on it."""
        return as_ibis(self(node))


def describe(node: exp.Expr) -> str:
    if isinstance(node, exp.IntDiv):
        return "integer division (//)"
    if isinstance(node, (exp.All, exp.Any)):
        return f"{type(node).__name__.upper()} (subquery) comparison"
    if isinstance(node, exp.Anonymous):
        return f"function {node.name.upper()}()"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name()}()"
    return f"{type(node).__name__} expression"


def is_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant)


def as_ibis(node: ast.expr) -> ast.expr:
    if is_literal(node):
        return py.ibis_call("literal", node)
    return node


def literal_value(node: exp.Expr) -> Any:
    """The Python value of a SQL literal (unwrapping parentheses and negation), or raise."""
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    if isinstance(node, exp.Neg):
        return -literal_value(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        try:
            return int(text)
        except ValueError:
            return float(text)
    raise ValueError("not a literal")


def is_sql_literal(node: exp.Expr) -> bool:
    try:
        literal_value(node)
    except ValueError:
        return False
    return True


# --- leaves ----------------------------------------------------------------------------------


def _literal(s: Scalars, node: exp.Literal) -> ast.expr:
    return py.lit(literal_value(node))


def _raw_string(s: Scalars, node: exp.RawString) -> ast.expr:
    """BigQuery's `r'...'`: the text as written, backslashes and all."""
    return py.lit(node.this)


def _boolean(s: Scalars, node: exp.Boolean) -> ast.expr:
    return py.lit(bool(node.this))


def _null(s: Scalars, node: exp.Null) -> ast.expr:
    return py.ibis_call("null")


def _column(s: Scalars, node: exp.Column) -> ast.expr:
    return s.frame.ref(node, s)


def _paren(s: Scalars, node: exp.Paren) -> ast.expr:
    return s(node.this)


# --- operators -------------------------------------------------------------------------------


def _binary(op: str) -> Handler:
    def handler(s: Scalars, node: exp.Binary) -> ast.expr:
        return py.binop(s(node.left), op, s(node.right))

    return handler


def _comparison(op: str) -> Handler:
    def handler(s: Scalars, node: exp.Binary) -> ast.expr:
        left, right = comparable(s, node.left, node.right)
        if is_literal(left) and is_literal(right):
            left = as_ibis(left)
        return py.binop(left, op, right)

    return handler


def comparable(s: Scalars, a: exp.Expr, b: exp.Expr) -> tuple[ast.expr, ast.expr]:
    """Both sides of a comparison; a temporal literal compared with a temporal column stays
    a plain string (`_.shipdate <= "1998-09-02"`): ibis casts it, no `ibis.date` needed."""
    return _plain_temporal(s, a, b), _plain_temporal(s, b, a)


_TIMESTAMPS = (
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.DATETIME,
)


def _temporal_literal(node: exp.Expr) -> str | None:
    """The text of `DATE '...'` / `TIMESTAMP '...'` (time-zone-less ones only)."""
    if (
        isinstance(node, exp.Cast)
        and isinstance(node.this, exp.Literal)
        and node.this.is_string
        and (node.to.this == exp.DataType.Type.DATE or node.to.this in _TIMESTAMPS)
    ):
        return str(node.this.this)
    return None


def _plain_temporal(s: Scalars, node: exp.Expr, other: exp.Expr) -> ast.expr:
    text = _temporal_literal(node)
    column = s.frame.dtype_of(other, s)
    # a DATE literal against a date or timestamp column, a TIMESTAMP one against a timestamp
    # column: the string casts to the same value (a timestamp string against a date column
    # would lose its time of day)
    is_date = isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE
    if text is not None and (column == "timestamp" or (column == "date" and is_date)):
        return py.lit(text)
    return s(node)


def _is_date(s: Scalars, node: exp.Expr) -> bool:
    """A DATE value the translator can tell from the SQL alone (column, literal, today)."""
    if isinstance(node, (exp.CurrentDate, exp.DateFromParts)):
        return True
    if isinstance(node, exp.Anonymous) and node.name.lower() == "make_date":
        return True
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATE:
        return True
    return s.frame.dtype_of(node, s) == "date"


def _int_literal(node: exp.Expr) -> int | None:
    try:
        value = literal_value(node)
    except ValueError:
        return None
    return value if isinstance(value, int) else None


#: dialects where DATE - DATE is a number of days and DATE ± n moves by n days (MySQL
#: reads dates as YYYYMMDD numbers there)
_DAY_ARITHMETIC = frozenset({"", "duckdb", "postgres", "redshift", "snowflake", "oracle"})


def _days_elsewhere(s: Scalars, node: exp.Binary) -> None:
    """DATE ± number outside `_DAY_ARITHMETIC` means something else: refuse it."""
    a, b = node.this, node.expression
    if (_int_literal(b) is not None and _is_date(s, a)) or (
        _int_literal(a) is not None and _is_date(s, b)
    ):
        raise s.tr.unsupported(
            node,
            f"DATE {'+' if isinstance(node, exp.Add) else '-'} number in {s.tr.dialect}",
            "write the days as an INTERVAL",
        )


def _add(s: Scalars, node: exp.Add) -> ast.expr:
    """`d + 7` on a DATE adds days (DuckDB, Postgres): `d + ibis.interval(days=7)`."""
    if s.tr.dialect not in _DAY_ARITHMETIC:
        _days_elsewhere(s, node)
        return _binary("+")(s, node)
    days = _int_literal(node.expression)
    if days is not None and _is_date(s, node.this):
        return py.binop(s(node.this), "+", py.ibis_call("interval", days=py.lit(days)))
    days = _int_literal(node.this)
    if days is not None and _is_date(s, node.expression):
        return py.binop(s(node.expression), "+", py.ibis_call("interval", days=py.lit(days)))
    return _binary("+")(s, node)


def _sub(s: Scalars, node: exp.Sub) -> ast.expr:
    """`d1 - d2` of DATEs is a number of days (`d1.delta(d2, unit="day")`, not ibis's
    interval); `d - 7` subtracts days."""
    left, right = node.this, node.expression
    if s.tr.dialect not in _DAY_ARITHMETIC:
        _days_elsewhere(s, node)
        return _binary("-")(s, node)
    if _is_date(s, left) and _is_date(s, right):
        return _day_delta(s, left, right)
    days = _int_literal(right)
    if days is not None and _is_date(s, left):
        return py.binop(s(left), "-", py.ibis_call("interval", days=py.lit(days)))
    return _binary("-")(s, node)


def _div(s: Scalars, node: exp.Div) -> ast.expr:
    if node.args.get("typed") and s.tr.integer_division(node):
        raise s.tr.unsupported(
            node, "integer division", "the dialect truncates integer `/`; cast an operand"
        )
    return _binary("/")(s, node)


def _and(s: Scalars, node: exp.And) -> ast.expr:
    return py.binop(s.value(node.left), "&", s(node.right))


def _or(s: Scalars, node: exp.Or) -> ast.expr:
    return py.binop(s.value(node.left), "|", s(node.right))


def _not(s: Scalars, node: exp.Not) -> ast.expr:
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if isinstance(inner, exp.Is) and isinstance(inner.expression, exp.Null):
        return py.method(s.value(inner.this), "notnull")
    if isinstance(inner, exp.In):
        if inner.args.get("query"):
            return s.tr.in_subquery(inner, s, negate=True)
        return _in(s, inner, negate=True)
    return py.invert(s.value(inner))


def _neg(s: Scalars, node: exp.Neg) -> ast.expr:
    value = s(node.this)
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
        return py.lit(-value.value)
    return py.neg(value)


def _is(s: Scalars, node: exp.Is) -> ast.expr:
    if isinstance(node.expression, exp.Null):
        return py.method(s.value(node.this), "notnull" if node.args.get("negate") else "isnull")
    if isinstance(node.expression, exp.Boolean):
        value = s.value(node.this)
        target = py.lit(bool(node.expression.this))
        same = py.method(value, "identical_to", target)
        return py.invert(same) if node.args.get("negate") else same
    raise s.tr.unsupported(node, "IS expression")


def _null_safe_eq(s: Scalars, node: exp.NullSafeEQ) -> ast.expr:
    return py.method(s.value(node.this), "identical_to", s(node.expression))


def _null_safe_neq(s: Scalars, node: exp.NullSafeNEQ) -> ast.expr:
    return py.invert(py.method(s.value(node.this), "identical_to", s(node.expression)))


def _between(s: Scalars, node: exp.Between) -> ast.expr:
    if node.args.get("symmetric"):
        raise s.tr.unsupported(node, "BETWEEN SYMMETRIC")
    this = node.this
    low = _plain_temporal(s, node.args["low"], this)
    high = _plain_temporal(s, node.args["high"], this)
    return py.method(s.value(this), "between", low, high)


def _in(s: Scalars, node: exp.In, negate: bool = False) -> ast.expr:
    if node.args.get("query"):
        return s.tr.in_subquery(node, s)
    if node.args.get("unnest") or node.args.get("field"):
        raise s.tr.unsupported(node, "IN over an array")
    this = node.this
    values = [_plain_temporal(s, v, this) for v in node.expressions]
    options = ast.List(elts=values, ctx=ast.Load())
    return py.method(s.value(this), "notin" if negate else "isin", options)


def _like(meth: str) -> Handler:
    def handler(s: Scalars, node: exp.Like) -> ast.expr:
        if node.args.get("escape"):
            raise s.tr.unsupported(node, "LIKE ... ESCAPE")
        matched = py.method(s.value(node.this), meth, s(node.expression))
        return py.invert(matched) if node.args.get("negate") else matched

    return handler


def _escape(s: Scalars, node: exp.Escape) -> ast.expr:
    raise s.tr.unsupported(node, "LIKE ... ESCAPE", "ibis has no escape character for like()")


def _dpipe(s: Scalars, node: exp.DPipe) -> ast.expr:
    left, right = s(node.this), s(node.expression)
    if is_literal(left) and is_literal(right):
        left = as_ibis(left)
    return py.binop(left, "+", right)


def _as_text(s: Scalars, node: exp.Expr, part: ast.expr) -> ast.expr:
    """A CONCAT argument as text: SQL's CONCAT casts numbers and dates to text, ibis's
    `concat` takes strings only (`CONCAT(YEAR(d), '-Q', QUARTER(d))`). The operand types
    come from annotating the query; an unknown type is left as it is."""
    s.tr.typed()
    kind = node.type
    if kind is None or kind.is_type(*exp.DataType.TEXT_TYPES, exp.DataType.Type.UNKNOWN):
        return part
    if isinstance(part, ast.Constant):
        return py.lit(str(part.value)) if isinstance(part.value, int) else part
    return py.method(part, "cast", py.lit("string"))


def _concat(s: Scalars, node: exp.Concat) -> ast.expr:
    parts = [_as_text(s, e, s(e)) for e in node.expressions]
    if node.args.get("coalesce"):
        # CONCAT skips NULL arguments in this dialect; ibis's concat propagates them
        parts = [p if is_literal(p) else py.method(p, "fill_null", py.lit("")) for p in parts]
    if len(parts) == 1:
        return as_ibis(parts[0])
    if is_literal(parts[0]):
        # "a" + _.x works where ibis.literal("a").concat(_.x) does not (deferred argument)
        out = parts[0]
        for part in parts[1:]:
            out = py.binop(out, "+", part)
        return out
    return py.method(parts[0], "concat", *parts[1:])


# --- conditionals ------------------------------------------------------------------------------


def _case(s: Scalars, node: exp.Case) -> ast.expr:
    default = node.args.get("default")
    kwargs = {} if default is None else {"else_": s(default)}
    branches = [
        ast.Tuple(elts=[s(i.this), s(i.args["true"])], ctx=ast.Load()) for i in node.args["ifs"]
    ]
    subject = node.this
    if subject is not None:
        return py.method(s.value(subject), "cases", *branches, **kwargs)
    return py.ibis_call("cases", *branches, **kwargs)


def _if(s: Scalars, node: exp.If) -> ast.expr:
    false = node.args.get("false")
    return py.ibis_call(
        "ifelse",
        s(node.this),
        s(node.args["true"]),
        s(false) if false is not None else py.ibis_call("null"),
    )


def _nvl2(s: Scalars, node: exp.Nvl2) -> ast.expr:
    """`NVL2(x, a, b)`: a when x is not NULL, else b."""
    false = node.args.get("false")
    return py.ibis_call(
        "ifelse",
        py.method(s.value(node.this), "notnull"),
        s(node.args["true"]),
        s(false) if false is not None else py.ibis_call("null"),
    )


def _decode_case(s: Scalars, node: exp.DecodeCase) -> ast.expr:
    """Oracle/Redshift/Snowflake `DECODE(x, s1, r1, ..., [default])`: a NULL search value
    matches a NULL x, so searches are `x.cases(...)` only when they are non-NULL literals;
    otherwise each branch is `x.identical_to(s)` (IS NOT DISTINCT FROM)."""
    subject, *rest = node.expressions
    default = rest.pop() if len(rest) % 2 else None
    kwargs = {} if default is None else {"else_": s(default)}
    pairs = list(zip(rest[::2], rest[1::2], strict=True))
    if all(is_sql_literal(search) for search, _ in pairs):
        branches = [
            ast.Tuple(elts=[s(search), s(result)], ctx=ast.Load()) for search, result in pairs
        ]
        return py.method(s.value(subject), "cases", *branches, **kwargs)
    value = s.value(subject)
    branches = [
        ast.Tuple(
            elts=[
                py.method(value, "isnull")
                if isinstance(search, exp.Null)
                else py.binop(value, "==", s(search))
                if is_sql_literal(search)
                else py.method(value, "identical_to", s(search)),
                s(result),
            ],
            ctx=ast.Load(),
        )
        for search, result in pairs
    ]
    return py.ibis_call("cases", *branches, **kwargs)


def _coalesce(s: Scalars, node: exp.Coalesce) -> ast.expr:
    args = [s(node.this), *[s(e) for e in node.expressions]]
    if all(ast.dump(a) == ast.dump(args[0]) for a in args[1:]):
        return args[0]  # USING keys of an inner join: one column, as ibis keeps one
    return py.ibis_call("coalesce", *args)


def _nullif(s: Scalars, node: exp.Nullif) -> ast.expr:
    return py.method(s.value(node.this), "nullif", s(node.expression))


def _greatest(func: str) -> Handler:
    def handler(s: Scalars, node: exp.Func) -> ast.expr:
        return py.ibis_call(func, s(node.this), *[s(e) for e in node.expressions])

    return handler


# --- types, literals of other types -------------------------------------------------------------


def ibis_dtype(s: Scalars, node: exp.DataType) -> str:
    """The ibis dtype string of a SQL type (ibis's own SQL type mapping)."""
    from ibis.backends.sql.datatypes import SqlglotType

    try:
        dtype = SqlglotType.to_ibis(node)
    except Exception:  # noqa: BLE001 - ibis raises several types for unknown SQL types
        raise s.tr.unsupported(node, f"type {node.sql()}") from None
    return str(dtype)


def _cast(s: Scalars, node: exp.Cast) -> ast.expr:
    to = node.to
    text = _temporal_literal(node)
    if text is not None:
        func = "date" if to.this == exp.DataType.Type.DATE else "timestamp"
        return py.ibis_call(func, py.lit(text))
    meth = "try_cast" if isinstance(node, exp.TryCast) or node.args.get("safe") else "cast"
    return py.method(s.value(node.this), meth, py.lit(ibis_dtype(s, to)))


_INTERVAL_UNITS = {
    "YEAR": "years",
    "QUARTER": "quarters",
    "MONTH": "months",
    "WEEK": "weeks",
    "DAY": "days",
    "HOUR": "hours",
    "MINUTE": "minutes",
    "SECOND": "seconds",
    "MILLISECOND": "milliseconds",
    "MICROSECOND": "microseconds",
}
_INTERVAL_CODES = {
    "YEAR": "Y",
    "QUARTER": "Q",
    "MONTH": "M",
    "WEEK": "W",
    "DAY": "D",
    "HOUR": "h",
    "MINUTE": "m",
    "SECOND": "s",
    "MILLISECOND": "ms",
    "MICROSECOND": "us",
}


def _unit_name(node: exp.Expr | None) -> str:
    if node is None:
        return ""
    unit = node.name.upper().rstrip("S") if node.name else ""
    return {"YY": "YEAR", "MM": "MONTH", "DD": "DAY", "DAYOFMONTH": "DAY"}.get(unit, unit)


def _interval(s: Scalars, node: exp.Interval) -> ast.expr:
    unit = _unit_name(node.args.get("unit"))
    value = node.this
    if unit not in _INTERVAL_UNITS:
        raise s.tr.unsupported(node, f"interval unit {unit or '(none)'}")
    try:
        amount = literal_value(value)
        amount = int(amount) if str(amount).lstrip("-").isdigit() else float(amount)
    except (ValueError, TypeError):
        return py.method(s.value(value), "as_interval", py.lit(_INTERVAL_CODES[unit]))
    return py.ibis_call("interval", **{_INTERVAL_UNITS[unit]: py.lit(amount)})


def _date_add(sign: str) -> Handler:
    def handler(s: Scalars, node: exp.Func) -> ast.expr:
        unit = _unit_name(node.args.get("unit")) or "DAY"
        if unit not in _INTERVAL_UNITS:
            raise s.tr.unsupported(node, f"date arithmetic in {unit}")
        amount = node.expression
        if is_sql_literal(amount):
            value = literal_value(amount)
            value = int(value) if str(value).lstrip("-").isdigit() else float(value)
            delta = py.ibis_call("interval", **{_INTERVAL_UNITS[unit]: py.lit(value)})
        else:
            delta = py.method(s.value(amount), "as_interval", py.lit(_INTERVAL_CODES[unit]))
        return py.binop(s.value(node.this), sign, delta)

    return handler


def _to_date(s: Scalars, node: exp.Expr) -> ast.expr:
    """`TS_OR_DS_TO_DATE(x)` (sqlglot's reading of MySQL's YEAR(x) and friends): x itself
    when it is a date column, else `x.cast("date")`."""
    if node.args.get("format") is not None or node.args.get("safe"):
        raise s.tr.unsupported(node, f"{describe(node)} with a format")
    if s.frame.dtype_of(node.this, s) == "date":
        return s(node.this)
    return py.method(s.value(node.this), "cast", py.lit("date"))


def _safe_divide(s: Scalars, node: exp.SafeDivide) -> ast.expr:
    """BigQuery's SAFE_DIVIDE: NULL instead of an error when dividing by zero."""
    divisor = s(node.expression)
    if not (
        is_literal(divisor)
        and is_sql_literal(node.expression)
        and literal_value(node.expression) != 0
    ):
        divisor = py.method(as_ibis(divisor), "nullif", py.lit(0))
    return py.binop(s(node.this), "/", divisor)


def _current(func: str) -> Handler:
    def handler(s: Scalars, node: exp.Func) -> ast.expr:
        return py.ibis_call(func)

    return handler


_EXTRACT = {
    "YEAR": "year",
    "QUARTER": "quarter",
    "MONTH": "month",
    "DAY": "day",
    "HOUR": "hour",
    "MINUTE": "minute",
    "SECOND": "second",
    "MILLISECOND": "millisecond",
    "MICROSECOND": "microsecond",
    "WEEK": "week_of_year",
    "DOY": "day_of_year",
    "DAYOFYEAR": "day_of_year",
    "EPOCH": "epoch_seconds",
}


def extract_part(s: Scalars, node: exp.Expr, unit: str, value: ast.expr) -> ast.expr:
    unit = {"DAYOFWEEK": "DOW", "WEEKDAY": "DOW", "YEARS": "YEAR", "ISOWEEK": "WEEK"}.get(
        unit, unit
    )
    if unit in _EXTRACT:
        return py.method(value, _EXTRACT[unit])
    if unit == "DOW":  # SQL: Sunday = 0; ibis: Monday = 0
        index = py.method(py.attr(value, "day_of_week"), "index")
        return py.binop(py.binop(index, "+", py.lit(1)), "%", py.lit(7))
    if unit == "ISODOW":
        index = py.method(py.attr(value, "day_of_week"), "index")
        return py.binop(index, "+", py.lit(1))
    raise s.tr.unsupported(node, f"EXTRACT({unit})")


def _extract(s: Scalars, node: exp.Extract) -> ast.expr:
    unit = node.this.name.upper()
    return extract_part(s, node, unit, s.value(node.expression))


def _part(unit: str) -> Handler:
    def handler(s: Scalars, node: exp.Func) -> ast.expr:
        return extract_part(s, node, unit, s.value(node.this))

    return handler


# date_trunc's units: the interval codes down to seconds
_TRUNC_UNITS = {
    k: v for k, v in _INTERVAL_CODES.items() if k not in ("MILLISECOND", "MICROSECOND")
}


_WEEKDAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")


def _trunc_to_week_start(s: Scalars, node: exp.Func, day: str) -> ast.expr:
    """BigQuery's `DATE_TRUNC(d, WEEK)` (weeks start on Sunday) or `WEEK(SATURDAY)`: ibis
    truncates to Mondays, so the date moves forward by the days from that weekday to the
    next Monday, is truncated, and moves back."""
    if day not in _WEEKDAYS:
        raise s.tr.unsupported(node, f"DATE_TRUNC to weeks starting on {day}")
    shift = (7 - _WEEKDAYS.index(day)) % 7
    value = s.value(node.this)
    if not shift:
        return py.method(value, "truncate", py.lit("W"))
    delta = py.ibis_call("interval", days=py.lit(shift))
    moved = py.method(py.binop(value, "+", delta), "truncate", py.lit("W"))
    return py.binop(moved, "-", delta)


def _trunc(s: Scalars, node: exp.Func) -> ast.expr:
    unit_node = node.args.get("unit")
    if isinstance(unit_node, exp.WeekStart):
        return _trunc_to_week_start(s, node, unit_node.name.upper())
    unit = _unit_name(unit_node) if unit_node is not None else ""
    if isinstance(unit_node, exp.Literal):
        unit = unit_node.this.upper().rstrip("S")
    if unit not in _TRUNC_UNITS:
        raise s.tr.unsupported(node, f"DATE_TRUNC to {unit or '(none)'}")
    return py.method(s.value(node.this), "truncate", py.lit(_TRUNC_UNITS[unit]))


_DIFF_UNITS = ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY")
_TIME_DIFF_UNITS = ("HOUR", "MINUTE", "SECOND", "MILLISECOND", "MICROSECOND")


def _is_timestamp(s: Scalars, node: exp.Expr) -> bool:
    if isinstance(node, exp.CurrentTimestamp):
        return True
    if isinstance(node, exp.Cast) and node.to.this in _TIMESTAMPS:
        return True
    return s.frame.dtype_of(node, s) == "timestamp"


def _date_diff(s: Scalars, node: exp.DateDiff | exp.TsOrDsDiff) -> ast.expr:
    """`DATEDIFF(unit, start, end)` (sqlglot: this=end, expression=start) is
    `end.delta(start, unit=...)`: the number of unit boundaries crossed, as DuckDB's
    DATE_DIFF counts them (ibis compiles delta to it)."""
    unit_node = node.args.get("unit")
    if isinstance(unit_node, exp.WeekStart):
        raise s.tr.unsupported(node, "DATEDIFF in weeks starting on a given day")
    unit = _unit_name(unit_node) or "DAY"
    if unit == "WEEK" and node.args.get("date_part_boundary"):
        # Snowflake counts calendar-week boundaries; DuckDB's DATE_DIFF counts whole weeks
        raise s.tr.unsupported(node, "DATEDIFF in calendar weeks", "use days / 7")
    end, start = _diff_operands(s, node.this, node.expression, unit)
    if unit in _TIME_DIFF_UNITS:
        if not (_is_timestamp(s, end) and _is_timestamp(s, start)):
            raise s.tr.unsupported(
                node, f"DATEDIFF in {unit} of dates", "cast both sides to TIMESTAMP"
            )
    elif unit not in _DIFF_UNITS:
        raise s.tr.unsupported(node, f"DATEDIFF in {unit}")
    if s.tr.dialect in _FULL_INTERVAL_DIFF and not (
        unit == "DAY" and not _is_timestamp(s, end) and not _is_timestamp(s, start)
    ):
        raise s.tr.unsupported(
            node, f"{s.tr.dialect} DATE_DIFF", "it counts whole units; ibis counts boundaries"
        )
    return _delta(s, end, start, unit.lower())


#: sqlglot's casts around DATEDIFF's operands in dialects that take dates or timestamps
_TO_TIMESTAMP = (exp.TimeStrToTime, exp.TsOrDsToTimestamp)
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
#: units whose boundary count depends only on the calendar date of each side
_CALENDAR_UNITS = ("YEAR", "QUARTER", "MONTH", "DAY")


def _temporal_kind(s: Scalars, node: exp.Expr) -> str | None:
    """`date` or `timestamp` when the operand's type is known without running it."""
    if isinstance(node, exp.CurrentDate):
        return "date"
    if isinstance(node, exp.CurrentTimestamp):
        return "timestamp"
    if isinstance(node, exp.Cast):
        to = node.to.this
        if to == exp.DataType.Type.DATE:
            return "date"
        return "timestamp" if to in _TIMESTAMPS else None
    if isinstance(node, (exp.Min, exp.Max, exp.AnyValue)):
        return _temporal_kind(s, node.this)
    kind = s.frame.dtype_of(node, s)
    return kind if kind in ("date", "timestamp") else None


def _diff_operands(
    s: Scalars, end: exp.Expr, start: exp.Expr, unit: str
) -> tuple[exp.Expr, exp.Expr]:
    """DATEDIFF's operands without sqlglot's casts to TIMESTAMP (T-SQL, Redshift read both
    sides as timestamps): a date or timestamp operand is already one. When a date meets a
    timestamp and the unit is a calendar one, the count depends only on dates, so the
    timestamp side is taken as its date (`CURRENT_TIMESTAMP` as `CURRENT_DATE`)."""

    def bare(node: exp.Expr) -> exp.Expr:
        if isinstance(node, _TO_TIMESTAMP):
            inner = node.this
            if _temporal_kind(s, inner) is not None:
                return inner
            if isinstance(inner, exp.Literal) and _DATE_TEXT.fullmatch(inner.name or ""):
                return inner  # '2024-01-01' is that day's midnight: the same count
        return node

    end, start = bare(end), bare(start)
    kinds = {_temporal_kind(s, end), _temporal_kind(s, start)}
    if kinds == {"date", "timestamp"} and unit in _CALENDAR_UNITS:

        def as_date(node: exp.Expr) -> exp.Expr:
            if _temporal_kind(s, node) != "timestamp":
                return node
            if isinstance(node, exp.CurrentTimestamp):
                return exp.CurrentDate()
            return exp.cast(node.copy(), exp.DataType.Type.DATE)

        end, start = as_date(end), as_date(start)
    return end, start


def _timestamp_diff(s: Scalars, node: exp.TimestampDiff) -> ast.expr:
    """MySQL's `TIMESTAMPDIFF(unit, start, end)` counts whole units elapsed (one month from
    Jan 31 to Feb 28 is 0), where ibis's `delta` counts boundaries crossed: they agree on
    days between dates only."""
    unit = _unit_name(node.args.get("unit")) or "DAY"
    end, start = node.this, node.expression

    def is_date(node: exp.Expr) -> bool:  # a date, or a 'YYYY-MM-DD' text (its midnight)
        if isinstance(node, exp.Literal) and node.is_string:
            return _DATE_TEXT.fullmatch(node.this) is not None
        return _temporal_kind(s, node) == "date"

    dates = is_date(end) and is_date(start)
    if s.tr.dialect == "mysql" and unit == "DAY" and dates:
        return _delta(s, end, start, "day")
    raise s.tr.unsupported(
        node,
        f"TIMESTAMPDIFF in {unit}",
        "it counts whole units elapsed, ibis counts boundaries crossed; DATEDIFF of dates "
        "in days translates",
    )


def _day_delta(s: Scalars, end: exp.Expr, start: exp.Expr) -> ast.expr:
    return _delta(s, end, start, "day")


def _delta(s: Scalars, end: exp.Expr, start: exp.Expr, unit: str) -> ast.expr:
    """`end.delta(start, unit=...)`; when only `start` reads a column, `ibis.today().delta(_.d)`
    could not take the deferred column: the column receives, and the difference (boundary
    counts are antisymmetric) is negated."""
    has_column = [any(isinstance(c, exp.Column) for c in e.walk()) for e in (end, start)]
    if has_column == [False, True]:
        return py.neg(py.method(s.value(start), "delta", s(end), unit=py.lit(unit)))
    return py.method(s.value(end), "delta", s(start), unit=py.lit(unit))


#: dialects whose DATE_DIFF counts whole units elapsed, not boundaries crossed
_FULL_INTERVAL_DIFF = frozenset({"trino", "presto", "athena"})


#: a strftime code (`%Y`, `%-d`) or `%%`, in sqlglot's normalized (Python) spelling
_STRFTIME_CODE = re.compile(r"%-?[A-Za-z%]")


def _time_to_str(s: Scalars, node: exp.TimeToStr) -> ast.expr:
    """`strftime(x, fmt)` (DuckDB), `to_char(x, fmt)` (Postgres), `DATE_FORMAT(x, fmt)`
    (MySQL), ...: sqlglot normalizes each dialect's format to Python's strftime codes, which
    is what ibis's `.strftime()` takes (and compiles to each backend's spelling)."""
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise s.tr.unsupported(node, "STRFTIME with a computed format", "use a literal format")
    if node.args.get("zone") is not None or node.args.get("culture") is not None:
        raise s.tr.unsupported(node, "date formatting in a time zone or culture")
    text = re.sub(r"(%-?[A-Za-z])strict", r"\1", fmt.this)  # Spark's `MM`: plain `%m`
    if s.tr.dialect not in ("duckdb", "") and re.search(
        "[A-Za-z]", _STRFTIME_CODE.sub("", text)
    ):
        # a format word sqlglot could not map (Postgres `Day`, `Mon`) is left as letters
        raise s.tr.unsupported(
            node,
            f"date format {text!r}",
            "a word of it has no strftime code; use numeric fields such as YYYY-MM-DD",
        )
    value = node.this
    if isinstance(
        value, (exp.TsOrDsToTimestamp, exp.TsOrDsToDate, exp.TimeStrToTime)
    ) and s.frame.dtype_of(value.this, s) in ("date", "timestamp"):
        value = value.this  # MySQL's DATE_FORMAT(d, ...) reads d as a timestamp: same text
    return py.method(s.value(value), "strftime", py.lit(text))


# --- strings and numbers ---------------------------------------------------------------------


def _method(meth: str, *arg_names: str) -> Handler:
    """`this.meth(args...)` for a function whose SQL arguments map one to one."""

    def handler(s: Scalars, node: exp.Func) -> ast.expr:
        args = []
        for arg_name in arg_names:
            value = node.args.get(arg_name)
            if value is None:
                break
            args.append(s(value))
        return py.method(s.value(node.this), meth, *args)

    return handler


def _day_or_month_name(full: str, short: str) -> Handler:
    """`DAYNAME(d)` / `MONTHNAME(d)`: Snowflake's are three letters ('Mon', 'Jan'; sqlglot
    marks them `abbreviated`), MySQL's and DuckDB's the whole English name ('Monday').
    strftime's `%a`/`%A`, `%b`/`%B` give those names (English, as the warehouses' default
    language does)."""

    def handler(s: Scalars, node: exp.Func) -> ast.expr:
        code = short if node.args.get("abbreviated") else full
        return py.method(s.value(node.this), "strftime", py.lit(code))

    return handler


#: the days of each month in every year (February's 29th is not in every year)
_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _date_from_parts(s: Scalars, node: exp.DateFromParts) -> ast.expr:
    """`DATEFROMPARTS(y, m, d)` (T-SQL), `DATE_FROM_PARTS` (Snowflake), `make_date` (DuckDB),
    `DATE(y, m, d)` (BigQuery) → `ibis.date(y, m, d)`. An invalid date is an error in each
    but Snowflake, which carries a month or day out of range over (month 13 is next
    January); there, only a literal month and day that make a date in every year translate."""
    found = [node.args.get(k) for k in ("year", "month", "day")]
    parts = [p for p in found if isinstance(p, exp.Expr)]
    if len(parts) != 3:
        raise s.tr.unsupported(node, describe(node), "give year, month and day")
    if node.args.get("allow_overflow"):
        month, day = _int_literal(parts[1]), _int_literal(parts[2])
        if month is None or day is None or not (1 <= month <= 12 and 1 <= day <= _DAYS[month]):
            raise s.tr.unsupported(
                node,
                f"{describe(node)} with a computed or out-of-range month or day",
                "Snowflake carries an overflow into the next month or year; give a literal "
                "month and day that exist in every year, or add INTERVALs to "
                "DATE_FROM_PARTS(y, 1, 1)",
            )
    return py.ibis_call("date", *[s(p) for p in parts])


def _trim(s: Scalars, node: exp.Trim) -> ast.expr:
    if node.expression is not None:
        raise s.tr.unsupported(node, "TRIM of characters other than spaces")
    position = str(node.args.get("position") or "BOTH").upper()
    meth = {"LEADING": "lstrip", "TRAILING": "rstrip"}.get(position, "strip")
    return py.method(s.value(node.this), meth)


def _substring(s: Scalars, node: exp.Substring) -> ast.expr:
    start = node.args.get("start")
    length = node.args.get("length")
    try:
        first = literal_value(start) if start is not None else 1
    except ValueError:
        raise s.tr.unsupported(
            node, "SUBSTRING with a computed start", "use a literal start position"
        ) from None
    if not isinstance(first, int) or first < 1:
        raise s.tr.unsupported(node, f"SUBSTRING from position {first}")
    args = [py.lit(first - 1)]
    if length is not None:
        args.append(s(length))
    return py.method(s.value(node.this), "substr", *args)


def _strpos(s: Scalars, node: exp.StrPosition) -> ast.expr:
    if node.args.get("position") is not None or node.args.get("occurrence") is not None:
        raise s.tr.unsupported(node, "STRPOS with a start position")
    found = py.method(s.value(node.this), "find", s(node.args["substr"]))
    return py.binop(found, "+", py.lit(1))


def _pad(s: Scalars, node: exp.Pad) -> ast.expr:
    """`LPAD(x, n, c)` / `RPAD(x, n, c)` → `x.lpad(n, c).left(n)`: ibis pads a shorter
    string but leaves a longer one whole, where SQL cuts it to n characters; with one pad
    character the rest is the same."""
    fill = node.args.get("fill_pattern")
    fill_text = literal_value(fill) if fill is not None and is_sql_literal(fill) else " "
    if (fill is not None and not is_sql_literal(fill)) or len(str(fill_text)) != 1:
        raise s.tr.unsupported(node, "LPAD/RPAD with a pad other than one literal character")
    meth = "lpad" if node.args.get("is_left") else "rpad"
    length = s(node.expression)
    padded = py.method(s.value(node.this), meth, length, py.lit(fill_text))
    return py.method(padded, "left", length)


def _nth_part(
    s: Scalars, node: exp.Expr, delimiter: exp.Expr | None, nth: int | None
) -> ast.expr:
    """The first (1) or last (-1) piece of `x` split at a literal delimiter: `split(d)[0]`
    or `[-1]`, which always exist. Other pieces may not, where SQL gives '' and ibis NULL."""
    if not (isinstance(delimiter, exp.Literal) and delimiter.is_string and delimiter.this):
        raise s.tr.unsupported(node, f"{describe(node)} with a computed or empty delimiter")
    if nth not in (1, -1):
        raise s.tr.unsupported(
            node, f"{describe(node)} of piece {nth}", "only the first (1) and last (-1) map"
        )
    pieces = py.method(s.value(node.this), "split", s(delimiter))
    return ast.Subscript(value=pieces, slice=py.lit(0 if nth == 1 else -1), ctx=ast.Load())


def _split_part(s: Scalars, node: exp.SplitPart) -> ast.expr:
    return _nth_part(s, node, node.args.get("delimiter"), _int_literal(node.args["part_index"]))


def _last_day(s: Scalars, node: exp.LastDay) -> ast.expr:
    """`LAST_DAY(d)` / T-SQL `EOMONTH(d)`: the month's first day, a month on, a day back."""
    unit = _unit_name(node.args.get("unit")) or "MONTH"
    if unit != "MONTH":
        raise s.tr.unsupported(node, f"LAST_DAY of a {unit.lower()}")
    first = py.method(s.value(node.this), "truncate", py.lit("M"))
    later = py.binop(first, "+", py.ibis_call("interval", months=py.lit(1)))
    return py.binop(later, "-", py.ibis_call("interval", days=py.lit(1)))


def _trunc_number(s: Scalars, node: exp.Trunc) -> ast.expr:
    """Numeric TRUNC (a date's TRUNC became its date in `readings`)."""
    part = node.args.get("decimals")
    if isinstance(part, exp.Literal) and part.is_string:
        raise s.tr.unsupported(node, f"TRUNC to {part.this}", "use DATE_TRUNC('month', d)")
    raise s.tr.unsupported(
        node,
        "TRUNC/TRUNCATE of a number",
        "ibis has no rounding toward zero; use ROUND(x, d), FLOOR or CEIL",
    )


def _initcap(s: Scalars, node: exp.Initcap) -> ast.expr:
    raise s.tr.unsupported(
        node, "INITCAP", "ibis's capitalize() changes the first word only; use UPPER/LOWER"
    )


def _round(s: Scalars, node: exp.Round) -> ast.expr:
    digits = node.args.get("decimals")
    args = [s(digits)] if digits is not None else []
    return py.method(s.value(node.this), "round", *args)


def _pow(s: Scalars, node: exp.Pow) -> ast.expr:
    return py.binop(s.value(node.this), "**", s(node.expression))


def _log(s: Scalars, node: exp.Log) -> ast.expr:
    if node.expression is None:
        return py.method(s.value(node.this), "ln")
    return py.method(s.value(node.expression), "log", s(node.this))


def _regexp_like(s: Scalars, node: exp.RegexpLike) -> ast.expr:
    if node.args.get("flag"):
        raise s.tr.unsupported(node, "REGEXP_MATCHES with flags")
    return py.method(s.value(node.this), "re_search", s(node.expression))


def _regexp_ilike(s: Scalars, node: exp.RegexpILike) -> ast.expr:
    """Postgres `x ~* 'p'` (and `!~*`, a NOT around it): a case-insensitive search, RE2's
    inline `(?i)` in front of a literal pattern."""
    pattern = _regex_text(node.expression)
    if pattern is None or node.args.get("flag"):
        raise s.tr.unsupported(
            node, "case-insensitive regex match with a computed pattern", "use a literal pattern"
        )
    return py.method(s.value(node.this), "re_search", py.lit("(?i)" + pattern))


#: regex flags with an RE2 inline spelling: 'i' case-insensitive, 'c' case-sensitive
_CASE_FLAGS = {"i": "(?i)", "c": ""}
#: one escape of a replacement (`\1`, `\\`, `\&`), read left to right
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _regex_text(node: exp.Expr) -> str | None:
    """The text of a literal pattern or replacement (`r'...'` included), else None."""
    if isinstance(node, exp.RawString) or (isinstance(node, exp.Literal) and node.is_string):
        return str(node.this)
    return None


def _shift_groups(replacement: str) -> str | None:
    r"""The replacement with each group reference one higher (`\2` for `\1`); None when it
    refers to the whole match (`\0`, Postgres `\&`), which the anchored pattern changes."""
    whole = False

    def shift(m: re.Match[str]) -> str:
        nonlocal whole
        char = m.group(1)
        whole = whole or char in "0&"
        return f"\\{int(char) + 1}" if char.isdigit() else m.group(0)

    shifted = _ESCAPE.sub(shift, replacement)
    return None if whole else shifted


def _regexp_replace(s: Scalars, node: exp.RegexpReplace) -> ast.expr:
    r"""`REGEXP_REPLACE(x, pattern, replacement [, flags])` → `x.re_replace(...)`, which
    replaces every match.

    DuckDB and Postgres replace only the first match unless the 'g' flag is given (sqlglot
    marks them `single_replace`), Snowflake and MySQL when the occurrence is 1. The first
    match alone is replaced by anchoring the pattern at the start behind the shortest
    prefix, `^([\s\S]*?)(?:pattern)` → `\1replacement` (the replacement's group references
    move up by one). A case flag becomes RE2's inline `(?i)`."""
    position, occurrence = node.args.get("position"), node.args.get("occurrence")
    if position is not None and _int_literal(position) != 1:
        raise s.tr.unsupported(node, "REGEXP_REPLACE from a position other than 1")
    modifiers = node.args.get("modifiers")
    flags = ""
    if modifiers is not None:
        if not (isinstance(modifiers, exp.Literal) and modifiers.is_string):
            raise s.tr.unsupported(node, "REGEXP_REPLACE with computed flags")
        flags = modifiers.this
    unknown = sorted(set(flags) - {"g", *_CASE_FLAGS})
    if unknown:
        raise s.tr.unsupported(
            node,
            f"REGEXP_REPLACE with flags {flags!r}",
            f"{', '.join(map(repr, unknown))} has no ibis spelling; 'g', 'i' and 'c' map",
        )
    every = "g" in flags or not node.args.get("single_replace")
    if occurrence is not None:
        nth = _int_literal(occurrence)
        if nth not in (0, 1):
            raise s.tr.unsupported(node, f"REGEXP_REPLACE of occurrence {occurrence.sql()}")
        every = nth == 0
    case_flags = [f for f in flags if f in _CASE_FLAGS]
    case = _CASE_FLAGS[case_flags[-1]] if case_flags else ""  # the last one wins
    pattern_node = node.expression
    replacement_node = node.args.get("replacement") or exp.Literal.string("")
    pattern, replacement = _regex_text(pattern_node), _regex_text(replacement_node)
    if every and not case:
        args = [
            s(e) if text is None else py.lit(text)
            for e, text in ((pattern_node, pattern), (replacement_node, replacement))
        ]
        return py.method(s.value(node.this), "re_replace", *args)
    if pattern is None:
        raise s.tr.unsupported(
            node, "REGEXP_REPLACE of the first match or with flags, of a computed pattern"
        )
    if every:
        again = s(replacement_node) if replacement is None else py.lit(replacement)
        return py.method(s.value(node.this), "re_replace", py.lit(case + pattern), again)
    shifted = _shift_groups(replacement) if replacement is not None else None
    if shifted is None:
        raise s.tr.unsupported(
            node,
            "REGEXP_REPLACE of the first match only",
            "with a computed replacement, or one that refers to the whole match",
        )
    return py.method(
        s.value(node.this),
        "re_replace",
        py.lit(case + r"^([\s\S]*?)(?:" + pattern + ")"),
        py.lit("\\1" + shifted),
    )


def _anonymous(s: Scalars, node: exp.Anonymous) -> ast.expr:
    name = node.name.lower()
    args = node.expressions
    if name == "ibert_typed_null":  # a rolled-up ROLLUP key (see relations.rollup)
        spelled, is_dtype = args[0].this, args[1].this
        dtype = py.lit(spelled) if is_dtype else ast.parse(spelled, mode="eval").body
        return py.ibis_call("null", dtype)
    if name in ("iff", "iif") and len(args) == 3:
        return py.ibis_call("ifelse", *[s(a) for a in args])
    if name == "make_date" and len(args) == 3:  # Postgres; an invalid date is an error
        return py.ibis_call("date", *[s(a) for a in args])
    raise s.tr.unsupported(node, describe(node))


# --- aggregates --------------------------------------------------------------------------------


def _agg(meth: str, **fixed: Any) -> Handler:
    def handler(s: Scalars, node: exp.AggFunc) -> ast.expr:
        this = node.this
        if isinstance(this, exp.Distinct):
            raise s.tr.unsupported(node, f"{node.sql_name()}(DISTINCT ...)")
        # an aggregate inside (`SUM(COUNT(*)) OVER ()`) is a column of the aggregated table
        if not any(isinstance(n, (exp.Column, exp.AggFunc)) for n in this.walk()):
            raise s.tr.unsupported(
                node, f"{node.sql_name()} of a constant", "ibis aggregates columns"
            )
        kwargs = {k: py.lit(v) for k, v in fixed.items()}
        return py.method(s.value(this), meth, **kwargs)

    return handler


def _count(s: Scalars, node: exp.Count) -> ast.expr:
    this = node.this
    if this is None or isinstance(this, exp.Star) or is_sql_literal(this):
        return s.frame.count_star(s)  # COUNT(1) counts rows like COUNT(*)
    if isinstance(this, exp.Distinct):
        if len(this.expressions) != 1:
            raise s.tr.unsupported(node, "COUNT(DISTINCT over several columns)")
        return py.method(s.value(this.expressions[0]), "nunique")
    return py.method(s.value(this), "count")


def _count_if(s: Scalars, node: exp.CountIf) -> ast.expr:
    return s.frame.count_star(s, where=node.this)


def _filter(s: Scalars, node: exp.Filter) -> ast.expr:
    counted = node.this
    if isinstance(counted, exp.Count) and (
        counted.this is None or isinstance(counted.this, exp.Star) or is_sql_literal(counted.this)
    ):
        return s.frame.count_star(s, where=node.expression.this)
    agg = s(node.this)
    cond = s(node.expression.this)
    if not isinstance(agg, ast.Call):
        raise s.tr.unsupported(node, "FILTER on a non-aggregate")
    for keyword in agg.keywords:
        if keyword.arg == "where":  # the aggregate has its own condition (MAX_BY's NULLs)
            keyword.value = py.binop(keyword.value, "&", cond)
            return agg
    agg.keywords.append(ast.keyword(arg="where", value=cond))
    return agg


def _quantile_of(s: Scalars, node: exp.Expr, value: exp.Expr, q: exp.Expr) -> ast.expr:
    return py.method(s.value(value), "quantile", s(q))


def _quantile(s: Scalars, node: exp.Quantile) -> ast.expr:
    return _quantile_of(s, node, node.this, node.args["quantile"])


def _percentile_cont(s: Scalars, node: exp.PercentileCont) -> ast.expr:
    if node.expression is None:
        raise s.tr.unsupported(node, "PERCENTILE_CONT without WITHIN GROUP")
    return _quantile_of(s, node, node.this, node.expression)


def _within_group(s: Scalars, node: exp.WithinGroup) -> ast.expr:
    func = node.this
    order = node.expression
    if isinstance(func, exp.ArrayAgg):  # Snowflake: ARRAY_AGG(x) WITHIN GROUP (ORDER BY ...)
        return _array_agg(s, func, order)
    if isinstance(func, exp.GroupConcat) and not isinstance(func.this, exp.Order):
        # Redshift's LISTAGG(x, sep) WITHIN GROUP (ORDER BY ...)
        return _group_concat(s, func, order)
    if not isinstance(func, exp.PercentileCont) or len(order.expressions) != 1:
        raise s.tr.unsupported(node, f"{describe(func)} WITHIN GROUP")
    ordered = order.expressions[0]
    if ordered.args.get("desc"):
        raise s.tr.unsupported(node, "PERCENTILE_CONT ordered DESC")
    return _quantile_of(s, node, ordered.this, func.this)


def _group_concat(s: Scalars, node: exp.GroupConcat, order: exp.Order | None = None) -> ast.expr:
    this = node.this
    kwargs = {}
    if order is not None:
        kwargs["order_by"] = _order_by_kwarg(s, order)
    elif isinstance(this, exp.Order):
        kwargs["order_by"] = _order_by_kwarg(s, this)
        this = this.this
    if isinstance(this, exp.Distinct):
        raise s.tr.unsupported(node, "STRING_AGG with DISTINCT")
    sep = node.args.get("separator")
    args = [s(sep)] if sep is not None else [py.lit(",")]
    return py.method(s.value(this), "group_concat", *args, **kwargs)


def _order_by_kwarg(s: Scalars, order: exp.Order) -> ast.expr:
    """`order_by=` of an ordered aggregate: one key, or a list of them."""
    keys = []
    for o in order.expressions:
        if o.args.get("nulls_first") and not _may_be_null(s, o.this):
            o = o.copy()  # where NULLs sort says nothing for a NOT NULL column
            o.set("nulls_first", False)
        keys.append(s.tr.direction(s(o.this), o))
    return keys[0] if len(keys) == 1 else ast.List(elts=keys, ctx=ast.Load())


def _may_be_null(s: Scalars, node: exp.Expr) -> bool:
    if is_sql_literal(node):
        return False
    dtype = s.frame.raw_dtype(node) if isinstance(node, exp.Column) else None
    return not (dtype or "").startswith("!")


def _array_agg(
    s: Scalars, node: exp.ArrayAgg, order: exp.Order | None = None, skip_nulls: bool = False
) -> ast.expr:
    """`ARRAY_AGG([DISTINCT] x [ORDER BY ...])` → `x.collect(distinct=, order_by=)`.

    SQL keeps NULL elements (DuckDB, Postgres) where ibis drops them by default: they are
    kept with `include_null=True` unless the column cannot be NULL or the dialect (Snowflake,
    `IGNORE NULLS`) drops them too."""
    this = node.this
    if isinstance(this, exp.Limit):  # BigQuery's ARRAY_AGG(x ORDER BY y LIMIT n)
        raise s.tr.unsupported(
            node,
            "ARRAY_AGG(... LIMIT n)",
            "DuckDB cannot run it to check; aggregate the whole list, then take [:n] of it",
        )
    if isinstance(this, exp.Order):
        if order is not None:
            raise s.tr.unsupported(node, "ARRAY_AGG ordered twice")
        order, this = this, this.this
    kwargs: dict[str, ast.expr] = {}
    if isinstance(this, exp.Distinct):
        if len(this.expressions) != 1:
            raise s.tr.unsupported(node, "ARRAY_AGG(DISTINCT over several columns)")
        this = this.expressions[0]
        kwargs["distinct"] = py.lit(True)
    if not any(isinstance(n, exp.Column) for n in this.walk()):
        raise s.tr.unsupported(node, "ARRAY_AGG of a constant", "ibis aggregates columns")
    if order is not None:
        kwargs["order_by"] = _order_by_kwarg(s, order)
    if not (skip_nulls or node.args.get("nulls_excluded")) and _may_be_null(s, this):
        kwargs["include_null"] = py.lit(True)
    return py.method(s.value(this), "collect", **kwargs)


def _bracket(s: Scalars, node: exp.Bracket) -> ast.expr:
    """A list's first n elements, `x[1:n]` (1-based, inclusive) → `x[:n]`."""
    (index,) = node.expressions if len(node.expressions) == 1 else (None,)
    if not isinstance(index, exp.Slice) or _int_literal(index.this) != 1:
        raise s.tr.unsupported(node, "array subscript", "only a list's first n, [1:n], maps")
    count = _int_literal(index.expression)
    if count is None or count < 0:
        raise s.tr.unsupported(node, "array slice to a computed or negative end")
    upper = ast.Slice(lower=None, upper=py.lit(count), step=None)
    return ast.Subscript(value=s.value(node.this), slice=upper, ctx=ast.Load())


def _array_size(s: Scalars, node: exp.ArraySize) -> ast.expr:
    dimension = node.expression
    if dimension is not None and _int_literal(dimension) != 1:
        raise s.tr.unsupported(node, "ARRAY_LENGTH of a dimension other than 1")
    return py.method(s.value(node.this), "length")


def _ignore_nulls(s: Scalars, node: exp.IgnoreNulls) -> ast.expr:
    if isinstance(node.this, exp.ArrayAgg):
        return _array_agg(s, node.this, skip_nulls=True)
    raise s.tr.unsupported(node, f"{describe(node.this)} IGNORE NULLS")


#: dialects whose MAX_BY/MIN_BY skip rows with a NULL value as well as a NULL key (DuckDB's
#: `arg_max`; `arg_max_null` would keep them), and those that return a NULL value found at
#: the extreme key (Spark, Trino: only NULL keys are skipped)
_ARG_MAX_SKIPS = {
    "duckdb": ("this", "expression"),
    "": ("this", "expression"),
    "spark": ("expression",),
    "databricks": ("expression",),
    "trino": ("expression",),
    "presto": ("expression",),
    "athena": ("expression",),
}


def _arg_max(meth: str) -> Handler:
    """`max_by(v, k)` → `v.argmax(k, where=...)`. ibis compiles argmax to
    `FIRST(v ORDER BY k DESC)`, which takes the first row whatever its NULLs; the warehouse
    skips rows with a NULL key, and DuckDB also those with a NULL value (its `max_by` gives
    the value of the highest key among non-NULL values). Where a dialect's rule is not
    known, it is refused rather than guessed."""

    def handler(s: Scalars, node: exp.AggFunc) -> ast.expr:
        skipped = _ARG_MAX_SKIPS.get(s.tr.dialect)
        if skipped is None:
            raise s.tr.unsupported(
                node,
                f"MAX_BY/MIN_BY in {s.tr.dialect}",
                "which rows with NULLs it skips is not known here; keep the row with "
                "ROW_NUMBER() OVER (PARTITION BY ... ORDER BY key DESC) = 1",
            )
        present = [py.method(s.value(node.args[arg]), "notnull") for arg in skipped]
        where = present[0]
        for cond in present[1:]:
            where = py.binop(where, "&", cond)
        return py.method(s.value(node.this), meth, s(node.expression), where=where)

    return handler


# --- subqueries, windows --------------------------------------------------------------------


def _exists(s: Scalars, node: exp.Exists) -> ast.expr:
    return s.tr.exists(node, s)


def _subquery(s: Scalars, node: exp.Subquery) -> ast.expr:
    return s.tr.scalar_subquery(node, s)


def _window(s: Scalars, node: exp.Window) -> ast.expr:
    return s.tr.window(node, s)


def _unsupported_window_func(s: Scalars, node: exp.Expr) -> ast.expr:
    raise s.tr.unsupported(node, f"{describe(node)} outside OVER (...)")


HANDLERS: dict[type, Handler] = {
    exp.Literal: _literal,
    exp.RawString: _raw_string,
    exp.Boolean: _boolean,
    exp.Null: _null,
    exp.Column: _column,
    exp.Paren: _paren,
    exp.Add: _add,
    exp.Sub: _sub,
    exp.Mul: _binary("*"),
    exp.Div: _div,
    exp.Mod: _binary("%"),
    exp.BitwiseAnd: _binary("&"),
    exp.BitwiseOr: _binary("|"),
    exp.BitwiseXor: _binary("^"),
    exp.EQ: _comparison("=="),
    exp.NEQ: _comparison("!="),
    exp.GT: _comparison(">"),
    exp.GTE: _comparison(">="),
    exp.LT: _comparison("<"),
    exp.LTE: _comparison("<="),
    exp.And: _and,
    exp.Or: _or,
    exp.Not: _not,
    exp.Neg: _neg,
    exp.Is: _is,
    exp.NullSafeEQ: _null_safe_eq,
    exp.NullSafeNEQ: _null_safe_neq,
    exp.Between: _between,
    exp.In: _in,
    exp.Like: _like("like"),
    exp.ILike: _like("ilike"),
    exp.Escape: _escape,
    exp.DPipe: _dpipe,
    exp.Concat: _concat,
    exp.Case: _case,
    exp.If: _if,
    exp.Coalesce: _coalesce,
    exp.Nvl2: _nvl2,
    exp.DecodeCase: _decode_case,
    exp.Nullif: _nullif,
    exp.Greatest: _greatest("greatest"),
    exp.Least: _greatest("least"),
    exp.Cast: _cast,
    exp.Interval: _interval,
    exp.DateAdd: _date_add("+"),
    exp.DateSub: _date_add("-"),
    exp.TsOrDsAdd: _date_add("+"),
    exp.DateDiff: _date_diff,
    exp.TsOrDsDiff: _date_diff,
    exp.TimestampDiff: _timestamp_diff,
    exp.TsOrDsToDate: _to_date,
    exp.TimeToStr: _time_to_str,
    exp.SafeDivide: _safe_divide,
    exp.CurrentDate: _current("today"),
    exp.CurrentTimestamp: _current("now"),
    exp.Extract: _extract,
    exp.Year: _part("YEAR"),
    exp.Quarter: _part("QUARTER"),
    exp.Month: _part("MONTH"),
    exp.Day: _part("DAY"),
    exp.DayOfWeek: _part("DOW"),
    exp.DayOfYear: _part("DOY"),
    exp.Dayname: _day_or_month_name("%A", "%a"),
    exp.Monthname: _day_or_month_name("%B", "%b"),
    exp.DateFromParts: _date_from_parts,
    exp.DateTrunc: _trunc,
    exp.TimestampTrunc: _trunc,
    exp.Upper: _method("upper"),
    exp.Lower: _method("lower"),
    exp.Length: _method("length"),
    exp.Trim: _trim,
    exp.Substring: _substring,
    exp.StrPosition: _strpos,
    exp.Left: _method("left", "expression"),
    exp.Right: _method("right", "expression"),
    exp.Reverse: _method("reverse"),
    exp.Replace: _method("replace", "expression", "replacement"),
    exp.StartsWith: _method("startswith", "expression"),
    exp.Contains: _method("contains", "expression"),
    exp.EndsWith: _method("endswith", "expression"),
    exp.RegexpLike: _regexp_like,
    exp.RegexpILike: _regexp_ilike,
    exp.RegexpReplace: _regexp_replace,
    exp.Abs: _method("abs"),
    exp.Ceil: _method("ceil"),
    exp.Floor: _method("floor"),
    exp.Round: _round,
    exp.Trunc: _trunc_number,
    exp.Initcap: _initcap,
    exp.Pad: _pad,
    exp.SplitPart: _split_part,
    exp.LastDay: _last_day,
    exp.Sqrt: _method("sqrt"),
    exp.Ln: _method("ln"),
    exp.Log: _log,
    exp.Exp: _method("exp"),
    exp.Pow: _pow,
    exp.Sign: _method("sign"),
    exp.Anonymous: _anonymous,
    exp.Sum: _agg("sum"),
    exp.Avg: _agg("mean"),
    exp.Min: _agg("min"),
    exp.Max: _agg("max"),
    exp.Count: _count,
    exp.CountIf: _count_if,
    exp.Stddev: _agg("std"),
    exp.StddevSamp: _agg("std"),
    exp.StddevPop: _agg("std", how="pop"),
    exp.Variance: _agg("var"),
    exp.VariancePop: _agg("var", how="pop"),
    exp.Median: _agg("median"),
    exp.PercentileCont: _percentile_cont,
    exp.Quantile: _quantile,
    exp.WithinGroup: _within_group,
    exp.ApproxDistinct: _agg("approx_nunique"),
    exp.ArrayAgg: _array_agg,
    exp.IgnoreNulls: _ignore_nulls,
    exp.ArraySize: _array_size,
    exp.Bracket: _bracket,
    exp.GroupConcat: _group_concat,
    exp.LogicalAnd: _agg("all"),
    exp.LogicalOr: _agg("any"),
    exp.AnyValue: _agg("arbitrary"),
    exp.ArgMax: _arg_max("argmax"),
    exp.ArgMin: _arg_max("argmin"),
    exp.Filter: _filter,
    exp.Exists: _exists,
    exp.Subquery: _subquery,
    exp.Window: _window,
    exp.RowNumber: _unsupported_window_func,
}


def contains_aggregate(node: exp.Expr) -> bool:
    """True when `node` aggregates in its own SELECT (not inside a subquery or OVER)."""
    for sub in _own_nodes(node):
        if isinstance(sub, exp.AggFunc) and not isinstance(sub.parent, exp.Window):
            return True
    return False


def contains_window(node: exp.Expr) -> bool:
    return any(isinstance(sub, exp.Window) for sub in _own_nodes(node))


def _own_nodes(node: exp.Expr) -> Iterator[exp.Expr]:
    """Nodes of `node`, not descending into subqueries."""
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        for child in cur.iter_expressions():
            if isinstance(child, (exp.Subquery, exp.Query)) and not isinstance(child, exp.Paren):
                continue
            stack.append(child)


def own_nodes(node: exp.Expr) -> Iterator[exp.Expr]:
    return _own_nodes(node)
