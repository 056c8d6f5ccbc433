"""Docstring examples turned into code the validator's sandbox can run on fixture data.

Ibis's examples load real datasets (`ibis.examples.penguins.fetch()`), switch on
interactive mode and print tables; none of that may run in the sandbox and nothing may be
downloaded. So the dataset becomes a free table name with the dataset's schema (the
validator synthesizes rows for it), display-only statements are dropped, and the
statement that uses the symbol becomes the final `expr`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

from ibert_tasks_docs.qa.symbols import Symbol

#: Schemas of the example datasets ibis's docstrings use; their rows come from the
#: validator's fixtures, never from a download.
EXAMPLE_SCHEMAS: dict[str, dict[str, str]] = {
    "penguins": {
        "species": "string", "island": "string", "bill_length_mm": "float64",
        "bill_depth_mm": "float64", "flipper_length_mm": "int64", "body_mass_g": "int64",
        "sex": "string", "year": "int64",
    },
    "ml_latest_small_ratings": {
        "userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64",
    },
    "ml_latest_small_movies": {"movieId": "int64", "title": "string", "genres": "string"},
    "ml_latest_small_tags": {
        "userId": "int64", "movieId": "int64", "tag": "string", "timestamp": "int64",
    },
    "ml_latest_small_links": {"movieId": "int64", "imdbId": "string", "tmdbId": "int64"},
    # the ggplot2 datasets (`Column.topk`, `DateValue.delta`), whose docstrings print none
    "diamonds": {
        "carat": "float64", "cut": "string", "color": "string", "clarity": "string",
        "depth": "float64", "table": "float64", "price": "int64", "x": "float64",
        "y": "float64", "z": "float64",
    },
    "presidential": {"name": "string", "start": "date", "end": "date", "party": "string"},
}

_FETCH = r"{module}\.([A-Za-z_][A-Za-z0-9_]*)\.fetch\([^()]*\)"
#: Calls that show or move data rather than build an expression; their statements are
#: dropped (the sandbox refuses them, and the validator executes the expression itself).
_DISPLAY = frozenset({
    "execute", "to_pandas", "to_pyarrow", "to_polars", "to_csv", "to_parquet", "to_list",
    "preview", "visualize", "print", "display", "to_pyarrow_batches", "to_torch",
})
_SETUP_IMPORTS = ("import ibis", "import ibis.selectors as s", "from ibis import _")


@attrs.frozen
class RunnableExample:
    """Code that reads tables as free names and assigns `expr`, with the tables' schema.

    `on_own_rows` is the same example with its `ibis.memtable`s kept, for when the fixture
    rows break it (`t.f.cast(float)` on a string column holding `'100%'`): it runs on the
    rows the docstring wrote, and a reader can paste it as it is.
    """

    code: str
    tables: Mapping[str, Mapping[str, str]]
    on_own_rows: RunnableExample | None = None

    def variants(self) -> list[RunnableExample]:
        """This example, then its own-rows form if it has one."""
        return [self] if self.on_own_rows is None else [self, self.on_own_rows]


def rewrite(
    statements: Sequence[str],
    target: str | None = None,
    datasets: Mapping[str, Mapping[str, str]] | None = None,
) -> list[RunnableExample]:
    """Runnable examples from doctest statements, one per statement that uses `target`
    (the symbol's attribute name), or one for the last expression when `target` is None.
    `datasets` adds dataset schemas (read off the docstring) to the known ones.
    """
    known = {**(datasets or {}), **EXAMPLE_SCHEMAS}
    setup: list[str] = []
    own_rows: list[str] = []  # `setup` with the memtables kept
    memtables: set[str] = set()
    tables: dict[str, dict[str, str]] = {}
    out: list[RunnableExample] = []

    def example(last: Sequence[str]) -> RunnableExample:
        fixture_rows = RunnableExample("\n".join([*_SETUP_IMPORTS, *setup, *last]), dict(tables))
        if not memtables:
            return fixture_rows
        kept = {k: v for k, v in tables.items() if k not in memtables}
        own = RunnableExample("\n".join([*_SETUP_IMPORTS, *own_rows, *last]), kept)
        return attrs.evolve(fixture_rows, on_own_rows=own)

    modules = ["ibis.examples"]
    missing: set[str] = set()  # names bound by imports the sandbox does not have
    for raw in statements:
        alias = _examples_alias(raw)
        if alias:
            modules.append(alias)
        stmt, used = _replace_fetch(raw, known, modules)
        if used is None:
            continue
        tables.update(used)
        try:
            tree = ast.parse(stmt)
        except SyntaxError:
            continue
        if tree.body and _datetime_import(tree.body[-1]):
            setup.append(stmt.strip())  # the sandbox allows datetime's value types
            own_rows.append(stmt.strip())
            continue
        missing |= _unavailable_imports(tree)
        if target is not None and _reads(tree, missing):
            continue  # `s.of_type(dt.Array(dt.string))` after `import ...datatypes as dt`
        if not tree.body or _skip(tree):
            continue
        node = tree.body[-1]
        memtable = _memtable_schema(node)
        if memtable is not None and target == "table" and _uses(node, target):
            # `ibis.table`'s own example: keep the call (it is what the example shows),
            # the validator makes a table of that name and schema for it to read
            tables[memtable[0]] = memtable[1]
            setup.append(stmt.strip())
            own_rows.append(stmt.strip())
            out.append(example([f"expr = {memtable[0]}"]))
            continue
        if memtable is not None:
            tables[memtable[0]] = memtable[1]
            if ast.unparse(node.value.func) == "ibis.memtable":  # type: ignore[attr-defined]
                memtables.add(memtable[0])
                own_rows.append(stmt.strip())
            continue
        is_expr = isinstance(node, ast.Expr) and not isinstance(node.value, ast.Name)
        if is_expr and (target is None or _uses(node, target)):
            assert isinstance(node, ast.Expr)
            compiled = _compiled_expression(node.value)
            last = [f"sql = {stmt.strip()}", f"expr = {compiled}"] if compiled else [
                f"expr = {stmt.strip()}"]
            out.append(example(last))
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            setup.append(stmt.strip())
            own_rows.append(stmt.strip())
            if target is not None and _uses(node, target):
                name = _assigned_name(node)
                if name:
                    out.append(example([f"expr = {name}"]))
    if target is None and out:
        return out[-1:]
    if target is None and setup:
        # a docs snippet that ends by assigning its result (`expr = ...`, `top = ...`)
        name = _assigned_name(ast.parse(setup[-1]).body[-1])  # type: ignore[arg-type]
        if name:
            return [example([] if name == "expr" else [f"expr = {name}"])]
    return out


def _compiled_expression(value: ast.expr) -> str | None:
    """For `ibis.to_sql(e)` or `e.compile()`: the expression `e` (the SQL is a string, but
    the expression it comes from is what can be run)."""
    if not isinstance(value, ast.Call):
        return None
    func = value.func
    if ast.unparse(func) == "ibis.to_sql" and value.args:
        return ast.unparse(value.args[0])
    if isinstance(func, ast.Attribute) and func.attr in ("compile", "to_sql"):
        return ast.unparse(func.value)
    return None


def _memtable_schema(node: ast.stmt) -> tuple[str, dict[str, str]] | None:
    """`t = ibis.memtable({...literal...})` or `t = ibis.table({...})` as the free table `t`
    with the literal's schema.

    The validator runs examples on its own fixture rows, so the example's table becomes a
    free name; the literal is read without executing anything.
    """
    if not (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
    ):
        return None
    func = ast.unparse(node.value.func)
    if func not in _TABLE_LITERAL_ARG:
        return None
    given = node.value.args[:1] or [
        k.value for k in node.value.keywords if k.arg == _TABLE_LITERAL_ARG[func]]
    if not given:
        return None
    try:
        data = _literal(given[0])
    except ValueError:
        return None  # not a literal table: keep the statement as it is
    if not isinstance(data, dict):
        return None
    if func == "ibis.table":
        if not all(isinstance(v, str) for v in data.values()):
            return None
        return node.targets[0].id, {str(k): str(v) for k, v in data.items()}
    if not all(isinstance(v, list) for v in data.values()):
        return None
    columns = {str(name): _column_type(values) for name, values in data.items()}
    if any(t is None for t in columns.values()):
        return None
    return node.targets[0].id, {k: v for k, v in columns.items() if v is not None}


#: The table constructors whose literal argument is read, and that argument's keyword
#: (`ibis.table(schema=dict(a="int"), name="t")`).
_TABLE_LITERAL_ARG = {"ibis.memtable": "data", "ibis.table": "schema"}

_TEMPORAL = {"datetime": "datetime", "date": "date", "time": "time"}


def _literal(node: ast.expr) -> object:
    """A literal's value, also accepting `dict(k=...)` and `datetime(...)`/`date(...)` with
    literal arguments (ibis's examples build tables that way); never runs other code."""
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func).rsplit(".", 1)[-1]
        if name == "dict" and not node.args:
            return {k.arg: _literal(k.value) for k in node.keywords if k.arg}
        if name in _TEMPORAL and not node.keywords:
            import datetime

            args = [ast.literal_eval(a) for a in node.args]
            if not all(isinstance(a, int) for a in args):
                raise ValueError("non-literal date")
            return getattr(datetime, _TEMPORAL[name])(*args)
        raise ValueError(f"call to {name}")
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)
                if k is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [_literal(e) for e in node.elts]
        return values if isinstance(node, ast.List) else tuple(values)
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError) as err:
        raise ValueError(str(err)) from None


#: Python literal types as ibis dtypes, as `ibis.memtable` infers them (ints are int64).
_PY_DTYPES: dict[type, str] = {bool: "boolean", int: "int64", float: "float64", str: "string"}


def _py_dtype(value: object) -> str | None:
    import datetime

    if isinstance(value, datetime.datetime):
        return "timestamp"
    if isinstance(value, datetime.date):
        return "date"
    if isinstance(value, datetime.time):
        return "time"
    return _PY_DTYPES.get(type(value))


def _inferred(value: object) -> str | None:
    """Nested literals (lists, dicts) as ibis infers them, with int64/float64 leaves."""
    import ibis.expr.datatypes as dt

    try:
        text = str(dt.infer(value))
    except Exception:  # noqa: BLE001 - not a literal ibis knows
        return None
    for small in ("int8", "int16", "int32", "uint8", "uint16", "uint32"):
        text = text.replace(small, "int64")
    return text


def _column_type(values: list[object]) -> str | None:
    """The ibis dtype of a literal column, without building a memtable (that would import
    pandas, a second or two on the first answer)."""
    kinds = {_py_dtype(v) or _inferred(v) for v in values if v is not None}
    if kinds == {"int64", "float64"}:
        return "float64"
    if len(kinds) == 1:
        return kinds.pop()
    if not kinds:
        return "null"
    return None


def _replace_fetch(
    stmt: str,
    known: Mapping[str, Mapping[str, str]] = EXAMPLE_SCHEMAS,
    modules: Sequence[str] = ("ibis.examples",),
) -> tuple[str, dict[str, dict[str, str]] | None]:
    """`stmt` with each dataset fetch (`ibis.examples.penguins.fetch()`, or through a
    name `modules` gives the examples module) replaced by the dataset's name as a free
    table, and the schemas used; None for them when a dataset's schema is unknown."""
    used: dict[str, dict[str, str]] = {}
    unknown = False

    def sub(m: re.Match[str]) -> str:
        nonlocal unknown
        name = m.group(1)
        if name not in known:
            unknown = True
            return m.group(0)
        used[name] = dict(known[name])
        return name

    pattern = _FETCH.format(module="(?:" + "|".join(re.escape(m) for m in modules) + ")")
    new = re.sub(r"(?<![\w.])" + pattern, sub, stmt)
    return (new, None) if unknown else (new, used)


def _examples_alias(stmt: str) -> str | None:
    """The name an import gives the examples module: `import ibis.examples as ex`
    (`Table.distinct`'s examples then fetch `ex.penguins`), `from ibis import examples`
    (`Table.value_counts`'s), `from ibis import examples as ex, selectors as s`."""
    try:
        tree = ast.parse(stmt.strip())
    except SyntaxError:
        return None
    node = tree.body[0] if len(tree.body) == 1 else None
    if isinstance(node, ast.Import):
        return next((a.asname for a in node.names if a.name == "ibis.examples" and a.asname),
                    None)
    if isinstance(node, ast.ImportFrom) and node.module == "ibis" and not node.level:
        return next((a.asname or a.name for a in node.names if a.name == "examples"), None)
    return None


#: Modules the validator's sandbox provides (it adds their imports itself).
_SANDBOX_MODULES = frozenset({"ibis", "ibis.selectors", "datetime"})


def _unavailable_imports(tree: ast.Module) -> set[str]:
    """Names a statement imports from modules the sandbox does not have (`dt` of
    `import ibis.expr.datatypes as dt`, `pa`, `shapely`, `pi` of `from math import pi`)."""
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {a.asname or a.name.split(".")[0] for a in node.names
                    if a.name not in _SANDBOX_MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module not in _SANDBOX_MODULES:
            out |= {a.asname or a.name for a in node.names}
    return out


def _reads(tree: ast.Module, names: set[str]) -> bool:
    """Whether the statement reads one of `names`: the sandbox would stop at it, and every
    example after it (they all include it) would fail the same way."""
    return bool(names) and any(
        isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in names
        for n in ast.walk(tree))


def _datetime_import(node: ast.stmt) -> bool:
    """`from datetime import datetime, timedelta` / `import datetime [as dt]`."""
    if isinstance(node, ast.ImportFrom):
        return node.module == "datetime" and not node.level
    return isinstance(node, ast.Import) and all(a.name == "datetime" for a in node.names)


def _skip(tree: ast.Module) -> bool:
    """Imports (the sandbox's own are added back), option switches, display calls."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("options", "examples", "con"):
            return True
        if isinstance(node, ast.Attribute) and node.attr in _DISPLAY:
            return True
        if isinstance(node, ast.Name) and node.id in ("print", "con"):
            return True
    return False


def _uses(node: ast.AST, target: str) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == target)
        or (isinstance(n, ast.Name) and n.id == target)
        for n in ast.walk(node)
    )


def _assigned_name(node: ast.Assign | ast.AnnAssign) -> str | None:
    target = node.targets[0] if isinstance(node, ast.Assign) else node.target
    return target.id if isinstance(target, ast.Name) else None


def examples_for(symbol: Symbol, limit: int = 3) -> list[RunnableExample]:
    """The symbol's own docstring examples that use it, made runnable."""
    if symbol.kind == "doc":
        out: list[RunnableExample] = []
        for block in symbol.examples:
            stmts = [ast.get_source_segment(block, n) or "" for n in _body(block)]
            out.extend(rewrite(stmts))
        return out[:limit]
    name = symbol.qualname.rsplit(".", 1)[-1]
    return rewrite(symbol.examples, name, symbol.datasets)[:limit]


def _body(block: str) -> Iterable[ast.stmt]:
    try:
        return ast.parse(block).body
    except SyntaxError:
        return []


#: Window frames and how to call them in an example; the docstrings of ibis's window
#: constructors have no examples, and a window only makes sense applied to a reduction.
WINDOW_FRAMES: dict[str, str] = {
    "window": "ibis.window(preceding=2, following=0, group_by=t.g, order_by=t.k)",
    "rows_window": "ibis.rows_window(preceding=2, following=0, group_by=t.g, order_by=t.k)",
    "range_window": "ibis.range_window(preceding=2, following=0, order_by=t.k)",
    "trailing_window": "ibis.trailing_window(2, group_by=t.g, order_by=t.k)",
    "cumulative_window": "ibis.cumulative_window(group_by=t.g, order_by=t.k)",
    "trailing_range_window": "ibis.trailing_range_window(2, order_by=t.k)",
}
_WINDOW_TABLE = {"g": "string", "k": "int64", "x": "float64"}
_REDUCTIONS = ("mean", "sum", "max", "min", "count", "median", "std", "var", "first", "last")


def generated_example(symbol: Symbol, names: Sequence[str]) -> RunnableExample | None:
    """An example for a symbol whose docstring has none that runs: a window constructor
    or `Value.over` applied to the reduction among `names` (the other hits' names), and
    a constructor that takes nothing (`ibis.now()`) called."""
    last = symbol.qualname.rsplit(".", 1)[-1]
    if symbol.kind == "method" and last == "over" and symbol.parent.endswith(".Value"):
        return window_example("window", names)
    if symbol.kind != "function" or not symbol.module.startswith("ibis."):
        return None
    window = window_example(last, names)
    if window is not None:
        return window
    exported = next((n for n in symbol.names() if n == f"ibis.{last}"), None)
    if exported and symbol.signature.startswith("()") and "Scalar" in symbol.returns:
        return RunnableExample("\n".join([*_SETUP_IMPORTS, f"expr = {exported}()"]), {})
    return None


def window_example(frame: str, reducers: Sequence[str]) -> RunnableExample | None:
    """`t.x.<reduction>().over(<frame>)`: a window constructor shown applied, with the
    reduction the question asked for when one of the hits is one (else `mean`)."""
    call = WINDOW_FRAMES.get(frame)
    if call is None:
        return None
    wanted = [r[3:] if r.startswith("cum") else r for r in reducers]  # cumsum → sum
    reduce = next((r for r in wanted if r in _REDUCTIONS), "mean")
    code = "\n".join([*_SETUP_IMPORTS, f"w = {call}",
                      f"expr = t.mutate({reduce}_x=t.x.{reduce}().over(w))"])
    return RunnableExample(code, {"t": dict(_WINDOW_TABLE)})


_FENCED = re.compile(r"```[ \t]*(?:\{?python\}?|py)?[ \t]*\n(.*?)```", re.S)


def code_blocks(text: str) -> list[str]:
    """Fenced code blocks of an answer, or doctest statements when it has none."""
    blocks = [b.strip() for b in _FENCED.findall(text) if b.strip()]
    if blocks:
        return blocks
    lines = [ln[4:] for ln in text.splitlines() if ln.lstrip().startswith((">>> ", "... "))]
    return ["\n".join(lines)] if lines else []


def runnable_from_answer(text: str) -> RunnableExample | None:
    """The example of an answer (ours or a model's) in the form the validator runs."""
    for block in code_blocks(text):
        try:
            tree = ast.parse(block)
        except SyntaxError:
            return RunnableExample(block, {})  # the validator reports the syntax error
        stmts = [ast.get_source_segment(block, n) or "" for n in tree.body]
        assigns_expr = any(
            isinstance(n, ast.Name) and n.id == "expr" and isinstance(n.ctx, ast.Store)
            for n in ast.walk(tree)
        )
        if assigns_expr:
            code, tables = _rewrite_whole(stmts)
            return RunnableExample(code, tables)
        found = rewrite(stmts)
        if found:
            return found[0]
    return None


def _rewrite_whole(stmts: Sequence[str]) -> tuple[str, dict[str, dict[str, str]]]:
    kept: list[str] = []
    tables: dict[str, dict[str, str]] = {}
    for raw in stmts:
        stmt, used = _replace_fetch(raw)
        tables.update(used or {})
        try:
            tree = ast.parse(stmt)
        except SyntaxError:
            kept.append(stmt)
            continue
        if isinstance(tree.body[-1], (ast.Import, ast.ImportFrom)) or not _skip(tree):
            kept.append(stmt)
    return "\n".join(kept), tables
