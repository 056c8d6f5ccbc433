"""The mining run: sources → files → chunks → candidates → validation → records.

Candidates are validated in batches through the registry's validator (its worker pool
uses every core); only what passes is written. Every step is counted so the summary can
say where examples were lost. A source that fails (clone error, timeout) is reported and
the run goes on; a killed run resumes: candidates already judged are listed in
`DIR/.judged` and skipped, records already written are skipped by the corpus writer.
Validation runs in one background thread (the validator's own worker processes do the
work), so the next files are parsed while a batch is being checked.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from ibert_core.errors import BadInput, IbertError
from ibert_core.types import STAGES, ValidationJob, Verdict
from ibert_miner_github.chunks import PARSERS, parse_file
from ibert_miner_github.extractors import Candidate, Found, Rejected, file_candidates
from ibert_miner_github.limits import MineLimits, MineTimeout, time_limit
from ibert_miner_github.records import corpus_keys, primary_key, record_keys, records
from ibert_miner_github.sources import (
    FileItem,
    Skipped,
    Source,
    Tree,
    count_paths,
    walk_files,
)

#: Stages each kind of candidate must pass: pairs are compared with their SQL; the
#: others must build, compile and run on fixture data.
KIND_STAGES = {
    "pair": STAGES,
    "to_sql": STAGES[:4],
    "doctest": STAGES[:4],
    "function": STAGES[:4],
    "snippet": STAGES[:4],
    "snapshot": STAGES[:3],  # compiled for the snapshot's dialect, then compared as text
}


@attrs.define
class MineStats:
    """What a run did, counted at every step."""

    sources: list[dict[str, Any]] = attrs.field(factory=list)
    files_read: int = 0
    bytes_read: int = 0
    skipped: Counter[str] = attrs.field(factory=Counter)
    chunks: int = 0
    candidates: Counter[str] = attrs.field(factory=Counter)
    validated: Counter[str] = attrs.field(factory=Counter)
    kept: Counter[str] = attrs.field(factory=Counter)
    failures: Counter[str] = attrs.field(factory=Counter)
    failures_by_extractor: dict[str, Counter[str]] = attrs.field(factory=dict)
    examples: dict[str, list[dict[str, Any]]] = attrs.field(factory=dict)
    seconds_extract: float = 0.0
    seconds_validate: float = 0.0
    already_judged: int = 0
    duplicates: int = 0
    seconds: float = 0.0

    def fail(self, extractor: str, reason: str, where: dict[str, Any] | None = None) -> None:
        self.failures[reason] += 1
        self.failures_by_extractor.setdefault(extractor, Counter())[reason] += 1
        if where is not None:
            kept = self.examples.setdefault(f"{extractor}:{reason}", [])
            if len(kept) < 3:  # a few of each, so a reader can see what went wrong
                kept.append(where)

    def to_dict(self) -> dict[str, Any]:
        checked = sum(self.candidates.values()) - sum(
            n
            for reasons in self.failures_by_extractor.values()
            for r, n in reasons.items()
            if r.startswith("rewrite:")
        )
        return {
            "sources": self.sources,
            "files_read": self.files_read,
            "bytes_read": self.bytes_read,
            "files_skipped": dict(self.skipped),
            "chunks": self.chunks,
            "candidates": sum(self.candidates.values()),
            "checked": checked,
            "validated": sum(self.validated.values()),
            "kept": sum(self.kept.values()),
            "duplicates": self.duplicates,
            "already_judged": self.already_judged,
            "per_extractor": {
                name: {
                    "candidates": n,
                    "validated": self.validated.get(name, 0),
                    "failures": dict(self.failures_by_extractor.get(name, {})),
                }
                for name, n in sorted(self.candidates.items())
            },
            "kept_per_task": dict(sorted(self.kept.items())),
            "failures": dict(self.failures.most_common()),
            "failure_examples": self.examples,
            "seconds": round(self.seconds, 3),
            "seconds_extract": round(self.seconds_extract, 3),
            "seconds_validate": round(self.seconds_validate, 3),
            "files_per_second": round(self.files_read / self.seconds, 2) if self.seconds else None,
        }


def candidate_key(tree: Tree, c: Candidate) -> str:
    raw = json.dumps(
        [tree.repo, tree.commit, c.chunk.path, c.lines, c.extractor, c.rewritten.code, c.sql]
    )
    return hashlib.sha1(raw.encode()).hexdigest()


def _job_key(job: ValidationJob) -> str:
    schema = job.schema.to_dict() if job.schema is not None else None
    raw = json.dumps(
        [job.code, schema, job.reference_sql, list(job.stages), dict(job.options)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha1(raw.encode()).hexdigest()


def job_for(c: Candidate) -> ValidationJob:
    from ibert_core.types import Schema

    # a pair is compared with its SQL on several fixture seeds; code without a reference
    # only has to build, compile and run, which one fixture shows
    options: dict[str, Any] = {} if c.kind == "pair" else {"seeds": 1}
    dialect = c.fields.get("dialect")
    if c.kind in ("to_sql", "snapshot") and dialect and dialect != "duckdb":
        options["compile_dialect"] = dialect
    return ValidationJob(
        code=c.rewritten.code,
        schema=Schema.from_dict(c.rewritten.schema),
        reference_sql=c.sql if c.kind == "pair" else None,
        stages=KIND_STAGES[c.kind],
        options=options,
    )


def same_text(a: str, b: str) -> bool:
    """SQL texts equal up to whitespace and a trailing semicolon."""
    return " ".join(a.strip().rstrip(";").split()) == " ".join(b.strip().rstrip(";").split())


def check_snapshot(c: Candidate, verdict: Verdict) -> str | None:
    """Why a snapshot candidate fails although its stages passed (None when it matches)."""
    if c.kind != "snapshot" or not verdict.passed:
        return None
    produced = verdict.artifacts.get("dialect_sql") or ""
    return None if same_text(produced, c.fields.get("snapshot", "")) else "snapshot_differs"


def sibling_reader(tree: Tree, limits: MineLimits) -> Callable[[str], str | None]:
    """Read another file of `tree` under the same rules as the walk (no symlinks, no escape,
    size limit, text only)."""
    root = tree.root.resolve()
    listed = set(tree.files) if tree.files is not None else None

    def read(rel: str) -> str | None:
        rel = posixpath.normpath(rel)
        if rel.startswith(("..", "/")) or (listed is not None and rel not in listed):
            return None
        path = root / rel
        if path.is_symlink() or not path.is_file():
            return None
        if path.stat().st_size > limits.max_file_bytes:
            return None
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    return read


def file_founds(
    item: FileItem, limits: MineLimits, read: Callable[[str], str | None] | None = None
) -> tuple[int, list[Found]]:
    """Chunks and candidates of one file, within the parse timeout."""
    with time_limit(limits.parse_timeout):
        chunks = parse_file(item.path, item.text)
        found = []
        for f in file_candidates(chunks, read):
            found.append(f)
            if len(found) >= limits.max_candidates_per_file:
                break
    return len(chunks), found


@attrs.define
class Miner:
    """One run writing to `out`: feed it trees, then `close()` for the summary."""

    out: Path
    validator: Any
    limits: MineLimits = attrs.field(factory=MineLimits)
    against: set[tuple[str, str]] = attrs.field(factory=set)
    batch_size: int = 64
    stats: MineStats = attrs.field(factory=MineStats)
    progress: Callable[[int], None] | None = None
    _writer: Any = None
    _judged: set[str] = attrs.field(factory=set)
    _judged_fh: Any = None
    _seen: set[tuple[str, str]] = attrs.field(factory=set)
    _pending: list[tuple[Tree, Candidate, str]] = attrs.field(factory=list)
    _verdicts: dict[str, Verdict] = attrs.field(factory=dict)  # same job, same verdict
    _executor: Any = None
    _inflight: tuple[Any, ...] | None = None

    def __attrs_post_init__(self) -> None:
        from ibert_core.corpus import CorpusWriter, read_examples
        from ibert_miner_github.rewrite import table_methods

        table_methods()  # import ibis now, not inside the first file's parse timeout
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / "mined.jsonl"
        fresh = not path.exists()
        self._writer = CorpusWriter(path)
        if not fresh:
            for example in read_examples(path):
                self._seen.add(primary_key(example))
        judged = self.out / ".judged"
        if judged.exists() and fresh:
            judged.unlink()  # the records are gone: judge everything again
        if judged.exists():
            self._judged = set(judged.read_text().split())
        self._judged_fh = judged.open("a", encoding="utf-8")

    def mine_tree(self, tree: Tree) -> None:
        entry: dict[str, Any] = {
            "source": tree.source.label,
            "kind": tree.source.kind,
            "repo": tree.repo,
            "commit": tree.commit,
            "license": tree.license,
            "files": 0,
            "kept": 0,
        }
        self.stats.sources.append(entry)
        kept_before = sum(self.stats.kept.values())
        suffixes = tuple(PARSERS)
        read = sibling_reader(tree, self.limits)
        for item in walk_files(tree, self.limits, suffixes):
            if self.progress:
                self.progress(1)
            if isinstance(item, Skipped):
                self.stats.skipped[item.reason] += 1
                continue
            self.stats.files_read += 1
            self.stats.bytes_read += len(item.text)
            entry["files"] += 1
            t0 = time.perf_counter()
            try:
                n_chunks, found = file_founds(item, self.limits, read)
            except MineTimeout:
                self.stats.skipped["parse_timeout"] += 1
                continue
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self.stats.skipped["parse_error"] += 1
                continue
            finally:
                self.stats.seconds_extract += time.perf_counter() - t0
            self.stats.chunks += n_chunks
            for f in found:
                self.stats.candidates[f.extractor] += 1
                if isinstance(f, Rejected):
                    self.stats.fail(f.extractor, f"rewrite:{f.reason}", {"path": item.path})
                    continue
                key = candidate_key(tree, f)
                if key in self._judged:
                    self.stats.already_judged += 1
                    continue
                self._pending.append((tree, f, key))
                if len(self._pending) >= self.batch_size:
                    self.flush()
        self.drain()
        entry["kept"] = sum(self.stats.kept.values()) - kept_before

    def source_failed(self, source: Source, error: str) -> None:
        self.stats.sources.append(
            {"source": source.label, "kind": source.kind, "error": error, "files": 0, "kept": 0}
        )

    def flush(self) -> None:
        """Send the pending batch to the validator in the background and finish the batch
        sent before it: extraction of the next files overlaps with validation."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        jobs = [job_for(c) for _, c, _ in batch]
        keys = [_job_key(job) for job in jobs]
        todo = {k: job for k, job in zip(keys, jobs, strict=True) if k not in self._verdicts}
        if self._executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(1, thread_name_prefix="ibert-mine-validate")
        future = self._executor.submit(self._validate, list(todo.values()))
        previous, self._inflight = self._inflight, (batch, keys, list(todo), future)
        if previous is not None:
            self._finish(previous)

    def drain(self) -> None:
        """Validate and write everything pending."""
        self.flush()
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            self._finish(inflight)

    def _validate(self, jobs: list[ValidationJob]) -> list[Verdict]:
        t0 = time.perf_counter()
        try:
            return list(self.validator.validate_many(jobs)) if jobs else []
        finally:
            self.stats.seconds_validate += time.perf_counter() - t0

    def _finish(self, inflight: tuple[Any, ...]) -> None:
        batch, keys, todo_keys, future = inflight
        self._verdicts.update(zip(todo_keys, future.result(), strict=True))
        verdicts: Sequence[Verdict] = [self._verdicts[k] for k in keys]
        for (tree, c, key), verdict in zip(batch, verdicts, strict=True):
            mismatch = check_snapshot(c, verdict)
            if mismatch:
                where = {
                    "path": c.chunk.path,
                    "lines": list(c.lines),
                    "message": str(verdict.artifacts.get("dialect_sql", ""))[:300],
                    "code": c.rewritten.code[-300:],
                }
                self.stats.fail(c.extractor, mismatch, where)
            elif not verdict.passed:
                failed = verdict.failed
                where = {
                    "path": c.chunk.path,
                    "lines": list(c.lines),
                    "message": (failed.message if failed else "")[:300],
                    "code": c.rewritten.code[-300:],
                }
                self.stats.fail(c.extractor, failed.name if failed else "not_checked", where)
            else:
                self.stats.validated[c.extractor] += 1
                for example in records(c, tree, verdict):
                    pkey = primary_key(example)
                    if pkey in self._seen or record_keys(example) & self.against:
                        self.stats.duplicates += 1
                        continue
                    self._seen.add(pkey)
                    if self._writer.write(example):
                        self.stats.kept[example.task] += 1
            self._judged_fh.write(key + "\n")
        self._judged_fh.flush()

    def close(self) -> dict[str, Any]:
        try:
            self.drain()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
        self._writer.close()
        self._judged_fh.close()
        summary = self.stats.to_dict()
        tmp = self.out / ".summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2, sort_keys=True))
        tmp.replace(self.out / "summary.json")
        return summary


def resolve_sources(
    context: Any, sources: Sequence[Source], limits: MineLimits
) -> Iterator[tuple[Source, Tree | None, str | None]]:
    """Each source's tree through its registered miner, or the error that stopped it."""
    for source in sources:
        try:
            miner = context.registries.miners.get(source.kind).factory(context)
            yield source, miner.resolve(source, limits), None
        except (IbertError, OSError) as err:
            yield source, None, str(err)


def run(
    context: Any,
    sources: Sequence[Source],
    out: Path,
    limits: MineLimits | None = None,
    against: Path | None = None,
    batch_size: int = 64,
    progress: Callable[[int], Any] | None = None,
) -> dict[str, Any]:
    """Mine `sources` into `out/mined.jsonl` and `out/summary.json`; return the summary.

    All sources are resolved first (clones happen there), so that `progress(total)` can
    be given the number of files to look at; it returns a bar with `update(n)` used as a
    context manager (`click.progressbar` is one).
    """
    import contextlib

    limits = limits or MineLimits()
    started = time.perf_counter()
    keys = corpus_keys(against) if against else set()
    if "duckdb" not in context.registries.validators:  # before any clone: fail fast
        raise BadInput(
            "no 'duckdb' validator is installed, and mined candidates are kept only once validated",
            "pip install ibert-validator-duckdb",
        )
    validator = context.validator("duckdb")
    resolved = list(resolve_sources(context, sources, limits))
    total = sum(count_paths(tree, tuple(PARSERS)) for _, tree, _ in resolved if tree)
    bar = progress(total) if progress else contextlib.nullcontext()
    miner = Miner(out, validator, limits, keys, batch_size)
    try:
        with bar as handle:
            miner.progress = getattr(handle, "update", None)
            for source, tree, error in resolved:
                if tree is None:
                    miner.source_failed(source, error or "failed")
                    continue
                try:
                    miner.mine_tree(tree)
                except (IbertError, OSError) as err:  # e.g. a tree that vanished mid-run
                    miner.source_failed(source, str(err))
    finally:
        miner.stats.seconds = time.perf_counter() - started
        summary = miner.close()
    return summary
