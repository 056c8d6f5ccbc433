"""Corpus records from validated candidates, and the keys that deduplicate them.

One candidate gives one or more records (a SQL/Ibis pair gives sql_to_ibis and
ibis_to_sql; a doctest gives qa and code_completion). Every record carries the mined
provenance and the verdict that let it in.
"""

from __future__ import annotations

import ast
import hashlib
import json
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from ibert_core.types import Example, Verdict
from ibert_miner_github.extractors import Candidate
from ibert_miner_github.sources import Tree

VALIDATOR = "duckdb"


@lru_cache(maxsize=1)
def ibis_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("ibis-framework")
    except metadata.PackageNotFoundError:
        return None


def normalize(text: str) -> str:
    """Python by its AST (formatting and comments ignored), anything else by its words."""
    try:
        return ast.dump(ast.parse(text))
    except (SyntaxError, ValueError, RecursionError):
        return " ".join(text.lower().replace(";", " ").split())


def code_hash(text: str) -> str:
    return hashlib.sha1(normalize(text).encode()).hexdigest()


def record_keys(example: Example) -> set[tuple[str, str]]:
    """(task, normalized hash) of every text field of a record's input and target."""
    keys = set()
    for part in (example.input, example.target):
        for value in part.values():
            if isinstance(value, str) and value.strip():
                keys.add((example.task, code_hash(value)))
    return keys


def primary_key(example: Example) -> tuple[str, str]:
    """The key a new record is deduplicated by: its task and its Ibis code."""
    code = example.target.get("code") or example.input.get("code") or ""
    return (example.task, code_hash(str(code or json.dumps(dict(example.target)))))


def corpus_keys(directory: Path) -> set[tuple[str, str]]:
    """Keys of every record in `directory`'s *.jsonl files (or in one file)."""
    from ibert_core.corpus import read_examples

    files = sorted(directory.glob("*.jsonl")) if directory.is_dir() else [directory]
    keys: set[tuple[str, str]] = set()
    for file in files:
        for example in read_examples(file):
            keys |= record_keys(example)
    return keys


# --- building records ----------------------------------------------------------------------


def completion_split(code: str) -> tuple[str, str] | None:
    """Cut validator-form code before the last method call of `expr = ...` (a syntactic point)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    last = tree.body[-1] if tree.body else None
    if not isinstance(last, ast.Assign):
        return None
    lines = code.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(lineno: int, col: int) -> int:
        return starts[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode(errors="ignore"))

    value = last.value
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        func = value.func  # cut before `.name` (the code is unparsed: no space around the dot)
        end = offset(func.end_lineno or func.lineno, func.end_col_offset or 0)
        cut = end - len(func.attr) - 1
    else:
        cut = offset(value.lineno, value.col_offset)
    prefix, rest = code[:cut], code[cut:]
    if not prefix.strip() or not rest.strip():
        return None
    return prefix, rest


def strip_docstring(code: str) -> str:
    """A function's source without its docstring (the documentation task's input)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return code
    node = tree.body[0] if tree.body else None
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _question(fields: Mapping[str, str]) -> str:
    name = fields.get("name") or ""
    summary = fields.get("summary") or ""
    if name and name != "<module>":
        return f"How do I use `{name}` in Ibis? {summary}".strip()
    return f"How do I do this in Ibis: {summary}".strip() if summary else ""


def split_of(repo: str, path: str) -> str:
    """train/val/test (80/10/10) by file, so examples of one file never straddle splits."""
    bucket = int(hashlib.sha1(f"{repo}|{path}".encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket == 0 else "val" if bucket == 1 else "train"


def _base(candidate: Candidate, tree: Tree, verdict: Verdict) -> dict[str, Any]:
    chunk = candidate.chunk
    provenance: dict[str, Any] = {
        **tree.provenance(),
        "path": chunk.path,
        "lines": list(candidate.lines),
        "symbol": chunk.name,
    }
    if chunk.cell is not None:
        provenance["cell"] = chunk.cell
    return {
        "dialect": "duckdb",
        "backend": "duckdb",
        "ibis_version": ibis_version(),
        "context": {"tables": {t: dict(c) for t, c in candidate.rewritten.schema.items()}},
        "meta": {
            "source": "mined",
            "extractor": candidate.extractor,
            "schema_inferred": candidate.rewritten.inferred,
            "original": candidate.original[:4000],
            "split": split_of(tree.repo, chunk.path),
        },
        "provenance": provenance,
        "verdict": {  # the shape ibert-tasks-sql's corpus records use
            "validator": VALIDATOR,
            "passed": verdict.passed,
            "stages": {s.name: s.ok for s in verdict.stages},
            "required": list(verdict.required),
            "seeds": list(verdict.artifacts.get("seeds") or []),
        },
    }


def _example(task: str, inp: Mapping[str, Any], target: Mapping[str, Any], base: dict) -> Example:
    digest = hashlib.sha1(
        json.dumps([task, inp, target], sort_keys=True, default=str).encode()
    ).hexdigest()[:20]
    return Example(id=f"mined-{digest}", task=task, input=inp, target=target, **base)


def _pair(c: Candidate, base: dict, verdict: Verdict) -> Iterator[Example]:
    code, sql = c.rewritten.code, c.sql or ""
    yield _example("sql_to_ibis", {"sql": sql}, {"code": code}, base)
    yield _example("ibis_to_sql", {"code": code}, {"sql": sql}, base)


def _to_sql(c: Candidate, base: dict, verdict: Verdict) -> Iterator[Example]:
    dialect = c.fields.get("dialect", "duckdb")
    sql = verdict.artifacts.get("dialect_sql") if dialect != "duckdb" else None
    sql = sql or verdict.artifacts.get("sql")
    if sql:
        yield _example(
            "ibis_to_sql", {"code": c.rewritten.code}, {"sql": sql}, {**base, "dialect": dialect}
        )


def _snapshot(c: Candidate, base: dict, verdict: Verdict) -> Iterator[Example]:
    dialect = c.fields.get("dialect", "duckdb")
    yield _example(
        "ibis_to_sql",
        {"code": c.rewritten.code},
        {"sql": c.fields.get("snapshot", "")},
        {**base, "dialect": dialect},
    )


def _completion(c: Candidate, base: dict) -> Iterator[Example]:
    split = completion_split(c.rewritten.code)
    if split:
        prefix, rest = split
        yield _example(
            "code_completion",
            {"prefix": prefix},
            {"rest": rest, "code": c.rewritten.code},
            {**base, "dialect": None},
        )


def _doctest(c: Candidate, base: dict, verdict: Verdict) -> Iterator[Example]:
    question = _question(c.fields)
    if question:
        code = c.rewritten.code
        answer = f"```python\n{code}\n```"
        yield _example(
            "qa",
            {"question": question},
            {"answer": answer, "code": code},
            {**base, "dialect": None},
        )
    yield from _completion(c, base)
    yield from documentation(c, base)


def _function(c: Candidate, base: dict, verdict: Verdict) -> Iterator[Example]:
    yield from _completion(c, base)
    yield from documentation(c, base)


def documentation(c: Candidate, base: dict) -> Iterator[Example]:
    """The documented function's code → its docstring (checked by its examples or its body)."""
    doc = c.chunk.docstring
    if doc and c.chunk.kind in ("function", "method") and len(doc.split()) >= 4:
        doc_base = {
            **base,
            "dialect": None,
            "context": base["context"],
            "meta": {**base["meta"], "checked_by": c.extractor},
            "provenance": {**base["provenance"], "lines": [c.chunk.start, c.chunk.end]},
        }
        yield _example(
            "documentation",
            {"code": strip_docstring(c.chunk.code)},
            {"docstring": doc, "code": textwrap.dedent(c.chunk.code)},
            doc_base,
        )


def _snippet(c: Candidate, base: dict, verdict: Verdict) -> Iterator[Example]:
    yield from _completion(c, base)


RECORD_BUILDERS: Mapping[str, Callable[[Candidate, dict, Verdict], Iterable[Example]]] = {
    "pair": _pair,
    "to_sql": _to_sql,
    "doctest": _doctest,
    "function": _function,
    "snippet": _snippet,
    "snapshot": _snapshot,
}


def records(candidate: Candidate, tree: Tree, verdict: Verdict) -> list[Example]:
    """The records a validated candidate gives."""
    base = _base(candidate, tree, verdict)
    return list(RECORD_BUILDERS[candidate.kind](candidate, base, verdict))
