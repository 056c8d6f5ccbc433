"""An allow-list over Python's AST for the in-process builds completion and error
resolution need many times per request.

Running the validator's worker pool for every probe would cost milliseconds each; building
an Ibis expression over *unbound* tables touches no data, so we do it in-process — but only
after this check: names bound to tables, `ibis`, `_`, selectors, literals, calls and
attribute access without underscores, no definitions, loops, imports outside ibis, nor any
ibis entry point that connects to a backend, reads files or executes. The validator's
sandbox still judges every answer a user sees.

What runs here is the user's own input (the code to complete or fix) and edits the rules
made to it; model candidates never do (they go only to the validator's worker processes,
which have CPU, memory and time limits). The check stops escapes and accidental I/O; it
does not bound memory the way the sandbox does, so constructs that only serve to allocate
(sequence repetition, huge literals, string padding) are refused as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from ibert_core.errors import UnsupportedConstruct

#: Node types an Ibis expression script needs.
ALLOWED_NODES: frozenset[type[ast.AST]] = frozenset(
    {
        ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.Name, ast.Load, ast.Store,
        ast.Attribute, ast.Call, ast.keyword, ast.Constant, ast.List, ast.Tuple, ast.Dict,
        ast.Set, ast.Subscript, ast.Slice, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
        ast.IfExp, ast.Lambda, ast.arguments, ast.arg, ast.ListComp, ast.GeneratorExp,
        ast.DictComp, ast.SetComp, ast.comprehension, ast.Starred, ast.JoinedStr,
        ast.FormattedValue, ast.Import, ast.ImportFrom, ast.alias, ast.Pass,
        ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd,
        ast.BitOr, ast.BitXor, ast.Invert, ast.Not, ast.UAdd, ast.USub, ast.And, ast.Or,
        ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is,
        ast.IsNot, ast.LShift, ast.RShift,
    }
)

#: Attributes that leave the lazy world: connect, read files, execute, download.
DENIED_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "execute", "to_pandas", "to_pyarrow", "to_pyarrow_batches", "to_parquet",
        "to_parquet_dir", "to_csv", "to_delta", "to_json", "to_torch", "to_polars",
        "to_pandas_batches", "to_xlsx", "cache", "preview", "interactive", "connect",
        "set_backend", "get_backend", "backends", "options", "config", "util", "common",
        "examples", "read_csv", "read_parquet", "read_json", "read_delta", "read_xlsx",
        "raw_sql", "sql", "format", "format_map", "load_dataset", "register", "legacy",
        "streamlit", "visualize", "duckdb", "sqlite", "postgres", "pyspark",
        "polars", "datafusion", "bigquery", "snowflake", "trino", "mssql", "mysql", "oracle",
        "clickhouse", "druid", "exasol", "flink", "impala", "risingwave", "athena",
        "databricks", "materialize", "center", "ljust", "rjust", "zfill", "expandtabs",
    }
)

#: Builtins Ibis snippets legitimately use (and `len`, so the pandas habit `len(t)`
#: produces Ibis's own error rather than a NameError).
SAFE_BUILTINS: dict[str, object] = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "len", "abs", "min", "max", "round", "str", "int", "float", "bool", "list", "tuple",
        "dict", "zip", "enumerate", "sorted", "sum",
    )
}

_MAX_INT = 10**15
#: Larger integer factors in `*` only serve to repeat a sequence into memory; Ibis code
#: scales by constants far smaller (use a float for 1e9 and up).
_MAX_FACTOR = 10**7


def _fail(node: ast.AST, what: str) -> UnsupportedConstruct:
    return UnsupportedConstruct(
        what, getattr(node, "lineno", None), getattr(node, "col_offset", None),
        "only Ibis expression code over the schema's tables is evaluated",
    )


def check_tree(tree: ast.AST, imports_from: Iterable[str] = ("ibis",)) -> None:
    """Raise `UnsupportedConstruct` at the first node outside the allow-list."""
    roots = tuple(imports_from)
    for node in ast.walk(tree):
        if type(node) not in ALLOWED_NODES:
            raise _fail(node, f"a {type(node).__name__} statement")
        if isinstance(node, ast.Attribute) and (
            node.attr.startswith("_") or node.attr in DENIED_ATTRIBUTES
        ):
            raise _fail(node, f"attribute access .{node.attr}")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            raise _fail(node, f"the name {node.id}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] not in roots:
                    raise _fail(node, f"import of {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] not in roots or node.level:
                raise _fail(node, f"import from {node.module}")
            for alias in node.names:
                if (alias.name.startswith("_") and alias.name != "_") or alias.name == "*":
                    raise _fail(node, f"import of {alias.name}")
                if alias.name in DENIED_ATTRIBUTES:
                    raise _fail(node, f"import of {alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, int):
            if abs(node.value) > _MAX_INT:
                raise _fail(node, "an integer literal this large")
        elif isinstance(node, ast.BinOp):
            _check_binop(node)


def _check_binop(node: ast.BinOp) -> None:
    if isinstance(node.op, (ast.Pow, ast.LShift)):
        right = node.right
        if not (isinstance(right, ast.Constant) and isinstance(right.value, (int, float))
                and abs(right.value) <= 16):
            raise _fail(node, "a power or shift with a large or computed exponent")
    if isinstance(node.op, ast.Mult):
        for side in (node.left, node.right):
            if isinstance(side, (ast.List, ast.Tuple, ast.JoinedStr, ast.ListComp)) or (
                isinstance(side, ast.Constant) and isinstance(side.value, (str, bytes))
            ):
                raise _fail(node, "repeating a sequence with *")
            value = _constant_int(side)
            if value is not None and abs(value) > _MAX_FACTOR:
                raise _fail(node, "multiplying by an integer this large")


def _constant_int(node: ast.AST) -> int | None:
    """The value of an integer made only of literals (`10**9`, `-3 * 4`), else None.
    Exponents are already bounded by `_check_binop`, so folding is cheap."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(
            node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _constant_int(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Pow, ast.Mult, ast.Add)):
        left, right = _constant_int(node.left), _constant_int(node.right)
        if left is None or right is None or max(abs(left), abs(right)) > 10**300:
            return None
        if isinstance(node.op, ast.Pow):
            return int(left**right) if 0 <= right <= 16 and abs(left) <= _MAX_INT else None
        return left * right if isinstance(node.op, ast.Mult) else left + right
    return None


def parse_checked(code: str, mode: str = "exec") -> ast.AST:
    """Parse and check; SyntaxError propagates unchanged (it is the parse stage's verdict)."""
    tree = ast.parse(code, mode=mode)
    check_tree(tree)
    return tree
