"""`ibert data build`: run units in order, dedup, write splits, keep a manifest, write stats.

Resuming: records are appended and flushed one by one (`CorpusWriter`); after each unit the
manifest records the next unit and the counters, atomically. A killed build rerun with the
same arguments re-reads the dedup keys already written, restarts at the manifest's unit and
skips records it already has, so nothing is lost or duplicated.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from ibert_core.corpus import CorpusWriter, read_examples
from ibert_core.errors import BadInput
from ibert_core.types import Example
from ibert_tasks_sql.corpus.mined import SOURCE as MINED_SOURCE
from ibert_tasks_sql.corpus.mined import merge
from ibert_tasks_sql.corpus.normalize import SPLITS
from ibert_tasks_sql.corpus.pipeline import BuildConfig, UnitProcessor, UnitResult
from ibert_tasks_sql.corpus.semgrep_tags import tag_corpus
from ibert_tasks_sql.corpus.stats import corpus_stats

MANIFEST = "manifest.json"
SPLIT_NAMES = tuple(name for name, _ in SPLITS)


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def load_manifest(out: Path, config: BuildConfig) -> dict[str, Any]:
    path = out / MANIFEST
    if not path.exists():
        return {"config": config.identity(), "next_unit": 0, "counters": {}, "seconds": 0.0}
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("config") != json.loads(json.dumps(config.identity())):
        raise BadInput(
            f"{out} holds a corpus built with other settings ({manifest.get('config')})",
            "rerun with the same --seed/--tasks/--dialects to resume, or choose a new --out",
        )
    return manifest


# --- running units ----------------------------------------------------------------------------

_PROCESSOR: UnitProcessor | None = None


def _init_worker(config: BuildConfig) -> None:
    global _PROCESSOR
    from multiprocessing.util import Finalize

    _PROCESSOR = UnitProcessor(config)
    # pool workers leave through os._exit, past atexit: stop the validator pool on the way
    Finalize(_PROCESSOR, _PROCESSOR.close, exitpriority=10)


def _work(indices: range) -> list[UnitResult]:
    assert _PROCESSOR is not None
    return list(_PROCESSOR.process_many(indices))


def units(config: BuildConfig, start: int, workers: int) -> Iterator[UnitResult]:
    """Results of units start, start+1, ... in order, computed by `workers` processes, each
    with `config.depth` units in flight (`UnitProcessor.process_many`)."""
    if workers <= 1:
        processor = UnitProcessor(config)
        try:
            yield from processor.process_many(itertools.count(start))
        finally:
            processor.close()
        return
    import multiprocessing as mp

    chunk = max(1, config.depth) * 2  # enough units per task to overlap their checks
    with ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=(config,)
    ) as pool:
        window: list[Future[list[UnitResult]]] = []
        index = start
        try:
            while True:
                while len(window) < workers + 1:
                    window.append(pool.submit(_work, range(index, index + chunk)))
                    index += chunk
                yield from window.pop(0).result()
        finally:
            for f in window:
                f.cancel()


# --- the build ---------------------------------------------------------------------------------

#: Work units in a row that may add nothing (all rejected or repeats) before a build stops
#: instead of running on forever (a unit adds ~48 records on average in a 100k build, so 200
#: empty ones in a row mean the tasks and seed have run dry).
BARREN_UNITS = 200


def build(
    out: Path,
    n: int,
    config: BuildConfig,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    stop_after_units: int | None = None,
    mined: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """Build (or resume) a corpus of `n` generated records in `out`, then merge the records
    of the `mined` files (`mined.merge`); returns the stats written."""
    out.mkdir(parents=True, exist_ok=True)
    manifest = load_manifest(out, config)
    keys: set[str] = set()
    skeletons: dict[str, str] = {}
    written = 0  # generated records only: merged mined records do not count towards --n
    for split in SPLIT_NAMES:
        path = out / f"{split}.jsonl"
        if path.exists():
            with CorpusWriter(path):  # cuts a torn last line left by a killed run
                pass
            for e in read_examples(path):
                keys.add(str(e.meta.get("dedup")))
                written += e.meta.get("source") != MINED_SOURCE
                if e.meta.get("skeleton"):
                    skeletons.setdefault(str(e.meta["skeleton"]), split)
    if progress:
        progress(min(written, n))
    counters: Counter[str] = Counter(manifest["counters"])
    started = time.perf_counter()
    done_units = 0
    barren = 0  # units in a row that added no record
    if written < n:
        writers = {s: CorpusWriter(out / f"{s}.jsonl") for s in SPLIT_NAMES}
        try:
            partial = manifest.pop("partial", None) or {}
            for result in units(config, manifest["next_unit"], workers):
                # a unit cut short by --n last time: its first records were already consumed
                resumed = partial.get("index") == result.index
                consumed = int(partial.get("consumed", 0)) if resumed else 0
                dups: Counter[str] = Counter(
                    partial.get("duplicates_by_task") or {} if resumed else {}
                )
                partial = {}
                complete = True
                before = written
                if result.counters.get("qa_registered"):  # known even if the unit is cut
                    manifest["qa_registered"] = True
                for data in result.records[consumed:]:
                    if written >= n:
                        complete = False  # the rest of this unit waits for a larger --n
                        break
                    consumed += 1
                    ex = Example.from_dict(data)
                    key = str(ex.meta["dedup"])
                    if key in keys:
                        dups[ex.task] += 1
                        continue
                    writers[str(ex.meta["split"])].write(ex)
                    keys.add(key)
                    skeletons.setdefault(str(ex.meta["skeleton"]), str(ex.meta["split"]))
                    written += 1
                    if progress:
                        progress(1)
                if complete:
                    counters.update(result.counters)
                    for task, dropped in dups.items():
                        counters["duplicates_dropped"] += dropped
                        counters[f"duplicates_dropped|{task}"] += dropped
                    counters["units"] += 1
                    manifest["next_unit"] = result.index + 1
                    manifest.pop("partial", None)
                else:
                    manifest["partial"] = {
                        "index": result.index,
                        "consumed": consumed,
                        "duplicates": sum(dups.values()),
                        "duplicates_by_task": dict(dups),
                    }
                manifest["counters"] = dict(counters)
                manifest["seconds"] = manifest.get("seconds", 0.0) + time.perf_counter() - started
                started = time.perf_counter()
                _write_json(out / MANIFEST, manifest)
                done_units += 1
                if written >= n or (stop_after_units and done_units >= stop_after_units):
                    break
                barren = barren + 1 if written == before else 0
                if barren >= BARREN_UNITS:
                    raise BadInput(
                        f"the last {barren} work units added no record ({written} written, "
                        f"{n} asked): these --tasks and --seed make no more distinct records",
                        "ask for fewer (--n), or widen --tasks; what is written is kept",
                    )
        finally:
            for w in writers.values():
                w.close()
    if mined:
        writers = {s: CorpusWriter(out / f"{s}.jsonl") for s in SPLIT_NAMES}
        try:
            merged = merge(mined, writers, keys, skeletons, config.tasks)
        finally:
            for w in writers.values():
                w.close()
        manifest["mined"] = {**manifest.get("mined", {}), **merged}
        _write_json(out / MANIFEST, manifest)
    tagging = time.perf_counter()
    note = tag_corpus(out, tuple(f"{s}.jsonl" for s in SPLIT_NAMES))
    tagging = time.perf_counter() - tagging
    stats = corpus_stats(out, manifest, config, [note] if note else [])
    stats["finish_seconds"] = {"semgrep_tagging": round(tagging, 3)}  # after the units
    _write_json(out / "stats.json", stats)
    return stats
