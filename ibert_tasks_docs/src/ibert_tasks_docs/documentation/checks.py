"""The checks a documented file passes before anyone sees it.

1. It still parses, and its code is the input's code: only docstrings changed (so a model
   cannot slip in a different body, and building it runs nothing the user did not write).
2. Each new docstring parses in the chosen style (docstring_parser), and its parameters
   are exactly the signature's: none missing, none invented.
3. With a schema, each function whose parameters name its tables still builds an ibis
   expression, which compiles and runs on fixture data in the validator's sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs

from ibert_tasks_docs.documentation.analysis import Param, analyse, functions
from ibert_tasks_docs.documentation.insert import docstring_node

_STYLES = {"numpy": "NUMPYDOC", "google": "GOOGLE"}


def doc_params(doc: str, style: str) -> list[str]:
    """Parameter names a docstring documents, parsed with docstring_parser."""
    import docstring_parser

    parsed = docstring_parser.parse(doc, style=getattr(docstring_parser.DocstringStyle,
                                                       _STYLES[style]))
    return [p.arg_name.lstrip("*").split(" ")[0] for p in parsed.params]


def signature_mismatch(params: Sequence[Param], documented: Sequence[str]) -> str | None:
    """Why the documented parameters are not the signature's, or None when they are."""
    expected = [p.name for p in params]
    missing = [n for n in expected if n not in documented]
    invented = [n for n in documented if n not in expected]
    duplicated = sorted({n for n in documented if documented.count(n) > 1})
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if invented:
        problems.append(f"documents {', '.join(invented)} which the signature does not have")
    if duplicated:
        problems.append(f"documents {', '.join(duplicated)} twice")
    return "; ".join(problems) or None


def same_code(
    original: str, documented: str, trees: tuple[ast.Module, ast.Module] | None = None
) -> bool:
    """Whether two sources differ only in docstrings.

    Fast path: the texts with every docstring line cut out are identical (what our own
    insertion produces). Otherwise the ASTs without docstrings are compared, so a model
    that re-wrapped a line is still judged on what the code does.
    """
    a, b = trees or (ast.parse(original), ast.parse(documented))
    if _without_docstring_lines(original, a) == _without_docstring_lines(documented, b):
        return True
    return strip_docstrings(a) == strip_docstrings(b)


_DOCUMENTABLE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)


def _documentables(tree: ast.AST) -> Iterator[ast.AST]:
    """Module, classes and functions, found by walking statements only (fast on big files)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _DOCUMENTABLE):
            yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                stack.extend(c for c in children if isinstance(c, ast.AST))


def _docstring_expr(node: ast.AST) -> ast.Expr | None:
    body = getattr(node, "body", None)
    first = body[0] if isinstance(body, list) and body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _without_docstring_lines(source: str, tree: ast.AST) -> list[str]:
    cut: set[int] = set()
    for node in _documentables(tree):
        first = _docstring_expr(node)
        if first is not None and first.end_lineno is not None:
            cut.update(range(first.lineno, first.end_lineno + 1))
    return [ln for i, ln in enumerate(source.splitlines(), 1) if i not in cut]


def strip_docstrings(tree: ast.AST) -> str:
    """The module's AST dumped without docstrings: equal iff only docstrings differ."""
    tree = _copy(tree)
    for node in list(_documentables(tree)):
        if _docstring_expr(node) is not None:
            body = node.body  # type: ignore[attr-defined]
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return ast.dump(tree, include_attributes=False)


def _copy(tree: ast.AST) -> ast.AST:
    import copy

    return copy.deepcopy(tree)


@attrs.frozen
class Problem:
    function: str
    line: int
    message: str


def docstring_problems(
    source: str, style: str, targets: Sequence[str] | None = None
) -> list[Problem]:
    """Functions (of `targets`, or all) whose docstring is missing, unparsable or stale."""
    tree = ast.parse(source)
    out: list[Problem] = []
    for qualname, node in functions(tree):
        if targets is not None and qualname not in targets:
            continue
        doc = ast.get_docstring(node)
        if not doc:
            out.append(Problem(qualname, node.lineno, "no docstring"))
            continue
        try:
            documented = doc_params(doc, style)
        except Exception as err:  # noqa: BLE001 - docstring_parser raises ParseError and others
            out.append(Problem(qualname, node.lineno, f"docstring does not parse as {style}: "
                                                      f"{err}"))
            continue
        info = analyse(node, qualname)
        mismatch = signature_mismatch(info.params, documented)
        if mismatch and (documented or info.params):
            out.append(Problem(qualname, node.lineno, f"docstring parameters are stale: "
                                                      f"{mismatch}"))
    return out


def stale_functions(source: str, style: str) -> Iterator[tuple[str, int, str]]:
    """Public functions lacking a docstring or documenting the wrong parameters."""
    for p in docstring_problems(source, style):
        if not any(part.startswith("_") and not part.startswith("__")
                   for part in p.function.split(".")):
            yield p.function, p.line, p.message


def table_params(params: Sequence[Param], tables: Mapping[str, Any]) -> dict[str, str] | None:
    """`{parameter: table}` when every required parameter names a schema table."""
    lowered = {name.lower(): name for name in tables}
    out: dict[str, str] = {}
    for p in params:
        table = lowered.get(p.name.lower())
        if table is not None:
            out[p.name] = table
        elif p.default is None and p.kind in ("positional", "keyword"):
            return None
    return out or None


def build_expression(source: str, qualname: str, args: Mapping[str, Any]) -> Any:
    """Call the function defined in `source` with `args` and return what it builds.

    The caller has checked that `source` is the user's own code (only docstrings added).
    """
    namespace: dict[str, Any] = {"__name__": "ibert_documented"}
    # The user's own code: the caller checked that only docstrings differ from the input.
    exec(compile(source, "<documented>", "exec"), namespace)
    fn = namespace[qualname] if "." not in qualname else None
    if fn is None:
        raise LookupError(f"{qualname} is a method; build checks need a module-level function")
    return fn(**args)


def docstring_literal_of(source: str, qualname: str) -> str | None:
    for name, node in functions(ast.parse(source)):
        if name == qualname:
            d = docstring_node(node)
            return ast.get_docstring(node) if d is not None else None
    return None
