"""Error-resolution benchmark: fix rate on broken mutants of valid held-out snippets.

The mutants and the scoring live in bench/completion.py (both benchmarks share its held-out
snippets and schema); this entry point runs only the fixing half and writes
bench/results/fix.json. A mutant counts as fixed when the fixed code builds and its results
match the original snippet's on the validator's fixtures.

    .venv/bin/python bench/fix.py [--quick] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from completion import SCHEMA_DICT, bench_fix


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one mutant per rule and snippet")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from ibert_core.plugins import make_context
    from ibert_core.types import Schema

    context = make_context()
    try:
        fix = bench_fix(Schema.from_dict(SCHEMA_DICT), context, args.seed, 1 if args.quick else 3)
    finally:
        context.close()
    out = {"benchmark": "fix", "command": ".venv/bin/python bench/fix.py", **fix}
    path = Path(__file__).parent / "results" / "fix.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: fix[k] for k in ("mutants", "fix_rate", "by_mistake")}, indent=2))


if __name__ == "__main__":
    main()
