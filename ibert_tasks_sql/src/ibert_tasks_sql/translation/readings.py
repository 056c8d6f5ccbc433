"""Where sqlglot reads a dialect's function differently from what the warehouse does, or
writes it in DuckDB's SQL as a function DuckDB does not have, the parsed tree is corrected
before it is translated, and the same correction gives the validator its reference (the
reference is otherwise sqlglot's transpilation to DuckDB, which would carry the misreading
into the comparison, or fail to run).

Each correction is one function in `CORRECTIONS`, keyed by the sqlglot class it reads,
with the vendor's documented meaning in its docstring. A correction returns the node that
says the same thing in terms DuckDB runs and the translator knows, or None to leave it.
Nothing here guesses: a form whose meaning is not certain is refused with what to write.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from sqlglot import exp

from ibert_core.types import Schema

Correction = Callable[[exp.Expr, str], exp.Expr | None]

_TEMPORAL = (
    exp.DataType.Type.DATE,
    exp.DataType.Type.DATETIME,
    exp.DataType.Type.DATETIME2,
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.TIMESTAMPLTZ,
    exp.DataType.Type.TIMESTAMPTZ,
)


def _is_temporal(node: exp.Expr) -> bool:
    return node.type is not None and node.type.is_type(*_TEMPORAL)


def _redshift_regexp_replace(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """Redshift's REGEXP_REPLACE replaces every occurrence of the pattern (AWS docs:
    "replaces every occurrence of the pattern with the specified string"); sqlglot reads
    it as Postgres's first-match form."""
    if dialect != "redshift" or not node.args.get("single_replace"):
        return None
    fixed = node.copy()
    fixed.set("single_replace", None)
    return fixed


def _ratio_to_report(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """`RATIO_TO_REPORT(x) OVER (PARTITION BY p)` (Snowflake, Redshift, Oracle) is
    `x / SUM(x) OVER (PARTITION BY p)`, NULL when the sum is 0 (Snowflake docs); an ORDER
    BY in its OVER does not affect it (and would make the SUM a running one)."""
    assert isinstance(node, exp.Window)
    func = node.this
    if not (isinstance(func, exp.Anonymous) and func.name.upper() == "RATIO_TO_REPORT"):
        return None
    if len(func.expressions) != 1:
        return None
    value = func.expressions[0]
    total = exp.Window(
        this=exp.Sum(this=value.copy()),
        partition_by=[p.copy() for p in node.args.get("partition_by") or []],
        over=node.args.get("over") or "OVER",
    )
    share = exp.Nullif(this=total, expression=exp.Literal.number(0))
    ratio = exp.Div(this=value.copy(), expression=share)
    return exp.Paren(this=ratio)


def _to_char(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """Snowflake's (and Oracle's) `TO_CHAR(date, 'YYYY-MM')` formats the date; sqlglot reads
    it as a plain cast to text, dropping the format. It is the dialect's format in Python's
    strftime codes, as sqlglot reads `TO_CHAR` in Postgres."""
    from sqlglot.dialects.dialect import Dialect

    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string) or not _is_temporal(node.this):
        return None
    if node.args.get("nlsparam") is not None:
        return None
    strftime = Dialect.get_or_raise(dialect).format_time(fmt)
    return exp.TimeToStr(this=node.this.copy(), format=strftime)


#: T-SQL CONVERT styles whose text is fixed-width numeric fields (style → strftime codes)
_CONVERT_STYLES = {
    "23": "%Y-%m-%d",
    "101": "%m/%d/%Y",
    "102": "%Y.%m.%d",
    "103": "%d/%m/%Y",
    "104": "%d.%m.%Y",
    "105": "%d-%m-%Y",
    "110": "%m-%d-%Y",
    "111": "%Y/%m/%d",
    "112": "%Y%m%d",
    "120": "%Y-%m-%d %H:%M:%S",
    "121": "%Y-%m-%d %H:%M:%S.%f",
    "126": "%Y-%m-%dT%H:%M:%S.%f",
}
_CODE_WIDTH = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}
_TEXT_TYPES = (
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.NVARCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.NCHAR,
)


def _truncated(fmt: str, length: int) -> str | None:
    """The strftime format whose text is the first `length` characters of `fmt`'s, when the
    cut falls between fields and before the time of day; else None."""
    out, width = "", 0
    for token in re.findall(r"%.|.", fmt):
        if width == length:
            return out
        if token in ("%H", "%f"):
            return None  # a date's time of day, fractions' digits: not certain
        width += _CODE_WIDTH.get(token, 1 if not token.startswith("%") else 99)
        out += token
        if width > length:
            return None
    return out if width == length else None


def _convert(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """T-SQL's `CONVERT(VARCHAR(n), date, style)` is the date in the style's format, cut to
    n characters (`CONVERT(VARCHAR(7), d, 120)` is '2024-01'); sqlglot keeps the whole
    text, DuckDB ignoring the length. Only numeric styles cut within the date translate."""
    to, value, style = node.this, node.expression, node.args.get("style")
    if not (isinstance(to, exp.DataType) and to.this in _TEXT_TYPES and style is not None):
        return None
    if not _is_temporal(value):
        return None
    fmt = _CONVERT_STYLES.get(style.name) if isinstance(style, exp.Literal) else None
    params = to.expressions
    length = int(params[0].name) if params and params[0].name.isdigit() else 30
    cut = _truncated(fmt, length) if fmt is not None else None
    if cut is None:
        from ibert_tasks_sql.translation.parse import unsupported

        raise unsupported(
            node,
            f"CONVERT({to.sql('tsql')}, ..., {style.sql('tsql')})",
            "only numeric date styles cut within the date translate; write "
            "FORMAT(d, 'yyyy-MM') or CONVERT(VARCHAR(10), d, 23)",
        )
    return exp.TimeToStr(this=value.copy(), format=exp.Literal.string(cut))


def _substring_index(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """MySQL's `SUBSTRING_INDEX(x, d, 1)` is the text before the first d, and with -1 the
    text after the last: `SPLIT_PART(x, d, 1)` / `SPLIT_PART(x, d, -1)` (DuckDB has no
    SUBSTRING_INDEX). Other counts join several pieces and are left (then refused)."""
    count = node.args.get("count")
    if not isinstance(count, (exp.Literal, exp.Neg)) or count.sql() not in ("1", "-1"):
        return None
    return exp.SplitPart(
        this=node.this.copy(),
        delimiter=node.args["delimiter"].copy(),
        part_index=count.copy(),
    )


def _array_agg_limit(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """BigQuery's `ARRAY_AGG(x ORDER BY y LIMIT n)` is the first n of the ordered list:
    `(ARRAY_AGG(x ORDER BY y))[1:n]`, which DuckDB runs (it has no LIMIT in ARRAY_AGG)."""
    limit = node.this
    if not isinstance(limit, exp.Limit):
        return None
    count = limit.expression
    if not (isinstance(count, exp.Literal) and count.is_int):
        return None
    whole = node.copy()
    whole.set("this", limit.this.copy())
    first = exp.Slice(this=exp.Literal.number(1), expression=count.copy())
    return exp.Bracket(this=exp.Paren(this=whole), expressions=[first])


def _trunc_date(node: exp.Expr, dialect: str) -> exp.Expr | None:
    """Redshift's (and Oracle's) `TRUNC(timestamp)` is its date; sqlglot reads it as the
    numeric TRUNC, which DuckDB does not take for dates."""
    if node.args.get("decimals") is not None or not _is_temporal(node.this):
        return None
    return exp.TsOrDsToDate(this=node.this.copy())


CORRECTIONS: dict[type, Correction] = {
    exp.Trunc: _trunc_date,
    exp.ArrayAgg: _array_agg_limit,
    exp.SubstringIndex: _substring_index,
    exp.RegexpReplace: _redshift_regexp_replace,
    exp.Window: _ratio_to_report,
    exp.ToChar: _to_char,
    exp.Convert: _convert,
}
#: classes whose corrections read the operands' types
_TYPED = (exp.ToChar, exp.Convert, exp.Trunc)


def correct(tree: exp.Expr, dialect: str, schema: Schema) -> tuple[exp.Expr, int]:
    """The qualified `tree` with sqlglot's misreadings of `dialect` corrected, and how many
    nodes changed."""
    found = [n for n in tree.walk() if type(n) in CORRECTIONS]
    if not found:
        return tree, 0
    if any(isinstance(n, _TYPED) for n in found):
        from ibert_tasks_sql.translation.parse import annotate

        annotate(tree, schema, dialect)
    changed = 0
    for node in found:
        fixed = CORRECTIONS[type(node)](node, dialect)
        if fixed is not None:
            fixed.meta.update(node.meta)
            if node is tree:
                tree = fixed
            else:
                node.replace(fixed)
            changed += 1
    if changed:  # the corrected nodes carry no types: annotate again when types are read
        tree.meta.pop("ibert_typed", None)
    return tree, changed


@functools.lru_cache(maxsize=256)
def reference(sql: str, dialect: str | None, schema: Schema) -> tuple[str, str]:
    """The reference the validator runs for `sql`: the text itself in its dialect, or, when
    a correction applies, the corrected query in DuckDB's SQL. A query the translator
    refuses comes back as it is (the translation's own error says why)."""
    try:
        return corrected(sql, dialect, schema)
    except Exception:  # noqa: BLE001
        return sql, dialect or "duckdb"


def _groups_by_an_alias(tree: exp.Expr, schema: Schema) -> int:
    """How many GROUP BY names are both a column and a select alias of another expression
    (`IFNULL(country, 'unknown') AS country ... GROUP BY country`). Which one the name means
    is the dialect's rule: BigQuery groups by the alias, Postgres, MySQL and Snowflake by
    the column, as DuckDB does. Qualifying the query applies the dialect's rule, and the
    plain transpilation would apply DuckDB's, so such a reference is the qualified one."""
    columns = {c.lower() for t in schema.tables for c in t.names}
    count = 0
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if group is None:
            continue
        aliases = {
            e.alias.lower()
            for e in select.expressions
            if isinstance(e, exp.Alias)
            and e.alias.lower() in columns
            and not (isinstance(e.this, exp.Column) and e.this.name.lower() == e.alias.lower())
        }
        count += sum(
            1
            for c in group.expressions
            if isinstance(c, exp.Column) and not c.table and c.name.lower() in aliases
        )
    return count


def corrected(sql: str, dialect: str | None, schema: Schema) -> tuple[str, str]:
    """`reference`, except that a correction's refusal is raised (`UnsupportedConstruct`:
    the query's meaning in the dialect is not certain), for an SQL reader to report;
    SQL that does not parse or qualify is returned as it is, for sqlglot to read."""
    from ibert_tasks_sql.translation import shorthands
    from ibert_tasks_sql.translation.parse import dialect_name, parse, qualify_tree

    try:
        read = dialect_name(dialect)
        tree = parse(sql, read)
        marked = shorthands.mark(tree) + _groups_by_an_alias(tree, schema)
        tree = qualify_tree(tree, schema, read, sql)
    except Exception:  # noqa: BLE001 - sqlglot's own reading (or error) then applies
        return sql, dialect or "duckdb"
    tree, changed = correct(tree, read, schema)
    if not changed + marked:
        return sql, dialect or "duckdb"
    return tree.sql(dialect="duckdb"), "duckdb"
