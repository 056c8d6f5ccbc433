"""Benchmark: mining the installed ibis-framework (offline) into verified examples.

    .venv/bin/python bench/mine.py [--package ibis-framework] [--max-files N]

Runs the same pipeline as `ibert data mine --package ibis-framework` into a fresh
temporary directory (so nothing is resumed or cached between runs), with the registry's
DuckDB validator (its default pool of 2 workers). Reports files read and files/s, time
spent extracting vs validating, candidates per extractor, how many were validated (and the
share among those that could be put in validator form), records kept per task, and the
most common failure reasons.

Writes bench/results/mine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="ibis-framework")
    parser.add_argument("--max-files", type=int, default=None)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "mine.json"))
    args = parser.parse_args()

    from importlib import metadata

    from ibert_core.plugins import make_context
    from ibert_miner_github.limits import MineLimits
    from ibert_miner_github.pipeline import run
    from ibert_miner_github.sources import Source

    started = time.perf_counter()
    context = make_context()
    with tempfile.TemporaryDirectory(prefix="ibert-mine-bench-") as tmp:
        try:
            summary = run(
                context,
                [Source("package", args.package)],
                Path(tmp),
                MineLimits(max_files=args.max_files),
            )
        finally:
            context.close()
    wall = time.perf_counter() - started
    rewrite_failures = sum(n for k, n in summary["failures"].items() if k.startswith("rewrite:"))
    checked = summary["candidates"] - rewrite_failures
    result = {
        "package": args.package,
        "version": metadata.version(args.package),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "files_read": summary["files_read"],
        "files_per_second": summary["files_per_second"],
        "seconds_total": round(wall, 2),
        "seconds_mining": summary["seconds"],
        "seconds_extract": summary["seconds_extract"],
        "seconds_validate": summary["seconds_validate"],
        "candidates": summary["candidates"],
        "checked": checked,
        "validated": summary["validated"],
        "validated_share_of_candidates": round(summary["validated"] / summary["candidates"], 3)
        if summary["candidates"]
        else None,
        "validated_share_of_checked": round(summary["validated"] / checked, 3) if checked else None,
        "kept": summary["kept"],
        "duplicates": summary["duplicates"],
        "kept_per_task": summary["kept_per_task"],
        "per_extractor": {
            k: {"candidates": v["candidates"], "validated": v["validated"]}
            for k, v in summary["per_extractor"].items()
        },
        "top_failures": dict(list(summary["failures"].items())[:12]),
        "files_skipped": summary["files_skipped"],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
