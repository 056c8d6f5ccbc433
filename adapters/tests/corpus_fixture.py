"""A small corpus in the record format of `ibert data build`, written without ibis."""

from __future__ import annotations

import json
import random
from pathlib import Path

TABLES = {
    "events": {"user_id": "int64", "event_type": "string", "amount": "float64"},
    "users": {"id": "int64", "name": "string", "country": "string"},
}
AGGS = (("sum", "SUM"), ("mean", "AVG"), ("max", "MAX"), ("min", "MIN"))


def records(n: int, split: str, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        table = rng.choice(sorted(TABLES))
        cols = sorted(TABLES[table])
        key, val = rng.sample(cols, 2)
        py, sql = rng.choice(AGGS)
        lit = rng.randint(0, 99)
        query = f"SELECT {key}, {sql}({val}) AS total FROM {table} WHERE {val} > {lit} GROUP BY {key}"
        code = (
            f"expr = {table}.filter({table}.{val} > {lit}).group_by('{key}')"
            f".agg(total={table}.{val}.{py}())"
        )
        task = "sql_to_ibis" if i % 3 else "ibis_to_sql"
        inp, tgt = ({"sql": query}, {"ibis": code}) if task == "sql_to_ibis" else (
            {"ibis": code}, {"sql": query})
        out.append({
            "id": f"{split}-{i}", "task": task, "dialect": "duckdb", "backend": "duckdb",
            "context": {"tables": {table: TABLES[table]}},
            "input": inp, "target": tgt,
            "meta": {"split": split, "template": "agg"},
            "verdict": {"stages": ["parse", "build", "compile", "execute", "compare"]},
        })
    return out


def write_corpus(folder: Path, n_train: int = 48, n_val: int = 9) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 1), ("val", n_val, 2)):
        with (folder / f"{split}.jsonl").open("w") as f:
            for r in records(n, split, seed):
                f.write(json.dumps(r) + "\n")
    return folder
