"""Benchmark of `ibert data build`: verified records per second and acceptance rates.

Builds a corpus of --n records (all six tasks; qa when ibert-tasks-docs registers it) in a
temporary folder with the real translator and the DuckDB validator, once per --workers
value, and reports: records/s overall, seconds per pipeline phase, acceptance by source
(template, generator, augmentation, Ibis formulation) and by template / generator rule,
rejections by validator stage, and what 100k records would take at the measured rate.

    .venv/bin/python bench/corpus.py [--n 500] [--workers 1 2] [--seed 0] [--units 200]

A corpus of 500 records comes from a dozen seed queries (every seed gives ~40 records), too
few to say which templates the translator fails on; so acceptance per template / generator
rule is measured separately over --units seed queries (sql_to_ibis only, every template and
rule seen several times).

Writes bench/results/corpus.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "corpus.json"


def one_build(n: int, workers: int, seed: int) -> dict:
    from ibert_tasks_sql.corpus.build import build
    from ibert_tasks_sql.corpus.pipeline import BuildConfig

    config = BuildConfig(seed=seed, validator_workers=2 if workers == 1 else 1)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        stats = build(Path(tmp) / "corpus", n, config, workers)
        wall = time.perf_counter() - started
    rate = stats["total"] / wall
    return {
        "workers": workers,
        "validator_workers_per_process": config.validator_workers,
        "records": stats["total"],
        "wall_seconds": round(wall, 2),
        "records_per_second": round(rate, 2),
        "projected_minutes_for_100k": round(100_000 / rate / 60, 1),
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
        "seconds_by_phase": stats["seconds_by_phase"],
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
        for index in range(units):
            counters.update(processor.process(index).counters)
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
        "seconds_by_phase": {k.split("|", 1)[1]: round(v, 2) for k, v in counters.items()
                             if k.startswith("seconds|")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--units", type=int, default=200)
    args = parser.parse_args()
    runs = []
    for workers in args.workers:
        run = one_build(args.n, workers, args.seed)
        runs.append(run)
        acc = run["acceptance"]["by_source"]
        print(f"workers={workers}: {run['records']} records in {run['wall_seconds']} s = "
              f"{run['records_per_second']}/s; acceptance "
              + ", ".join(f"{k} {v['accepted']}/{v['attempted']}" for k, v in acc.items()))
    accepted = acceptance(args.units, args.seed) if args.units else None
    if accepted:
        rates = accepted["by_source"]
        print(f"acceptance over {args.units} seeds: "
              + ", ".join(f"{k} {v['accepted']}/{v['attempted']}" for k, v in rates.items()))
    load = os.getloadavg()
    result = {
        "benchmark": "corpus",
        "command": f"python bench/corpus.py --n {args.n} --workers "
        + " ".join(map(str, args.workers)) + f" --seed {args.seed} --units {args.units}",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_after": [round(x, 2) for x in load]},
        "runs": runs,
        "acceptance_over_seeds": accepted,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
