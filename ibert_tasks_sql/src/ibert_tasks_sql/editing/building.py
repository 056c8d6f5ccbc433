"""Build Ibis code over unbound tables in-process and report how far it got.

Used where speed matters (ranking completions, probing fixes); the code has passed
`restricted.check_tree` first. The outcome keeps the real exception object, because the
error-resolution rules are keyed on ibis's exception types and messages.
"""

from __future__ import annotations

import ast
import functools
import traceback
from collections.abc import Mapping
from typing import Any

import attrs
import ibis
import ibis.selectors as selectors
from ibis import _

from ibert_core.errors import UnsupportedConstruct
from ibert_core.types import Schema
from ibert_tasks_sql.editing.restricted import SAFE_BUILTINS, check_tree

FILENAME = "<ibis-code>"


@functools.lru_cache(maxsize=64)
def unbound_tables(schema: Schema) -> Mapping[str, Any]:
    """One `ibis.table` per schema table, shared (expressions are immutable)."""
    return {t.name: ibis.table(t.as_dict(), name=t.name) for t in schema.tables}


def base_namespace(schema: Schema | None) -> dict[str, Any]:
    """Free names Ibis code may use: the tables, `ibis`, `_`, and selectors as `s`."""
    ns: dict[str, Any] = {"ibis": ibis, "_": _, "s": selectors, "selectors": selectors}
    if schema is not None:
        ns.update(unbound_tables(schema))
    return ns


@attrs.frozen
class Outcome:
    """How far code got: `stage` is the failing stage name, or "compile" when all passed."""

    ok: bool
    stage: str
    error: BaseException | None = None
    message: str = ""
    lineno: int | None = None
    expr: Any = None
    sql: str | None = None
    names: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def error_type(self) -> str:
        return type(self.error).__name__ if self.error is not None else ""


def _bind_imports(tree: ast.Module, ns: dict[str, Any]) -> ast.Module:
    """Resolve ibis imports ourselves (no `__import__` in the namespace) and drop them."""
    body = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    obj: Any = ibis
                    for part in alias.name.split(".")[1:]:
                        obj = getattr(obj, part)
                    ns[alias.asname] = obj
                else:
                    ns["ibis"] = ibis
        elif isinstance(stmt, ast.ImportFrom):
            module: Any = ibis
            for part in (stmt.module or "").split(".")[1:]:
                module = getattr(module, part)
            for alias in stmt.names:
                ns[alias.asname or alias.name] = getattr(module, alias.name)
        else:
            body.append(stmt)
    return ast.Module(body=body, type_ignores=[])


def final_expression(tree: ast.Module, names: Mapping[str, Any]) -> Any:
    """The result the code means: `expr` when assigned, else its last expression statement,
    else the last assigned name."""
    if "expr" in names:
        return names["expr"]
    return names.get("__last__")


def _mark_last(tree: ast.Module) -> ast.Module:
    """Capture a trailing bare expression as `__last__` (the code's answer when no `expr`)."""
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        name = ast.copy_location(ast.Name("__last__", ast.Store()), last)
        # full positions: on a later line, positions filled from the module are invalid
        tree.body[-1] = ast.copy_location(ast.Assign(targets=[name], value=last.value), last)
    elif tree.body and isinstance(tree.body[-1], ast.Assign):
        target = tree.body[-1].targets[0]
        if isinstance(target, ast.Name):
            tree.body.append(
                ast.Assign(targets=[ast.Name("__last__", ast.Store())],
                           value=ast.Name(target.id, ast.Load()))
            )
    return ast.fix_missing_locations(tree)


def _error_line(err: BaseException) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(err.__traceback__):
        if frame.f_code.co_filename == FILENAME:
            line = lineno
    if line is None and isinstance(err, SyntaxError):
        line = err.lineno
    return line


def message_of(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return f"{type(err).__name__}: {text}"


def build(code: str, schema: Schema | None, dialect: str = "duckdb",
          compile_sql: bool = True, extra_names: Mapping[str, Any] | None = None) -> Outcome:
    """parse → build → compile, in-process over unbound tables."""
    try:
        tree = ast.parse(code, filename=FILENAME)
    except SyntaxError as err:
        return Outcome(False, "parse", err, message_of(err), err.lineno)
    try:
        check_tree(tree)
    except UnsupportedConstruct as err:
        return Outcome(False, "parse", err, str(err), err.line)
    ns = base_namespace(schema)
    if extra_names:
        ns.update(extra_names)
    names: dict[str, Any] = ns
    try:
        module = _mark_last(_bind_imports(tree, ns))
        names = dict(ns)
        names["__builtins__"] = SAFE_BUILTINS
        exec(compile(module, FILENAME, "exec"), names)
    except RecursionError as err:
        return Outcome(False, "build", err, message_of(err), None)
    except Exception as err:  # noqa: BLE001 - every failure is the verdict
        names.pop("__builtins__", None)
        return Outcome(False, "build", err, message_of(err), _error_line(err), names=names)
    result = final_expression(module, names)
    names.pop("__builtins__", None)
    if not isinstance(result, ibis.Expr):
        what = "nothing" if result is None else type(result).__name__
        wrong = TypeError(f"the code produced {what}, not an Ibis expression; "
                          "assign the final expression to `expr`")
        return Outcome(False, "build", wrong, message_of(wrong), None, result, names=names)
    if not compile_sql:
        return Outcome(True, "build", expr=result, names=names)
    try:
        sql = str(ibis.to_sql(result, dialect=dialect))
    except Exception as err:  # noqa: BLE001
        return Outcome(False, "compile", err, message_of(err), None, result, names=names)
    return Outcome(True, "compile", expr=result, sql=sql, names=names)


def evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """Evaluate one checked expression (a completion receiver) against bound names."""
    tree = ast.parse(text.strip(), mode="eval")
    check_tree(tree)
    scope = dict(names)
    scope["__builtins__"] = SAFE_BUILTINS
    return eval(compile(tree, FILENAME, "eval"), scope)


def with_expr_assignment(code: str) -> str:
    """The code in the validator's shape (the answer assigned to `expr`): a trailing bare
    expression becomes `expr = ...`, a trailing assignment to another name gets
    `expr = name` appended. Code that does not parse is returned unchanged."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    if not tree.body or any(
        isinstance(t, ast.Name) and t.id == "expr"
        for stmt in tree.body if isinstance(stmt, ast.Assign) for t in stmt.targets
    ):
        return code
    last = tree.body[-1]
    if isinstance(last, ast.Expr):
        lines = code.splitlines(keepends=True)
        start = sum(len(x) for x in lines[: last.lineno - 1]) + last.col_offset
        return code[:start] + "expr = " + code[start:]
    if isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name):
        return code.rstrip("\n") + f"\nexpr = {last.targets[0].id}\n"
    return code
