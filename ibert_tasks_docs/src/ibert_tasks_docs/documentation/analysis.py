"""What a function's source says about it: parameters and their types, what it returns,
what it raises, and — for functions that build Ibis expressions — what the pipeline does.

Everything comes from the AST; nothing is executed here. Types come from annotations
first, then from defaults, then from how the body uses the name (a parameter whose
`.filter()` and `.group_by()` are called is a table).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

#: Methods of `ibis.Table`: a name they are called on is a table.
TABLE_METHODS = frozenset({
    "filter", "group_by", "aggregate", "agg", "mutate", "select", "join", "left_join",
    "inner_join", "outer_join", "right_join", "semi_join", "anti_join", "cross_join",
    "asof_join", "order_by", "limit", "head", "distinct", "drop", "rename", "union",
    "intersect", "difference", "pivot_longer", "pivot_wider", "unnest", "relocate",
    "drop_null", "fill_null", "sample", "window_by", "schema", "columns", "count",
})
#: Methods that reduce a column to a scalar.
REDUCTIONS = frozenset({
    "sum", "mean", "max", "min", "count", "nunique", "median", "std", "var", "quantile",
    "first", "last", "any", "all", "approx_nunique", "approx_median", "arbitrary",
})
#: Methods that leave a column a column.
COLUMN_METHODS = frozenset({
    "cast", "isnull", "notnull", "fill_null", "lower", "upper", "strip", "round", "abs",
    "year", "month", "day", "truncate", "strftime", "isin", "between", "over", "lag", "lead",
    "cumsum", "rank", "substr", "contains", "like", "re_extract", "re_replace", "length",
    "startswith", "endswith", "coalesce", "ifelse", "cases", "name", "desc", "asc",
} | REDUCTIONS)

_JOINS = {
    "join": "joins", "inner_join": "inner-joins", "left_join": "left-joins",
    "right_join": "right-joins", "outer_join": "outer-joins", "semi_join": "semi-joins",
    "anti_join": "anti-joins", "cross_join": "cross-joins", "asof_join": "as-of-joins",
}
_LITERAL_TYPES = {bool: "bool", int: "int", float: "float", str: "str", bytes: "bytes"}


@attrs.frozen
class Param:
    name: str
    kind: str  # positional | keyword | var_positional | var_keyword
    type: str
    default: str | None = None
    inferred: bool = False
    #: How the body uses the name (`_usage` markers), for a description that says its role.
    uses: tuple[str, ...] = ()

    @property
    def doc_name(self) -> str:
        """The name as numpydoc writes it (`*args`, `**kwargs`)."""
        return {"var_positional": "*", "var_keyword": "**"}.get(self.kind, "") + self.name


@attrs.frozen
class Raise:
    exception: str
    message: str = ""
    condition: str = ""  # the `if` test the raise sits under, when it is that direct


@attrs.frozen
class Step:
    """One ibis call in evaluation order, described for a reader."""

    method: str
    text: str


@attrs.frozen
class FunctionInfo:
    name: str
    qualname: str
    params: tuple[Param, ...]
    returns: str | None
    raises: tuple[Raise, ...]
    steps: tuple[Step, ...]
    tables: tuple[str, ...]
    is_method: bool
    lineno: int


def functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Top-level functions and methods of top-level classes, with qualified names.

    `@overload` stubs are skipped: the implementation after them carries the docstring.
    """
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _overload(node):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not _overload(
                    item
                ):
                    yield f"{node.name}.{item.name}", item


def _overload(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        (isinstance(d, ast.Name) and d.id == "overload")
        or (isinstance(d, ast.Attribute) and d.attr == "overload")
        for d in node.decorator_list
    )


def analyse(
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    qualname: str,
    table_names: Sequence[str] = (),
) -> FunctionInfo:
    is_method = "." in qualname
    usage = _usage(node)
    params = []
    for p in _params(node, is_method):
        annotation, default_node, kind = p
        name = annotation.arg
        default = ast.unparse(default_node) if default_node is not None else None
        if annotation.annotation is not None:
            ptype, inferred = ast.unparse(annotation.annotation), False
        else:
            ptype, inferred = _infer_param(name, default_node, usage, table_names), True
        uses = tuple(sorted(usage.get(name, ())))
        params.append(Param(name, kind, ptype, default, inferred, uses))
    steps, tables = _pipeline(node, [p.name for p in params if p.type == "ibis.Table"])
    return FunctionInfo(
        name=node.name,
        qualname=qualname,
        params=tuple(params),
        returns=_returns(node, {p.name: p.type for p in params}),
        raises=tuple(_raises(node)),
        steps=tuple(steps),
        tables=tuple(tables),
        is_method=is_method,
        lineno=node.lineno,
    )


def _params(
    node: ast.FunctionDef | ast.AsyncFunctionDef, is_method: bool
) -> Iterator[tuple[ast.arg, ast.expr | None, str]]:
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(
        a.defaults)
    decorators = {ast.unparse(d) for d in node.decorator_list}
    skip_first = is_method and "staticmethod" not in decorators
    for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        if i == 0 and skip_first and arg.arg in ("self", "cls"):
            continue
        yield arg, default, "positional"
    if a.vararg:
        yield a.vararg, None, "var_positional"
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        yield arg, default, "keyword"
    if a.kwarg:
        yield a.kwarg, None, "var_keyword"


def _walk_own(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function body, not descending into nested functions or classes."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        n = stack.pop()
        yield n
        if not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))


def _usage(node: ast.AST) -> dict[str, set[str]]:
    """For each name: the methods called on it and how else it is used."""
    out: dict[str, set[str]] = {}
    for n in _walk_own(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            recv = n.func.value
            if isinstance(recv, ast.Name):
                out.setdefault(recv.id, set()).add(n.func.attr)
        if isinstance(n, ast.Subscript):
            if isinstance(n.slice, ast.Name):
                out.setdefault(n.slice.id, set()).add("[as key]")
            if isinstance(n.value, ast.Name) and isinstance(n.slice, ast.Constant) and isinstance(
                    n.slice.value, str):
                out.setdefault(n.value.id, set()).add("[column]")
        if isinstance(n, ast.JoinedStr):
            for v in n.values:
                if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name):
                    out.setdefault(v.value.id, set()).add("[format]")
        if isinstance(n, ast.Call):
            for arg in [*n.args, *(k.value for k in n.keywords)]:
                if isinstance(arg, ast.Name) and isinstance(n.func, ast.Attribute):
                    out.setdefault(arg.id, set()).add(f"[arg of {n.func.attr}]")
        if isinstance(n, ast.Compare) and len(n.comparators) == 1:
            for side in (n.left, n.comparators[0]):
                if isinstance(side, ast.Name):
                    out.setdefault(side.id, set()).add(f"[compared in {ast.unparse(n)}]")
        if isinstance(n, ast.BinOp):
            for side in (n.left, n.right):
                other = n.right if side is n.left else n.left
                if isinstance(side, ast.Name) and isinstance(other, ast.Constant):
                    t = _LITERAL_TYPES.get(type(other.value))
                    if t in ("int", "float"):
                        out.setdefault(side.id, set()).add("[number]")
    return out


def _infer_param(
    name: str, default: ast.expr | None, usage: dict[str, set[str]], tables: Sequence[str]
) -> str:
    used = usage.get(name, set())
    if isinstance(default, ast.Constant) and default.value is not None:
        return _LITERAL_TYPES.get(type(default.value), type(default.value).__name__)
    if name in tables or used & (TABLE_METHODS - COLUMN_METHODS) or "[column]" in used:
        return "ibis.Table"
    if used & COLUMN_METHODS:
        return "ibis.Column"
    joined = {u for u in used if u.startswith("[arg of ")}
    if {"[arg of join]", "[arg of left_join]", "[arg of inner_join]", "[arg of union]",
            "[arg of anti_join]", "[arg of semi_join]"} & joined:
        return "ibis.Table"
    if "[as key]" in used or joined & {"[arg of group_by]", "[arg of order_by]",
                                       "[arg of select]", "[arg of drop]"}:
        return "str"
    if "[arg of limit]" in joined or "[arg of head]" in joined:
        return "int"
    if "[number]" in used:
        return "float"
    if "[format]" in used:
        return "str"
    if isinstance(default, ast.Constant) and default.value is None:
        return "object"
    return "object"


def _returns(node: ast.FunctionDef | ast.AsyncFunctionDef, params: dict[str, str]) -> str | None:
    if node.returns is not None:
        text = ast.unparse(node.returns)
        return None if text == "None" else text
    values = [n.value for n in _walk_own(node) if isinstance(n, ast.Return) and n.value]
    if not values:
        return None
    return _expr_type(values[-1], params)


def _expr_type(value: ast.expr, params: dict[str, str]) -> str:
    if isinstance(value, ast.Constant):
        return _LITERAL_TYPES.get(type(value.value), "object")
    if isinstance(value, ast.JoinedStr):
        return "str"
    if isinstance(value, ast.Compare) or (
        isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not)
    ):
        return "bool"
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, ast.Tuple):
        return "tuple"
    if isinstance(value, ast.Name):
        return params.get(value.id, "object")
    if isinstance(value, ast.BinOp):
        sides = {_expr_type(value.left, params), _expr_type(value.right, params)}
        for kind in ("list", "tuple", "str", "float"):
            if kind in sides:
                return kind
        if sides == {"int"}:
            return "float" if isinstance(value.op, ast.Div) else "int"
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and params.get(
            value.value.id) == "ibis.Table":
        return "ibis.Column"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        attr = value.func.attr
        if attr in ("to_pandas", "execute"):
            return "pandas.DataFrame"
        if attr in ("to_sql", "compile") or ast.unparse(value.func) == "ibis.to_sql":
            return "str"
        if attr in ("to_pyarrow",):
            return "pyarrow.Table"
        if attr in REDUCTIONS and not _on_table(value.func.value, params):
            return "ibis.Scalar"
        if attr in TABLE_METHODS and attr != "count":
            return "ibis.Table"
        if attr in COLUMN_METHODS:
            return "ibis.Column"
        if attr in ("table", "read_parquet", "read_csv", "memtable", "read_json"):
            return "ibis.Table"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return {"len": "int", "str": "str", "int": "int", "float": "float", "bool": "bool",
                "list": "list", "dict": "dict", "sorted": "list"}.get(value.func.id, "object")
    return "object"


def _on_table(receiver: ast.expr, params: dict[str, str]) -> bool:
    return isinstance(receiver, ast.Name) and params.get(receiver.id) == "ibis.Table"


def _raises(node: ast.AST) -> Iterator[Raise]:
    seen: set[str] = set()
    conditions: dict[int, str] = {}
    for n in _walk_own(node):
        if isinstance(n, ast.If):
            for child in n.body:
                if isinstance(child, ast.Raise):
                    conditions[id(child)] = ast.unparse(n.test)
    for n in sorted((n for n in _walk_own(node) if isinstance(n, ast.Raise)),
                    key=lambda n: (n.lineno, n.col_offset)):
        exc = n.exc
        if exc is None:
            continue  # a bare re-raise documents nothing new
        name = ast.unparse(exc.func if isinstance(exc, ast.Call) else exc)
        message = ""
        if isinstance(exc, ast.Call) and exc.args:
            first = exc.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                message = first.value
            elif isinstance(first, ast.JoinedStr):
                message = "".join(
                    str(v.value) if isinstance(v, ast.Constant)
                    else "{" + ast.unparse(v.value) + "}"
                    for v in first.values
                    if isinstance(v, (ast.Constant, ast.FormattedValue))
                )
        if name not in seen:
            seen.add(name)
            yield Raise(name, message, conditions.get(id(n), ""))


# --- what an ibis pipeline does -----------------------------------------------------------


def _pipeline(node: ast.AST, table_params: Sequence[str]) -> tuple[list[Step], list[str]]:
    steps: list[Step] = []
    tables: list[str] = list(table_params)
    body = node.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
    for stmt in body:
        for call in _calls_in_order(stmt):
            step = _describe_call(call, tables)
            if step is not None and step not in steps:
                steps.append(step)
    return steps, list(dict.fromkeys(tables))


def _calls_in_order(node: ast.AST) -> Iterator[ast.Call]:
    """Calls in evaluation order: a chain's receiver before the call made on it."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return
    if isinstance(node, ast.Call):
        yield from _calls_in_order(node.func)
        for a in [*node.args, *(k.value for k in node.keywords)]:
            yield from _calls_in_order(a)
        yield node
        return
    for child in ast.iter_child_nodes(node):
        yield from _calls_in_order(child)


def _describe_call(call: ast.Call, tables: list[str]) -> Step | None:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return None
    name = func.attr
    args = [ast.unparse(a) for a in call.args]
    kwargs = {k.arg: ast.unparse(k.value) for k in call.keywords if k.arg}
    describe = _DESCRIBERS.get(name)
    if name in ("table", "read_parquet", "read_csv", "read_json") and call.args:
        first = call.args[0]
        label = str(first.value) if isinstance(first, ast.Constant) else ast.unparse(first)
        tables.append(str(label))
        return Step(name, f"reads `{label}`")
    if describe is None:
        return None
    text = describe(args, kwargs)
    if not text:
        return None
    return Step(name, text)


def _n(value: str) -> str:
    return value if value.isdigit() else f"`{value}`"


def sentence_list(items: Iterable[str]) -> str:
    """`a`, `a and b`, `a, b and c`: items as a sentence lists them."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _list(items: Sequence[str]) -> str:
    return sentence_list(f"`{i}`" for i in items)


def _named(args: Sequence[str], kwargs: dict[str, str]) -> list[str]:
    return [*args, *(f"{k}={v}" for k, v in kwargs.items())]


def _join_describer(verb: str) -> Callable[[Sequence[str], dict[str, str]], str]:
    def describe(a: Sequence[str], k: dict[str, str]) -> str:
        if not a:
            return ""
        return f"{verb} `{a[0]}`" + (f" on {_list(a[1:])}" if len(a) > 1 else "")

    return describe


_DESCRIBERS: dict[str, Callable[[Sequence[str], dict[str, str]], str]] = {
    "filter": lambda a, k: f"keeps rows where {_list(a)}" if a else "",
    "group_by": lambda a, k: f"groups by {_list(_named(a, k))}" if a or k else "",
    "aggregate": lambda a, k: f"computes {_list(_named(a, k))}" if a or k else "",
    "agg": lambda a, k: f"computes {_list(_named(a, k))}" if a or k else "",
    "mutate": lambda a, k: f"adds columns {_list(_named(a, k))}" if a or k else "",
    "select": lambda a, k: f"selects {_list(_named(a, k))}" if a or k else "",
    "order_by": lambda a, k: f"sorts by {_list(a)}" if a else "",
    "limit": lambda a, k: f"keeps the first {_n(a[0])} rows" if a else "",
    "head": lambda a, k: f"keeps the first {a[0] if a else 5} rows",
    "distinct": lambda a, k: "removes duplicate rows",
    "drop": lambda a, k: f"drops {_list(a)}" if a else "",
    "rename": lambda a, k: f"renames {_list(_named(a, k))}" if a or k else "",
    "union": lambda a, k: f"appends the rows of {_list(a)}" if a else "",
    "drop_null": lambda a, k: "drops rows with nulls",
    "fill_null": lambda a, k: f"fills nulls with {_n(a[0])}" if a else "fills nulls",
    "pivot_wider": lambda a, k: "pivots rows into columns",
    "pivot_longer": lambda a, k: "pivots columns into rows",
    "over": lambda a, k: f"as a window over {_list(_named(a, k))}" if a or k else "",
    **{j: _join_describer(verb) for j, verb in _JOINS.items()},
}


def describe_pipeline(info: FunctionInfo) -> str:
    """One sentence: what the expression the function builds computes."""
    if not info.steps:
        return ""
    parts = [s.text for s in info.steps if not s.text.startswith("reads ")]
    reads = [s.text[len("reads "):] for s in info.steps if s.text.startswith("reads ")]
    sources = reads or [f"`{t}`" for t in info.tables]
    head = f"Builds an Ibis expression over {', '.join(sources)}" if sources else \
        "Builds an Ibis expression"
    if not parts:
        return head + "."
    body = ", ".join(parts[:-1]) + (", and " if len(parts) > 1 else "") + parts[-1]
    return f"{head} that {body}."
