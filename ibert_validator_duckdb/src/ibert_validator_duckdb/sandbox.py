"""What candidate Ibis code may do, checked before it runs and guarded while it runs.

Candidate code can come from a model, so it is treated as hostile. Three layers, each
enough on its own for the common attacks, together for the uncommon ones:

1. a static allow-list over the `ast` (node types, names, attribute names, imports);
2. the code is rewritten so that every attribute read goes through `guarded_getattr`,
   which refuses modules, backends, connections, frames and the I/O methods of ibis;
3. it runs with a small table of builtins (no `open`, `exec`, `getattr`, `__import__`
   beyond ibis) in a worker process with resource limits (see `worker.py`).

Every refusal is a `SandboxViolation` whose message names the rule, so a model that
wrote the code learns what to change.
"""

from __future__ import annotations

import ast
import builtins
import types
from collections.abc import Callable, Mapping
from typing import Any

#: Names that may be bound by imports, and the modules they give. `datetime` gives only
#: its value types (`DATETIME_PUBLIC`): ibis's own examples build literals with them.
ALLOWED_MODULES = ("ibis", "ibis.selectors", "datetime")
DATETIME_PUBLIC = frozenset(
    {"date", "datetime", "time", "timedelta", "timezone", "UTC", "MINYEAR", "MAXYEAR"}
)

#: Builtins a candidate may call; everything else (open, exec, getattr ...) is absent.
SAFE_BUILTIN_NAMES = (
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "frozenset",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "iter",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "chr",
    "ord",
    "True",
    "False",
    "None",
)

#: Names refused outright, with the reason given to the author of the code.
FORBIDDEN_NAMES: Mapping[str, str] = {
    **{
        name: "it can run or reach arbitrary code"
        for name in (
            "exec",
            "eval",
            "compile",
            "getattr",
            "setattr",
            "delattr",
            "globals",
            "locals",
            "vars",
            "breakpoint",
            "input",
            "type",
            "object",
            "super",
            "classmethod",
            "staticmethod",
            "property",
            "memoryview",
            "help",
            "exit",
            "quit",
            "dir",
            "id",
            "hasattr",
            "callable",
            "issubclass",
            "open",
            "print",
            "bytearray",
            "bytes",
        )
    },
}

#: Attribute names refused on every object: I/O, backends, raw SQL, interpreter internals.
FORBIDDEN_ATTRS: Mapping[str, str] = {
    **{
        name: "candidate code must only build an expression; the validator executes it"
        for name in (
            "execute",
            "to_pandas",
            "to_pyarrow",
            "to_pyarrow_batches",
            "to_polars",
            "to_torch",
            "to_csv",
            "to_parquet",
            "to_parquet_dir",
            "to_delta",
            "to_json",
            "to_xlsx",
            "to_pandas_batches",
            "to_array",
            "to_list",
            "to_frame",
            "cache",
            "preview",
            "head_to",
            "visualize",
            "unwrap_as",
        )
    },
    **{
        name: "reading files or connecting to backends is not allowed in candidate code"
        for name in (
            "connect",
            "read_csv",
            "read_parquet",
            "read_json",
            "read_delta",
            "read_geo",
            "read_xlsx",
            "read_in_memory",
            "get_backend",
            "set_backend",
            "from_connection",
            "attach",
            "load_extension",
            "register",
            "con",
            "backend",
            "backends",
            "examples",
            "con_name",
        )
    },
    **{
        name: "raw SQL is not allowed in candidate code; write the query with ibis expressions"
        for name in ("sql", "raw_sql", "parse_sql", "decompile")
    },
    **{
        name: "it reaches interpreter or ibis internals"
        for name in (
            "options",
            "util",
            "udf",
            "api",
            "ir",
            "common",
            "expr",
            "config",
            "BaseBackend",
            "format",
            "format_map",
            "mro",
            "gi_frame",
            "gi_code",
            "gi_yieldfrom",
            "cr_frame",
            "cr_code",
            "ag_frame",
            "ag_code",
            "f_globals",
            "f_locals",
            "f_builtins",
            "f_back",
            "f_code",
            "tb_frame",
            "tb_next",
            "co_code",
            "func_globals",
            "im_func",
            "modules",
        )
    },
}

ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Expr,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.Pass,
    ast.If,
    ast.For,
    ast.Name,
    ast.Load,
    ast.Store,
    ast.Constant,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Call,
    ast.keyword,
    ast.Starred,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Lambda,
    ast.arguments,
    ast.arg,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.NamedExpr,
    ast.Import,
    ast.ImportFrom,
    ast.alias,
    ast.operator,
    ast.unaryop,
    ast.boolop,
    ast.cmpop,
    ast.expr_context,
)

#: Why a statement or expression kind is refused (the rest get a generic message).
REFUSED_NODE_REASONS: Mapping[type[ast.AST], str] = {
    ast.While: "while loops are not allowed; build the expression directly",
    ast.FunctionDef: "function definitions are not allowed; use a lambda or inline the code",
    ast.AsyncFunctionDef: "async code is not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.Try: "try/except is not allowed; let errors surface so they can be fixed",
    ast.With: "with blocks are not allowed",
    ast.Global: "global/nonlocal are not allowed",
    ast.Nonlocal: "global/nonlocal are not allowed",
    ast.Delete: "del is not allowed",
    ast.Raise: "raise is not allowed",
    ast.Yield: "generators are not allowed",
    ast.YieldFrom: "generators are not allowed",
    ast.Await: "async code is not allowed",
    ast.Return: "return outside a function is not allowed",
}

MAX_CODE_CHARS = 50_000
MAX_NODES = 20_000
GUARD_NAME = "__ibert_getattr__"


class SandboxViolation(Exception):
    """Candidate code broke a sandbox rule; `rule` names it, `line` says where."""

    def __init__(self, rule: str, message: str, line: int | None = None) -> None:
        self.rule = rule
        self.line = line
        where = f" (line {line})" if line else ""
        super().__init__(f"sandbox rule '{rule}'{where}: {message}")


def _line(node: ast.AST) -> int | None:
    return getattr(node, "lineno", None)


def _check_import(node: ast.Import | ast.ImportFrom) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in ALLOWED_MODULES:
                raise SandboxViolation(
                    "imports",
                    f"import of {alias.name!r} is not allowed; only "
                    "`import ibis`, `import ibis.selectors as s`, `from ibis import _` "
                    "and `datetime`",
                    _line(node),
                )
        return
    if node.level or node.module not in ALLOWED_MODULES:
        raise SandboxViolation(
            "imports",
            f"import from {node.module!r} is not allowed; only from ibis and datetime",
            _line(node),
        )
    for alias in node.names:
        _check_attr_name(alias.name, node)


def _check_attr_name(name: str, node: ast.AST) -> None:
    if name == "*":
        raise SandboxViolation("imports", "star imports are not allowed", _line(node))
    if name.startswith("_") and name != "_":
        raise SandboxViolation(
            "private-attribute",
            f"attribute {name!r} is private or a dunder; use the public ibis API",
            _line(node),
        )
    if name in FORBIDDEN_ATTRS:
        raise SandboxViolation(
            "forbidden-attribute",
            f"'.{name}' is not allowed: {FORBIDDEN_ATTRS[name]}",
            _line(node),
        )


def _check_name(name: str, node: ast.AST) -> None:
    if name.startswith("_") and name != "_":
        raise SandboxViolation(
            "private-name",
            f"name {name!r} is not allowed (names starting with '_')",
            _line(node),
        )
    if name in FORBIDDEN_NAMES:
        raise SandboxViolation(
            "forbidden-name", f"{name!r} is not allowed: {FORBIDDEN_NAMES[name]}", _line(node)
        )


def check(tree: ast.AST) -> None:
    """Raise `SandboxViolation` for the first node the allow-list refuses."""
    for count, node in enumerate(ast.walk(tree), 1):
        if count > MAX_NODES:
            raise SandboxViolation("size", f"the code has more than {MAX_NODES} syntax nodes")
        if not isinstance(node, ALLOWED_NODES):
            reason = REFUSED_NODE_REASONS.get(
                type(node), f"{type(node).__name__} is not allowed in candidate code"
            )
            raise SandboxViolation("syntax", reason, _line(node))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            _check_import(node)
        elif isinstance(node, ast.Name):
            _check_name(node.id, node)
        elif isinstance(node, ast.arg):
            _check_name(node.arg, node)
        elif isinstance(node, ast.Attribute):
            _check_attr_name(node.attr, node)
            if not isinstance(node.ctx, ast.Load):
                raise SandboxViolation(
                    "attribute-assignment",
                    "assigning to attributes is not allowed",
                    _line(node),
                )
        elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("__"):
            raise SandboxViolation(
                "private-name", f"keyword {node.arg!r} is not allowed", _line(node)
            )


class _GuardAttributes(ast.NodeTransformer):
    """`a.b` → `__ibert_getattr__(a, 'b')`, so every attribute read is checked at run time."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        call = ast.Call(
            func=ast.Name(id=GUARD_NAME, ctx=ast.Load()),
            args=[node.value, ast.Constant(node.attr)],
            keywords=[],
        )
        return ast.copy_location(call, node)


def parse(code: str) -> ast.Module:
    """Parse and check candidate code; `SyntaxError` or `SandboxViolation` on failure."""
    if len(code) > MAX_CODE_CHARS:
        raise SandboxViolation("size", f"the code is longer than {MAX_CODE_CHARS} characters")
    if "\x00" in code:
        raise SandboxViolation("syntax", "the code contains a NUL byte")
    try:
        tree = ast.parse(code, mode="exec")
    except (RecursionError, MemoryError) as err:
        raise SandboxViolation("size", "the code is nested too deeply to parse") from err
    check(tree)
    return tree


def compile_guarded(tree: ast.Module) -> types.CodeType:
    """Compile a checked tree with every attribute read routed through the guard."""
    guarded = ast.fix_missing_locations(_GuardAttributes().visit(tree))
    code: types.CodeType = compile(guarded, "<candidate>", "exec")
    return code


# --- run-time guards ----------------------------------------------------------------------

#: Top-level modules whose objects candidate code may read attributes of.
ALLOWED_TYPE_MODULES = frozenset({"builtins", "ibis", "datetime", "decimal"})

_REFUSED_TYPES: tuple[type, ...] = (
    types.FrameType,
    types.CodeType,
    types.TracebackType,
    types.CellType,
)


def make_guard(
    allowed_modules: Mapping[str, types.ModuleType],
    refused_types: tuple[type, ...],
    module_attrs: Mapping[str, frozenset[str]],
    on_missing: Callable[[Any, str, AttributeError], Exception] | None = None,
) -> Callable[[Any, str], Any]:
    """The run-time attribute guard.

    `allowed_modules` are the modules candidate code may hold; `module_attrs` lists, per
    module name, which of its attributes may be read; `refused_types` are values that must
    never reach candidate code (backends, DuckDB connections); `on_missing` turns an
    AttributeError into a more helpful error (closest column name).
    """
    allowed_ids = {id(m) for m in allowed_modules.values()}
    refused = _REFUSED_TYPES + refused_types

    def foreign(value: Any) -> bool:
        kind = value if isinstance(value, type) else type(value)
        module = kind.__module__ or ""
        return module.split(".")[0] not in ALLOWED_TYPE_MODULES

    def guarded_getattr(obj: Any, name: str) -> Any:
        if name in FORBIDDEN_ATTRS:
            raise SandboxViolation(
                "forbidden-attribute", f"'.{name}' is not allowed: {FORBIDDEN_ATTRS[name]}"
            )
        if name.startswith("_") and name != "_":
            raise SandboxViolation("private-attribute", f"attribute {name!r} is private")
        if isinstance(obj, types.ModuleType):
            if id(obj) not in allowed_ids:
                raise SandboxViolation("module", f"module {obj.__name__!r} is not available")
            public = module_attrs.get(obj.__name__)
            if public is not None and name not in public:
                raise SandboxViolation(
                    "module", f"'{obj.__name__}.{name}' is not available in the sandbox"
                )
        elif foreign(obj):
            raise SandboxViolation(
                "foreign-object",
                f"objects of type {type(obj).__name__} cannot be used in "
                "candidate code; use ibis expressions only",
            )
        try:
            value = getattr(obj, name)
        except AttributeError as err:
            if on_missing is not None:
                raise on_missing(obj, name, err) from None
            raise
        if isinstance(value, types.ModuleType) and id(value) not in allowed_ids:
            raise SandboxViolation("module", f"module {value.__name__!r} is not available")
        if (
            isinstance(value, refused)
            or (isinstance(value, type) and issubclass(value, refused))
            or (not callable(value) and foreign(value))
        ):
            raise SandboxViolation(
                "forbidden-object",
                f"'.{name}' gives a {type(value).__name__}, which "
                "candidate code may not hold (backends, connections, interpreter internals)",
            )
        return value

    return guarded_getattr


def make_import(
    allowed_modules: Mapping[str, types.ModuleType],
    guard: Callable[[Any, str], Any] | None = None,
) -> Callable[..., Any]:
    """`__import__` for candidate code: only the allowed modules, already imported.

    `from m import x` reads `x` with a plain getattr, past the attribute guard; so the
    names of a `fromlist` go through `guard` here first (`from ibis import duckdb` would
    otherwise hand the code a backend)."""

    def restricted_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        if level or name not in allowed_modules:
            raise SandboxViolation("imports", f"import of {name!r} is not allowed")
        if fromlist:
            module = allowed_modules[name]
            if guard is not None:
                for attr in fromlist:
                    guard(module, attr)
            return module
        return allowed_modules[name.split(".")[0]]

    return restricted_import


def safe_builtins(
    allowed_modules: Mapping[str, types.ModuleType],
    guard: Callable[[Any, str], Any] | None = None,
) -> dict[str, Any]:
    """The builtins table candidate code runs with."""
    table = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}
    table["__import__"] = make_import(allowed_modules, guard)
    return table
