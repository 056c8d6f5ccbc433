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

    def score(self, context: str, member: str) -> float:
        """Interpolated probability of `member` after `context` (add-one on unigrams)."""
        row = self.bigrams.get(context, {})
        n_ctx = sum(row.values())
        n_all = sum(self.unigrams.values()) + len(self.unigrams) + 1
        p_uni = (self.unigrams.get(member, 0) + 1) / n_all
        if not n_ctx:
            return p_uni
        lam = n_ctx / (n_ctx + 5)
        return lam * row.get(member, 0) / n_ctx + (1 - lam) * p_uni

    def to_json(self) -> dict[str, Any]:
        return {"bigrams": self.bigrams, "unigrams": self.unigrams, "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Usage:
        return cls(data["bigrams"], data["unigrams"], data.get("source", ""))


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


def pairs_in(tree: ast.AST, api: frozenset[str]) -> Iterator[tuple[str, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not node.attr.startswith("_"):
            if root_name(node.value) in NOT_IBIS:
                continue
            yield context_of(node.value, api), member_label(node.attr, api)


def doctest_code(text: str) -> str:
    """The Python in a docstring's `>>>` examples, one block per example run."""
    lines = []
    for line in text.splitlines():
        m = _DOCTEST.match(line)
        if m:
            lines.append(m.group(1))
    return "\n".join(lines)


def code_blocks_in_file(path: Path) -> Iterator[str]:
    """A source file as code, plus the examples in its docstrings."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    if path.name.startswith("test_"):
        yield source
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.Module)):
            doc = ast.get_docstring(node, clean=True)
            if doc and ">>>" in doc:
                yield doctest_code(doc)


def count(blocks: Iterable[str], source: str) -> Usage:
    api = api_names()
    bigrams: dict[str, Counter[str]] = defaultdict(Counter)
    unigrams: Counter[str] = Counter()
    for block in blocks:
        try:
            tree = ast.parse(block)
        except SyntaxError:
            tree = _parse_lines(block)
        for ctx, member in pairs_in(tree, api):
            bigrams[ctx][member] += 1
            unigrams[member] += 1
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


def ibis_package_blocks() -> Iterator[str]:
    import ibis

    root = Path(ibis.__file__).parent
    for path in sorted(root.rglob("*.py")):
        yield from code_blocks_in_file(path)


def corpus_blocks(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str]:
    """Ibis code in corpus records: every string in `input`/`target` that parses as Python
    and accesses an attribute."""
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
        key = f"usage-corpus-{digest}-ibis-{ibis.__version__}.json"
        blocks: Iterable[str] = corpus_blocks(paths)
        source = "corpus " + ", ".join(str(p) for p in paths)
    else:
        key = f"usage-ibis-{ibis.__version__}.json"
        blocks = ibis_package_blocks()
        source = f"ibis {ibis.__version__} docstring examples and tests"
    path = cache_dir(config) / "completion" / key
    if path.exists():
        try:
            return Usage.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError):
            pass
    usage = count(blocks, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(usage.to_json()))
    os.replace(tmp, path)
    return usage
