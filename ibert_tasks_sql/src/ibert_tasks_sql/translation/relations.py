"""Queries → Ibis table expressions: FROM/JOIN, WHERE, GROUP BY, HAVING, SELECT, ORDER BY,
LIMIT, set operations, CTEs and subqueries.

One `Frame` per SELECT being translated knows its sources (tables, CTEs, derived tables) and
how to refer to a column at the current step: `_.col` on a single source, `orders.o_custkey`
inside a join (ibis dereferences it into the join), `joined.o_custkey` once the relation is
bound to a variable (needed when a correlated subquery refers back to it).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Sequence

import attrs
from sqlglot import exp

from ibert_core.errors import UnsupportedConstruct
from ibert_core.types import Schema
from ibert_tasks_sql.translation import pycode as py
from ibert_tasks_sql.translation.joins import JoinNames
from ibert_tasks_sql.translation.parse import unsupported
from ibert_tasks_sql.translation.scalars import (
    Scalars,
    as_ibis,
    contains_aggregate,
    contains_window,
    describe,
    is_literal,
    is_sql_literal,
    literal_value,
    own_nodes,
)

UNDERSCORE = py.name("_")


#: Public attributes of ibis tables (and joins) in ibis 10-12: a column with one of these
#: names is written `t["count"]`, since `t.count` is the method. Kept literal so that the
#: translator needs no ibis import; a test checks it covers the installed ibis.
TABLE_ATTRS = frozenset(
    {
        "agg",
        "aggregate",
        "alias",
        "anti_join",
        "any_inner_join",
        "any_left_join",
        "as_scalar",
        "as_table",
        "asof_join",
        "bind",
        "cache",
        "cast",
        "columns",
        "compile",
        "count",
        "cross_join",
        "describe",
        "difference",
        "distinct",
        "drop",
        "drop_null",
        "dropna",
        "equals",
        "execute",
        "fill_null",
        "fillna",
        "filter",
        "get_backend",
        "get_name",
        "group_by",
        "groupby",
        "head",
        "info",
        "inner_join",
        "intersect",
        "join",
        "left_join",
        "limit",
        "mutate",
        "nunique",
        "op",
        "order_by",
        "outer_join",
        "pipe",
        "pivot_longer",
        "pivot_wider",
        "preview",
        "projection",
        "relabel",
        "relocate",
        "rename",
        "right_join",
        "rowid",
        "sample",
        "schema",
        "select",
        "semi_join",
        "set_column",
        "sql",
        "to_array",
        "to_csv",
        "to_delta",
        "to_json",
        "to_pandas",
        "to_pandas_batches",
        "to_parquet",
        "to_parquet_dir",
        "to_polars",
        "to_pyarrow",
        "to_pyarrow_batches",
        "to_sql",
        "to_torch",
        "to_xlsx",
        "topk",
        "try_cast",
        "unbind",
        "union",
        "unnest",
        "unpack",
        "value_counts",
        "view",
        "visualize",
        "window_by",
    }
)


@attrs.define
class Rel:
    """A translated relation: the Python expression producing it and its column names."""

    node: ast.expr
    columns: list[str]
    dtypes: dict[str, str] = attrs.field(factory=dict)


@attrs.define
class Source:
    """One FROM item: its alias, the variable holding it, its columns."""

    alias: str
    var: ast.expr
    columns: list[str]
    dtypes: dict[str, str]
    table: str | None = None

    def real(self, col: str) -> str | None:
        if col in self.columns:
            return col
        lowered = col.lower()
        return next((c for c in self.columns if c.lower() == lowered), None)


@attrs.define(eq=False)
class Frame:
    """The SELECT being translated: its sources and how to name a column right now."""

    tr: Translator
    parent: Frame | None = None
    sources: dict[str, Source] = attrs.field(factory=dict)
    names: JoinNames = attrs.field(factory=JoinNames)
    current: ast.expr | None = None  # a variable (or expression) naming the relation
    raw: bool = False  # join predicates: refer to each source directly
    reduction: bool = False  # `current` is exactly the relation (not a parent it derives from)
    deferred: bool = False  # refer to the join's output columns through `_`
    correlated: bool = False

    # -- column references ------------------------------------------------------------------

    def locate(self, node: exp.Column) -> tuple[Frame, Source, str]:
        alias = node.table
        frame: Frame | None = self
        while frame is not None:
            src = frame.sources.get(alias)
            if src is not None:
                col = src.real(node.name)
                if col is None:
                    raise self.tr.unsupported(node, f"column {node.sql()}", "not in the schema")
                return frame, src, col
            frame = frame.parent
        raise self.tr.unsupported(node, f"column {node.sql()}", "its table is not in scope")

    def outname(self, alias: str, col: str) -> str:
        name = self.names.outname((alias, col))
        if name is None:
            raise UnsupportedConstruct(f"column {alias}.{col}", detail="lost in the join")
        return name

    def ref(self, node: exp.Column, s: Scalars) -> ast.expr:
        if not node.table:
            raise self.tr.unsupported(node, f"column {node.name}", "it is not a known name here")
        frame, src, col = self.locate(node)
        attrs_ = self.tr.table_attrs
        if frame is not self:
            if frame.current is None:
                raise self.tr.unsupported(node, "correlated reference", "outer query not bound")
            return py.column(frame.current, frame.outname(src.alias, col), attrs_)
        if self.raw:
            return py.column(src.var, col, attrs_)
        out = self.outname(src.alias, col)
        if self.current is not None:
            return py.column(self.current, out, attrs_)
        if len(self.sources) == 1 or self.deferred:
            return py.column(UNDERSCORE, out, attrs_)
        owner_alias, owner_col = self.names.fields[out]
        return py.column(self.sources[owner_alias].var, owner_col, attrs_)

    def count_star(self, s: Scalars, where: exp.Expr | None = None) -> ast.expr:
        base = self.current if self.current is not None and self.reduction else UNDERSCORE
        kwargs = {}
        if where is not None:
            # `t.count(where=...)` binds its condition to `t` without dereferencing
            # `orders.status` into a join: refer to the join's own columns there
            self.deferred = self.current is None and len(self.sources) > 1
            try:
                kwargs["where"] = s(where)
            finally:
                self.deferred = False
        return py.method(base, "count", **kwargs)

    def dtype_of(self, node: exp.Expr, s: Scalars) -> str | None:
        """The ibis dtype family of a plain column (`date`, `timestamp`, ...), when known."""
        dtype = self.raw_dtype(node) or ""
        return dtype.split("(")[0].lstrip("!") or None

    def raw_dtype(self, node: exp.Expr) -> str | None:
        """The dtype string of a plain column (`!int64` when NOT NULL), when known."""
        if not isinstance(node, exp.Column) or not node.table:
            return None
        try:
            _, src, col = self.locate(node)
        except UnsupportedConstruct:
            return None
        return src.dtypes.get(col)

    def columns(self) -> list[str]:
        return list(self.names.fields)

    def anchor(self, chain: ast.expr, hint: str) -> ast.expr:
        """Bind the relation to a variable so correlated subqueries can refer to it."""
        if not isinstance(chain, ast.Name):
            chain = self.tr.program.bind(chain, hint)
        self.current = chain
        return chain


def inline_named_windows(select: exp.Select) -> exp.Select:
    """`OVER w ... WINDOW w AS (PARTITION BY ...)`: each OVER spelled out in full."""
    named = {w.name: w for w in select.args["windows"]}
    select = select.copy()
    select.set("windows", None)

    def spell(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.Window) or node.args.get("alias") is None:
            return node
        base = named.get(node.args["alias"].name)
        if base is None:
            return node
        merged = node.copy()
        merged.set("alias", None)
        for key in ("partition_by", "order", "spec"):
            if not merged.args.get(key) and base.args.get(key):
                value = base.args[key]
                merged.set(
                    key, [v.copy() for v in value] if isinstance(value, list) else value.copy()
                )
        return merged

    return select.transform(spell)  # type: ignore[return-value]


def rename_order_aliases(select: exp.Select, items: Sequence[tuple[str, exp.Expr]]) -> None:
    """ORDER BY / QUALIFY refer to outputs by their SQL alias (`ORDER BY 2` is qualified to
    `ORDER BY _col_1`); an output the translation renames (`_col_1` → `count`) is referred
    to by its new name, so the reference resolves to the output column."""
    aliases = [proj.alias_or_name for proj in select.expressions]
    renamed = {
        old: new
        for old, (new, _) in zip(aliases, items, strict=False)
        if old != new and aliases.count(old) == 1
    }
    if not renamed:
        return
    for key in ("order", "qualify"):
        clause = select.args.get(key)
        if clause is None:
            continue
        for col in list(own_nodes(clause)):
            if isinstance(col, exp.Column) and not col.table and col.name in renamed:
                col.replace(exp.column(renamed[col.name]))


def arg(node: exp.Expr, name: str) -> exp.Expr | None:
    """`node.args[name]` under sqlglot's new spelling (`from_`, `with_`) or its old one."""
    value = node.args.get(f"{name}_")
    return value if value is not None else node.args.get(name)


def split_and(node: exp.Expr | None) -> list[exp.Expr]:
    if node is None:
        return []
    if isinstance(node, exp.Where):
        node = node.this
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return split_and(node.left) + split_and(node.right)
    return [node]


def factor_or(node: exp.Expr) -> list[exp.Expr]:
    """`(a AND b) OR (a AND c)` → `[a, b OR c]`: a condition every branch shares becomes a
    conjunct of its own, so join keys repeated in each branch (TPC-H Q19) join as keys.
    The distributive law holds in SQL's three-valued logic, so this is exact."""
    inner = node
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if not isinstance(inner, exp.Or):
        return [node]
    branches = [split_and(b) for b in _flatten_or(inner)]
    common = [c for c in branches[0] if all(any(c == d for d in b) for b in branches[1:])]
    if not common:
        return [node]
    rests = [[d for d in b if not any(d == c for c in common)] for b in branches]
    if any(not rest for rest in rests):  # a OR (a AND b) is a
        return common
    rest = exp.or_(*[exp.and_(*r) for r in rests])
    return [*common, rest]


def _flatten_or(node: exp.Expr) -> list[exp.Expr]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Or):
        return _flatten_or(node.left) + _flatten_or(node.right)
    return [node]


def and_all(parts: Sequence[ast.expr]) -> ast.expr:
    out = parts[0]
    for part in parts[1:]:
        out = py.binop(out, "&", part)
    return out


def local_aliases(node: exp.Expr) -> set[str]:
    """Table aliases referenced by columns of `node` outside nested subqueries."""
    return {c.table for c in own_nodes(node) if isinstance(c, exp.Column) and c.table}


def external_aliases(query: exp.Expr) -> set[str]:
    """Aliases a (sub)query refers to but does not define: its correlation to outer queries."""
    defined: set[str] = set()
    for select in query.find_all(exp.Select):
        from_ = arg(select, "from")
        items = [from_.this] if from_ is not None else []
        items += [j.this for j in select.args.get("joins") or []]
        defined.update(i.alias_or_name for i in items)
    defined.update(c.alias for c in query.find_all(exp.CTE))
    used = {c.table for c in query.find_all(exp.Column) if c.table}
    return used - defined


def subqueries(node: exp.Expr) -> list[exp.Expr]:
    return [q for q in node.find_all(exp.Select) if q is not node]


def inside_aggregate(query: exp.Expr) -> bool:
    """Whether a subquery is the argument of an aggregate (`SUM((SELECT ...))`), not a
    value beside one (`COUNT(*) / (SELECT COUNT(*) ...)`, an `.as_scalar()` in `.agg`)."""
    parent = query.parent
    while parent is not None and not isinstance(parent, exp.Select):
        if isinstance(parent, exp.AggFunc):
            return True
        parent = parent.parent
    return False


_RANKING = {
    exp.RowNumber: ("row_number", True),
    exp.Rank: ("rank", True),
    exp.DenseRank: ("dense_rank", True),
    exp.PercentRank: ("percent_rank", False),
    exp.CumeDist: ("cume_dist", False),
}
_SETOPS = {exp.Union: "union", exp.Intersect: "intersect", exp.Except: "difference"}
_SETOP_DEFAULT_DISTINCT = {"union": False, "intersect": True, "difference": True}


class Translator:
    """Walks one qualified query and writes the Ibis program for it."""

    def __init__(self, schema: Schema, sql: str | None = None, dialect: str = "") -> None:
        self.schema = schema
        self.sql = sql
        # the sqlglot dialect read: a few functions mean different things in different ones
        self.dialect = dialect
        self.program = py.Program(reserved=set(schema.names) | {"ibis", "_", "expr"})
        self.ctes: list[dict[str, Rel]] = []
        self.table_attrs = TABLE_ATTRS
        self.tree: exp.Expr | None = None

    # -- errors -----------------------------------------------------------------------------

    def unsupported(
        self, node: exp.Expr, construct: str, detail: str | None = None
    ) -> UnsupportedConstruct:
        return unsupported(node, construct, detail, self.sql)

    def typed(self) -> None:
        """Types on the query's nodes (annotated once, when a translation first needs them)."""
        if self.tree is not None:
            from ibert_tasks_sql.translation.parse import annotate

            annotate(self.tree, self.schema, self.dialect)

    def integer_division(self, node: exp.Div) -> bool:
        """Whether both operands of a dialect's truncating `/` are integers (then unsupported)."""
        self.typed()
        types = (node.this.type, node.expression.type)
        return all(t is not None and t.is_type(*exp.DataType.INTEGER_TYPES) for t in types)

    # -- entry --------------------------------------------------------------------------------

    def translate(self, tree: exp.Expr) -> str:
        self.tree = tree
        rel = self.query(tree, None)
        return self.program.render(rel.node)

    def query(self, node: exp.Expr, outer: Frame | None, names: Sequence[str] | None = None) -> Rel:
        with_ = arg(node, "with")
        pushed = False
        if with_ is not None:
            self.ctes.append({})
            pushed = True
            self.with_(with_)  # type: ignore[arg-type]
        try:
            if isinstance(node, exp.Subquery):
                rel = self.query(node.this, outer, names)
                return self.finish_setop(node, rel)
            if isinstance(node, exp.Select):
                return self.select(node, outer, names)
            if isinstance(node, exp.SetOperation):
                return self.setop(node, outer, names)
            raise self.unsupported(node, f"{type(node).__name__} query")
        finally:
            if pushed:
                self.ctes.pop()

    def with_(self, with_: exp.With) -> None:
        if with_.args.get("recursive"):
            raise self.unsupported(with_, "WITH RECURSIVE", "ibis has no recursive queries")
        for cte in with_.expressions:
            rel = self.query(cte.this, None)
            alias = cte.alias
            node = rel.node
            if not isinstance(node, ast.Name):
                node = self.program.bind(node, alias)
            self.ctes[-1][alias] = Rel(node, rel.columns, rel.dtypes)

    def cte(self, name: str) -> Rel | None:
        for scope in reversed(self.ctes):
            if name in scope:
                return scope[name]
        return None

    # -- set operations -------------------------------------------------------------------------

    def setop(
        self, node: exp.SetOperation, outer: Frame | None, names: Sequence[str] | None
    ) -> Rel:
        meth = _SETOPS.get(type(node))
        if meth is None or node.args.get("by_name") or node.args.get("side"):
            raise self.unsupported(node, f"{type(node).__name__.upper()} variant")
        left = self.query(node.left, outer, names)
        right = self.query(node.right, outer, left.columns)
        left, right = agree_nullability(left), agree_nullability(right, left)
        left, right = type_nulls(left, right), type_nulls(right, left)
        distinct = bool(node.args.get("distinct"))
        kwargs = {}
        if distinct != _SETOP_DEFAULT_DISTINCT[meth]:
            kwargs["distinct"] = py.lit(distinct)
        # a chain of the same operation reads better flattened: a.union(b, c)
        lnode = left.node
        if (
            isinstance(lnode, ast.Call)
            and isinstance(lnode.func, ast.Attribute)
            and lnode.func.attr == meth
            and unparse_kwargs(lnode) == {k: py.unparse(v) for k, v in kwargs.items()}
        ):
            lnode.args.append(right.node)
            combined: ast.expr = lnode
        else:
            combined = py.method(left.node, meth, right.node, **kwargs)
        rel = Rel(combined, left.columns, left.dtypes)
        return self.finish_setop(node, rel)

    def finish_setop(self, node: exp.Expr, rel: Rel) -> Rel:
        """ORDER BY / LIMIT attached to a set operation or a parenthesized query."""
        order = node.args.get("order")
        chain = rel.node
        if order is not None:
            keys = []
            for ordered in order.expressions:
                key = ordered.this
                if isinstance(key, exp.Column) and not key.table and key.name in rel.columns:
                    target: ast.expr = py.lit(key.name)
                else:
                    try:
                        position = int(literal_value(key))
                        target = py.lit(rel.columns[position - 1])
                    except (ValueError, IndexError, TypeError):
                        raise self.unsupported(
                            key, "ORDER BY expression on a set operation"
                        ) from None
                keys.append(self.direction(target, ordered))
            chain = py.method(chain, "order_by", *keys)
        chain = self.limit(node, chain)
        return Rel(chain, rel.columns, rel.dtypes)

    # -- SELECT --------------------------------------------------------------------------------

    def distinct_on(self, node: exp.Select, distinct: exp.Distinct) -> exp.Select:
        """`SELECT DISTINCT ON (k) ... ORDER BY k, x` keeps the first row of each k in the
        ORDER BY: it is `QUALIFY ROW_NUMBER() OVER (PARTITION BY k ORDER BY k, x) = 1`,
        which translates to a `row_number()` filter. Without an ORDER BY the row kept is
        undefined, so there is nothing to translate it to."""
        order = node.args.get("order")
        if order is None:
            raise self.unsupported(
                distinct, "DISTINCT ON without ORDER BY", "which row is kept is undefined"
            )
        if (
            node.args.get("qualify") is not None
            or node.args.get("group") is not None
            or any(contains_aggregate(e) for e in node.expressions)
        ):
            raise self.unsupported(distinct, "DISTINCT ON with GROUP BY, aggregates or QUALIFY")
        outputs = {p.alias: p.this for p in node.expressions if isinstance(p, exp.Alias)}
        positions = [p.this if isinstance(p, exp.Alias) else p for p in node.expressions]

        def spelled(key: exp.Expr) -> exp.Expr:
            """An output's alias or position as the expression it names."""
            if isinstance(key, exp.Literal) and key.is_int:
                return positions[int(key.this) - 1].copy()
            if isinstance(key, exp.Column) and not key.table and key.name in outputs:
                return outputs[key.name].copy()
            return key.copy()

        keys = [spelled(k) for k in distinct.args["on"].expressions]
        ordered = []
        for o in order.expressions:
            o = o.copy()
            o.set("this", spelled(o.this))
            ordered.append(o)
        # a partition key is one value within its partition: ordering by it says nothing
        within = [o for o in ordered if not any(o.this == k for k in keys)]
        ordered = within or ordered
        first = exp.Window(
            this=exp.RowNumber(),
            partition_by=keys,
            order=exp.Order(expressions=ordered),
            over="OVER",
        )
        rewritten = node.copy()
        rewritten.set("distinct", None)
        rewritten.set(
            "qualify", exp.Qualify(this=exp.EQ(this=first, expression=exp.Literal.number(1)))
        )
        return rewritten

    def select(self, node: exp.Select, outer: Frame | None, names: Sequence[str] | None) -> Rel:
        if node.args.get("windows"):
            node = inline_named_windows(node)
        for arg in ("windows", "laterals", "connect", "pivots", "sample", "prewhere"):
            if node.args.get(arg):
                raise self.unsupported(
                    node.args[arg] if isinstance(node.args[arg], exp.Expression) else node,
                    arg.upper(),
                )
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on") is not None:
            node = self.distinct_on(node, distinct)
        frame = Frame(self, outer, correlated=bool(outer and external_aliases(node)))
        conjuncts = [f for c in split_and(node.args.get("where")) for f in factor_or(c)]
        chain = self.filtered_from(node, frame, conjuncts)
        items = self.projections(node, names)
        rename_order_aliases(node, items)
        group = node.args.get("group")
        having = node.args.get("having")
        aggregated = (
            group is not None or having is not None or any(contains_aggregate(e) for _, e in items)
        )
        if aggregated:
            return self.aggregate(node, frame, chain, items)
        return self.project(node, frame, chain, items)

    def anchor_hint(self, frame: Frame) -> str:
        if len(frame.sources) == 1:
            return next(iter(frame.sources)) + "_rows"
        return "joined"

    def projections(
        self, node: exp.Select, names: Sequence[str] | None
    ) -> list[tuple[str, exp.Expr]]:
        items: list[tuple[str, exp.Expr]] = []
        seen: set[str] = set()
        for i, proj in enumerate(node.expressions):
            if isinstance(proj, exp.Star):
                raise self.unsupported(proj, "SELECT *", "pass a schema so the columns are known")
            name = names[i] if names is not None and i < len(names) else proj.alias_or_name
            if names is None and re.fullmatch(r"_col_\d+", name):
                name = default_name(proj.unalias())
            base, n = name, 2
            while name in seen:
                name = f"{base}_{n}"
                n += 1
            seen.add(name)
            items.append((name, unparen(proj.unalias())))
        if names is not None and len(names) != len(items):
            raise self.unsupported(node, "set operation over queries with different column counts")
        return items

    # -- FROM and JOIN ----------------------------------------------------------------------

    def source(self, item: exp.Expr, frame: Frame) -> Source:
        alias = item.alias_or_name
        if isinstance(item, exp.Table):
            if item.args.get("db") or item.args.get("catalog"):
                pass  # schema-qualified names resolve on the table name
            name = item.name
            cte = self.cte(name)
            if cte is not None:
                var, columns, dtypes, table = cte.node, cte.columns, cte.dtypes, None
            else:
                tschema = self.schema.table(name)
                if not py.is_identifier(tschema.name):
                    raise self.unsupported(
                        item,
                        f"table name {tschema.name!r}",
                        "table names must be Python identifiers",
                    )
                var = py.name(tschema.name)
                columns = list(tschema.names)
                dtypes = tschema.as_dict()
                table = tschema.name
            if self.needs_view(var, frame):
                hint = alias if alias.lower() != name.lower() else f"{name}_2"
                var = self.program.bind(py.method(var, "view"), hint)
            return Source(alias, var, columns, dtypes, table)
        if isinstance(item, exp.Subquery):
            if item.args.get("lateral") or isinstance(item.this, exp.Lateral):
                raise self.unsupported(item, "LATERAL subquery")
            rel = self.query(item.this, None)
            var = rel.node
            if not isinstance(var, ast.Name):
                var = self.program.bind(var, alias or "subquery")
            return Source(alias, var, rel.columns, rel.dtypes)
        raise self.unsupported(item, f"{type(item).__name__.upper()} in FROM")

    def needs_view(self, var: ast.expr, frame: Frame) -> bool:
        """A second use of one table in a FROM (a self join), or a correlated subquery over
        the very relation its outer query filters, needs `.view()` to be a separate instance."""
        text = py.unparse(var)
        if any(py.unparse(s.var) == text for s in frame.sources.values()):
            return True
        if frame.correlated:
            outer = frame.parent
            while outer is not None:
                if outer.current is not None and py.unparse(outer.current) == text:
                    return True
                outer = outer.parent
        return False

    def from_(
        self, node: exp.Select, frame: Frame, conjuncts: list[exp.Expr]
    ) -> tuple[ast.expr, list[exp.Expr]]:
        from_ = arg(node, "from")
        if from_ is None:
            raise self.unsupported(
                node, "SELECT without FROM", "ibis expressions start from a table"
            )
        joins = node.args.get("joins") or []
        items = [(from_.this, None)] + [(j.this, j) for j in joins]
        sources = []
        for item, _ in items:
            src = self.source(item, frame)
            frame.sources[src.alias] = src
            sources.append(src)
        first = sources[0]
        frame.names = JoinNames.start(first.alias, first.columns)
        if not joins:
            return first.var, conjuncts
        kinds = [self.join_kind(j) for j in joins]
        if all(k in ("inner", "cross") for k in kinds):
            return self.inner_joins(frame, sources, joins, conjuncts)
        chain = first.var
        for src, join, how in zip(sources[1:], joins, kinds, strict=False):
            preds = self.on_predicates(join, frame, src)
            chain = self.join_step(frame, chain, src, how, preds)
        return chain, conjuncts

    def join_kind(self, join: exp.Join) -> str:
        if join.args.get("method"):
            raise self.unsupported(
                join, f"{join.args['method']} JOIN", "spell out the ON condition"
            )
        if join.args.get("match_condition") is not None:
            raise self.unsupported(join, "ASOF JOIN")
        side = (join.side or "").upper()
        kind = (join.kind or "").upper()
        if kind in ("SEMI", "ANTI"):
            return kind.lower()
        if side == "LEFT":
            return "left"
        if side == "RIGHT":
            return "right"
        if side == "FULL":
            return "outer"
        if kind == "CROSS":
            return "cross"
        if join.args.get("on") is None and not join.args.get("using"):
            return "cross"
        return "inner"

    def on_predicates(self, join: exp.Join, frame: Frame, src: Source) -> list[exp.Expr]:
        preds = split_and(join.args.get("on"))
        for ident in join.args.get("using") or []:
            raise self.unsupported(ident, "JOIN ... USING", "qualify could not rewrite it")
        for p in preds:
            if subqueries(p):
                raise self.unsupported(p, "subquery in a join condition")
        return preds

    def inner_joins(
        self,
        frame: Frame,
        sources: list[Source],
        joins: list[exp.Join],
        conjuncts: list[exp.Expr],
    ) -> tuple[ast.expr, list[exp.Expr]]:
        """Comma and inner joins: equality conditions in WHERE become join keys, tables are
        joined in FROM order as far as the keys allow (a table with no key to the ones before
        it waits for one that links it)."""
        aliases = set(frame.sources)
        on = {i + 1: self.on_predicates(j, frame, sources[i + 1]) for i, j in enumerate(joins)}

        def linkable(p: exp.Expr) -> bool:
            used = local_aliases(p)
            return (
                len(used) >= 2
                and used <= aliases
                and not subqueries(p)
                and not contains_aggregate(p)
                and not contains_window(p)
            )

        pool = [c for c in conjuncts if linkable(c)]
        equi = [c for c in pool if is_column_equality(c)]
        joined = {sources[0].alias}
        pending = list(range(1, len(sources)))
        used_preds: list[exp.Expr] = []
        chain = sources[0].var

        def preds_for(i: int, candidates: Iterable[exp.Expr]) -> list[exp.Expr]:
            alias = sources[i].alias
            out = []
            for c in candidates:
                if any(c is u for u in used_preds):
                    continue
                used = local_aliases(c)
                if alias in used and used <= joined | {alias}:
                    out.append(c)
            return out

        while pending:
            ready = [i for i in pending if local_aliases_all(on[i]) <= joined | {sources[i].alias}]
            choice = next((i for i in ready if on[i] or preds_for(i, equi)), None)
            if choice is None:
                choice = next((i for i in ready if preds_for(i, pool)), None)
            if choice is None:
                choice = ready[0] if ready else pending[0]
            keys = preds_for(choice, equi) or preds_for(choice, pool)
            preds = on[choice] + keys
            used_preds.extend(keys)
            how = "inner" if preds else "cross"
            chain = self.join_step(frame, chain, sources[choice], how, preds)
            joined.add(sources[choice].alias)
            pending.remove(choice)
        remaining = [c for c in conjuncts if not any(c is u for u in used_preds)]
        return chain, remaining

    def join_step(
        self, frame: Frame, chain: ast.expr, src: Source, how: str, preds: list[exp.Expr]
    ) -> ast.expr:
        frame.raw = True
        try:
            s = Scalars(self, frame)
            rendered = [s(p) for p in preds]
        finally:
            frame.raw = False
        equalities = None
        if all(isinstance(p, exp.EQ) for p in preds):
            equalities = [
                (
                    (p.this.table, self._real(frame, p.this)),
                    (p.expression.table, self._real(frame, p.expression)),
                )
                for p in preds
                if isinstance(p.this, exp.Column) and isinstance(p.expression, exp.Column)
            ]
        kwargs: dict[str, ast.expr] = {}
        rname = "{name}_right"
        if frame.names.would_collide(how, src.columns):
            rname = "{name}_" + src.alias
            kwargs["rname"] = py.lit(rname)
        frame.names = frame.names.add(how, src.alias, src.columns, equalities, rname)
        if how == "cross":
            return py.method(chain, "cross_join", src.var, **kwargs)
        if not rendered:
            raise UnsupportedConstruct(f"{how} join without a condition")
        predicate = rendered[0] if len(rendered) == 1 else ast.List(elts=rendered, ctx=ast.Load())
        meth = {
            "inner": "join",
            "left": "left_join",
            "right": "right_join",
            "outer": "outer_join",
            "semi": "semi_join",
            "anti": "anti_join",
        }[how]
        return py.method(chain, meth, src.var, predicate, **kwargs)

    def _real(self, frame: Frame, col: exp.Column) -> str:
        return frame.locate(col)[2]

    # -- projection without aggregation ---------------------------------------------------------

    def project(
        self,
        node: exp.Select,
        frame: Frame,
        chain: ast.expr,
        items: list[tuple[str, exp.Expr]],
    ) -> Rel:
        if any(external_aliases(q) & set(frame.sources) for _, e in items for q in subqueries(e)):
            chain = frame.anchor(chain, self.anchor_hint(frame))
        s = Scalars(self, frame)
        items = [(name, self.using_key(e, frame)) for name, e in items]
        if node.args.get("qualify") is not None:
            if node.args.get("distinct") is not None:
                raise self.unsupported(node.args["qualify"], "QUALIFY with SELECT DISTINCT")
            return self.project_via_mutate(node, frame, chain, items, s)
        order = node.args.get("order")
        exprs = {name: e for name, e in items}
        out_keys, pre = self.order_keys(order, items, s) if order is not None else ([], False)
        distinct = node.args.get("distinct") is not None
        if pre and distinct:
            raise self.unsupported(order, "ORDER BY a column not in SELECT DISTINCT")  # type: ignore[arg-type]
        if pre and order is not None and self.orders_by_window(order, items):
            # a window in ORDER BY must be computed before sorting: mutate, sort, select
            return self.project_via_mutate(node, frame, chain, items, s)
        if pre:
            chain = py.method(chain, "order_by", *out_keys)
        projected = self.select_call(chain, frame, items, s)
        chain = projected
        if distinct:
            chain = py.method(chain, "distinct")
        if order is not None and not pre:
            chain = py.method(chain, "order_by", *out_keys)
        chain = self.limit(node, chain)
        dtypes = {}
        for name, e in exprs.items():
            d = "null" if isinstance(e, exp.Null) else frame.raw_dtype(e)
            if d:
                dtypes[name] = d
        return Rel(chain, [name for name, _ in items], dtypes)

    def orders_by_window(self, order: exp.Order, items: list[tuple[str, exp.Expr]]) -> bool:
        windowed = {n for n, e in items if contains_window(e)}
        for ordered in order.expressions:
            key = ordered.this
            if contains_window(key):
                return True
            names = {c.name for c in own_nodes(key) if isinstance(c, exp.Column) and not c.table}
            if names & windowed:
                return True
        return False

    def project_via_mutate(
        self,
        node: exp.Select,
        frame: Frame,
        chain: ast.expr,
        items: list[tuple[str, exp.Expr]],
        s: Scalars,
    ) -> Rel:
        """`t.mutate(computed).filter(qualify).order_by(...).select(outputs)`: for QUALIFY,
        and for an ORDER BY that needs output columns holding window functions as well as
        columns the SELECT drops (windows are computed before rows are filtered or sorted)."""
        qualify = node.args.get("qualify")
        order = node.args.get("order")
        computed = [(n, e) for n, e in items if not self.plain_output(frame, n, e)]
        names = {n for n, _ in items}
        taken = names | set(frame.columns())
        hidden: list[tuple[str, exp.Expr]] = []
        by_window: dict[exp.Expr, str] = {e: n for n, e in computed if isinstance(e, exp.Window)}
        if qualify is not None:
            for window in own_nodes(qualify.this):
                if isinstance(window, exp.Window) and window not in by_window:
                    func = window.this
                    base = "rn" if isinstance(func, exp.RowNumber) else default_name(func)
                    base = base if base not in TABLE_ATTRS else f"{base}_value"
                    name, i = base, 2
                    while name in taken:
                        name, i = f"{base}{i}", i + 1
                    taken.add(name)
                    hidden.append((name, window))
                    by_window[window] = name
        shadowed = {n for n, _ in computed} & set(frame.columns())
        if shadowed:
            raise self.unsupported(
                qualify if qualify is not None else order,  # type: ignore[arg-type]
                "window filtering or sorting with an output named like a column",
                f"rename {sorted(shadowed)[0]!r} in the SELECT",
            )
        added = [(n, top_value(s(e)), False) for n, e in computed + hidden]
        if added:
            chain = self.call_with_names(chain, "mutate", added)

        def lookup(expr: exp.Expr) -> ast.expr | None:
            if isinstance(expr, exp.Column) and not expr.table and expr.name in names:
                return py.column(UNDERSCORE, expr.name, self.table_attrs)
            if isinstance(expr, exp.Window) and expr in by_window:
                return py.column(UNDERSCORE, by_window[expr], self.table_attrs)
            return None

        keyed = Scalars(self, frame, lookup)
        if qualify is not None:
            chain = py.method(chain, "filter", *[keyed(c) for c in split_and(qualify.this)])
        if order is not None:
            keys = [self.direction(keyed(unparen(o.this)), o) for o in order.expressions]
            chain = py.method(chain, "order_by", *keys)
        chain = py.method(chain, "select", *[py.lit(n) for n, _ in items])
        chain = self.limit(node, chain)
        return Rel(chain, [n for n, _ in items])

    def plain_output(self, frame: Frame, name: str, e: exp.Expr) -> bool:
        if not isinstance(e, exp.Column) or not e.table:
            return False
        f, src, real = frame.locate(e)
        return f is frame and frame.outname(src.alias, real) == name

    def using_key(self, e: exp.Expr, frame: Frame) -> exp.Expr:
        """`COALESCE(a.k, b.k)` that qualify writes for `USING (k)` is one column when the
        join kept one (inner equi-joins)."""
        if not isinstance(e, exp.Coalesce):
            return e
        args = [e.this, *e.expressions]
        if not all(isinstance(a, exp.Column) and a.table in frame.sources for a in args):
            return e
        outs = {frame.outname(a.table, self._real(frame, a)) for a in args}
        return args[0] if len(outs) == 1 else e

    def is_identity(self, frame: Frame, items: list[tuple[str, exp.Expr]]) -> bool:
        columns = frame.columns()
        if len(items) != len(columns):
            return False
        for (name, e), col in zip(items, columns, strict=False):
            if not isinstance(e, exp.Column) or name != col:
                return False
            try:
                f, src, real = frame.locate(e)
            except UnsupportedConstruct:
                return False
            if f is not frame or frame.names.fields.get(col) != (src.alias, real):
                return False
        return True

    def select_call(
        self, chain: ast.expr, frame: Frame, items: list[tuple[str, exp.Expr]], s: Scalars
    ) -> ast.expr:
        if self.is_identity(frame, items):
            return chain
        args = []
        for name, e in items:
            if isinstance(e, exp.Column) and e.table:
                f, src, real = frame.locate(e)
                if f is frame and frame.outname(src.alias, real) == name:
                    args.append((name, py.lit(name), True))
                    continue
            args.append((name, top_value(s(e)), False))
        return self.call_with_names(chain, "select", args)

    def call_with_names(
        self, chain: ast.expr, meth: str, args: list[tuple[str, ast.expr, bool]]
    ) -> ast.expr:
        """`chain.meth("a", "b", c=expr)`: column names positional, computed values by keyword,
        keeping the column order (a column after a keyword goes by keyword too); a name that
        is not an identifier goes as `**{"my name": expr}`."""
        positional: list[ast.expr] = []
        keywords: list[ast.keyword] = []
        for name, value, is_name in args:
            if is_name and not keywords:
                positional.append(value)
                continue
            if is_name:
                value = py.column(UNDERSCORE, name, self.table_attrs)
            if py.is_identifier(name):
                keywords.append(ast.keyword(arg=name, value=value))
            else:
                mapping = ast.Dict(keys=[py.lit(name)], values=[value])
                keywords.append(ast.keyword(arg=None, value=mapping))
        return ast.Call(func=py.attr(chain, meth), args=positional, keywords=keywords)

    def order_keys(
        self,
        order: exp.Order,
        items: list[tuple[str, exp.Expr]],
        s: Scalars,
        lookup: Callable[[exp.Expr], str | None] | None = None,
    ) -> tuple[list[ast.expr], bool]:
        """ORDER BY keys: names of output columns when they all are, else expressions over the
        relation before the projection (`pre` is then True)."""
        names = [n for n, _ in items]
        by_expr: dict[exp.Expr, str] = {}
        for n, e in items:
            by_expr.setdefault(e, n)
        resolved: list[str | None] = []
        for ordered in order.expressions:
            key = unparen(ordered.this)
            name = None
            if isinstance(key, exp.Column) and not key.table and key.name in names:
                name = key.name
            elif key in by_expr:
                name = by_expr[key]
            elif lookup is not None:
                name = lookup(key)
            resolved.append(name)
        if all(n is not None for n in resolved):
            pairs = zip(resolved, order.expressions, strict=True)
            keys = [self.direction(py.lit(n), o) for n, o in pairs]
            return keys, False
        keys = []
        by_name = dict(items)
        for ordered in order.expressions:
            key = unparen(ordered.this)
            if isinstance(key, exp.Column) and not key.table and key.name in names:
                key = by_name[key.name]
            else:  # output names inside an expression stand for their expressions
                key = key.transform(
                    lambda n: (
                        by_name[n.name].copy()
                        if isinstance(n, exp.Column) and not n.table and n.name in by_name
                        else n
                    )
                )
            keys.append(self.direction(s(key), ordered))
        return keys, True

    def direction(self, key: ast.expr, ordered: exp.Ordered) -> ast.expr:
        desc = bool(ordered.args.get("desc"))
        nulls_first = bool(ordered.args.get("nulls_first"))
        kwargs = {"nulls_first": py.lit(True)} if nulls_first else {}
        if not desc and not kwargs:
            return key
        if isinstance(key, ast.Constant):
            return py.ibis_call("desc" if desc else "asc", key, **kwargs)
        return py.method(as_ibis(key), "desc" if desc else "asc", **kwargs)

    def limit(self, node: exp.Expr, chain: ast.expr) -> ast.expr:
        limit = node.args.get("limit")
        offset = node.args.get("offset")
        if limit is None and offset is None:
            return chain
        n: ast.expr = py.lit(None)
        if limit is not None:
            # T-SQL's TOP n WITH TIES / PERCENT reads as a LIMIT with these options, the
            # standard FETCH FIRST ... as a FETCH: a plain limit would drop the tied rows
            opts = limit.args.get("limit_options")
            for option, words in (("with_ties", "WITH TIES"), ("percent", "PERCENT")):
                if opts is not None and opts.args.get(option):
                    raise self.unsupported(
                        limit, f"TOP / FETCH FIRST ... {words} (write a rank() filter)"
                    )
            count = limit.args.get("count") if isinstance(limit, exp.Fetch) else limit.expression
            try:
                n = py.lit(int(literal_value(count)))  # type: ignore[arg-type]
            except (ValueError, TypeError):
                raise self.unsupported(limit, "LIMIT with a computed count") from None
        kwargs = {}
        if offset is not None:
            try:
                kwargs["offset"] = py.lit(int(literal_value(offset.expression)))
            except (ValueError, TypeError):
                raise self.unsupported(offset, "OFFSET with a computed count") from None
        return py.method(chain, "limit", n, **kwargs)

    # -- aggregation -------------------------------------------------------------------------------

    def aggregate(
        self,
        node: exp.Select,
        frame: Frame,
        chain: ast.expr,
        items: list[tuple[str, exp.Expr]],
    ) -> Rel:
        group = node.args.get("group")
        having = node.args.get("having")
        order = node.args.get("order")
        if node.args.get("qualify") is not None:
            raise self.unsupported(node.args["qualify"], "QUALIFY in an aggregated SELECT")
        if group is not None:
            if any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets")):
                return self.grouping_sets(node, frame, chain, items)
            for arg in ("rollup", "cube", "grouping_sets"):
                if group.args.get(arg):
                    raise self.unsupported(group, arg.upper().replace("_", " "))
        group_exprs = list(group.expressions) if group is not None else []
        if any(inside_aggregate(q) for _, e in items for q in subqueries(e)):
            raise self.unsupported(node, "subquery inside an aggregate")
        if any(external_aliases(q) & set(frame.sources) for _, e in items for q in subqueries(e)):
            raise self.unsupported(node, "correlated subquery in an aggregated SELECT")
        s = Scalars(self, frame, grouped=True)
        taken = {n for n, _ in items} | set(frame.columns())

        def fresh(base: str) -> str:
            name, i = base, 2
            while name in taken:
                name = f"{base}{i}"
                i += 1
            taken.add(name)
            return name

        # group keys: named like the projection that shows them, else like their column
        keys: list[tuple[str, exp.Expr]] = []
        post: dict[exp.Expr, str] = {}
        for g in group_exprs:
            if is_literal_node(g):
                raise self.unsupported(g, "GROUP BY a constant")
            match = next((n for n, e in items if e == g and n not in [k for k, _ in keys]), None)
            if match is None and isinstance(g, exp.Column):
                _, src, real = frame.locate(g)
                candidate = frame.outname(src.alias, real)
                match = (
                    candidate
                    if candidate not in {n for n, _ in items} | {k for k, _ in keys}
                    else None
                )
                if match is not None:
                    taken.add(match)
            name = match or fresh("key")
            keys.append((name, g))
            post.setdefault(g, name)

        metrics: list[tuple[str, exp.Expr]] = []
        computed: list[tuple[str, exp.Expr]] = []
        for name, e in items:
            if e in post and post[e] == name:
                continue
            if pure_aggregate(e):
                metrics.append((name, e))
                post.setdefault(e, name)
            else:
                computed.append((name, e))

        having_pre = (
            having is not None
            and pure_aggregate(having.this)
            and not subqueries_correlated(having.this, frame)
        )
        hidden: list[tuple[str, exp.Expr]] = []

        def hide(expr: exp.Expr) -> None:
            for agg in aggregates_in(expr):
                if agg not in post:
                    base = (
                        "n"
                        if isinstance(agg, exp.Count)
                        and not isinstance(agg.this, (exp.Column, exp.Distinct))
                        else default_name(agg)
                    )
                    name = fresh(base if base not in TABLE_ATTRS else f"{base}_value")
                    hidden.append((name, agg))
                    post[agg] = name

        for _, e in computed:
            hide(e)
        if having is not None and not having_pre:
            hide(having.this)
        order_lookup_names = {n for n, _ in items}
        if order is not None:
            for ordered in order.expressions:
                key = ordered.this
                if isinstance(key, exp.Column) and not key.table and key.name in order_lookup_names:
                    continue
                if key in post or any(key == e for _, e in items):
                    continue
                hide(key)
                check_grouped(self, key, post)

        for _, e in computed:
            check_grouped(self, e, post)

        # build group_by(...).having(...).agg(...)
        gb = chain
        if keys:
            key_args = []
            for name, g in keys:
                if isinstance(g, exp.Column):
                    _, src, real = frame.locate(g)
                    if frame.outname(src.alias, real) == name:
                        key_args.append((name, py.lit(name), True))
                        continue
                key_args.append((name, s(g), False))
            gb = self.call_with_names(gb, "group_by", key_args)
        if having_pre:
            if not keys:
                raise self.unsupported(having, "HAVING without GROUP BY")  # type: ignore[arg-type]
            gb = py.method(gb, "having", s(having.this))  # type: ignore[union-attr]
        agg_args = [(n, top_value(s(e)), False) for n, e in metrics + hidden]
        if agg_args or not keys or having_pre:
            chain = self.call_with_names(gb, "agg", agg_args)
        else:
            # GROUP BY without aggregates: the distinct keys
            chain = self.call_with_names(
                chain_of(gb),
                "select",
                [
                    (n, py.lit(n), True)
                    if isinstance(g, exp.Column) and n == self._outname_of(frame, g)
                    else (n, s(g), False)
                    for n, g in keys
                ],
            )
            chain = py.method(chain, "distinct")
        agg_columns = [n for n, _ in keys] + [n for n, _ in metrics] + [n for n, _ in hidden]

        # after aggregation every key and aggregate is a column of the aggregated table
        post_frame = Frame(self, frame.parent)

        final_names = {n for n, _ in items}

        def lookup(expr: exp.Expr) -> ast.expr | None:
            name = post.get(expr)
            if name is not None:
                return py.column(UNDERSCORE, name, self.table_attrs)
            if isinstance(expr, exp.Column) and not expr.table and expr.name in final_names:
                return py.column(UNDERSCORE, expr.name, self.table_attrs)
            if isinstance(expr, exp.Column):
                raise self.unsupported(
                    expr, f"column {expr.sql()} outside GROUP BY", "group by it or aggregate it"
                )
            return None

        ps = Scalars(self, post_frame, lookup, grouped=True)
        if having is not None and not having_pre:
            chain = py.method(chain, "filter", ps(having.this))
        final = [n for n, _ in items]
        distinct = node.args.get("distinct") is not None

        if order is not None:
            keys_out, pre = self.order_keys(order, items, ps)
        else:
            keys_out, pre = [], False
        if pre and distinct:
            raise self.unsupported(order, "ORDER BY a column not in SELECT DISTINCT")  # type: ignore[arg-type]
        proj_args = []
        for name, e in items:
            if name in agg_columns and post.get(e) == name:
                proj_args.append((name, py.lit(name), True))
            else:
                proj_args.append((name, top_value(ps(e)), False))
        identity = [n for n, _, is_name in proj_args if is_name] == agg_columns and all(
            is_name for _, _, is_name in proj_args
        )
        if pre:
            if computed:
                mutate_args = [(n, v, False) for n, v, is_name in proj_args if not is_name]
                chain = self.call_with_names(chain, "mutate", mutate_args)
                agg_columns = agg_columns + [n for n, _, _ in mutate_args if n not in agg_columns]
            pre_keys = []
            for ordered in order.expressions:  # type: ignore[union-attr]
                key = ordered.this
                if isinstance(key, exp.Column) and not key.table and key.name in final:
                    pre_keys.append(self.direction(py.lit(key.name), ordered))
                else:
                    pre_keys.append(self.direction(ps(key), ordered))
            chain = py.method(chain, "order_by", *pre_keys)
            if agg_columns != final:
                chain = py.method(chain, "select", *[py.lit(n) for n in final])
        else:
            names_first = [n for n, _, is_name in proj_args[: len(agg_columns)] if is_name]
            if identity:
                pass
            elif names_first == agg_columns and not any(
                is_name for _, _, is_name in proj_args[len(agg_columns) :]
            ):
                # every aggregated column, in order, then computed ones: a mutate
                added = [(n, v, False) for n, v, _ in proj_args[len(agg_columns) :]]
                chain = self.call_with_names(chain, "mutate", added)
            else:
                chain = self.call_with_names(chain, "select", proj_args)
            if distinct:
                chain = py.method(chain, "distinct")
            if order is not None:
                chain = py.method(chain, "order_by", *keys_out)
        chain = self.limit(node, chain)
        dtypes = {}
        for name, g in keys:
            d = frame.raw_dtype(g)
            if d and name in final:
                dtypes[name] = d
        for name, e in items:
            if isinstance(e, exp.Null):
                dtypes[name] = "null"
        return Rel(chain, final, dtypes)

    def grouping_sets(
        self,
        node: exp.Select,
        frame: Frame,
        chain: ast.expr,
        items: list[tuple[str, exp.Expr]],
    ) -> Rel:
        """`GROUP BY ROLLUP (a, b)` (or CUBE, or GROUPING SETS): the union of one GROUP BY
        per grouping (`a, b`; `a`; the grand total), the keys a grouping leaves out NULL."""
        group = node.args["group"]
        kinds = [k for k in ("rollup", "cube", "grouping_sets") if group.args.get(k)]
        label = kinds[0].upper().replace("_", " ")
        if len(kinds) != 1 or len(group.args[kinds[0]]) != 1:
            raise self.unsupported(group, "several of ROLLUP, CUBE, GROUPING SETS in a GROUP BY")
        spec = group.args[kinds[0]][0]
        sets = grouping_sets_of(kinds[0], spec)
        if sets is None:
            raise self.unsupported(group, f"{label} over more than 6 columns")
        rolled: list[exp.Expr] = []
        for keys_ in sets:
            rolled.extend(k for k in keys_ if not any(k == r for r in rolled))
        if node.args.get("distinct") is not None:
            raise self.unsupported(group, f"{label} with SELECT DISTINCT")
        order = node.args.get("order")
        # windows and ORDER BY expressions run over the union: the aggregates, GROUPING()s
        # and keys they use travel through it as extra columns
        windowed = [(n, e) for n, e in items if contains_window(e)]
        kept = [(n, e) for n, e in items if not contains_window(e)]
        later = [e for _, e in windowed]
        if order is not None:
            names_ = {n for n, _ in items}
            later += [
                o.this
                for o in order.expressions
                if not (
                    isinstance(o.this, exp.Column) and not o.this.table and o.this.name in names_
                )
                and not is_sql_literal(o.this)
            ]
        carried: dict[exp.Expr, str] = {e: n for n, e in kept}
        extra: list[tuple[str, exp.Expr]] = []
        taken = {n for n, _ in items} | set(frame.columns())
        all_keys = plain + rolled if (plain := list(group.expressions)) else list(rolled)
        for expr in later:
            pieces = aggregates_in(expr) + [
                g for g in own_nodes(expr) if isinstance(g, exp.Grouping)
            ]
            pieces += [c for c in own_nodes(expr) if any(c == k for k in all_keys)]
            for piece in pieces:
                if piece in carried:
                    continue
                base_name = "grouping" if isinstance(piece, exp.Grouping) else default_name(piece)
                name, i = base_name, 2
                while name in taken or name in TABLE_ATTRS:
                    name, i = f"{base_name}_{i}", i + 1
                taken.add(name)
                carried[piece] = name
                extra.append((name, piece))
        base = frame.anchor(chain, self.anchor_hint(frame))
        plain = list(group.expressions)
        # a rolled-up key becomes a NULL of the key's type: the dtype when the schema says,
        # else ibis's `key.type()`
        nulls: dict[exp.Expr, exp.Expr] = {}
        for key in rolled:
            dtype = (frame.raw_dtype(key) or "").lstrip("!")
            spelled = dtype or py.unparse(py.method(Scalars(self, frame)(key), "type"))
            nulls[key] = exp.Anonymous(
                this=TYPED_NULL,
                expressions=[exp.Literal.string(spelled), exp.Boolean(this=bool(dtype))],
            )
        branches = []
        for keys_ in sets:
            dropped = {k: nulls[k] for k in rolled if not any(k == g for g in keys_)}
            branch = node.copy()
            branch.set("order", None)
            branch.set("limit", None)
            branch.set("offset", None)
            branch.set("group", exp.Group(expressions=[e.copy() for e in plain + keys_]))
            branch_items = [(n, nulled(e, dropped)) for n, e in kept + extra]
            having = branch.args.get("having")
            if having is not None:
                branch.set("having", exp.Having(this=nulled(having.this, dropped)))
            rel = self.aggregate(branch, frame, base, branch_items)
            branches.append(agree_nullability(rel))
        first = branches[0]
        rest = [type_nulls(b, first) for b in branches[1:]]
        first = type_nulls(first, rest[0]) if rest else first
        chain = py.method(first.node, "union", *[b.node for b in rest])
        final = [n for n, _ in items]
        if not later:
            if order is not None:
                keys, _pre = self.order_keys(order, items, Scalars(self, frame))
                chain = py.method(chain, "order_by", *keys)
            return Rel(self.limit(node, chain), final, first.dtypes)
        outputs = set(final)

        def lookup(expr: exp.Expr) -> ast.expr | None:
            if expr in carried:
                return py.column(UNDERSCORE, carried[expr], self.table_attrs)
            if isinstance(expr, exp.Column) and not expr.table and expr.name in outputs:
                return py.column(UNDERSCORE, expr.name, self.table_attrs)
            if isinstance(expr, exp.Column):
                raise self.unsupported(expr, f"column {expr.sql()} over a {label}")
            return None

        after = Scalars(self, Frame(self, frame.parent), lookup, grouped=True)
        if windowed:
            added = [(n, top_value(after(e)), False) for n, e in windowed]
            chain = self.call_with_names(chain, "mutate", added)
        if order is not None:
            keys = [self.direction(after(unparen(o.this)), o) for o in order.expressions]
            chain = py.method(chain, "order_by", *keys)
        if [n for n, _ in kept + extra] + [n for n, _ in windowed] != final:
            chain = py.method(chain, "select", *[py.lit(n) for n in final])
        return Rel(self.limit(node, chain), final, first.dtypes)

    def _outname_of(self, frame: Frame, col: exp.Column) -> str:
        _, src, real = frame.locate(col)
        return frame.outname(src.alias, real)

    # -- subqueries -------------------------------------------------------------------------------

    def is_simple(self, q: exp.Expr) -> bool:
        """A SELECT with only FROM/JOIN/WHERE around its projections."""
        if not isinstance(q, exp.Select):
            return False
        blocked = ("group", "having", "order", "limit", "offset", "distinct", "qualify")
        return not any(q.args.get(a) for a in blocked) and arg(q, "with") is None

    def inner_frame(self, q: exp.Select, s: Scalars) -> tuple[Frame, ast.expr]:
        """FROM and WHERE of a subquery, inside the frame `s` belongs to."""
        frame = Frame(self, s.frame, correlated=bool(external_aliases(q)))
        return frame, self.filtered_from(q, frame, split_and(q.args.get("where")))

    def filtered_from(self, q: exp.Select, frame: Frame, conjuncts: list[exp.Expr]) -> ast.expr:
        """The FROM of `q` in `frame`, then the WHERE conjuncts `from_` left as one filter
        (anchored first when a subquery in them refers to this frame's sources).
        """
        chain, conjuncts = self.from_(q, frame, conjuncts)
        if conjuncts:
            if any(
                external_aliases(sq) & set(frame.sources) for c in conjuncts for sq in subqueries(c)
            ):
                chain = frame.anchor(chain, self.anchor_hint(frame))
            scalars = Scalars(self, frame)
            chain = py.method(chain, "filter", *[scalars(c) for c in conjuncts])
        return chain

    def scalar_subquery(self, node: exp.Subquery, s: Scalars) -> ast.expr:
        q = node.this
        if (
            self.is_simple(q)
            and len(q.expressions) == 1
            and pure_aggregate(q.expressions[0].unalias())
            and not contains_window(q.expressions[0])
        ):
            # the reduction over the subquery's rows: `rel.col.max()`
            value = q.expressions[0].unalias()
            frame, chain = self.inner_frame(q, s)
            inline = Scalars(self, attrs.evolve(frame, current=chain, reduction=True))(value)
            uses = sum(
                1
                for n in own_nodes(value)
                if isinstance(n, exp.Column) or (isinstance(n, exp.Count) and n.this is None)
            )
            if not isinstance(chain, ast.Name) and (uses > 1 or len(py.unparse(inline)) > 70):
                chain = self.program.bind(chain, self.subquery_hint(frame))
            frame.current = chain
            frame.reduction = True
            result = Scalars(self, frame)(value)
            if not frame.correlated:
                # a reduction over a relation the outer query derives from would be read as
                # a reduction of the outer rows; .as_scalar() keeps it a subquery
                result = py.method(result, "as_scalar")
            return result
        rel = self.query(q, s.frame)
        if len(rel.columns) != 1:
            raise self.unsupported(node, "scalar subquery with several columns")
        return py.method(rel.node, "as_scalar")

    def subquery_hint(self, frame: Frame) -> str:
        return next(iter(frame.sources)) + "_sub"

    def in_subquery(self, node: exp.In, s: Scalars, negate: bool = False) -> ast.expr:
        q = node.args["query"]
        q = q.this if isinstance(q, exp.Subquery) else q
        meth = "notin" if negate else "isin"
        if (
            self.is_simple(q)
            and len(q.expressions) == 1
            and isinstance(q.expressions[0].unalias(), exp.Column)
        ):
            col = q.expressions[0].unalias()
            frame, chain = self.inner_frame(q, s)
            f, src, real = frame.locate(col)
            if f is frame:
                out = frame.outname(src.alias, real)
                target = py.column(chain, out, self.table_attrs)
                if not isinstance(chain, ast.Name) and len(py.unparse(target)) > 60:
                    chain = self.program.bind(chain, self.subquery_hint(frame))
                    target = py.column(chain, out, self.table_attrs)
                return py.method(s.value(node.this), meth, target)
        rel = self.query(q, s.frame)
        if len(rel.columns) != 1:
            raise self.unsupported(node, "IN subquery with several columns")
        target = py.column(rel.node, rel.columns[0], self.table_attrs)
        return py.method(s.value(node.this), meth, target)

    def exists(self, node: exp.Exists, s: Scalars) -> ast.expr:
        q = node.this
        q = q.this if isinstance(q, exp.Subquery) else q
        outer_refs = external_aliases(q)
        if (
            self.is_simple(q)
            and not q.args.get("joins")
            and q.args.get("where") is not None
            and outer_refs
            and outer_refs <= set(s.frame.sources)
            and s.frame.current is not None
            and not any(subqueries(c) for c in split_and(q.args.get("where")))
        ):
            # (inner.a == outer.b).any() is ibis's spelling of a correlated EXISTS
            frame = Frame(self, s.frame, correlated=True)
            src = self.source(arg(q, "from").this, frame)  # type: ignore[union-attr]
            frame.sources[src.alias] = src
            frame.names = JoinNames.start(src.alias, src.columns)
            frame.current = src.var
            frame.reduction = True
            inner = Scalars(self, frame)
            conds = [inner(c) for c in split_and(q.args.get("where"))]
            return py.method(and_all(conds), "any")
        if self.is_simple(q):
            # EXISTS ignores the SELECT list: count the rows FROM/WHERE leaves
            _, chain = self.inner_frame(q, s)
            return py.binop(py.method(chain, "count"), ">", py.lit(0))
        rel = self.query(q, s.frame)
        return py.binop(py.method(rel.node, "count"), ">", py.lit(0))

    # -- windows --------------------------------------------------------------------------------

    def window(self, node: exp.Window, s: Scalars) -> ast.expr:
        if (
            node.args.get("alias") is not None
            and not node.args.get("partition_by")
            and not node.args.get("order")
        ):
            raise self.unsupported(node, "named WINDOW", "spell the window out in OVER (...)")
        if isinstance(node.this, (exp.IgnoreNulls, exp.RespectNulls)):
            raise self.unsupported(node, "IGNORE/RESPECT NULLS")
        framing = [*(node.args.get("partition_by") or []), node.args.get("order")]
        tables = {c.table for f in framing if f is not None for c in f.find_all(exp.Column)}
        if len(tables - {""}) < 2 or s.lookup:
            return self.window_over(node, s)
        # ibis: "Window frame can only depend on a single relation" when the frame names
        # the joined tables; the join's own output columns (`_.category`) are one relation
        frame = s.frame
        if frame.current is not None or len(frame.sources) < 2 or frame.deferred:
            raise self.unsupported(
                node,
                "a window partitioned or ordered by columns of two joined tables",
                "select the join's columns in a CTE first, then window over it",
            )
        frame.deferred = True
        try:
            return self.window_over(node, s)
        finally:
            frame.deferred = False

    def window_over(self, node: exp.Window, s: Scalars) -> ast.expr:
        """`func.over(group_by=..., order_by=..., rows/range=...)` for one OVER (...)."""
        func = node.this
        kwargs: dict[str, ast.expr] = {}
        partition = [s(p) for p in node.args.get("partition_by") or []]
        if partition:
            kwargs["group_by"] = (
                partition[0] if len(partition) == 1 else ast.List(elts=partition, ctx=ast.Load())
            )
        order = node.args.get("order")
        ordered = [self.direction(s(o.this), o) for o in order.expressions] if order else []
        if ordered:
            kwargs["order_by"] = (
                ordered[0] if len(ordered) == 1 else ast.List(elts=ordered, ctx=ast.Load())
            )
        plus_one = False
        framed = True
        ranking = _RANKING.get(type(func))
        if ranking is not None:
            base = py.ibis_call(ranking[0])
            plus_one = ranking[1]
            framed = False
        elif isinstance(func, exp.Ntile):
            base = py.ibis_call("ntile", s(func.this))
            plus_one = True
            framed = False
        elif isinstance(func, (exp.Lag, exp.Lead)):
            args = [
                s(a) for a in (func.args.get("offset"), func.args.get("default")) if a is not None
            ]
            base = py.method(
                s.value(func.this), "lag" if isinstance(func, exp.Lag) else "lead", *args
            )
            framed = False
        elif isinstance(func, exp.FirstValue):
            base = py.method(s.value(func.this), "first")
        elif isinstance(func, exp.LastValue):
            base = py.method(s.value(func.this), "last")
        elif isinstance(func, exp.NthValue):
            offset = literal_value(func.args["offset"])
            base = py.method(s.value(func.this), "nth", py.lit(int(offset) - 1))
        elif isinstance(func, (exp.AggFunc, exp.Filter)):
            base = s(func)
        else:
            raise self.unsupported(func, f"{describe(func)} as a window function")
        spec = node.args.get("spec")
        if spec is not None and framed:
            kind = str(spec.args.get("kind") or "ROWS").lower()
            if spec.args.get("exclude"):
                raise self.unsupported(spec, "window frame EXCLUDE")
            lo = self.frame_bound(spec, spec.args.get("start"), spec.args.get("start_side"), s)
            end = spec.args.get("end")
            # `ROWS n PRECEDING` without BETWEEN ends at the current row
            hi = (
                py.lit(0)
                if end is None
                else self.frame_bound(spec, end, spec.args.get("end_side"), s)
            )
            kwargs["rows" if kind == "rows" else "range"] = ast.Tuple(elts=[lo, hi], ctx=ast.Load())
        elif framed and ordered:
            # SQL's default frame with ORDER BY runs from the start to the current peer group
            kwargs["range"] = ast.Tuple(elts=[py.lit(None), py.lit(0)], ctx=ast.Load())
        result = py.method(base, "over", **kwargs)
        if plus_one:  # ibis numbers rows and ranks from 0, SQL from 1
            result = py.binop(result, "+", py.lit(1))
        return result

    def frame_bound(self, spec: exp.Expr, value: object, side: object, s: Scalars) -> ast.expr:
        text = str(value).upper() if isinstance(value, str) else None
        if value is None or text == "UNBOUNDED":
            return py.lit(None)
        if text == "CURRENT ROW":
            return py.lit(0)
        if isinstance(value, exp.Interval):  # RANGE BETWEEN INTERVAL '1' DAY PRECEDING ...
            interval = s(value)
            return py.neg(interval) if str(side).upper() == "PRECEDING" else interval
        if isinstance(value, exp.Expression):
            try:
                amount = literal_value(value)
            except ValueError:
                raise self.unsupported(spec, "window frame with a computed bound") from None
            sign = -1 if str(side).upper() == "PRECEDING" else 1
            return py.lit(sign * amount)
        raise self.unsupported(spec, f"window frame bound {value}")


def agree_nullability(rel: Rel, other: Rel | None = None) -> Rel:
    """Ibis set operations need equal schemas, NOT NULL included: cast known NOT NULL
    columns to their nullable type (`SELECT id ... UNION ...` keeps SQL's meaning)."""
    casts = {}
    for col in rel.columns:
        dtype = rel.dtypes.get(col, "")
        if dtype.startswith("!"):
            casts[col] = dtype[1:]
    if not casts:
        return rel
    node = py.method(
        rel.node,
        "cast",
        ast.Dict(keys=[py.lit(k) for k in casts], values=[py.lit(v) for v in casts.values()]),
    )
    dtypes = {**rel.dtypes, **casts}
    return Rel(node, rel.columns, dtypes)


TYPED_NULL = "ibert_typed_null"


def grouping_sets_of(kind: str, spec: exp.Expr) -> list[list[exp.Expr]] | None:
    """The groupings of ROLLUP (prefixes), CUBE (subsets) or GROUPING SETS, largest first."""
    elems = list(spec.expressions)
    if kind == "rollup":
        return [elems[:size] for size in range(len(elems), -1, -1)]
    if kind == "cube":
        n = len(elems)
        if n > 6:
            return None
        masks = sorted(range(2**n), key=lambda m: (-bin(m).count("1"), -m))
        return [[e for j, e in enumerate(elems) if m & (1 << (n - 1 - j))] for m in masks]
    out = []
    for g in elems:
        if isinstance(g, exp.Tuple):
            out.append(list(g.expressions))
        else:
            out.append([unparen(g)])
    return out


def nulled(node: exp.Expr, keys: dict[exp.Expr, exp.Expr]) -> exp.Expr:
    """`node` with the rolled-up `keys` (outside aggregates) replaced by their typed NULL, and
    `GROUPING(a, b)` by its value in this grouping (a bit set for each key left out)."""

    def replace(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.Grouping):
            args = n.expressions
            bits = [1 if a in keys else 0 for a in args]
            return exp.Literal.number(sum(b << (len(bits) - 1 - i) for i, b in enumerate(bits)))
        if n in keys and not any(isinstance(p, exp.AggFunc) for p in _ancestors(n, node)):
            return keys[n].copy()
        return n

    return node.copy().transform(replace) if node.parent is None else node.transform(replace)


def _ancestors(n: exp.Expr, root: exp.Expr) -> list[exp.Expr]:
    out = []
    cur = n.parent
    while cur is not None and cur is not root.parent:
        out.append(cur)
        cur = cur.parent
    return out


def type_nulls(rel: Rel, other: Rel) -> Rel:
    """A bare NULL column of one side of a set operation takes the other side's type."""
    casts = {}
    for mine, theirs in zip(rel.columns, other.columns, strict=False):
        other_type = other.dtypes.get(theirs, "null").lstrip("!")
        if rel.dtypes.get(mine) == "null" and other_type != "null":
            casts[mine] = other_type
    if not casts:
        return rel
    keys: list[ast.expr | None] = [py.lit(k) for k in casts]
    node = py.method(
        rel.node, "cast", ast.Dict(keys=keys, values=[py.lit(v) for v in casts.values()])
    )
    return Rel(node, rel.columns, {**rel.dtypes, **casts})


def default_name(node: exp.Expr) -> str:
    """A readable name for an unnamed projection: `count`, `sum_amount`, `upper_name`."""
    if isinstance(node, exp.Count) and (node.this is None or isinstance(node.this, exp.Star)):
        return "count"
    func = type(node).__name__.lower() if isinstance(node, exp.Func) else "value"
    if isinstance(node, exp.Anonymous):
        func = node.name.lower()
    column = next((c.name for c in node.find_all(exp.Column)), None)
    name = f"{func}_{column}" if column else func
    return name if py.is_identifier(name) else "value"


def unparse_kwargs(node: ast.Call) -> dict[str, str]:
    return {k.arg or "": py.unparse(k.value) for k in node.keywords}


def unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def chain_of(node: ast.expr) -> ast.expr:
    """The table a `group_by(...)` call groups (for GROUP BY without aggregates)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "group_by"
    ):
        return node.func.value
    return node


def top_value(value: ast.expr) -> ast.expr:
    """A value passed to select/mutate/agg: a bare string there would name a column."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return as_ibis(value)
    return value


def is_literal_node(node: exp.Expr) -> bool:
    return isinstance(node, (exp.Literal, exp.Boolean, exp.Null))


def is_column_equality(node: exp.Expr) -> bool:
    return (
        isinstance(node, exp.EQ)
        and isinstance(node.this, exp.Column)
        and isinstance(node.expression, exp.Column)
        and node.this.table != node.expression.table
    )


def local_aliases_all(preds: Iterable[exp.Expr]) -> set[str]:
    out: set[str] = set()
    for p in preds:
        out |= local_aliases(p)
    return out


def aggregates_in(node: exp.Expr) -> list[exp.Expr]:
    """The outermost aggregate calls in `node` (FILTER included), not inside subqueries."""
    found: list[exp.Expr] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, (exp.Filter, exp.WithinGroup)) and isinstance(cur.this, exp.AggFunc):
            found.append(cur)
            continue
        if (  # ARRAY_AGG(x IGNORE NULLS): the aggregate with its modifier
            isinstance(cur, exp.IgnoreNulls)
            and isinstance(cur.this, exp.AggFunc)
            and not isinstance(cur.parent, exp.Window)
        ):
            found.append(cur)
            continue
        if isinstance(cur, exp.AggFunc) and not isinstance(cur.parent, exp.Window):
            found.append(cur)
            continue
        for child in cur.iter_expressions():
            if isinstance(child, (exp.Subquery, exp.Query)):
                continue
            stack.append(child)
    return found


def pure_aggregate(node: exp.Expr) -> bool:
    """Aggregates (and constants) only: every column sits inside an aggregate call."""
    if contains_window(node) or not contains_aggregate(node):
        return False
    inside: set[int] = set()
    for agg in aggregates_in(node):
        inside.update(id(n) for n in agg.walk())
    return all(not (isinstance(n, exp.Column) and id(n) not in inside) for n in own_nodes(node))


def subqueries_correlated(node: exp.Expr, frame: Frame) -> bool:
    return any(external_aliases(q) & set(frame.sources) for q in subqueries(node))


def check_grouped(tr: Translator, node: exp.Expr, post: dict[exp.Expr, str]) -> None:
    """Every column outside aggregates must be a group key (or inside one)."""

    def visit(cur: exp.Expr) -> None:
        if cur in post:
            return
        if isinstance(cur, exp.Column) and cur.table:
            raise tr.unsupported(
                cur, f"column {cur.sql()} outside GROUP BY", "group by it or aggregate it"
            )
        for child in cur.iter_expressions():
            if isinstance(child, (exp.Subquery, exp.Query)):
                continue
            visit(child)

    visit(node)


__all__ = ["Frame", "Rel", "Source", "Translator", "is_literal"]
