"""The API index: symbols of installed packages and docs folders, searchable by question.

Building means importing a package and reading every public symbol (seconds for ibis),
so each source is cached on disk under a key made of its name, its version and what was
selected; a new version is a new key, so upgrading ibis rebuilds the index by itself.
Loading from the cache and ranking stay well under the 100 ms a warm answer may take.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from ibert_tasks_docs.cache import cache_dir, read_json, write_json
from ibert_tasks_docs.qa import dense, docs_files
from ibert_tasks_docs.qa.graph import build_graph
from ibert_tasks_docs.qa.symbols import IBIS_MODULES, Symbol, _strs, extract_package
from ibert_tasks_docs.qa.tokens import query_terms, terms

if TYPE_CHECKING:
    from ibert_core.types import Embedder

#: Bumped whenever what a cached index holds changes, so old caches are not reused.
INDEX_FORMAT = 6

#: Modules selected by default per package (everything public when not listed).
DEFAULT_MODULES: dict[str, tuple[str, ...]] = {"ibis": IBIS_MODULES}

#: Methods of the classes the package exports (`ibis.Table`, `ibis.Column`) are the ones
#: users mean when a helper class has a same-named method (`GroupedTable.select`).
PUBLIC_CLASS_BOOST = 1.2

#: How much a hit lends its graph neighbours (a fraction of its own normalized score).
#: Small: at 0.25 a neighbour sharing fewer of the question's words overtook the symbol
#: that answers it ("join strings of a group": `StringValue.join` over `group_concat`);
#: lending settles near ties and brings neighbours into the top k.
GRAPH_WEIGHT = 0.1

#: How far apart symbols the question names exactly are placed above the best other hit.
EXACT_STEP = 0.01

_BACKTICKED = re.compile(r"`([^`]+)`")
_DOTTED = re.compile(r"(?<![\w.])(?:[A-Z]\w*|ibis)(?:\.[A-Za-z_]\w*)+")
_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def named(question: str) -> list[str]:
    """The API names a question spells out, in order: what it puts in backticks (a call's
    parentheses dropped: `t.select(...)` names `t.select`) and, written bare, names of a
    class's member or of `ibis` (`Table.select`, `ibis.desc`; not prose such as "e.g.").
    Backticked code that is not a name (`_.x > 1`) names nothing."""
    out: list[str] = []
    for span in _BACKTICKED.findall(question):
        name = span.strip().split("(", 1)[0].strip()
        if _NAME.fullmatch(name):
            out.append(name)
    out += _DOTTED.findall(_BACKTICKED.sub(" ", question))
    return list(dict.fromkeys(out))


@attrs.frozen
class SourceInfo:
    """One indexed source as `ibert qa index` reports it."""

    kind: str  # "package" or "docs"
    name: str
    version: str
    symbols: int
    build_seconds: float
    cached: bool
    path: str


@attrs.frozen
class Hit:
    """A symbol the question matched, its fused score, and what it brings along."""

    symbol: Symbol
    score: float
    lexical: float
    dense: float | None = None
    neighbours: tuple[str, ...] = attrs.field(converter=_strs, factory=tuple)


def package_version(package: str) -> str:
    """The installed distribution's version; for a source tree without metadata, a
    fingerprint of its files (so edits still invalidate the cache)."""
    for dist in _distributions(package):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        from ibert_core.errors import BadInput

        raise BadInput(f"package {package!r} is not installed", f"pip install {package}")
    root = Path(spec.origin).parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        st = p.stat()
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return "src-" + h.hexdigest()[:12]


def _distributions(package: str) -> list[str]:
    """Distributions providing the import name `package`: the same-named one first (cheap),
    else a scan of every installed distribution's files (slow, done once per process)."""
    try:
        importlib.metadata.distribution(package)
        return [package]
    except importlib.metadata.PackageNotFoundError:
        pass
    if package not in _DISTS:
        _DISTS[package] = list(importlib.metadata.packages_distributions().get(package, []))
    return _DISTS[package]


_DISTS: dict[str, list[str]] = {}


def _key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps([INDEX_FORMAT, *parts]).encode()).hexdigest()[:12]


def package_source(
    package: str, modules: Sequence[str] | None = None, root: Path | None = None
) -> tuple[Path, str, tuple[str, ...] | None]:
    """Where the package's index is cached: its path (name, version and selection in the
    key), the version, and the module selection."""
    selected = tuple(modules) if modules is not None else DEFAULT_MODULES.get(package)
    version = package_version(package)
    path = (root or cache_dir()) / "qa" / f"package-{package}-{version}-{_key(selected)}.json"
    return path, version, selected


def load_package(
    package: str,
    modules: Sequence[str] | None = None,
    root: Path | None = None,
    rebuild: bool = False,
) -> tuple[list[Symbol], SourceInfo]:
    """The package's symbols from the cache, building and caching them when missing."""
    path, version, selected = package_source(package, modules, root)
    return _load(path, "package", package, version, rebuild,
                 lambda: extract_package(package, selected))


def docs_source(folder: Path, root: Path | None = None) -> tuple[Path, str]:
    folder = folder.resolve()
    if not folder.is_dir():
        from ibert_core.errors import BadInput

        raise BadInput(f"docs folder {str(folder)!r} does not exist", "pass an existing directory")
    version = docs_files.fingerprint(folder)
    path = (root or cache_dir()) / "qa" / f"docs-{folder.name}-{version}-{_key(str(folder))}.json"
    return path, version


def load_docs(
    folder: Path, root: Path | None = None, rebuild: bool = False
) -> tuple[list[Symbol], SourceInfo]:
    path, version = docs_source(folder, root)
    return _load(path, "docs", str(folder.resolve()), version, rebuild,
                 lambda: docs_files.extract_docs(folder.resolve()))


def _load(
    path: Path, kind: str, name: str, version: str, rebuild: bool, build: Any
) -> tuple[list[Symbol], SourceInfo]:
    cached = None if rebuild else read_json(path)
    if cached is not None and cached.get("format") == INDEX_FORMAT:
        symbols = [Symbol.from_dict(d) for d in cached["symbols"]]
        return symbols, SourceInfo(kind, name, version, len(symbols),
                                   cached["build_seconds"], True, str(path))
    t0 = time.perf_counter()
    symbols = build()
    seconds = round(time.perf_counter() - t0, 3)
    write_json(path, {"format": INDEX_FORMAT, "kind": kind, "name": name, "version": version,
                      "build_seconds": seconds, "symbols": [s.to_dict() for s in symbols]})
    return symbols, SourceInfo(kind, name, version, len(symbols), seconds, False, str(path))


_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def _example_prose(examples: str) -> list[str]:
    """The sentences between an Examples section's doctests ("With `distinct=True`, the
    intersection will return one row for each row that appears in all input tables")."""
    return [line.strip() for line in examples.splitlines()
            if not line.lstrip().startswith((">>>", "..."))
            and len(re.findall(r"[A-Za-z]{2,}", line)) >= 4 and not re.search(r"[│┃┏└]", line)]


def document_text(s: Symbol) -> str:
    """What BM25 sees of a symbol: its name (weighted by repetition), summary and prose.

    Example output tables and the code of the examples are cut: they repeat words every
    symbol has ("penguins", "int64") and drown the distinctive ones; the sentences between
    the examples stay. So do the names of see-also links but not their targets:
    `./expression-generic.qmd#ibis.expr.types.generic.Value.fill_null` gave every symbol
    that links words ("expression", "generic", "types", "qmd") none of them is about.
    """
    last = s.qualname.rsplit("#", 1)[-1].rsplit(".", 1)[-1]
    owner = s.parent.rsplit(".", 1)[-1] if s.parent else ""
    prose, _, examples = s.doc.partition("\nExamples\n---")
    prose = _LINK_TARGET.sub("]", prose)[:2000] + " " + " ".join(_example_prose(examples))[:1000]
    return " ".join([last] * 3 + [owner, s.signature if s.kind == "doc" else "", s.summary * 2,
                                  prose])


#: Modules that implement ibis rather than being called by its users (deferred-expression
#: machinery, the SQL-to-ibis converters, dataframe interchange, rich display, the dtype and
#: schema classes): their docstrings share the users' words ("select", "null", "cast")
#: with the methods users mean (`Table.select`, `Value.isnull`, `Value.cast`).
PLUMBING_MODULES = (
    "ibis.common.", "ibis.expr.sql", "ibis.expr.types.dataframe_interchange",
    "ibis.expr.types.rich", "ibis.expr.datatypes.", "ibis.expr.schema",
)
#: Backend methods that `connect`/`ibis.connect` and the backend machinery call, not users.
#: So are the reflected operators (`radd` implements `1 + x`; users write the operator).
PLUMBING_METHODS = frozenset({
    "do_connect", "reconnect", "register_options", "db_identity", "has_operation",
    "radd", "rsub", "rmul", "rdiv", "rfloordiv", "rmod", "rpow",
})
PLUMBING_PRIOR = 0.7

#: The expression classes (`ArrayColumn`, `StringScalar`) hold the methods users call; a
#: "how do I" question is answered by a method, not by the class ("length of an array
#: column" means `ArrayValue.length`, not `ArrayColumn`).
TYPE_CLASS_PRIOR = 0.7

#: A domain whose API only questions in its own words are about: geospatial methods say
#: "text", "contains", "length", "within" like the string and array ones do, and a grouped
#: table's `select`/`mutate` are the table's own for a question that groups nothing.
DOMAINS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "grouped": (("ibis.expr.types.groupby",), frozenset({
        "group", "groups", "grouped", "groupby", "grouping", "having", "per", "each",
    })),
    "geospatial": (("ibis.expr.types.geospatial",), frozenset({
        "geo", "geometry", "geometries", "spatial", "geospatial", "point", "points",
        "polygon", "polygons", "linestring", "wkt", "wkb", "srid", "crs", "latitude",
        "longitude", "shapely", "geopandas", "centroid",
    })),
}
#: Name words that make a variant of a plainer symbol (`to_pandas_batches` of `to_pandas`,
#: `approx_median` of `median`, `try_cast` of `cast`): the variant is what a question means
#: only when it asks for what the word adds, in one of these words.
VARIANTS: dict[str, frozenset[str]] = {
    "batches": frozenset({"batch", "batches", "chunk", "chunks", "stream", "streaming",
                          "iterator", "iterate", "memory"}),
    "approx": frozenset({"approx", "approximate", "approximately", "estimate", "fast",
                         "faster", "large"}),
    "try": frozenset({"try", "safe", "safely", "invalid", "error", "errors", "fail",
                      "fails", "failing", "bad"}),
    "dir": frozenset({"dir", "directory", "folder", "partitioned", "partitions"}),
}
DOMAIN_PRIOR = 0.6


def _plumbing(s: Symbol) -> bool:
    """In a plumbing module and not exported as `ibis.NAME` (`ibis.to_sql` lives in
    `ibis.expr.sql`), or a plumbing method."""
    if s.kind == "method" and s.qualname.rsplit(".", 1)[-1] in PLUMBING_METHODS:
        return True
    return not _exported(s) and (s.module + ".").startswith(PLUMBING_MODULES)


def _exported(s: Symbol) -> bool:
    """Exported as `ibis.NAME` (`ibis.Table`, `ibis.to_sql`)."""
    return any(n.startswith("ibis.") and n.count(".") == 1 for n in s.names())


def _prior(s: Symbol) -> float:
    """Symbols users call outrank plumbing with similar words."""
    p = 1.0
    if _plumbing(s):
        p *= PLUMBING_PRIOR
    if not s.doc:
        p *= 0.5
    if s.aliases or s.kind in ("method", "property", "doc"):
        p *= 1.15
    if s.kind == "class":
        p *= 0.8
        if s.module.startswith("ibis.expr.types.") and not _exported(s):
            p *= TYPE_CLASS_PRIOR
    if s.examples:
        p *= 1.1
    return p


class ApiIndex:
    """BM25 over symbol texts, fused with dense similarity when a model is available,
    expanded along the symbol graph."""

    def __init__(
        self,
        symbols: Sequence[Symbol],
        sources: Sequence[SourceInfo] = (),
        embedder: Embedder | None = None,
        vectors: np.ndarray | None = None,
    ) -> None:
        import bm25s

        if not symbols:
            from ibert_core.errors import BadInput

            raise BadInput("the index is empty", "index a package or docs folder with symbols")
        self.symbols = list(symbols)
        self.sources = list(sources)
        self.position = {s.qualname: i for i, s in enumerate(self.symbols)}
        self.bm25 = bm25s.BM25()
        self.bm25.index([terms(document_text(s)) or ["_"] for s in self.symbols],
                        show_progress=False)
        exported = {s.qualname for s in self.symbols if s.kind == "class" and s.aliases}
        self.priors = np.array(
            [_prior(s) * (PUBLIC_CLASS_BOOST if s.parent in exported else 1.0)
             for s in self.symbols],
            dtype=np.float32,
        )
        self.domains = {
            name: (np.array([(s.module + ".").startswith(mods) for s in self.symbols]), words)
            for name, (mods, words) in DOMAINS.items()
        }
        for word, asked_by in VARIANTS.items():
            mask = np.array([s.kind != "doc" and word in s.qualname.rsplit(".", 1)[-1].split("_")
                             for s in self.symbols])
            self.domains[word] = (mask, asked_by)
        self.graph = build_graph(self.symbols)
        self.by_name: dict[str, list[int]] = {}
        self.by_last: dict[str, set[int]] = {}
        for i, sym in enumerate(self.symbols):
            for name in dict.fromkeys(sym.names()):
                self.by_name.setdefault(name, []).append(i)
                if sym.kind != "doc":
                    self.by_last.setdefault(name.rsplit(".", 1)[-1], set()).add(i)
        self.embedder = embedder
        if embedder is not None and vectors is None:
            vectors = np.asarray(embedder.encode([dense.symbol_text(s) for s in self.symbols]),
                                 dtype=np.float32)
        self.vectors = vectors if embedder is not None else None

    @property
    def retrieval(self) -> str:
        return "bm25+dense+graph" if self.embedder is not None else "bm25+graph"

    def resolve(self, name: str) -> list[Symbol]:
        """Symbols known under `name` (qualified, short or exported)."""
        if name in self.position:
            return [self.symbols[self.position[name]]]
        return [s for s in self.symbols if name in s.names()]

    def exact(self, question: str) -> list[int]:
        """Positions of the symbols the question names exactly, in the question's order: a
        qualified name (`Table.select`, `ibis.rank`, an alias such as `Table.agg`), or a
        bare name (`upper`) that exactly one symbol has. A user who spells the name means
        that symbol, whatever words its docstring shares with others (`Table.count`'s are
        mostly `value_counts`'s); `ibis` being a stop word, only this finds `ibis.rank`."""
        out: list[int] = []
        for name in named(question):
            if name in self.by_name:
                out += self.by_name[name]
            elif "." not in name and len(self.by_last.get(name, ())) == 1:
                out += self.by_last[name]
        return list(dict.fromkeys(out))

    def search(self, question: str, k: int = 5) -> list[Hit]:
        """The `k` best symbols for `question`: BM25 (fused with dense similarity when a
        model is loaded) times each symbol's prior, plus a share of their graph neighbours'
        scores; symbols the question names exactly (`exact`) come first."""
        q = query_terms(question)
        lexical = np.asarray(self.bm25.get_scores(q), dtype=np.float32) if q else np.zeros(
            len(self.symbols), dtype=np.float32)
        top = float(lexical.max()) if lexical.size else 0.0
        base = lexical / top if top > 0 else lexical
        sims = None
        if self.embedder is not None and self.vectors is not None:
            sims = self.vectors @ np.asarray(self.embedder.encode([question]), np.float32)[0]
            base = dense.fuse(base, sims)
        base = base * self.priors
        asked = {w.lower() for w in re.findall(r"[A-Za-z]+", question)}
        for mask, domain_words in self.domains.values():
            if not asked & domain_words:
                base = np.where(mask, base * DOMAIN_PRIOR, base)
        exact = self.exact(question)
        if exact:  # as strong as the best hit, so they lend their neighbours as much
            base[exact] = np.maximum(base[exact], max(float(base.max()), 1.0))
        fused = base.copy()
        for i in np.argsort(-base)[:20]:
            if base[i] <= 0:
                break
            for j in self.graph.get(int(i), ()):
                fused[j] = max(fused[j], base[j] + GRAPH_WEIGHT * base[i])
        if exact:
            top = float(fused.max())
            for rank, i in enumerate(exact):
                fused[i] = top + EXACT_STEP * (len(exact) - rank)
        order = np.argsort(-fused, kind="stable")[:k]
        return [
            Hit(
                symbol=self.symbols[i],
                score=round(float(fused[i]), 4),
                lexical=round(float(lexical[i]), 4),
                dense=None if sims is None else round(float(sims[i]), 4),
                neighbours=[self.symbols[j].short for j in self.graph.get(int(i), ())][:5],
            )
            for i in order
            if fused[i] > 0
        ]


_LOADED: dict[Any, ApiIndex] = {}


def open_index(
    packages: Sequence[str] = ("ibis",),
    docs: Sequence[str | Path] = (),
    modules: dict[str, Sequence[str]] | None = None,
    config: dict[str, Any] | None = None,
    rebuild: bool = False,
    context: Any = None,
) -> ApiIndex:
    """The index over `packages` and `docs`, kept in memory per process and cache state.

    The key is every source's cache path (which holds its version) and the embedder's
    identity, so a process that keeps running still sees an upgraded package, an edited
    docs folder or another model. The embedder is the registry's (`context.embedder()`);
    its symbol vectors are cached on disk like the symbols.
    """
    root = cache_dir(config)
    paths = [package_source(p, (modules or {}).get(p), root)[0] for p in packages]
    paths += [docs_source(Path(d), root)[0] for d in docs]
    embedder = dense.embedder_for(context, config)
    key = (tuple(str(p) for p in paths), embedder.identity if embedder else None)
    if key in _LOADED and not rebuild:
        return _LOADED[key]
    symbols: list[Symbol] = []
    sources: list[SourceInfo] = []
    for pkg in packages:
        syms, info = load_package(pkg, (modules or {}).get(pkg), root, rebuild)
        symbols += syms
        sources.append(info)
    for folder in docs:
        syms, info = load_docs(Path(folder), root, rebuild)
        symbols += syms
        sources.append(info)
    vectors = dense.symbol_vectors(embedder, symbols, root) if embedder else None
    _LOADED[key] = ApiIndex(symbols, sources, embedder, vectors)
    return _LOADED[key]
