"""How often each member follows each context, mined from code that uses Ibis.

The context of `x.m` is what came just before `m`: the method called last (`group_by` in
`t.group_by("k").agg`), `ibis` / `_` / `s`, `<column>` for a column, `<name>` for any other
variable. Without a corpus, the counts come from the installed ibis itself (its docstring
examples and test suite), mined once and cached on disk keyed by the ibis version; with a
corpus (JSONL records holding Ibis code) its code is mined instead.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ibert_tasks_sql.editing.members import api_names

#: Bumped when what is counted changes, so stale caches are not reused.
USAGE_FORMAT = 2
COLUMN = "<column>"
NAME = "<name>"
KEYWORDS = ("ibis", "_", "s", "selectors")
_DOCTEST = re.compile(r"^\s*(?:>>>|\.\.\.) ?(.*)$")


@attrs.frozen
class Usage:
    """Counts of `member` after `context`, with unigram totals for back-off."""

    bigrams: Mapping[str, Mapping[str, int]]
    unigrams: Mapping[str, int]
    source: str = ""

    def score(self, context: str, member: str, enclosing: str | None = None) -> float:
        """Interpolated probability of `member` after `context`, inside a call to
        `enclosing` when given: call-specific counts back off to the context's, which back
        off to unigrams (add-one)."""
        p = self._p(context, member)
        if enclosing:
            row = self.bigrams.get(f"{context}@{enclosing}", {})
            n = self._totals.get(f"{context}@{enclosing}", 0) if row else 0
            if n:
                lam = n / (n + 5)
                p = lam * row.get(member, 0) / n + (1 - lam) * p
        return p

    def _p(self, context: str, member: str) -> float:
        row = self.bigrams.get(context, {})
        n_ctx = self._totals.get(context, 0)
        p_uni = (self.unigrams.get(member, 0) + 1) / self._n_all
        if not n_ctx:
            return p_uni
        lam = n_ctx / (n_ctx + 5)
        return lam * row.get(member, 0) / n_ctx + (1 - lam) * p_uni

    @property
    def _totals(self) -> Mapping[str, int]:
        return _totals(self)

    @property
    def _n_all(self) -> int:
        return _totals(self)[""]

    def to_json(self) -> dict[str, Any]:
        return {"bigrams": self.bigrams, "unigrams": self.unigrams, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Usage:
        return cls(data["bigrams"], data["unigrams"], data.get("source", ""))


_TOTALS: dict[int, dict[str, int]] = {}


def _totals(usage: Usage) -> dict[str, int]:
    """Row sums per context (and the unigram normalizer under ""), computed once."""
    key = id(usage.bigrams)
    if key not in _TOTALS:
        totals = {k: sum(v.values()) for k, v in usage.bigrams.items()}
        totals[""] = sum(usage.unigrams.values()) + len(usage.unigrams) + 1
        _TOTALS[key] = totals
    return _TOTALS[key]


ROOT = "<root>"


def context_of(node: ast.AST, api: frozenset[str]) -> str:
    """The context label of the receiver `node` of an attribute access."""
    if isinstance(node, ast.Name):
        return node.id if node.id in KEYWORDS else NAME
    if isinstance(node, ast.Attribute):
        return node.attr if node.attr in api else COLUMN
    if isinstance(node, ast.Call):
        return context_of(node.func, api)
    if isinstance(node, ast.Subscript):
        return COLUMN
    return NAME


def member_label(name: str, api: frozenset[str]) -> str:
    return name if name in api else COLUMN


#: Chains rooted at these names are test scaffolding or other libraries, not Ibis usage.
NOT_IBIS = frozenset({
    "pytest", "pd", "np", "pa", "pq", "tm", "self", "mocker", "monkeypatch", "con", "backend",
    "os", "sys", "sqlglot", "sg", "sge", "math", "json", "datetime", "re", "mock", "pl", "ops",
    "dt", "sch", "util", "decimal", "uuid", "collections", "itertools", "functools", "toolz",
    "inspect", "typing", "warnings", "contextlib", "pathlib", "Path", "tmp_path", "rlz", "an",
    "sa", "pc", "pds", "pyspark", "spark", "snapshot", "request", "lit", "it", "shapely",
    "time", "string", "random", "operator", "tempfile", "subprocess", "ir", "vparse", "exc",
    "com", "ddl", "types", "parse", "str", "list", "dict", "set", "tuple",
})


def root_name(node: ast.AST) -> str | None:
    while True:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            return None


def _chain_head(value: ast.AST) -> ast.Attribute | None:
    """The `name.member` that starts the chain of a statement's value, if any."""
    node = value
    while isinstance(node, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return node
        node = node.func if isinstance(node, ast.Call) else node.value
    return None


def pairs_in(tree: ast.AST, api: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(context, member) pairs; also (context@call, member) for accesses inside a call's
    arguments, and `<root>` for a name that starts a statement's chain. One traversal."""
    heads: set[int] = set()
    out: list[tuple[str, str]] = []

    def visit(node: ast.AST, enclosing: str | None) -> None:
        if isinstance(node, (ast.Assign, ast.Expr, ast.Return)) and node.value is not None:
            head = _chain_head(node.value)
            if head is not None:
                heads.add(id(head))
        elif (isinstance(node, ast.Attribute) and not node.attr.startswith("_")
              and root_name(node.value) not in NOT_IBIS):
            member = member_label(node.attr, api)
            ctx = context_of(node.value, api)
            if ctx == NAME and id(node) in heads:
                ctx = ROOT
            out.append((ctx, member))
            if enclosing is not None and enclosing in api:
                out.append((f"{ctx}@{enclosing}", member))
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else (
                func.id if isinstance(func, ast.Name) else None)
            visit(func, enclosing)
            for arg in node.args:
                visit(arg, name)
            for kw in node.keywords:
                visit(kw.value, name)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, enclosing)

    visit(tree, None)
    return iter(out)


def doctest_code(text: str) -> str:
    """The Python in a docstring's `>>>` examples, one block per example run."""
    lines = []
    for line in text.splitlines():
        m = _DOCTEST.match(line)
        if m:
            lines.append(m.group(1))
    return "\n".join(lines)


#: Docstring examples show idiomatic user code; test files mostly exercise corners and
#: scaffolding. A use in an example counts this many times a use in a test.
DOCTEST_WEIGHT = 3


def code_blocks_in_file(path: Path) -> Iterator[tuple[str | ast.Module, int]]:
    """A test file as code, plus the examples in any file's docstrings, with weights."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    is_test = path.name.startswith("test_")
    if not is_test and ">>>" not in source:
        return
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    if is_test:
        yield tree, 1
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.Module)):
            doc = ast.get_docstring(node, clean=True)
            if doc and ">>>" in doc:
                yield doctest_code(doc), DOCTEST_WEIGHT


Block = str | ast.Module | tuple[str | ast.Module, int]


def count(blocks: Iterable[Block], source: str, lenient: bool = True) -> Usage:
    """Counts over code blocks (source or parsed; a block may carry a weight:
    `(code, weight)`). `lenient` keeps the lines that parse from a block that does not
    (doctests hold fragments); corpus strings that are not whole Python (SQL, prose)
    are skipped instead."""
    api = api_names()
    bigrams: dict[str, Counter[str]] = defaultdict(Counter)
    unigrams: Counter[str] = Counter()
    for item in blocks:
        block, weight = item if isinstance(item, tuple) else (item, 1)
        if isinstance(block, ast.Module):
            tree = block
        else:
            try:
                tree = ast.parse(block)
            except SyntaxError:
                if not lenient:
                    continue
                tree = _parse_lines(block)
        for ctx, member in pairs_in(tree, api):
            bigrams[ctx][member] += weight
            if "@" not in ctx:
                unigrams[member] += weight
    return Usage({k: dict(v) for k, v in bigrams.items()}, dict(unigrams), source)


def _parse_lines(block: str) -> ast.Module:
    """Doctests sometimes hold fragments that do not parse as a whole; keep the lines that do."""
    body: list[ast.stmt] = []
    for line in block.splitlines():
        try:
            body.extend(ast.parse(line).body)
        except SyntaxError:
            continue
    return ast.Module(body=body, type_ignores=[])


def ibis_package_blocks() -> Iterator[tuple[str | ast.Module, int]]:
    import ibis

    root = Path(ibis.__file__).parent
    for path in sorted(root.rglob("*.py")):
        yield from code_blocks_in_file(path)


def corpus_blocks(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Ibis code in corpus records: every string in `input`/`target` with an attribute
    access (those that do not parse as Python, like SQL, are dropped by `count`)."""
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                record = json.loads(line)
                for part in ("input", "target"):
                    for value in (record.get(part) or {}).values():
                        if isinstance(value, str) and "." in value:
                            yield value


def cache_dir(config: Mapping[str, Any] | None = None) -> Path:
    config = config or {}
    base = config.get("cache_dir") or os.environ.get("IBERT_CACHE_DIR")
    if not base:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "ibert")
    return Path(os.path.expanduser(str(base)))


def load_usage(config: Mapping[str, Any] | None = None) -> Usage:
    """Counts from the configured corpus (`config["corpus"]`: a JSONL path or list of paths),
    else from the installed ibis; cached on disk."""
    import ibis

    config = config or {}
    corpus = config.get("corpus")
    if corpus:
        paths = [corpus] if isinstance(corpus, (str, os.PathLike)) else list(corpus)
        stamp = "-".join(f"{Path(p).name}{int(os.stat(p).st_mtime)}" for p in paths)
        digest = hashlib.sha1(stamp.encode()).hexdigest()[:12]
        key = f"usage-corpus-{digest}-ibis-{ibis.__version__}-v{USAGE_FORMAT}.json"
        blocks: Iterable[Block] = corpus_blocks(paths)
        source = "corpus " + ", ".join(str(p) for p in paths)
    else:
        key = f"usage-ibis-{ibis.__version__}-v{USAGE_FORMAT}.json"
        blocks = ibis_package_blocks()
        source = f"ibis {ibis.__version__} docstring examples and tests"
    path = cache_dir(config) / "completion" / key
    if path.exists():
        try:
            return Usage.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError):
            pass
    usage = count(blocks, source, lenient=not corpus)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(usage.to_json()))
    os.replace(tmp, path)
    return usage
