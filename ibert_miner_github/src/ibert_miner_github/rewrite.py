"""Mined Ibis code rewritten into the validator's form: tables are free names, the final
expression is assigned to `expr`.

`t = con.table("orders")` becomes the free name `orders`; `ibis.table({...}, name="x")`,
`ibis.memtable(...)` and `con.create_table(...)` become free names whose schema is read
from the literal; connections, displays and other side effects are dropped. What cannot
be put in that form raises `NotRewritable` with a short reason key (counted by the miner).
Everything here is `ast` work: mined code is never executed.
"""

from __future__ import annotations

import ast
import builtins
import copy
import keyword
from collections.abc import Mapping, Sequence
from functools import lru_cache

import attrs

from ibert_miner_github.schemas import (
    KNOWN_EXAMPLES,
    Usage,
    _dotted,
    data_schema,
    hint_for_use,
    literal,
    schema_literal,
    sql_usage,
)

ALLOWED_IMPORTS = {"ibis", "ibis.selectors"}
ALLOWED_FROM = {("ibis", "_"), ("ibis", "selectors"), ("ibis", "deferred")}
OUTPUT_METHODS = frozenset(
    [
        "execute",
        "to_pandas",
        "to_pyarrow",
        "to_polars",
        "to_csv",
        "to_parquet",
        "to_list",
        "to_pyarrow_batches",
        "preview",
        "to_pandas_batches",
    ]
)
TABLE_RETURNING = frozenset(
    [
        "filter",
        "select",
        "mutate",
        "agg",
        "aggregate",
        "order_by",
        "limit",
        "head",
        "distinct",
        "join",
        "inner_join",
        "left_join",
        "right_join",
        "outer_join",
        "cross_join",
        "semi_join",
        "anti_join",
        "asof_join",
        "union",
        "intersect",
        "difference",
        "drop",
        "rename",
        "relocate",
        "dropna",
        "fillna",
        "sample",
        "unnest",
        "pivot_longer",
        "pivot_wider",
        "view",
        "alias",
        "having",
        "group_by",
        "window_by",
        "cast",
        "try_cast",
    ]
)
COLUMN_ARG_METHODS = frozenset(
    [
        "select",
        "group_by",
        "order_by",
        "drop",
        "relocate",
        "dropna",
        "distinct",
        "asc",
        "desc",
        "unnest",
    ]
)
CONNECTION_NAMES = frozenset({"con", "conn", "connection", "backend", "client", "engine"})
BACKEND_METHODS = frozenset(
    [
        "table",
        "sql",
        "raw_sql",
        "list_tables",
        "create_table",
        "drop_table",
        "create_view",
        "drop_view",
        "cache_table",
        "insert",
        "truncate_table",
        "create_database",
        "drop_database",
        "list_databases",
        "load_extension",
        "register",
        "attach",
        "disconnect",
    ]
)
NOT_EXPRESSIONS = frozenset({"connect", "set_backend", "schema", "get_backend"})
READERS = frozenset(["read_csv", "read_parquet", "read_json", "read_delta"])
SAFE_NAMES = frozenset({"ibis", "_", "s", "expr"}) | frozenset(dir(builtins))


class NotRewritable(Exception):
    """The code cannot be put in validator form; `reason` is a short key for the summary."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@attrs.frozen
class Rewritten:
    """Validator-form code, the schema it reads and whether that schema was inferred."""

    code: str
    schema: Mapping[str, Mapping[str, str]]
    inferred: bool
    tables: tuple[str, ...]


@lru_cache(maxsize=1)
def table_methods() -> frozenset[str]:
    """Public attribute names of ibis tables, so `t.filter` is not taken for a column."""
    try:
        from ibis.expr.types import Table

        return frozenset(n for n in dir(Table) if not n.startswith("_"))
    except Exception:  # noqa: BLE001 - without ibis, the static list still works
        return TABLE_RETURNING | OUTPUT_METHODS | frozenset({"schema", "columns", "count"})


def _root(node: ast.AST) -> ast.AST:
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return node


def strip_output(node: ast.expr) -> ast.expr:
    """`x.execute()`, `print(x)`, `con.execute(x)` → `x`: the expression, not its result."""
    while isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and (
            func.attr in OUTPUT_METHODS or (func.attr == "compile" and not node.args)
        ):
            if func.attr == "execute" and node.args and not _looks_like_table(func.value):
                node = node.args[0]  # con.execute(expr)
            else:
                node = func.value
        elif isinstance(func, ast.Name) and func.id in ("print", "display") and node.args:
            node = node.args[0]
        else:
            break
    return node


def _looks_like_table(node: ast.AST) -> bool:
    return not (isinstance(node, ast.Name) and node.id in ("con", "conn", "connection", "backend"))


class _Sources(ast.NodeTransformer):
    """Replace table-creating calls by free table names, remembering their schemas."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.var: str | None = None

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        found = self.state.table_source(node, self.var)
        if found is None:
            return node
        return ast.copy_location(ast.Name(found, ast.Load()), node)


@attrs.define
class _State:
    tables: dict[str, dict[str, str] | None] = attrs.field(factory=dict)
    connections: set[str] = attrs.field(factory=set)
    literals: dict[str, ast.AST] = attrs.field(factory=dict)
    unavailable: set[str] = attrs.field(factory=set)
    raw_sql: set[str] = attrs.field(factory=set)
    known_from: dict[str, str] = attrs.field(factory=dict)

    def add_table(self, name: str, schema: dict[str, str] | None, how: str) -> str:
        if not name.isidentifier() or keyword.iskeyword(name) or name in SAFE_NAMES:
            raise NotRewritable("table_name_not_identifier", name)
        if schema is not None or name not in self.tables:
            self.tables[name] = schema
        self.known_from[name] = how
        return name

    def _data_schema(self, node: ast.AST | None) -> dict[str, str] | None:
        if node is None:
            return None
        if isinstance(node, ast.Name) and node.id in self.literals:
            node = self.literals[node.id]
        if isinstance(node, ast.Call) and _dotted(node.func).endswith("DataFrame") and node.args:
            node = node.args[0]
        try:
            return data_schema(literal(node))
        except (ValueError, SyntaxError, TypeError):
            return None

    def _schema_of(self, spec: ast.AST) -> dict[str, str] | None:
        """A schema literal, or a name bound to one earlier; None when it is not literal."""
        if isinstance(spec, ast.Name) and spec.id in self.literals:
            spec = self.literals[spec.id]
        if isinstance(spec, ast.Call) and _dotted(spec.func) == "ibis.schema" and spec.args:
            inner = spec.args[0]
            if isinstance(inner, ast.Name) and inner.id in self.literals:
                spec = self.literals[inner.id]
        try:
            return schema_literal(spec)
        except (ValueError, SyntaxError, TypeError):
            return None

    def _nested_schema(self, node: ast.Call) -> dict[str, str] | None:
        """A schema given deeper in the data argument (`pa.Table.from_pydict(data,
        schema=ibis.schema(s).to_pyarrow())`): a `schema=` or `ibis.schema(...)` of literals."""
        for inner in ast.walk(node):
            if not isinstance(inner, ast.Call):
                continue
            specs = [kw.value for kw in inner.keywords if kw.arg == "schema"]
            if _dotted(inner.func) == "ibis.schema" and inner.args:
                specs.append(inner)
            for spec in specs:
                found = self._schema_of(spec)
                if found is not None:
                    return found
        return None

    def table_source(self, node: ast.Call, var: str | None) -> str | None:
        func = node.func
        name = _dotted(func)
        kwargs = {kw.arg: kw.value for kw in node.keywords if kw.arg}

        def const(value: ast.AST | None) -> str | None:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
            return None

        if name == "ibis.table":
            spec = node.args[0] if node.args else kwargs.get("schema")
            schema = self._schema_of(spec) if spec is not None else None
            tname = const(kwargs.get("name")) or const(node.args[1] if len(node.args) > 1 else None)
            return self.add_table(tname or var or "t", schema, "ibis.table")
        if name == "ibis.memtable":
            schema = None
            if "schema" in kwargs:
                schema = self._schema_of(kwargs["schema"])
            if schema is None:
                schema = self._data_schema(node.args[0] if node.args else kwargs.get("data"))
            if schema is None:
                schema = self._nested_schema(node)
            tname = const(kwargs.get("name")) or var or "t"
            return self.add_table(tname, schema, "ibis.memtable")
        if name.startswith("ibis.examples.") and name.endswith(".fetch"):
            tname = name.split(".")[2]
            known = KNOWN_EXAMPLES.get(tname)
            return self.add_table(tname, dict(known) if known else None, "ibis.examples")
        if isinstance(func, ast.Attribute):
            if func.attr in ("table",) and node.args and const(node.args[0]):
                return self.add_table(const(node.args[0]) or "", None, "con.table")
            if func.attr == "create_table" and node.args and const(node.args[0]):
                schema = None
                if "schema" in kwargs:
                    schema = self._schema_of(kwargs["schema"])
                obj = node.args[1] if len(node.args) > 1 else kwargs.get("obj")
                if schema is None and obj is not None:
                    if isinstance(obj, ast.Name) and obj.id in self.tables:
                        schema = self.tables[obj.id]
                    else:
                        schema = self._data_schema(obj)
                return self.add_table(const(node.args[0]) or "", schema, "create_table")
            if func.attr in READERS:
                tname = const(kwargs.get("table_name")) or var or "t"
                return self.add_table(tname, None, "read_file")
            if func.attr in ("sql", "raw_sql"):
                raise NotRewritable("raw_sql_in_ibis_code")
        return None


def _is_connect(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _dotted(node.func).split(".")[-1] == "connect"


def _assigned(stmt: ast.stmt) -> set[str]:
    out = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, (ast.comprehension,)):
            out |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    return out


def rewrite(
    statements: Sequence[ast.stmt],
    target: ast.expr,
    *,
    params: Sequence[str] = (),
    sql: str | None = None,
    defaults: Mapping[str, ast.expr] | None = None,
) -> Rewritten:
    """`statements` then `expr = target`, in validator form (see the module docstring).

    `params` are names that stand for tables (a function's parameters) unless `defaults`
    gives them a literal value; `sql`, the
    reference query, adds the tables and columns it reads to an inferred schema.
    """
    # the transformer edits nodes in place and callers share setup statements between
    # candidates (a doctest session), so work on copies
    body: list[ast.stmt] = copy.deepcopy(list(statements))
    defaults = {k: copy.deepcopy(v) for k, v in (defaults or {}).items()}
    target = copy.deepcopy(target)
    state = _State()
    for p in params:
        if p not in defaults:
            state.add_table(p, None, "parameter")
    body = [
        ast.Assign([ast.Name(name, ast.Store())], value, lineno=0)
        for name, value in defaults.items()
    ] + body
    sources = _Sources(state)
    out: list[ast.stmt] = []
    for stmt in body:
        out.extend(_statement(stmt, state, sources))
    sources.var = "expr"
    final = sources.visit(strip_output(target))
    if isinstance(final, ast.Call) and _dotted(final.func).split(".")[-1] in NOT_EXPRESSIONS:
        raise NotRewritable("not_an_expression", _dotted(final.func))
    if isinstance(final, ast.Name) and final.id in state.tables:
        raise NotRewritable("no_operation", final.id)  # a table on its own shows nothing
    out.append(ast.Assign([ast.Name("expr", ast.Store())], final, lineno=0))
    module = ast.fix_missing_locations(ast.Module(_live(out), []))
    _check_names(module, state)
    schema, inferred = _schema(module, state, sql)
    code = ast.unparse(module)
    return Rewritten(code, schema, inferred, tuple(schema))


def _live(statements: list[ast.stmt]) -> list[ast.stmt]:
    """Only the statements the final `expr = ...` depends on (mined code around an
    expression often computes other things)."""
    kept: list[ast.stmt] = []
    live: set[str] = set()
    for stmt in reversed(statements):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in stmt.names}
        else:
            bound = {
                n.id
                for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            }
        if kept and not bound & live:
            continue
        kept.append(stmt)
        if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
            live |= {
                n.id
                for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
    return list(reversed(kept))


def _statement(stmt: ast.stmt, state: _State, sources: _Sources) -> list[ast.stmt]:
    if isinstance(stmt, ast.Import):
        kept = [a for a in stmt.names if a.name in ALLOWED_IMPORTS]
        state.unavailable |= {(a.asname or a.name).split(".")[0] for a in stmt.names} - {
            (a.asname or a.name).split(".")[0] for a in kept
        }
        return [ast.Import(kept)] if kept else []
    if isinstance(stmt, ast.ImportFrom):
        kept = [a for a in stmt.names if (stmt.module, a.name) in ALLOWED_FROM]
        state.unavailable |= {a.asname or a.name for a in stmt.names if a not in kept}
        return [ast.ImportFrom(stmt.module, kept, 0)] if kept else []
    if isinstance(stmt, ast.Pass):
        return []
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Call):
            sources.var = None
            try:
                sources.visit(stmt.value)  # con.create_table(...) registers a table
            except NotRewritable:
                pass
        return []  # displays and side effects are not part of the expression
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets: list[ast.expr] = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        value = stmt.value
        if value is None:
            return []
        if any(not isinstance(t, (ast.Name, ast.Tuple)) for t in targets):
            if all(_dotted(t).startswith("ibis.") for t in targets):
                return []  # ibis.options.interactive = True
            raise NotRewritable("attribute_assignment")
        var = targets[0].id if isinstance(targets[0], ast.Name) else None
        if _is_connect(value):
            if var:
                state.connections.add(var)
            return []
        if var:
            try:
                literal(value)
                state.literals[var] = value
            except (ValueError, SyntaxError, TypeError):
                pass
            if (
                isinstance(value, ast.Call)
                and _dotted(value.func).endswith("DataFrame")
                and value.args
                and state._data_schema(value.args[0]) is not None
            ):
                state.literals[var] = value.args[0]  # pandas data: read as memtable data
                return []
        sources.var = var
        try:
            new_value = sources.visit(value)
        except NotRewritable as err:
            if err.reason != "raw_sql_in_ibis_code" or not var:
                raise
            state.raw_sql.add(var)  # a `con.sql(...)` result: fine unless the expression uses it
            return []
        if var and isinstance(new_value, ast.Name) and new_value.id == var:
            return []
        return [ast.Assign(targets, new_value, lineno=stmt.lineno)]
    if isinstance(stmt, ast.AugAssign):
        return [stmt]
    raise NotRewritable("control_flow", type(stmt).__name__)


def _check_names(module: ast.Module, state: _State) -> None:
    assigned: set[str] = set()
    for stmt in module.body:
        assigned |= _assigned(stmt)
        if isinstance(stmt, ast.Import):
            assigned |= {(a.asname or a.name).split(".")[0] for a in stmt.names}
        if isinstance(stmt, ast.ImportFrom):
            assigned |= {a.asname or a.name for a in stmt.names}
    for node in ast.walk(module):
        if isinstance(node, ast.Attribute) and node.attr in OUTPUT_METHODS:
            raise NotRewritable("executes", node.attr)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name = node.id
            if name in assigned or name in state.tables or name in SAFE_NAMES:
                continue
            if name in state.connections:
                raise NotRewritable("uses_connection", name)
            if name in state.unavailable:
                raise NotRewritable("non_ibis_import", name)
            if name in state.raw_sql:
                raise NotRewritable("raw_sql_in_ibis_code", name)
            if name in CONNECTION_NAMES or _backend_use(module, name):
                raise NotRewritable("uses_connection", name)
            if _used_as_table(module, name):
                state.add_table(name, None, "free_name")
                continue
            raise NotRewritable("undefined_name", name)


def _backend_use(module: ast.Module, name: str) -> bool:
    return any(
        isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id == name
        and n.attr in BACKEND_METHODS
        for n in ast.walk(module)
    )


def _used_as_table(module: ast.Module, name: str) -> bool:
    """A name never bound but only read through columns and table methods: a table from the
    surrounding session (a doctest namespace, an earlier notebook cell)."""
    if not name.islower():
        return False
    parents = {id(c): p for p in ast.walk(module) for c in ast.iter_child_nodes(p)}
    uses = [n for n in ast.walk(module) if isinstance(n, ast.Name) and n.id == name]
    for use in uses:
        parent = parents.get(id(use))
        if isinstance(parent, ast.Call) and parent.func is use:
            return False
        if not isinstance(parent, (ast.Attribute, ast.Subscript, ast.Assign, ast.keyword)):
            return False
    return bool(uses)


def _schema(
    module: ast.Module, state: _State, sql: str | None
) -> tuple[dict[str, dict[str, str]], bool]:
    unknown = [t for t, s in state.tables.items() if s is None]
    usage = Usage()
    for t in unknown:
        usage.table(t)
    base: dict[str, str] = {t: t for t in state.tables}
    methods = table_methods()
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(module):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    for stmt in module.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
            root = _root(value)
            if (
                isinstance(target, ast.Name)
                and isinstance(root, ast.Name)
                and root.id in base
                and (isinstance(value, ast.Name) or _last_method(value) in TABLE_RETURNING)
            ):
                base[target.id] = base[root.id]
    for node in ast.walk(module):
        table, column = None, None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in base and node.attr not in methods and not node.attr.startswith("_"):
                table, column = base[node.value.id], node.attr
            elif node.value.id == "_":
                table, column = _chain_table(node, parents, base), node.attr
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in base
        ):
            keys = (
                node.slice.elts if isinstance(node.slice, (ast.List, ast.Tuple)) else [node.slice]
            )
            names = [
                k.value for k in keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]
            if len(names) == 1 and keys[0] is node.slice:
                table, column = base[node.value.id], names[0]
            elif base[node.value.id] in unknown:
                for name in names:
                    usage.add(base[node.value.id], name)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in COLUMN_ARG_METHODS
        ):
            owner = _root(node.func.value)
            called = base.get(owner.id) if isinstance(owner, ast.Name) else None
            if called is None and _dotted(node.func) in ("ibis.desc", "ibis.asc"):
                called = _chain_table(node, parents, base)
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and called:
                    usage.add(called, arg.value)
                if isinstance(arg, (ast.List, ast.Tuple)) and called:
                    for elt in arg.elts:
                        if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                            usage.add(called, elt.value)
        if table in unknown and column:
            usage.add(table, column, hint_for_use(parents.get(id(node)), node))
    if sql:
        sql_usage(sql, usage, unknown[0] if len(unknown) == 1 else None)
    schema: dict[str, dict[str, str]] = {}
    inferred_tables = usage.schema()
    read = {n.id for n in ast.walk(module) if isinstance(n, ast.Name)}
    for t, s in state.tables.items():
        if t not in read and not usage.columns.get(t):
            continue  # e.g. a `con` parameter whose tables were rewritten to free names
        schema[t] = dict(s) if s is not None else inferred_tables.get(t, {})
    for t, cols in inferred_tables.items():
        if t not in schema and t not in state.tables:  # tables only the SQL reads
            schema[t] = cols
    inferred = False
    for t, cols in schema.items():
        if state.tables.get(t) is None:
            inferred = True
            if not cols:
                cols["id"] = "int64"
    return schema, inferred


def _last_method(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node, ast.Subscript):
        return "select"
    return None


def _chain_table(
    node: ast.AST, parents: Mapping[int, ast.AST], base: Mapping[str, str]
) -> str | None:
    """The table of the nearest enclosing method call whose chain starts at a table name."""
    current = parents.get(id(node))
    while current is not None:
        if isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            root = _root(current.func.value)
            if isinstance(root, ast.Name) and root.id in base:
                return base[root.id]
        current = parents.get(id(current))
    return next(iter(base.values()), None) if len(set(base.values())) == 1 else None
