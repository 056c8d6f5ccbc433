"""sql_to_ibis on a held-out YAML set of warehouse queries, each run through the CLI as a user.

Each case (`id`, `dialect`, `sql`) is written to a file and run as
`ibert run sql_to_ibis FILE --schema examples/ecommerce.yaml --dialect D` in a subprocess, so
the figure is what a user gets. The exit code is the outcome: 0 `verified`, 1 `not_verified`
(an answer the validator did not accept), 2 `refused` (a one-line error naming what cannot be
translated). Prints one line per case and the pass rate per dialect, and writes
bench/results/<FILE stem>.json.

    .venv/bin/python bench/sql_heldout.py bench/sql_heldout_fourth.yaml
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "ibert_tasks_sql" / "src" / "ibert_tasks_sql" / "examples" / "ecommerce.yaml"
OUTCOMES = {0: "verified", 1: "not_verified", 2: "refused"}


def run_case(case: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """One query through `ibert run sql_to_ibis`; its outcome and the CLI's last message."""
    path = tmp / f"{case['id']}.sql"
    path.write_text(case["sql"])
    ibert = Path(sys.executable).with_name("ibert")
    cmd = [str(ibert), "run", "sql_to_ibis", str(path), "--schema", str(SCHEMA),
           "--dialect", case["dialect"]]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    outcome = OUTCOMES.get(done.returncode, f"exit {done.returncode}")
    message = "" if done.returncode == 0 else (done.stderr.strip().splitlines() or [""])[-1]
    return {"id": case["id"], "dialect": case["dialect"], "outcome": outcome,
            "message": message, "answer": done.stdout}


def summarize(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per dialect: cases, the count of each outcome (zeros included) and the pass rate."""
    per: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(OUTCOMES.values(), 0))
    for row in rows:
        counts = per[row["dialect"]]
        counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        counts["cases"] = counts.get("cases", 0) + 1
    return {d: {**counts, "pass_rate": round(counts["verified"] / counts["cases"], 4)}
            for d, counts in sorted(per.items())}


def main() -> None:
    import yaml

    cases_path = Path(sys.argv[1])
    cases = yaml.safe_load(cases_path.read_text())
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            row = run_case(case, Path(tmp))
            rows.append(row)
            print(f"{row['id']:46} {row['outcome']:12} {row['message'][:200]}", flush=True)
    by_dialect = summarize(rows)
    verified = sum(r["outcome"] == "verified" for r in rows)
    out = {
        "benchmark": cases_path.stem,
        "command": f".venv/bin/python bench/sql_heldout.py bench/{cases_path.name}",
        "cases": len(rows),
        "verified": verified,
        "pass_rate": round(verified / len(rows), 4) if rows else 0.0,
        "by_dialect": by_dialect,
        "seconds": round(time.perf_counter() - t0, 1),
        "results": rows,
    }
    (ROOT / "bench" / "results" / f"{cases_path.stem}.json").write_text(
        json.dumps(out, indent=2) + "\n")
    for d, counts in by_dialect.items():
        print(f"{d:10} {counts['verified']}/{counts['cases']}")
    print(f"{'total':10} {verified}/{len(rows)}")


if __name__ == "__main__":
    main()
