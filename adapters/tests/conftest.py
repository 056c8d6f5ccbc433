"""Shared fixtures: a tiny random-weight model and a small corpus, both built offline.

Everything is session-scoped: building the model costs a second, importing torch several.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

# Never touch the network, and keep W&B offline and out of the home folder.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["WANDB_MODE"] = "offline"
os.environ.setdefault("WANDB_SILENT", "true")
# A tiny model gains nothing from intra-op threads, and on a busy 2-core machine spinning
# threads made a 12-step run take 30 s instead of 4 s. Subprocesses inherit this.
os.environ["OMP_NUM_THREADS"] = "1"

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
        query = (
            f"SELECT {key}, {sql}({val}) AS total FROM {table} "
            f"WHERE {val} > {lit} GROUP BY {key}"
        )
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


@pytest.fixture(scope="session", autouse=True)
def _adapters_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    home = tmp_path_factory.mktemp("adapters_home")
    old = {k: os.environ.get(k) for k in ("WANDB_DIR", "IBERT_ADAPTERS_HOME")}
    os.environ["WANDB_DIR"] = str(tmp_path_factory.mktemp("wandb"))
    os.environ["IBERT_ADAPTERS_HOME"] = str(home)
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path) -> Path:
    """A 2-layer, hidden-32 Qwen2 model with a BPE tokenizer trained on Ibis/SQL text."""
    import torch

    from ibert_adapters.tiny import TinySpec, build

    torch.set_num_threads(1)

    return build(tmp_path_factory.mktemp("tiny") / "model", TinySpec(), corpus_dir)


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)
