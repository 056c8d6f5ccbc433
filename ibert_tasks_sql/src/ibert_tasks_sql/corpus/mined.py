"""Mined records (`ibert data mine --out M` → `M/mined.jsonl`) merged into a built corpus.

The miner already validated its records and chose a split per source file; the merge keeps
that split except where it would let one query skeleton straddle splits. A generated
record's split is a pure function of its SQL skeleton (`normalize.split_of`), so a mined
record carrying SQL follows the split of its skeleton: the split a generated record of the
same shape has now, or would get in a later, larger build. Records without SQL have no
skeleton to collide with and keep the miner's (file-based) split.

Merging is idempotent: a record whose dedup key the corpus already holds is skipped, and one
already merged by an earlier run (same id) is counted as merged, not as a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ibert_core.corpus import CorpusWriter, read_examples
from ibert_core.errors import BadInput
from ibert_core.types import Example
from ibert_tasks_sql.corpus import ibis_code
from ibert_tasks_sql.corpus.normalize import dedup_key, digest, skeleton, split_of

MINED_FILE = "mined.jsonl"
SOURCE = "mined"


def mined_files(dirs: Iterable[str | Path]) -> tuple[Path, ...]:
    """`DIR/mined.jsonl` of every mined directory, refusing (one line) a missing one."""
    files: list[Path] = []
    for d in dirs:
        path = Path(d)
        if not path.is_dir():
            raise BadInput(
                f"--mined {d}: no such directory",
                "pass the --out folder of `ibert data mine`",
            )
        file = path / MINED_FILE
        if not file.is_file():
            raise BadInput(
                f"--mined {d} holds no {MINED_FILE}",
                "pass the --out folder of a finished `ibert data mine` run",
            )
        if file.resolve() not in {f.resolve() for f in files}:
            files.append(file)
    return tuple(files)


def sql_of(ex: Example) -> str | None:
    """The SQL a record carries (the query of sql_to_ibis, the answer of ibis_to_sql)."""
    for part in (ex.input, ex.target):
        sql = part.get("sql")
        if isinstance(sql, str) and sql.strip():
            return sql
    return None


def code_of(ex: Example) -> str:
    for part in (ex.target, ex.input):
        code = part.get("code")
        if isinstance(code, str) and code.strip():
            return code
    return ""


@attrs.define
class MergeTally:
    """What one mined file gave: `merged` counts records in the corpus (new + earlier runs)."""

    records: int = 0
    merged: int = 0
    new: int = 0
    duplicates: int = 0
    skipped_by_task: int = 0
    split_moved: int = 0

    def to_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


def placed(ex: Example, known: Mapping[str, str]) -> tuple[Example, bool]:
    """The record as it enters the corpus (split, skeleton, dedup key, AST tags), and whether
    its split differs from the miner's."""
    sql = sql_of(ex)
    skel = skeleton(sql, ex.dialect or "duckdb") if sql else None
    wanted = ex.meta.get("split")
    if skel is not None:
        split = known.get(skel) or split_of(skel)
    elif wanted in ("train", "val", "test"):
        split = str(wanted)
    else:  # no split and no SQL: a hash of the record's code stands in for the skeleton
        split = split_of(digest("mined", code_of(ex) or ex.id))
    meta: dict[str, Any] = {
        **ex.meta,
        "source": SOURCE,
        "split": split,
        "dedup": dedup_key(ex.task, ex.dialect, ex.input, ex.target),
    }
    if skel is not None:
        meta["skeleton"] = skel
    moved = wanted is not None and wanted != split
    if moved:
        meta["mined_split"] = wanted
    code = code_of(ex)
    if code and "features" not in meta:
        try:
            meta["features"], meta["anti_patterns"] = ibis_code.features(code)
        except (SyntaxError, ValueError, RecursionError):
            pass
    return Example.from_dict({**ex.to_dict(), "meta": meta}), moved


def _read(file: Path) -> Iterator[Example]:
    try:
        yield from read_examples(file)
    except BadInput as err:
        raise BadInput(str(err), f"re-run `ibert data mine` into {file.parent}") from None


def merge(
    files: Iterable[Path],
    writers: Mapping[str, CorpusWriter],
    keys: set[str],
    skeletons: dict[str, str],
    tasks: Iterable[str],
) -> dict[str, dict[str, int]]:
    """Append every new mined record to its split's writer; `keys` and `skeletons`
    (skeleton → split of the corpus so far) are updated. Returns a tally per file."""
    chosen = set(tasks)
    written_ids = set().union(*(w.ids for w in writers.values()))
    out: dict[str, dict[str, int]] = {}
    for file in files:
        tally = MergeTally()
        for raw in _read(file):
            tally.records += 1
            if raw.task not in chosen:
                tally.skipped_by_task += 1
                continue
            ex, moved = placed(raw, skeletons)
            key = str(ex.meta["dedup"])
            if ex.id in written_ids:  # merged by an earlier run
                tally.merged += 1
                tally.split_moved += moved
                continue
            if key in keys:
                tally.duplicates += 1
                continue
            split = str(ex.meta["split"])
            writers[split].write(ex)
            written_ids.add(ex.id)
            keys.add(key)
            if "skeleton" in ex.meta:
                skeletons.setdefault(str(ex.meta["skeleton"]), split)
            tally.merged += 1
            tally.new += 1
            tally.split_moved += moved
        out[str(file.parent.resolve())] = tally.to_dict()
    return out


def summary(by_dir: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """`stats.json`'s `mined` entry: totals over the mined directories, and each one."""
    fields = [f.name for f in attrs.fields(MergeTally)]
    totals = {f: sum(int(t.get(f, 0)) for t in by_dir.values()) for f in fields}
    return {**totals, "dirs": {d: dict(t) for d, t in sorted(by_dir.items())}}
