"""Benchmark: how many wrong candidates the validator catches with 1, 2, 3 or 5 fixture seeds.

    .venv/bin/python bench/seeds.py [--workers 2]

The throughput goal (≥300 pairs/s) is met with one seed and missed with three
(bench/validator.py), so the question for the owner is what the extra seeds buy. This
measures it: the benchmark's 225 equivalent pairs are mutated into near misses of the kind
a model writes (`>` for `>=`, a constant off by one, `mean` for `sum`, a left join for an
inner one, `dense_rank` for `rank`, a dropped `distinct`, a limit one too long, ...); each
mutant is checked against the pair's reference SQL with N seeds, with and without the
literal rows (fixture rows holding the query's constants, added to the first seed).
A mutant that no setting tells apart from the reference may really be equivalent on every
database; the share caught is therefore reported against the most seeds tried.

Writes bench/results/seeds.json.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import machine  # bench/machine.py: the script's own folder is on sys.path
from validator import SCHEMAS, make_pairs

from ibert_core.types import ValidationJob

Mutation = Callable[[str], str]


def _sub(pattern: str, repl: str) -> Mutation:
    return lambda code: re.sub(pattern, repl, code, count=1)


#: name → a code rewrite; a rewrite that leaves the code unchanged makes no mutant.
MUTATIONS: dict[str, Mutation] = {
    "gt_to_ge": _sub(r" > ", " >= "),
    "ge_to_gt": _sub(r" >= ", " > "),
    "lt_to_le": _sub(r" < ", " <= "),
    "le_to_lt": _sub(r" <= ", " < "),
    "constant_plus_1": lambda code: re.sub(
        r"([<>=] )(\d+)\b", lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", code, count=1
    ),
    "sum_to_mean": _sub(r"\.sum\(\)", ".mean()"),
    "max_to_min": _sub(r"\.max\(\)", ".min()"),
    "count_rows_to_count_column": _sub(r"_\.count\(\)", "_.id.count()"),
    "nunique_to_count": _sub(r"\.nunique\(\)", ".count()"),
    "desc_to_asc": _sub(r"ibis\.desc\('(\w+)'\)", r"'\1'"),
    "inner_to_left_join": _sub(r"\.join\(", ".left_join("),
    "rank_to_dense_rank": _sub(r"ibis\.rank\(\)", "ibis.dense_rank()"),
    "drop_notnull": _sub(r" & \w+\.\w+\.notnull\(\)", ""),
    "drop_distinct": _sub(r"\.distinct\(\)", ""),
    "limit_plus_1": lambda code: re.sub(
        r"\.limit\((\d+)\)", lambda m: f".limit({int(m.group(1)) + 1})", code, count=1
    ),
    "anti_to_semi_join": _sub(r"\.anti_join\(", ".semi_join("),
    "isin_to_notin": _sub(r"\.isin\(", ".notin("),
    "ifelse_swapped": _sub(r"'high', 'low'", "'low', 'high'"),
}

SETTINGS = (
    ("1 seed, no literal rows", 1, False),
    ("1 seed", 1, True),
    ("2 seeds", 2, True),
    ("3 seeds", 3, True),
    ("5 seeds", 5, True),
)


def mutants(pairs) -> list[tuple[str, str, str, str, str]]:
    """(mutation, template, schema, sql, mutated code) for every mutation that applies."""
    out = []
    for template, schema, sql, code in pairs:
        for name, mutate in MUTATIONS.items():
            changed = mutate(code)
            if changed != code:
                out.append((name, template, schema, sql, changed))
    return out


def check(cases, seeds: int, literal_rows: bool, workers: int) -> tuple[list[bool], float]:
    """Whether each mutant is caught (builds, runs, and differs from the reference)."""
    from ibert_validator_duckdb.validator import DuckDBValidator

    jobs = [
        ValidationJob(
            code=code,
            schema=SCHEMAS[schema],
            reference_sql=sql,
            options={"seeds": seeds, "literal_rows": literal_rows},
        )
        for _, _, schema, sql, code in cases
    ]
    validator = DuckDBValidator(workers=workers)
    t0 = time.perf_counter()
    verdicts = validator.validate_many(jobs)
    elapsed = time.perf_counter() - t0
    validator.close()
    caught = []
    for v in verdicts:
        failed = v.failed
        # a mutant that does not build or run is caught by any setting: only a comparison
        # that says "different" measures the fixtures
        caught.append(failed is not None and failed.name == "compare")
    return caught, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "seeds.json"))
    args = parser.parse_args()
    info = machine.describe()

    pairs = make_pairs(1000)
    cases = mutants(pairs)
    print(f"{len(cases)} mutants of {len(pairs)} pairs, {len(MUTATIONS)} mutations")
    # Mutants that fail before the comparison (they do not build, compile or run) say
    # nothing about fixtures; they are found once and left out.
    from ibert_validator_duckdb.validator import DuckDBValidator

    validator = DuckDBValidator(workers=args.workers)
    runnable = validator.validate_many(
        [
            ValidationJob(
                code=code,
                schema=SCHEMAS[schema],
                stages=("parse", "build", "compile", "execute"),
                options={"seeds": 1},
            )
            for _, _, schema, _, code in cases
        ]
    )
    validator.close()
    cases = [c for c, v in zip(cases, runnable, strict=True) if v.passed]
    print(f"{len(cases)} mutants build and run")

    results = {}
    caught_by: dict[str, list[bool]] = {}
    for label, seeds, literal_rows in SETTINGS:
        caught, elapsed = check(cases, seeds, literal_rows, args.workers)
        caught_by[label] = caught
        results[label] = {
            "seeds": seeds,
            "literal_rows": literal_rows,
            "caught": sum(caught),
            "seconds": round(elapsed, 2),
            "mutants_per_second": round(len(cases) / elapsed, 1),
        }
        print(f"{label:>24}: {sum(caught)} of {len(cases)} caught ({elapsed:.1f} s)")
    most = caught_by[SETTINGS[-1][0]]
    anyone = [any(c[i] for c in caught_by.values()) for i in range(len(cases))]
    for r in results.values():
        r["share_of_caught_by_any"] = round(r["caught"] / max(sum(anyone), 1), 4)
    missed = {
        label: dict(
            Counter(
                cases[i][0]
                for i, hit in enumerate(caught)
                if anyone[i] and not hit
            ).most_common()
        )
        for label, caught in caught_by.items()
    }
    never = Counter(cases[i][0] for i in range(len(cases)) if not anyone[i])
    out = {
        "command": "python bench/seeds.py",
        "machine": info,
        "pairs": len(pairs),
        "mutants_runnable": len(cases),
        "caught_by_any_setting": sum(anyone),
        "caught_by_most_seeds": sum(most),
        "settings": results,
        "missed_by_mutation": missed,
        "caught_by_no_setting_by_mutation": dict(never.most_common()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v["share_of_caught_by_any"] for k, v in results.items()}, indent=2))
    print(json.dumps(missed, indent=2))


if __name__ == "__main__":
    main()
