"""Error-resolution benchmarks: the fix rate on mutants, and on a held-out set.

Default mode: broken mutants of valid snippets. The mutants and the scoring live in
bench/completion.py (both benchmarks share its held-out snippets and schema); this runs
only the fixing half and writes bench/results/fix.json. A mutant counts as fixed when the
fixed code builds and its results match the original snippet's on the validator's fixtures.
The mutation operators mirror the rules, so this shows the rules work on realistic code.

`--heldout`: the programs in bench/fix_heldout.yaml, written by hand before the rules were
read (pandas habits, ibis API renames, SQL habits, type errors), over the bundled
examples/ecommerce.yaml. Each goes through the whole task, as `ibert run error_resolution`
runs it (the rule engine, the DuckDB validator, `--sql` when the case has one). A case
scores `fixed` when the answer is verified and its results equal its `intended` code's on
the validator's fixtures; a case with no `intended` (no safe fix exists) scores `fixed`
when the answer is refused (not verified). `wrong` is a verified answer that differs from
the intent, the outcome that must stay at zero. Writes bench/results/fix_heldout.json.

    .venv/bin/python bench/fix.py [--quick] [--seed S]
    .venv/bin/python bench/fix.py --heldout [FILE] [--only ID ...]

`--heldout bench/fix_heldout_fresh.yaml` runs the second set, written after the first
set's rules (results/fix_heldout_fresh.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

HELDOUT = Path(__file__).parent / "fix_heldout.yaml"
ECOMMERCE = (Path(__file__).parents[1] / "ibert_tasks_sql" / "src" / "ibert_tasks_sql"
             / "examples" / "ecommerce.yaml")


def _score(case: dict[str, Any], result: Any, schema: Any, validator: Any) -> tuple[str, str]:
    """(outcome, why): `fixed`, `refused` (not verified, said so) or `wrong`."""
    import ibis

    from ibert_core.types import ValidationJob
    from ibert_tasks_sql.editing.building import build, with_expr_assignment

    intended = case.get("intended")
    if not result.verified:
        return ("fixed" if intended is None else "refused"), "; ".join(result.notes)[:300]
    if intended is None:
        return "wrong", "verified an answer although no safe fix exists"
    ref = build(intended, schema)
    assert ref.ok, (case["id"], ref.message)
    sql = str(ibis.to_sql(ref.expr, dialect="duckdb"))
    verdict = validator.validate(ValidationJob(with_expr_assignment(result.answer), schema,
                                               reference_sql=sql))
    if verdict.passed:
        return "fixed", ""
    return "wrong", verdict.feedback[:300]


def bench_heldout(context: Any, path: Path = HELDOUT,
                  only: list[str] | None = None) -> dict[str, Any]:
    import yaml

    from ibert_core import engine
    from ibert_core.types import Schema, TaskRequest

    schema = Schema.from_dict(yaml.safe_load(ECOMMERCE.read_text()))
    cases = yaml.safe_load(path.read_text())
    if only:
        cases = [c for c in cases if c["id"] in only]
    validator = context.validator("duckdb")
    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rows = []
    t0 = time.perf_counter()
    for case in cases:
        options = {"sql": case["sql"]} if case.get("sql") else {}
        result = engine.run(context, TaskRequest("error_resolution", case["code"],
                                                 schema=schema, options=options))
        outcome, why = _score(case, result, schema, validator)
        per[case["category"]][outcome] += 1
        per[case["category"]]["cases"] += 1
        rows.append({"id": case["id"], "category": case["category"], "outcome": outcome,
                     "answer": result.answer, "why": why})
    n = len(rows)
    fixed = sum(r["outcome"] == "fixed" for r in rows)
    return {
        "cases": n,
        "fixed": fixed,
        "fix_rate": round(fixed / n, 4) if n else 0.0,
        "wrong": sum(r["outcome"] == "wrong" for r in rows),
        "by_category": {k: dict(v) for k, v in sorted(per.items())},
        "seconds": round(time.perf_counter() - t0, 1),
        "results": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one mutant per rule and snippet")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heldout", nargs="?", const=str(HELDOUT), default=None,
                        metavar="FILE", help="a hand-written held-out set (default: the first)")
    parser.add_argument("--only", nargs="*", help="with --heldout: only these case ids")
    args = parser.parse_args()

    from ibert_core.plugins import make_context
    from ibert_core.types import Schema

    context = make_context()
    try:
        if args.heldout:
            cases = Path(args.heldout)
            command = ".venv/bin/python bench/fix.py --heldout"
            if cases.resolve() != HELDOUT.resolve():
                command += f" bench/{cases.name}"
            out = {"benchmark": cases.stem, "command": command,
                   **bench_heldout(context, cases, args.only)}
            if not args.only:
                path = Path(__file__).parent / "results" / f"{cases.stem}.json"
                path.write_text(json.dumps(out, indent=2) + "\n")
            for r in out["results"]:
                print(f"{r['outcome']:8} {r['id']:28} {str(r['answer'])[:70]!r}  {r['why'][:90]}")
            print(json.dumps({k: out[k] for k in ("cases", "fixed", "fix_rate", "wrong",
                                                  "by_category")}, indent=2))
            return
        from completion import SCHEMA_DICT, bench_fix

        fix = bench_fix(Schema.from_dict(SCHEMA_DICT), context, args.seed,
                        1 if args.quick else 3)
    finally:
        context.close()
    out = {"benchmark": "fix", "command": ".venv/bin/python bench/fix.py", **fix}
    path = Path(__file__).parent / "results" / "fix.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: fix[k] for k in ("mutants", "fix_rate", "by_mistake")}, indent=2))


if __name__ == "__main__":
    main()
