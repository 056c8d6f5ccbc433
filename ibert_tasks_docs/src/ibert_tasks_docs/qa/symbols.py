"""One chunk per public API symbol of an installed package.

Semantic units rather than line windows: a question about `mutate` should land on the
whole of `Table.mutate` (its signature, docstring and examples), not on forty lines that
happen to contain the word. Modules are imported and read with `inspect`, because ibis
builds some docstrings at import time (the join family) that the source does not hold;
a module that fails to import is read with `ast` instead.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

#: Parts of ibis a user asks about. The rest (operation nodes, compilers of other
#: backends, internals) only adds noise to the answers; `--package ibis --all` keeps it.
IBIS_MODULES: tuple[str, ...] = (
    "ibis",
    "ibis.expr.api",
    "ibis.expr.types.*",
    "ibis.expr.datatypes.core",
    "ibis.expr.schema",
    "ibis.expr.sql",
    "ibis.expr.operations.udf",
    "ibis.selectors",
    "ibis.backends",
    "ibis.backends.sql",
    "ibis.backends.duckdb",
    "ibis.config",
    "ibis.common.deferred",
)

#: Module name parts that are never indexed.
SKIP_PARTS = frozenset({"tests", "test", "conftest", "testing", "_vendor"})


def _strs(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


@attrs.frozen
class Symbol:
    """One indexed unit: a function, class, method, property, or a docs section."""

    qualname: str
    kind: str  # function | class | method | property | doc
    module: str
    signature: str = ""
    doc: str = ""
    examples: tuple[str, ...] = attrs.field(converter=_strs, factory=tuple)
    returns: str = ""
    see_also: tuple[str, ...] = attrs.field(converter=_strs, factory=tuple)
    aliases: tuple[str, ...] = attrs.field(converter=_strs, factory=tuple)
    parent: str = ""  # the owning class's qualname for methods
    wraps: str = ""  # the function a decorator-made override wraps (`Join.filter`)
    #: Schemas of example datasets as the docstring's printed tables show them.
    datasets: dict[str, dict[str, str]] = attrs.field(factory=dict)
    path: str = ""
    line: int = 0

    @property
    def short(self) -> str:
        """`Table.mutate` for methods, `ibis.read_parquet` for exported functions."""
        if self.kind in ("method", "property") and self.parent:
            return f"{self.parent.rsplit('.', 1)[-1]}.{self.qualname.rsplit('.', 1)[-1]}"
        public = [a for a in self.aliases if a.count(".") <= 2]
        return min(public, key=len) if public else self.qualname

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line."""
        first = self.doc.strip().split("\n\n", 1)[0]
        return " ".join(first.split())

    def names(self) -> tuple[str, ...]:
        return (self.qualname, self.short, *self.aliases)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Symbol:
        return cls(**data)


def module_names(package: str, patterns: Sequence[str] | None = None) -> list[str]:
    """Importable module names of `package` found on disk, filtered by `patterns`.

    A pattern is a module name, or `prefix.*` for everything below it.
    """
    spec = importlib.util.find_spec(package)
    if spec is None:
        from ibert_core.errors import BadInput

        raise BadInput(f"package {package!r} is not installed", f"pip install {package}")
    if not spec.submodule_search_locations:
        return [package]
    root = Path(next(iter(spec.submodule_search_locations)))
    names = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("").parts
        if rel[-1] == "__init__":
            rel = rel[:-1]
        if any(p in SKIP_PARTS or (p.startswith("_") and p != "__init__") for p in rel):
            continue
        name = ".".join((package, *rel))
        if patterns is None or any(_matches(name, p) for p in patterns):
            names.append(name)
    return names


def _matches(name: str, pattern: str) -> bool:
    if pattern.endswith(".*"):
        return name.startswith(pattern[:-1])
    return name == pattern


def extract_package(package: str, patterns: Sequence[str] | None = None) -> list[Symbol]:
    """Every public symbol defined in the package's (selected) modules, in source order."""
    out: list[Symbol] = []
    seen: set[str] = set()
    for modname in module_names(package, patterns):
        for sym in extract_module(modname):
            if sym.qualname not in seen:
                seen.add(sym.qualname)
                out.append(sym)
    out = _merge_overrides(out)
    aliases = exported_aliases(package)
    return [
        attrs.evolve(s, aliases=tuple(sorted({*s.aliases, *aliases[s.qualname]})))
        if s.qualname in aliases
        else s
        for s in out
    ]


def _merge_overrides(symbols: list[Symbol]) -> list[Symbol]:
    """One symbol per documented behaviour: a subclass override with its parent's docstring
    (`Join.filter` repeating `Table.filter`) becomes an alias of the first definition."""
    first: dict[tuple[str, str], int] = {}
    out: list[Symbol] = []
    for s in sorted(symbols, key=lambda s: bool(s.wraps)):  # stable: wrappers merge last
        key = (s.qualname.rsplit(".", 1)[-1], s.doc)
        if s.kind in ("method", "property") and s.doc and key in first:
            i = first[key]
            out[i] = attrs.evolve(out[i], aliases=(*out[i].aliases, s.qualname, s.short))
            continue
        if s.kind in ("method", "property") and s.doc:
            first[key] = len(out)
        out.append(s)
    return out


def extract_module(modname: str) -> list[Symbol]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(modname)
    except Exception:  # noqa: BLE001 - a broken optional backend must not stop the index
        return _extract_ast(modname)
    return list(_extract_live(module))


def _extract_live(module: Any) -> Iterator[Symbol]:
    modname = module.__name__
    path = getattr(module, "__file__", "") or ""
    members = vars(module)
    exported = set(getattr(module, "__all__", None) or ())
    for name, obj in members.items():
        if name.startswith("_"):
            continue
        home = getattr(obj, "__module__", None)
        if home != modname and not (name in exported and _hidden(home, modname)):
            continue
        if home == modname and getattr(obj, "__name__", name) != name:
            continue  # a second name for an object indexed under its own (`ColumnExpr = Column`)
        if inspect.isclass(obj):
            yield from _class_symbols(obj, f"{modname}.{name}", modname, path)
        elif inspect.isfunction(obj):
            yield _function_symbol(obj, f"{modname}.{name}", "function", modname, path)


def _hidden(home: str | None, modname: str) -> bool:
    """Whether `home` is a private module, so its objects are public only through the
    module that re-exports them (`attrs.define` is defined in `attr._next_gen`)."""
    if not home:
        return False
    return any(part.startswith("_") for part in home.split(".")) or (
        home.split(".")[0] != modname.split(".")[0]
    )


def _class_symbols(cls: type, qualname: str, modname: str, path: str) -> Iterator[Symbol]:
    yield Symbol(
        qualname=qualname,
        kind="class",
        module=modname,
        signature=_signature(cls),
        doc=inspect.getdoc(cls) or "",
        examples=doctest_blocks(inspect.getdoc(cls) or ""),
        see_also=see_also(inspect.getdoc(cls) or ""),
        datasets=dataset_schemas(inspect.getdoc(cls) or ""),
        path=path,
        line=_line(cls),
    )
    members: list[tuple[str, Any, str]] = [
        (name, fn, kind)
        for name, (fn, kind) in ((n, _unwrap(m)) for n, m in _own_members(cls))
        if inspect.isfunction(fn)
    ]
    second = _second_names(members)
    owner = qualname.rsplit(".", 1)[-1]
    for name, member, kind in members:
        if name in second:
            continue  # `agg = aggregate`: indexed once, under its own name
        aliases = [(f"{qualname}.{n}", f"{owner}.{n}") for n, o in second.items() if o == name]
        sym = _function_symbol(member, f"{qualname}.{name}", kind, modname, path, parent=qualname)
        yield attrs.evolve(sym, aliases=[a for pair in aliases for a in pair]) if aliases else sym


def _unwrap(member: Any) -> tuple[Any, str]:
    """The function behind a class member, and whether it is a method or a property."""
    if isinstance(member, (staticmethod, classmethod)):
        return member.__func__, "method"
    if isinstance(member, property):
        return member.fget, "property"
    if isinstance(member, functools.cached_property):
        return member.func, "property"
    return member, "method"


def _second_names(members: Sequence[tuple[str, Any, str]]) -> dict[str, str]:
    """`{second name: name}` for methods bound to a second name in the class body
    (`agg = aggregate`): users call `t.agg(...)`, so a question about `Table.agg` must find
    `Table.aggregate`, whose aliases they become. A second name for a method the class
    inherits (indexed on its own class) stays a symbol of its own."""
    own = {name: member for name, member, _ in members}
    out: dict[str, str] = {}
    for name, member, kind in members:
        original = str(member.__name__)
        if kind == "method" and original != name and _public(original) and (
            own.get(original) is member
        ):
            out[name] = original
    return out


def _own_members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public members of `cls`, plus those of its private mixins (ibis keeps `year()` on
    `_DateComponentMixin`; users know it as `DateValue.year`)."""
    top = cls.__module__.split(".", 1)[0]
    seen: set[str] = set()
    for klass in cls.__mro__:
        if klass is not cls and not (
            klass.__name__.startswith("_")
            and klass.__module__.split(".", 1)[0] == top
            and not any(
                klass in base.__mro__
                for base in cls.__mro__[1:]
                if not base.__name__.startswith("_") and base.__module__.split(".", 1)[0] == top
            )
        ):
            continue  # inherited from a public class: indexed there
        for name, member in vars(klass).items():
            if not name.startswith("_") and name not in seen:
                seen.add(name)
                yield name, member


def _function_symbol(
    fn: Any, qualname: str, kind: str, modname: str, path: str, parent: str = ""
) -> Symbol:
    doc = inspect.getdoc(fn) or ""
    sig = _signature(fn)
    returns = sig.rsplit("->", 1)[1].strip() if "->" in sig else ""
    return Symbol(
        qualname=qualname,
        kind=kind,
        module=modname,
        signature=sig,
        doc=doc,
        examples=doctest_blocks(doc),
        returns=returns,
        see_also=see_also(doc),
        parent=parent,
        wraps=_wrapped_name(fn, qualname),
        datasets=dataset_schemas(doc),
        path=path,
        line=_line(fn),
    )


def _wrapped_name(fn: Any, qualname: str) -> str:
    """The wrapped function's name when `fn` is a `functools.wraps` override of another."""
    if getattr(fn, "__wrapped__", None) is None:
        return ""
    name = f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', '')}"
    return name if name != qualname else ""


def _signature(obj: Any) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


def _line(obj: Any) -> int:
    code = getattr(obj, "__code__", None)
    if code is not None:
        return int(code.co_firstlineno)
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return 0


def _extract_ast(modname: str) -> list[Symbol]:
    """Symbols of a module that cannot be imported, read from its source."""
    spec = importlib.util.find_spec(modname)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return []
    source = Path(spec.origin).read_text(encoding="utf-8", errors="replace")
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out: list[Symbol] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(node.name):
            out.append(_ast_function(node, f"{modname}.{node.name}", "function", modname,
                                     spec.origin))
        elif isinstance(node, ast.ClassDef) and _public(node.name):
            qual = f"{modname}.{node.name}"
            doc = ast.get_docstring(node) or ""
            out.append(Symbol(qual, "class", modname, doc=doc, examples=doctest_blocks(doc),
                              see_also=see_also(doc), path=spec.origin, line=node.lineno))
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _public(
                    item.name
                ):
                    decos = {ast.unparse(d) for d in item.decorator_list}
                    kind = "property" if decos & {"property", "functools.cached_property",
                                                  "cached_property"} else "method"
                    out.append(_ast_function(item, f"{qual}.{item.name}", kind, modname,
                                             spec.origin, parent=qual))
    return out


def _ast_function(
    node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, kind: str, modname: str,
    path: str, parent: str = "",
) -> Symbol:
    doc = ast.get_docstring(node) or ""
    returns = ast.unparse(node.returns) if node.returns else ""
    sig = f"({ast.unparse(node.args)})" + (f" -> {returns}" if returns else "")
    return Symbol(qualname, kind, modname, signature=sig, doc=doc, examples=doctest_blocks(doc),
                  returns=returns, see_also=see_also(doc), parent=parent, path=path,
                  line=node.lineno)


def _public(name: str) -> bool:
    return not name.startswith("_")


def exported_aliases(package: str) -> dict[str, set[str]]:
    """`{defining qualname: {public names}}` for what the package's top level re-exports
    (`ibis.read_parquet` is defined in `ibis.expr.api`)."""
    try:
        module = importlib.import_module(package)
    except Exception:  # noqa: BLE001
        return {}
    out: dict[str, set[str]] = {}
    names = getattr(module, "__all__", None) or [n for n in vars(module) if _public(n)]
    for name in names:
        obj = getattr(module, name, None)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        qual = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
        out.setdefault(qual, set()).add(f"{package}.{name}")
    return out


# --- docstring pieces ------------------------------------------------------------------------

_PROMPT = re.compile(r"^\s*(>>>|\.\.\.)( |$)(.*)$")


def doctest_blocks(doc: str) -> tuple[str, ...]:
    """The doctest statements of a docstring, one source string per statement."""
    out: list[str] = []
    current: list[str] = []
    for line in doc.splitlines():
        m = _PROMPT.match(line)
        if m and m.group(1) == ">>>":
            if current:
                out.append("\n".join(current))
            current = [m.group(3)]
        elif m and current:
            current.append(m.group(3))
        elif current:
            out.append("\n".join(current))
            current = []
    if current:
        out.append("\n".join(current))
    return tuple(s for s in out if s.strip())


_SEE_ALSO = re.compile(r"^See Also\n-+\n(.*?)(?:\n\n[A-Z][^\n]*\n-+\n|\Z)", re.S | re.M)
_REF = re.compile(r"\[`?([A-Za-z_][\w.]*)`?\]\(#[^)]*\)|`([A-Za-z_][\w.]*)`")


def see_also(doc: str) -> tuple[str, ...]:
    """Names a docstring points the reader to: its See Also section and quarto cross-refs."""
    refs: list[str] = []
    m = _SEE_ALSO.search(doc)
    if m:
        for line in m.group(1).splitlines():
            if line and not line.startswith(" "):
                refs.extend(p.strip() for p in line.split(":", 1)[0].split(","))
    for a, b in _REF.findall(doc):
        name = a or b
        if "." in name or a:
            refs.append(name)
    seen: dict[str, None] = {}
    for r in refs:
        if r and r.replace(".", "").replace("_", "").isalnum():
            seen.setdefault(r, None)
    return tuple(seen)


#: `t = ibis.examples.D.fetch()`, possibly narrowed by a projection or row cut (`Table.rename`
#: shows `.fetch().select(first3)`): the printed table then shows those columns, which is
#: all the rest of the example may use of the dataset.
_FETCH_ASSIGN = re.compile(
    r"^\s*>>> (\w+) = ibis\.examples\.(\w+)\.fetch\(\)"
    r"(?:\.(?:select|limit|head|filter|order_by|distinct)\(.*\))*\s*$")


def dataset_schemas(doc: str) -> dict[str, dict[str, str]]:
    """`{dataset: {column: dtype}}` read off the tables a docstring prints.

    Ibis's examples fetch a dataset into a name and then show it; the printed table's
    header holds the column names and the row under it their types. That is how an
    example can run on fixture rows of the right shape without downloading the data.
    """
    lines = doc.splitlines()
    out: dict[str, dict[str, str]] = {}
    for i, line in enumerate(lines):
        m = _FETCH_ASSIGN.match(line)
        if not m or m.group(2) in out:
            continue
        name, dataset = m.groups()
        j = i + 1
        if j < len(lines) and lines[j].strip() == f">>> {name}":
            schema = _printed_schema(lines[j + 1: j + 40])
            if schema:
                out[dataset] = schema
    return out


def _printed_schema(lines: Sequence[str]) -> dict[str, str] | None:
    rows = [ln.strip() for ln in lines]
    if not rows or not rows[0].startswith("┏"):
        return None
    header: list[str] = []
    k = 1
    while k < len(rows) and rows[k].startswith("┃"):
        cells = [c.strip() for c in rows[k].strip("┃").split("┃")]
        header = cells if not header else [a + b for a, b in zip(header, cells, strict=False)]
        k += 1
    if k + 1 >= len(rows) or not rows[k].startswith("┡"):
        return None
    types = [c.strip() for c in rows[k + 1].strip("│").split("│")]
    if len(types) != len(header):
        return None
    schema = {n: t for n, t in zip(header, types, strict=True) if n and n != "…" and t != "…"}
    return schema or None
