"""Benchmark: how many held-out wrong Ibis candidates the validator's fixtures catch.

    .venv/bin/python bench/seeds_heldout.py [--seeds 1,2,3,5] [--cases bench/seeds_heldout.yaml]
        [--out bench/results/seeds_heldout.json]

bench/seeds_heldout.yaml holds near-miss candidates (off-by-one boundaries, NULL handling,
join types, window ranks, ...) written on four schemas of their own without reading the
fixture code, so a change to the fixtures can be measured on cases it was not tuned to;
bench/seeds.py's mutants are rewrites of the templates the fixtures were looked at with.

Every case is checked by the real `DuckDBValidator` once per setting: each `--seeds` count
with literal rows, plus one seed without them. Per setting it reports, for the wrong
candidates, how many were caught (failed at `compare`), how many failed before compare
(build/compile/execute: these say nothing about the fixtures, so they are kept apart) and
which were missed (judged equal); for the equivalent ones, how many were judged equal and
which were false alarms. Writes bench/results/seeds_heldout.json (that file keeps the first
run, before the fixtures were changed with these cases in view; later runs go to
bench/results/seeds_heldout_after.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import machine  # bench/machine.py: the script's own folder is on sys.path

from ibert_core.types import Schema, ValidationJob, Verdict

HERE = Path(__file__).resolve().parent
CASES = HERE / "seeds_heldout.yaml"
OUT = HERE / "results" / "seeds_heldout.json"


def load(path: Path) -> tuple[dict[str, Schema], list[dict[str, Any]]]:
    """The schemas by name and the cases, each checked to name a known schema."""
    import yaml

    data = yaml.safe_load(path.read_text())
    schemas = {name: Schema.from_dict(tables) for name, tables in data["schemas"].items()}
    cases = data["cases"]
    unknown = sorted({c["schema"] for c in cases} - set(schemas))
    if unknown:
        sys.exit(f"{path}: cases name unknown schemas {unknown}; add them under `schemas:`")
    return schemas, cases


def settings(seed_counts: list[int]) -> list[tuple[str, int, bool]]:
    """(label, seeds, literal_rows): each seed count with literal rows, then 1 seed without."""
    out = [(f"seeds={n}", n, True) for n in seed_counts]
    return [*out, ("seeds=1, no literal rows", 1, False)]


def outcome(case: dict[str, Any], verdict: Verdict) -> str:
    """What a verdict means for a case: wrong ones are `caught` / `early:<stage>` /
    `missed`; equivalent ones are `equal` / `false_alarm` / `early:<stage>`."""
    failed = verdict.failed
    if failed is not None and failed.name != "compare":
        return f"early:{failed.name}"
    if case["equivalent"]:
        return "equal" if verdict.passed else "false_alarm"
    return "missed" if verdict.passed else "caught"


def summarize(cases: list[dict[str, Any]], verdicts: list[Verdict]) -> dict[str, Any]:
    """Counts and ids for one setting, wrong and equivalent candidates apart."""
    rows = [(c, outcome(c, v), v) for c, v in zip(cases, verdicts, strict=True)]
    wrong = [(c, o, v) for c, o, v in rows if not c["equivalent"]]
    same = [(c, o, v) for c, o, v in rows if c["equivalent"]]
    missed_by_category = Counter(c["category"] for c, o, _ in wrong if o == "missed")
    return {
        "wrong": len(wrong),
        "caught": sum(o == "caught" for _, o, _ in wrong),
        "failed_early": sum(o.startswith("early") for _, o, _ in wrong),
        "missed": sum(o == "missed" for _, o, _ in wrong),
        "catch_rate_of_compared": round(
            sum(o == "caught" for _, o, _ in wrong)
            / max(1, sum(not o.startswith("early") for _, o, _ in wrong)),
            4,
        ),
        "equivalent": len(same),
        "judged_equal": sum(o == "equal" for _, o, _ in same),
        "false_alarms": sum(o == "false_alarm" for _, o, _ in same),
        "missed_ids": [c["id"] for c, o, _ in wrong if o == "missed"],
        "missed_by_category": dict(sorted(missed_by_category.items())),
        "failed_early_ids": {
            c["id"]: o.split(":")[1] for c, o, _ in wrong if o.startswith("early")
        },
        "false_alarm_ids": {c["id"]: v.feedback[:300] for c, o, v in same if o == "false_alarm"},
        "equivalent_failed_early": {
            c["id"]: v.feedback[:300] for c, o, v in same if o.startswith("early")
        },
    }


def run(
    schemas: dict[str, Schema], cases: list[dict[str, Any]], seeds: int, literal_rows: bool
) -> tuple[list[Verdict], float]:
    """Every case through a fresh validator (no cache carries over between settings)."""
    from ibert_validator_duckdb.validator import DuckDBValidator

    jobs = [
        ValidationJob(
            code=c["code"],
            schema=schemas[c["schema"]],
            reference_sql=c["sql"],
            options={"seeds": seeds, "literal_rows": literal_rows},
        )
        for c in cases
    ]
    validator = DuckDBValidator(workers=2)
    try:
        t0 = time.perf_counter()
        verdicts = validator.validate_many(jobs)
        return verdicts, time.perf_counter() - t0
    finally:
        validator.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,5", help="comma-separated seed counts")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    seed_counts = [int(s) for s in args.seeds.split(",") if s.strip()]
    schemas, cases = load(args.cases)
    results: dict[str, Any] = {}
    for label, seeds, literal_rows in settings(seed_counts):
        verdicts, seconds = run(schemas, cases, seeds, literal_rows)
        summary = summarize(cases, verdicts)
        results[label] = {
            "seeds": seeds,
            "literal_rows": literal_rows,
            "seconds": round(seconds, 2),
            **summary,
        }
        print(
            f"{label:26} wrong {summary['wrong']}: caught {summary['caught']}, "
            f"early {summary['failed_early']}, missed {summary['missed']} | equivalent "
            f"{summary['equivalent']}: equal {summary['judged_equal']}, "
            f"false alarms {summary['false_alarms']}"
        )
        if summary["missed_ids"]:
            print("  missed:", ", ".join(summary["missed_ids"]))
    report = {
        "cases_file": str(args.cases.relative_to(HERE.parent))
        if args.cases.is_absolute() and args.cases.is_relative_to(HERE.parent)
        else str(args.cases),
        "cases": len(cases),
        "categories": dict(sorted(Counter(c["category"] for c in cases).items())),
        "machine": machine.describe(),
        "settings": results,
    }
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
