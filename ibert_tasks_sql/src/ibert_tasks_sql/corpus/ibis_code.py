"""Reading and rewriting Ibis code through Python's `ast`: features, equivalent formulations.

Features come from the Ibis AST itself (the methods and `ibis.*` functions the code calls),
not from regexes over text: cheap, per record, and available without semgrep. The corpus
build adds semgrep's tags on top (`semgrep_tags.py`) in one batch at the end. Rewrites
produce *candidates*: every one is re-validated before it reaches a corpus, so a rewrite
that changes meaning is dropped, not trusted.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator, Mapping

from ibert_tasks_sql.corpus.source import Source

#: method or `ibis.` function name → feature tag.
METHOD_FEATURES: dict[str, str] = {
    "filter": "filter",
    "select": "select",
    "mutate": "mutate",
    "group_by": "group_by",
    "agg": "aggregate",
    "aggregate": "aggregate",
    "having": "having",
    "order_by": "order_by",
    "limit": "limit",
    "distinct": "distinct",
    "join": "join",
    "left_join": "join",
    "right_join": "join",
    "outer_join": "join",
    "inner_join": "join",
    "semi_join": "semi_join",
    "anti_join": "anti_join",
    "cross_join": "cross_join",
    "union": "set_op",
    "intersect": "set_op",
    "difference": "set_op",
    "over": "window",
    "window": "window",
    "row_number": "ranking",
    "rank": "ranking",
    "dense_rank": "ranking",
    "cumsum": "running_aggregate",
    "lag": "offset_function",
    "lead": "offset_function",
    "cases": "case",
    "ifelse": "case",
    "case": "case",
    "cast": "cast",
    "isin": "isin",
    "notin": "isin",
    "like": "like",
    "ilike": "like",
    "substr": "strings",
    "upper": "strings",
    "lower": "strings",
    "strip": "strings",
    "length": "strings",
    "coalesce": "nulls",
    "fill_null": "nulls",
    "nullif": "nulls",
    "isnull": "nulls",
    "notnull": "nulls",
    "year": "dates",
    "month": "dates",
    "day": "dates",
    "quarter": "dates",
    "truncate": "date_trunc",
    "interval": "interval",
    "date": "dates",
    "timestamp": "dates",
    "nunique": "count_distinct",
    "quantile": "quantile",
    "median": "quantile",
    "between": "between",
    "desc": "order_by",
    "asc": "order_by",
    "name": "named_expression",
    "sum": "aggregate",
    "mean": "aggregate",
    "count": "aggregate",
    "max": "aggregate",
    "min": "aggregate",
    "view": "self_join",
    "exists": "exists",
    "as_scalar": "scalar_subquery",
    "to_array": "scalar_subquery",
}

#: Table methods whose `_` refers to the columns of the table they are called on.
ROW_METHODS = frozenset({"filter", "select", "mutate", "order_by", "group_by", "agg", "aggregate"})
#: Methods that keep the receiver's columns as they are (so `t.col` still means the same).
COLUMN_PRESERVING = frozenset({"filter", "order_by", "group_by", "limit", "distinct"})
AGG_METHODS = frozenset({"agg", "aggregate", "mutate", "select"})


def parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


@functools.lru_cache(maxsize=4096)
def normalized_dump(code: str) -> str:
    """The code's AST without positions: equal for code that differs only in layout."""
    tree = parse(code)
    if tree is None:
        return " ".join(code.split())
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def called_names(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                yield node.func.attr
            elif isinstance(node.func, ast.Name):
                yield node.func.id


def _is_anti_literal_cast(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "cast"
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Attribute)
        and node.func.value.func.attr == "literal"
    )


ANTI_PATTERNS: dict[str, Callable[[ast.AST], bool]] = {
    "literal_cast_noise": _is_anti_literal_cast,
    "eager_execute": lambda n: isinstance(n, ast.Attribute) and n.attr in ("execute", "to_pandas"),
    "raw_sql": lambda n: isinstance(n, ast.Attribute) and n.attr in ("sql", "raw_sql"),
}


def features(code: str) -> tuple[list[str], list[str]]:
    """(features, anti-patterns) present in Ibis code, each sorted."""
    found, anti = _features(code)
    return list(found), list(anti)


@functools.lru_cache(maxsize=1024)  # every record of a pair asks for its code's features
def _features(code: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    tree = parse(code)
    if tree is None:
        return (), ()
    found = {METHOD_FEATURES[n] for n in called_names(tree) if n in METHOD_FEATURES}
    if any(isinstance(n, ast.Name) and n.id == "_" for n in ast.walk(tree)):
        found.add("deferred")
    anti = {name for node in ast.walk(tree) for name, test in ANTI_PATTERNS.items() if test(node)}
    return tuple(sorted(found)), tuple(sorted(anti))


def table_names_used(code: str, tables: Mapping[str, object]) -> list[str]:
    """The schema tables the code reads as free names, in first-use order."""
    tree = parse(code)
    if tree is None:
        return []
    assigned = {
        t.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    out: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and node.id in tables
            and node.id not in assigned
            and node.id not in out
        ):
            out.append(node.id)
    return sorted(out, key=lambda n: code.find(n))


# --- equivalent formulations -------------------------------------------------------------------


def _chain_root(node: ast.expr) -> tuple[str | None, bool]:
    """(root table name, whether every method between keeps its columns) of a method chain."""
    preserving = True
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr not in COLUMN_PRESERVING:
            preserving = False
        node = node.func.value
    return (node.id if isinstance(node, ast.Name) else None), preserving


def _row_calls(tree: ast.AST, tables: Mapping[str, object]) -> Iterator[tuple[ast.Call, str]]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ROW_METHODS
        ):
            root, preserving = _chain_root(node.func.value)
            if root is not None and root in tables and preserving:
                yield node, root


def _arguments(call: ast.Call) -> list[ast.expr]:
    return [*call.args, *(k.value for k in call.keywords)]


def _own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes of an argument, not descending into nested table method chains or lambdas."""
    yield node
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Lambda):
            continue
        if (
            isinstance(child, ast.Call)
            and isinstance(child.func, ast.Attribute)
            and child.func.attr in ROW_METHODS
        ):
            continue
        yield from _own_nodes(child)


def _with_underscore_import(src: Source, code: str) -> str:
    for node in src.tree.body:
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "ibis"
            and any(a.name == "_" for a in node.names)
        ):
            return code
    imports = [n for n in src.tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    if imports:  # after the last import, keeping the blank line that follows it
        at = src.span(imports[-1])[1]
        return code[:at] + "\nfrom ibis import _" + code[at:]
    return "from ibis import _\n\n" + code


def _references(
    code: str, tables: Mapping[str, Mapping[str, str]], old: str | None, new: str | None
) -> str | None:
    """Rename the receiver of column references inside row-method arguments.

    `old`/`new` None stands for the call's own table: (`_` → table) or (table → `_`).
    """
    try:
        src = Source(code)
    except SyntaxError:
        return None
    edits = {}
    for call, root in list(_row_calls(src.tree, tables)):
        for arg in _arguments(call):
            for node in _own_nodes(arg):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == (old or root)
                    and node.attr in tables[root]
                ):
                    start, end = src.span(node.value)
                    edits[start] = (start, end, new or root)
    if not edits:
        return None
    out = src.apply(edits.values())
    return _with_underscore_import(src, out) if new == "_" else out


def explicit_references(code: str, tables: Mapping[str, Mapping[str, str]]) -> str | None:
    """`t.filter(_.x > 1)` → `t.filter(t.x > 1)`; None when there is no `_` to replace."""
    return _references(code, tables, "_", None)


def deferred_references(code: str, tables: Mapping[str, Mapping[str, str]]) -> str | None:
    """`t.filter(t.x > 1)` → `t.filter(_.x > 1)`; None when nothing changes."""
    return _references(code, tables, None, "_")


def _agg_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in AGG_METHODS
    ]


def named_expressions(code: str) -> str | None:
    """`.agg(total=e)` → `.agg(e.name("total"))` when every argument is a keyword."""
    try:
        src = Source(code)
    except SyntaxError:
        return None
    edits = []
    for node in _agg_calls(src.tree):
        if node.keywords and not node.args and all(k.arg for k in node.keywords):
            for k in node.keywords:
                start, end = src.span(k)
                value = src.text(k.value)
                if not isinstance(k.value, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
                    value = f"({value})"
                edits.append((start, end, f'{value}.name("{k.arg}")'))
    return src.apply(edits) if edits else None


def keyword_expressions(code: str) -> str | None:
    """`.agg(e.name("total"))` → `.agg(total=e)` when every argument is named that way."""
    try:
        src = Source(code)
    except SyntaxError:
        return None
    edits = []
    for node in _agg_calls(src.tree):
        if not node.args or node.keywords or not all(_named(a) for a in node.args):
            continue
        names = [_named(a) for a in node.args]
        if len(set(names)) != len(names) or not all(n and n.isidentifier() for n in names):
            continue
        for arg, name in zip(node.args, names, strict=False):
            assert isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
            start, end = src.span(arg)
            edits.append((start, end, f"{name}={src.text(arg.func.value)}"))
    return src.apply(edits) if edits else None


def _named(node: ast.expr) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "name"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


#: name → rewrite(code, tables) giving an equivalent formulation or None.
FORMULATIONS: dict[str, Callable[[str, Mapping[str, Mapping[str, str]]], str | None]] = {
    "explicit_refs": explicit_references,
    "deferred_refs": deferred_references,
    "named_exprs": lambda code, tables: named_expressions(code),
    "keyword_exprs": lambda code, tables: keyword_expressions(code),
}


def formulations(code: str, tables: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Every rewrite that applies, by name (the original excluded)."""
    out = {}
    for name, rewrite in FORMULATIONS.items():
        new = rewrite(code, tables)
        if new and normalized_dump(new) != normalized_dump(code):
            out[name] = new
    return out
