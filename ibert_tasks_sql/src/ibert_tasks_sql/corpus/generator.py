"""A grammar of analytical queries, instantiated at random over a domain with sqlglot builders.

Type-aware: filters compare numbers with numbers in the column's range, strings with values
the column plausibly holds, dates with date literals; aggregates sum numbers and count
anything; joins follow declared references. Each rule has a difficulty (1 simple projection
and filter, 2 one aggregation or join, 3 combinations, windows, subqueries, CTEs), and the
query it builds is kept only if the translator and the validator later agree.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from sqlglot import exp

from ibert_tasks_sql.corpus.domains import (
    BOOLEAN,
    NUMERIC,
    STRING,
    TEMPORAL,
    ColumnInfo,
    Domain,
    Join,
    TableInfo,
    domains,
)
from ibert_tasks_sql.corpus.seeds import SeedQuery

# --- literals and predicates -----------------------------------------------------------------


def _number(col: ColumnInfo, rng: random.Random) -> exp.Expression:
    low, high = col.range or (0.0, 100.0)
    value = rng.uniform(low, high)
    if col.is_integer:
        return _num(round(value))
    return _num(round(value, 2))


def _num(value: float) -> exp.Expression:
    if value < 0:
        return exp.Neg(this=exp.Literal.number(-value))
    return exp.Literal.number(value)


def _date(col: ColumnInfo, rng: random.Random) -> exp.Expression:
    day = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 25 * 365))
    kind = "TIMESTAMP" if col.base_dtype.startswith("timestamp") else "DATE"
    return exp.cast(exp.Literal.string(day.isoformat()), kind)


def _value(col: ColumnInfo, rng: random.Random) -> exp.Expression:
    return exp.Literal.string(rng.choice(col.values or ("x",)))


def _numeric_predicate(c: exp.Expression, col: ColumnInfo, rng: random.Random) -> exp.Expression:
    choice = rng.random()
    if choice < 0.6:
        op = rng.choice((exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NEQ))
        return op(this=c, expression=_number(col, rng))
    if choice < 0.85:
        a, b = sorted((_number(col, rng), _number(col, rng)), key=lambda e: float(e.sql()))
        return exp.Between(this=c, low=a, high=b)
    return (
        exp.Is(this=c, expression=exp.Null())
        if rng.random() < 0.5
        else exp.not_(exp.Is(this=c, expression=exp.Null()))
    )


def _string_predicate(c: exp.Expression, col: ColumnInfo, rng: random.Random) -> exp.Expression:
    choice = rng.random()
    if choice < 0.45:
        return exp.EQ(this=c, expression=_value(col, rng))
    if choice < 0.65:
        values = rng.sample(col.values, k=min(len(col.values), rng.randint(2, 3)))
        inlist = exp.In(this=c, expressions=[exp.Literal.string(v) for v in values])
        return exp.not_(inlist) if rng.random() < 0.3 else inlist
    if choice < 0.85:
        value = rng.choice(col.values or ("x",))
        pattern = value[: max(1, len(value) // 2)] + "%" if rng.random() < 0.6 else f"%{value[-2:]}"
        return exp.Like(this=c, expression=exp.Literal.string(pattern))
    return exp.NEQ(this=c, expression=_value(col, rng))


def _temporal_predicate(c: exp.Expression, col: ColumnInfo, rng: random.Random) -> exp.Expression:
    if rng.random() < 0.7:
        op = rng.choice((exp.GT, exp.GTE, exp.LT, exp.LTE))
        return op(this=c, expression=_date(col, rng))
    part = exp.Extract(this=exp.var(rng.choice(("YEAR", "MONTH"))), expression=c)
    value = rng.randint(2000, 2024) if part.this.name == "YEAR" else rng.randint(1, 12)
    return exp.GTE(this=part, expression=exp.Literal.number(value))


def _boolean_predicate(c: exp.Expression, col: ColumnInfo, rng: random.Random) -> exp.Expression:
    return c if rng.random() < 0.5 else exp.not_(c)


PREDICATES: dict[str, Callable[[exp.Expression, ColumnInfo, random.Random], exp.Expression]] = {
    NUMERIC: _numeric_predicate,
    STRING: _string_predicate,
    TEMPORAL: _temporal_predicate,
    BOOLEAN: _boolean_predicate,
}

PREDICATE_FEATURES = {
    NUMERIC: "numeric_filter",
    STRING: "string_filter",
    TEMPORAL: "date_filter",
    BOOLEAN: "boolean_filter",
}


def _col(col: ColumnInfo, alias: str | None = None) -> exp.Column:
    return exp.column(col.name, table=alias)


def _key(table: TableInfo) -> str:
    """The key column of a table its rule drew from the keyed tables only."""
    assert table.key is not None, f"rule drew {table.name}, which has no key column"
    return table.key


def _filterable(table: TableInfo) -> list[ColumnInfo]:
    return [
        c
        for c in table.columns
        if c.name != table.key and not c.references and (c.kind != STRING or c.values)
    ]


class Builder:
    """One query under construction: the random source, the domain and the features used."""

    def __init__(self, domain: Domain, rng: random.Random) -> None:
        self.domain = domain
        self.rng = rng
        self.features: list[str] = []

    def feature(self, *names: str) -> None:
        for name in names:
            if name not in self.features:
                self.features.append(name)

    def predicate(self, table: TableInfo, alias: str | None = None, n: int = 1) -> exp.Expr:
        cols = self.rng.sample(_filterable(table), k=min(n, len(_filterable(table))))
        preds = []
        for col in cols:
            preds.append(PREDICATES[col.kind](_col(col, alias), col, self.rng))
            self.feature(PREDICATE_FEATURES[col.kind])
        if len(preds) > 1 and self.rng.random() < 0.25:
            self.feature("or")
            return exp.or_(*preds)
        return exp.and_(*preds)

    def aggregate(self, table: TableInfo, alias: str | None = None) -> tuple[exp.Expr, str]:
        numeric = table.of_kind(NUMERIC)
        roll = self.rng.random()
        if numeric and roll < 0.6:
            col = self.rng.choice(numeric)
            fn = self.rng.choice(("SUM", "AVG", "MIN", "MAX"))
            return exp.func(fn, _col(col, alias)), f"{fn.lower()}_{col.name}"
        if roll < 0.8:
            col = self.rng.choice(
                [c for c in table.columns if c.name != table.key] or table.columns
            )
            self.feature("count_distinct")
            distinct = exp.Distinct(expressions=[_col(col, alias)])
            return exp.Count(this=distinct), f"distinct_{col.name}"
        return exp.Count(this=exp.Star()), "n"

    def group_key(self, table: TableInfo) -> ColumnInfo:
        keys = [
            c
            for c in table.columns
            if (c.kind == STRING and c.values) or c.references or c.kind == BOOLEAN
        ]
        return self.rng.choice(keys or list(table.columns))

    def joins_from(self, table: TableInfo) -> list[Join]:
        return [j for j in self.domain.joins if j.left == table.name and j.right != table.name]


# --- rules -------------------------------------------------------------------------------------


def _rule_filter_project(b: Builder) -> exp.Select:
    table = b.rng.choice(b.domain.tables)
    cols = b.rng.sample(table.columns, k=min(len(table.columns), b.rng.randint(2, 4)))
    query = exp.select(*(_col(c) for c in cols)).from_(table.name)
    query = query.where(b.predicate(table, n=b.rng.randint(1, 2)))
    b.feature("select", "where")
    if b.rng.random() < 0.5:
        first = b.rng.choice(cols)
        order = [exp.Ordered(this=_col(first), desc=b.rng.random() < 0.5, nulls_first=False)]
        if table.key and first.name != table.key:
            order.append(exp.Ordered(this=exp.column(table.key)))
        query = query.order_by(*order).limit(b.rng.choice((3, 5, 10)))
        b.feature("order_by", "limit")
    return query


def _rule_group_aggregate(b: Builder) -> exp.Select:
    table = b.rng.choice(b.domain.tables)
    key = b.group_key(table)
    aggs = [b.aggregate(table) for _ in range(b.rng.randint(1, 3))]
    names = _unique([name for _, name in aggs])
    query = exp.select(
        _col(key), *(exp.alias_(a, n) for (a, _), n in zip(aggs, names, strict=False))
    )
    query = query.from_(table.name)
    if b.rng.random() < 0.6:
        query = query.where(b.predicate(table))
        b.feature("where")
    query = query.group_by(_col(key))
    b.feature("group_by", "aggregate")
    if b.rng.random() < 0.4:
        query = query.having(
            exp.GTE(
                this=exp.Count(this=exp.Star()), expression=exp.Literal.number(b.rng.randint(1, 3))
            )
        )
        b.feature("having")
    if b.rng.random() < 0.5:
        query = query.order_by(_col(key))
        b.feature("order_by")
    return query


def _pick_join(b: Builder) -> tuple[TableInfo, TableInfo, Join]:
    joins = [j for j in b.domain.joins if j.left != j.right]
    j = b.rng.choice(joins)
    return b.domain.table(j.left), b.domain.table(j.right), j


def _on(j: Join) -> exp.Expression:
    return exp.EQ(
        this=exp.column(j.left_col, table="l"), expression=exp.column(j.right_col, table="r")
    )


def _rule_join_project(b: Builder) -> exp.Select:
    left, right, j = _pick_join(b)
    kind = b.rng.choice(("inner", "inner", "left"))
    lcols = b.rng.sample(_filterable(left) or list(left.columns), k=1)
    rcols = b.rng.sample(_filterable(right) or list(right.columns), k=1)
    cols = [
        _col(left.column(j.left_col), "l"),
        *(_col(c, "l") for c in lcols),
        *(exp.alias_(_col(c, "r"), f"{right.name}_{c.name}") for c in rcols),
    ]
    query = exp.select(*cols).from_(exp.to_table(left.name).as_("l"))
    query = query.join(
        exp.to_table(right.name).as_("r"), on=_on(j), join_type="" if kind == "inner" else kind
    )
    b.feature("join", f"{kind}_join")
    if b.rng.random() < 0.7:
        side, alias = (right, "r") if b.rng.random() < 0.5 else (left, "l")
        if _filterable(side):
            query = query.where(b.predicate(side, alias))
            b.feature("where")
    return query


def _rule_join_group(b: Builder) -> exp.Select:
    left, right, j = _pick_join(b)
    key = b.group_key(right)
    agg, name = b.aggregate(left, "l")
    query = exp.select(
        exp.alias_(_col(key, "r"), f"{right.name}_{key.name}"),
        exp.alias_(agg, name),
        exp.alias_(exp.Count(this=exp.Star()), "rows"),
    )
    query = query.from_(exp.to_table(left.name).as_("l")).join(
        exp.to_table(right.name).as_("r"), on=_on(j)
    )
    if _filterable(left) and b.rng.random() < 0.6:
        query = query.where(b.predicate(left, "l"))
    query = query.group_by(_col(key, "r"))
    b.feature("join", "inner_join", "group_by", "aggregate")
    if b.rng.random() < 0.4:
        query = query.having(
            exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1))
        )
        b.feature("having")
    return query


def _rule_window(b: Builder) -> exp.Select:
    candidates = [t for t in b.domain.tables if t.of_kind(NUMERIC) and t.key]
    table = b.rng.choice(candidates)
    part = b.group_key(table)
    val = b.rng.choice(table.of_kind(NUMERIC))
    order = exp.Order(
        expressions=[
            exp.Ordered(this=_col(val), desc=b.rng.random() < 0.5),
            exp.Ordered(this=exp.column(_key(table))),
        ]
    )
    if b.rng.random() < 0.5:
        fn = exp.func(b.rng.choice(("ROW_NUMBER", "RANK", "DENSE_RANK")))
        b.feature("window", "ranking")
        name = "pos"
    else:
        fn = exp.func(b.rng.choice(("SUM", "AVG", "MAX", "MIN")), _col(val))
        b.feature("window", "running_aggregate")
        name = f"running_{val.name}"
    window = exp.Window(this=fn, partition_by=[_col(part)], order=order)
    query = exp.select(exp.column(_key(table)), _col(part), _col(val), exp.alias_(window, name))
    return query.from_(table.name)


def _rule_subquery_filter(b: Builder) -> exp.Select:
    left, right, j = _pick_join(b)
    # rows of the referenced table that have (or lack) a matching row in the referencing one
    sub = exp.select(exp.column(j.left_col)).from_(left.name)
    if _filterable(left):
        sub = sub.where(b.predicate(left))
    cols = [exp.column(j.right_col), *(_col(c) for c in _filterable(right)[:2])]
    test = exp.In(this=exp.column(j.right_col), query=exp.Subquery(this=sub))
    negate = b.rng.random() < 0.3
    query = exp.select(*cols).from_(right.name).where(exp.not_(test) if negate else test)
    b.feature("subquery", "in_subquery", "anti_join" if negate else "semi_join")
    return query


def _rule_scalar_subquery(b: Builder) -> exp.Select:
    table = b.rng.choice([t for t in b.domain.tables if t.of_kind(NUMERIC)])
    col = b.rng.choice(table.of_kind(NUMERIC))
    sub = exp.select(exp.func(b.rng.choice(("AVG", "MAX", "MIN")), _col(col))).from_(table.name)
    op = b.rng.choice((exp.GT, exp.LT, exp.GTE))
    keys = [c for c in table.columns if c.name == table.key] or list(table.columns[:1])
    query = exp.select(*(_col(c) for c in keys), _col(col)).from_(table.name)
    b.feature("subquery", "scalar_subquery")
    return query.where(op(this=_col(col), expression=exp.Subquery(this=sub)))


def _rule_cte_aggregate(b: Builder) -> exp.Select:
    inner = _rule_group_aggregate(b)
    names = [e.alias_or_name for e in inner.expressions]
    outer = exp.select(*(exp.column(n) for n in names)).from_("summary")
    numeric = [n for n in names[1:]]
    if numeric:
        outer = outer.where(exp.GTE(this=exp.column(numeric[0]), expression=exp.Literal.number(1)))
    b.feature("cte")
    return outer.with_("summary", as_=inner)


def _rule_case_project(b: Builder) -> exp.Select:
    table = b.rng.choice([t for t in b.domain.tables if t.of_kind(NUMERIC)])
    col = b.rng.choice(table.of_kind(NUMERIC))
    low, high = sorted((_number(col, b.rng), _number(col, b.rng)), key=lambda e: float(e.sql()))
    case = (
        exp.Case()
        .when(exp.GTE(this=_col(col), expression=high), exp.Literal.string("high"))
        .when(exp.GTE(this=_col(col), expression=low), exp.Literal.string("mid"))
        .else_(exp.Literal.string("low"))
    )
    keys = [exp.column(table.key)] if table.key else []
    b.feature("case")
    return exp.select(*keys, _col(col), exp.alias_(case, "band")).from_(table.name)


def _rule_set_operation(b: Builder) -> exp.Expression:
    left, right, j = _pick_join(b)
    first = exp.select(exp.column(j.left_col)).from_(left.name)
    if _filterable(left):
        first = first.where(b.predicate(left))
    second = exp.select(exp.column(j.right_col)).from_(right.name)
    if _filterable(right):
        second = second.where(b.predicate(right))
    kind = b.rng.choice((exp.Union, exp.Intersect, exp.Except))
    distinct = b.rng.random() < 0.6
    b.feature("set_op", kind.__name__.lower())
    return kind(this=first, expression=second, distinct=distinct)


def _rule_left_join_coalesce(b: Builder) -> exp.Select:
    left, right, j = _pick_join(b)  # left references right: count children per parent
    numeric = left.of_kind(NUMERIC)
    agg: exp.Expr
    if numeric:
        col = b.rng.choice(numeric)
        agg = exp.Coalesce(this=exp.func("SUM", _col(col, "l")), expressions=[_num(0)])
        name = f"total_{col.name}"
    else:
        agg, name = exp.Count(this=_col(left.column(j.left_col), "l")), "children"
    keys = [_col(right.column(j.right_col), "r")]
    if _filterable(right):
        keys.append(_col(b.rng.choice(_filterable(right)), "r"))
    query = exp.select(*keys, exp.alias_(agg, name)).from_(exp.to_table(right.name).as_("r"))
    query = query.join(exp.to_table(left.name).as_("l"), on=_on(j), join_type="left")
    b.feature("join", "left_join", "group_by", "coalesce")
    return query.group_by(*keys)


def _rule_date_bucket(b: Builder) -> exp.Select:
    table = b.rng.choice([t for t in b.domain.tables if t.of_kind(TEMPORAL)])
    col = b.rng.choice(table.of_kind(TEMPORAL))
    if b.rng.random() < 0.5:
        unit = b.rng.choice(("year", "month"))
        bucket = exp.func("DATE_TRUNC", exp.Literal.string(unit), _col(col))
        b.feature("dates", "date_trunc")
    else:
        bucket = exp.Extract(this=exp.var(b.rng.choice(("YEAR", "MONTH"))), expression=_col(col))
        b.feature("dates", "extract")
    agg, name = b.aggregate(table)
    query = exp.select(exp.alias_(bucket, "period"), exp.alias_(agg, name))
    query = query.from_(table.name).group_by(bucket.copy())
    b.feature("group_by", "aggregate")
    if b.rng.random() < 0.5:
        query = query.order_by(exp.column("period"))
        b.feature("order_by")
    return query


def _rule_string_transform(b: Builder) -> exp.Select:
    table = b.rng.choice([t for t in b.domain.tables if t.of_kind(STRING) and t.key])
    col = b.rng.choice(table.of_kind(STRING))
    fn = b.rng.choice(("UPPER", "LOWER", "LENGTH", "TRIM"))
    shown = exp.func(fn, _col(col))
    start = b.rng.randint(1, 2)
    part = exp.Substring(
        this=_col(col),
        start=exp.Literal.number(start),
        length=exp.Literal.number(b.rng.randint(2, 4)),
    )
    query = exp.select(
        exp.column(_key(table)),
        exp.alias_(shown, f"{fn.lower()}_{col.name}"),
        exp.alias_(part, f"{col.name}_part"),
    ).from_(table.name)
    b.feature("strings")
    if b.rng.random() < 0.5:
        query = query.where(b.predicate(table))
        b.feature("where")
    return query


def _rule_top_n_per_group(b: Builder) -> exp.Select:
    table = b.rng.choice([t for t in b.domain.tables if t.of_kind(NUMERIC) and t.key])
    part = b.group_key(table)
    val = b.rng.choice(table.of_kind(NUMERIC))
    order = exp.Order(
        expressions=[
            exp.Ordered(this=_col(val), desc=True, nulls_first=False),
            exp.Ordered(this=exp.column(_key(table))),
        ]
    )
    rn = exp.Window(this=exp.func("ROW_NUMBER"), partition_by=[_col(part)], order=order)
    inner = exp.select(exp.column(_key(table)), _col(part), _col(val), exp.alias_(rn, "rn"))
    inner = inner.from_(table.name)
    outer = exp.select(exp.column(_key(table)), exp.column(part.name), exp.column(val.name))
    outer = outer.from_("ranked").where(
        exp.LTE(this=exp.column("rn"), expression=exp.Literal.number(b.rng.randint(1, 3)))
    )
    b.feature("cte", "window", "ranking", "top_n")
    return outer.with_("ranked", as_=inner)


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


#: rule name → (difficulty, builder); the generator picks a rule, then a domain.
RULES: dict[str, tuple[int, Callable[[Builder], exp.Expression]]] = {
    "filter_project": (1, _rule_filter_project),
    "case_project": (1, _rule_case_project),
    "group_aggregate": (2, _rule_group_aggregate),
    "join_project": (2, _rule_join_project),
    "scalar_subquery": (2, _rule_scalar_subquery),
    "join_group": (3, _rule_join_group),
    "window": (3, _rule_window),
    "subquery_filter": (3, _rule_subquery_filter),
    "cte_aggregate": (3, _rule_cte_aggregate),
    "string_transform": (1, _rule_string_transform),
    "set_operation": (2, _rule_set_operation),
    "date_bucket": (2, _rule_date_bucket),
    "left_join_coalesce": (3, _rule_left_join_coalesce),
    "top_n_per_group": (3, _rule_top_n_per_group),
}


def generate(rng: random.Random, difficulty: int | None = None) -> SeedQuery:
    """One random query (of the given difficulty, else any) over a random domain."""
    names = [n for n, (d, _) in RULES.items() if difficulty is None or d == difficulty]
    rule = rng.choice(sorted(names))
    level, build = RULES[rule]
    domain = rng.choice(sorted(domains().values(), key=lambda d: d.name))
    builder = Builder(domain, rng)
    query = build(builder)
    return SeedQuery(
        sql=query.sql(dialect="duckdb", pretty=True),
        domain=domain.name,
        schema=domain.schema_dict(),
        source="generator",
        origin=rule,
        difficulty=level,
        features=tuple(builder.features),
    )
