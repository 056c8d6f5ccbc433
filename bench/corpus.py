"""Benchmark of `ibert data build`: verified records per second, per stage, and rejections.

Builds a corpus of --n records (all six tasks; qa when ibert-tasks-docs registers it) with
the real translator and the DuckDB validator, once per --workers value (builder processes;
one builder runs 2 validator workers, several run 1 each), and reports:

- records/s overall (wall) and the CPU seconds per record of the whole process tree (the
  builder and every validator worker, sampled from /proc), with the load average: others
  share the machine, so CPU per record is the figure to compare across runs, and
  `projected_minutes_for_100k_idle` (CPU per record spread over both cores) what an idle
  machine would need at best;
- per stage: the builder's own CPU seconds per phase (generate, translate, derive, ...),
  and per kind of validator check (pair, formulation, compile, broken, roundtrip) the checks
  run, those answered from memory, and the validator's own seconds; each with the records/s
  the stage alone would allow;
- rejection rates: seeds by the step that stopped them, derived tasks by reason;
- acceptance per template / generator rule over --units seed queries (sql_to_ibis only).

    .venv/bin/python bench/corpus.py [--n 5000] [--workers 1] [--seed 0] [--units 100]
    nice -n 10 .venv/bin/python bench/corpus.py --n 100000 --units 0 --keep DIR

Progress goes to stderr every --every seconds. Writes bench/results/corpus.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import machine  # bench/machine.py: the script's own folder is on sys.path

RESULTS = Path(__file__).parent / "results" / "corpus.json"
CLOCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu() -> dict[int, tuple[int, float, str]]:
    """{pid: (parent pid, user+system CPU seconds, name)} of every process in /proc."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                head, _, tail = fh.read().rpartition(")")
        except OSError:
            continue
        fields = tail.split()
        name = head.partition("(")[2]
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK, name)
    return out


class TreeCPU:
    """CPU seconds of this process and all its descendants (validator workers and their
    fork server), sampled four times a second: a process's last sample counts after it exits."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.root = os.getpid()
        self.seen: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self.start: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        procs = _proc_cpu()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in procs.items():
            children.setdefault(ppid, []).append(pid)
        todo, tree = [self.root], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, ()))
        for pid in tree:
            if pid in procs:
                self.seen[pid] = procs[pid][1]
                self.names.setdefault(pid, procs[pid][2])
                self.start.setdefault(pid, procs[pid][1] if self._primed else 0.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> TreeCPU:
        self._primed = True
        self._sample()  # what existed before the build started is not charged to it
        self._primed = False
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def seconds(self) -> dict[str, float]:
        """builder (this process), semgrep (the tagging after the units), validator (the
        workers and their fork server; a --workers >1 build's builders count here too)."""
        used = {p: v - self.start.get(p, 0.0) for p, v in self.seen.items()}
        own = used.pop(self.root, 0.0)
        semgrep = sum(v for p, v in used.items() if "semgrep" in self.names.get(p, ""))
        total = own + sum(used.values())
        return {
            "builder": round(own, 2),
            "validator": round(total - own - semgrep, 2),
            "semgrep": round(semgrep, 2),
            "total": round(total, 2),
        }


class Progress:
    """`build(progress=...)`: a line on stderr every `every` seconds."""

    def __init__(self, n: int, every: float) -> None:
        self.n, self.every, self.done = n, every, 0
        self.started = self.last = time.perf_counter()

    def __call__(self, k: int) -> None:
        self.done += k
        now = time.perf_counter()
        if now - self.last >= self.every or self.done >= self.n:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.n - self.done) / rate / 60 if rate else float("inf")
            print(f"  {self.done}/{self.n} records, {rate:.1f}/s, eta {eta:.1f} min, "
                  f"load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)


def per_stage(stats: dict, records: int) -> dict:
    """Builder phases and validator check kinds, each with the records/s it alone allows."""
    def rate(seconds: float) -> float | None:
        return round(records / seconds, 1) if seconds else None

    builder = {
        phase: {"cpu_seconds": cpu, "wall_seconds": stats["seconds_by_phase"].get(phase),
                "records_per_cpu_second": rate(cpu)}
        for phase, cpu in stats["cpu_seconds_by_phase"].items()
    }
    validator = {
        kind: {**v, "records_per_cpu_second": rate(v["cpu_seconds"])}
        for kind, v in stats["validation"].items()
    }
    return {"builder": builder, "validator": validator}


def one_build(n: int, workers: int, seed: int, depth: int, keep: str | None,
              every: float) -> dict:
    from ibert_tasks_sql.corpus.build import build
    from ibert_tasks_sql.corpus.pipeline import BuildConfig

    config = BuildConfig(seed=seed, validator_workers=2 if workers == 1 else 1, depth=depth)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(keep) if keep else Path(tmp) / "corpus"
        with TreeCPU() as cpu:
            started = time.perf_counter()
            stats = build(out, n, config, workers, progress=Progress(n, every))
            wall = time.perf_counter() - started
    cpu_seconds = cpu.seconds()
    rate = stats["total"] / wall
    cpu_ms = 1000 * cpu_seconds["total"] / stats["total"]
    units_ms = 1000 * (cpu_seconds["total"] - cpu_seconds["semgrep"]) / stats["total"]
    validated = sum(v["run"] for v in stats["validation"].values())
    cached = sum(v["cached"] for v in stats["validation"].values())
    return {
        "workers": workers,
        "validator_workers_per_process": config.validator_workers,
        "depth": depth,
        "records": stats["total"],
        "wall_seconds": round(wall, 2),
        "records_per_second": round(rate, 2),
        "projected_minutes_for_100k": round(100_000 / rate / 60, 1),
        "cpu_seconds": cpu_seconds,
        "cpu_ms_per_record": round(cpu_ms, 2),
        "cpu_ms_per_record_without_semgrep": round(units_ms, 2),
        "projected_minutes_for_100k_idle": round(100_000 * cpu_ms / 1000 / 2 / 60, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "validator_checks": {"run": validated, "answered_from_memory": cached,
                             "run_per_record": round(validated / stats["total"], 3)},
        "per_stage": per_stage(stats, stats["total"]),
        "finish_seconds": stats.get("finish_seconds"),
        "rejection_rates": stats["rejection_rates"],
        "units": stats["units"],
        "by_task": stats["by_task"],
        "by_split": stats["by_split"],
        "by_source": stats["by_source"],
        "by_difficulty": stats["by_difficulty"],
        "skeletons": stats["skeletons"],
        "duplicates_dropped": stats["duplicates_dropped"],
        "acceptance": stats["acceptance"],
        "rejected_by_stage": stats["rejected_by_stage"],
        "derived_rejected": stats["derived_rejected"],
        "notes": stats["notes"],
    }


def acceptance(units: int, seed: int) -> dict:
    """Seeds and their augmentations translated and validated, per template / rule."""
    from collections import Counter

    from ibert_tasks_sql.corpus.pipeline import BuildConfig, UnitProcessor
    from ibert_tasks_sql.corpus.stats import _acceptance

    processor = UnitProcessor(BuildConfig(seed=seed, tasks=("sql_to_ibis",)))
    counters: Counter = Counter()
    started = time.perf_counter()
    try:
        for result in processor.process_many(range(units)):
            counters.update(result.counters)
    finally:
        processor.close()
    wall = time.perf_counter() - started
    pairs = sum(v for k, v in counters.items() if k.startswith("accepted|"))
    return {
        "units": units,
        "wall_seconds": round(wall, 2),
        "verified_pairs": pairs,
        "verified_pairs_per_second": round(pairs / wall, 2),
        **_acceptance(counters),
        "rejected_by_stage": {k.split("|", 1)[1]: v for k, v in counters.items()
                              if k.startswith("rejected|")},
    }


def main() -> None:
    from ibert_tasks_sql.corpus.pipeline import DEPTH

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="builder processes; one run per value")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--units", type=int, default=100,
                        help="seed queries for the acceptance per template (0: skip)")
    parser.add_argument("--depth", type=int, default=DEPTH, help="units in flight per builder")
    parser.add_argument("--keep", metavar="DIR", help="build into DIR (kept; resumable)")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between progress lines")
    args = parser.parse_args()
    runs = []
    for workers in args.workers:
        print(f"building {args.n} records with {workers} builder process(es)", file=sys.stderr)
        run = one_build(args.n, workers, args.seed, args.depth, args.keep, args.every)
        runs.append(run)
        print(f"workers={workers}: {run['records']} records in {run['wall_seconds']} s = "
              f"{run['records_per_second']}/s ({run['projected_minutes_for_100k']} min per 100k); "
              f"{run['cpu_ms_per_record']} CPU ms/record "
              f"({run['projected_minutes_for_100k_idle']} min per 100k on 2 idle cores); "
              f"load {run['load_average_before'][0]} -> {run['load_average_after'][0]}")
    accepted = acceptance(args.units, args.seed) if args.units else None
    if accepted:
        rates = accepted["by_source"]
        print(f"acceptance over {args.units} seeds: "
              + ", ".join(f"{k} {v['accepted']}/{v['attempted']}" for k, v in rates.items()))
    result = {
        "benchmark": "corpus",
        "command": "python bench/corpus.py " + " ".join(sys.argv[1:]),
        "machine": {**machine.describe(),
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "runs": runs,
        "acceptance_over_seeds": accepted,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
