"""Benchmark: LoRA training throughput, peak memory and generation latency on this CPU.

    .venv/bin/python bench/train.py [--steps 20] [--sizes tiny,small] [--threads 1,2]

Builds a small synthetic SQL→Ibis / Ibis→SQL corpus (the data recipe below) and
random-weight Qwen2-architecture models offline (`ibert_adapters.tiny`), then for each
model size and torch thread count, in a fresh process (so peak RSS is that run's own):

- trains `--steps` LoRA steps with `ibert_adapters.train.run` (HF Trainer, batch 4,
  grad-accum 1, r 32 / alpha 64 on q/k/v/o, no checkpoints, no W&B): tokens/s and steps/s;
- loads the base + the trained adapter through the `hf` backend and times generation of
  64 new tokens for 5 prompts, greedy and beam@5 (the engine's default);
- records peak RSS (ru_maxrss) of the process, imports included.

These are CPU figures for models of 0.04M-3M parameters: they show the pipeline's own
overhead, not what a 1.5B-24B model does; real-model figures need a GPU machine.
Writes bench/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT / "data" / "train_bench"
RESULTS = ROOT / "results" / "train.json"

SIZES = {
    "tiny": {"hidden_size": 32, "layers": 2, "heads": 2, "kv_heads": 2,
             "intermediate_size": 64, "vocab_size": 512},
    "small": {"hidden_size": 256, "layers": 4, "heads": 4, "kv_heads": 4,
              "intermediate_size": 512, "vocab_size": 2048},
}

# --- data recipe: SQL/Ibis pairs over a few schemas, two tasks --------------------------

TABLES = {
    "orders": {"order_id": "int64", "customer_id": "int64", "total": "float64",
               "status": "string"},
    "events": {"user_id": "int64", "kind": "string", "value": "float64"},
    "employees": {"id": "int64", "dept": "string", "salary": "int64"},
}
NUMERIC = {"orders": ("total", "order_id"), "events": ("value",), "employees": ("salary",)}
GROUPS = {"orders": ("status", "customer_id"), "events": ("kind", "user_id"),
          "employees": ("dept",)}
AGGS = (("sum", "SUM"), ("mean", "AVG"), ("max", "MAX"), ("min", "MIN"))


def pair(rng: random.Random) -> tuple[str, str, str]:
    t = rng.choice(sorted(TABLES))
    num, grp = rng.choice(NUMERIC[t]), rng.choice(GROUPS[t])
    py, sql = rng.choice(AGGS)
    lit = rng.randint(0, 500)
    shape = rng.randrange(3)
    if shape == 0:
        return (t, f"SELECT {grp}, {sql}({num}) AS v FROM {t} WHERE {num} > {lit} GROUP BY {grp}",
                f"expr = {t}.filter({t}.{num} > {lit}).group_by('{grp}')"
                f".agg(v={t}.{num}.{py}())")
    if shape == 1:
        n = lit % 20 + 1
        return (t, f"SELECT * FROM {t} ORDER BY {num} DESC LIMIT {n}",
                f"expr = {t}.order_by(ibis.desc('{num}')).limit({n})")
    return (t, f"SELECT {grp}, COUNT(*) AS n FROM {t} GROUP BY {grp}",
            f"expr = {t}.group_by('{grp}').agg(n={t}.count())")


def write_corpus(folder: Path, n_train: int = 400, n_val: int = 40, seed: int = 0) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("val", n_val)):
        with (folder / f"{split}.jsonl").open("w") as f:
            for i in range(n):
                table, sql, code = pair(rng)
                task = "sql_to_ibis" if i % 2 else "ibis_to_sql"
                inp, tgt = ({"sql": sql}, {"ibis": code}) if task == "sql_to_ibis" else (
                    {"ibis": code}, {"sql": sql})
                f.write(json.dumps({
                    "id": f"{split}-{i}", "task": task, "dialect": "duckdb",
                    "context": {"tables": {table: TABLES[table]}}, "input": inp,
                    "target": tgt, "meta": {"split": split},
                }) + "\n")
    return folder


# --- one measurement, in its own process ---------------------------------------------------


def worker(size: str, threads: int, steps: int) -> dict:
    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(threads)
    from ibert_adapters import devices
    from ibert_adapters.backend import Decoding, HFSource
    from ibert_adapters.encoding import prompt_ids
    from ibert_adapters.loading import clear_cache, find_adapters, load_base
    from ibert_adapters.prompts import PromptFields
    from ibert_adapters.train import TrainConfig, run

    import_s = time.perf_counter() - t0
    model = DATA / f"model-{size}"
    out = DATA / f"run-{size}-{threads}"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    metrics = run(TrainConfig(
        model=str(model), data=DATA / "corpus", out=out, max_steps=steps, batch=4,
        grad_accum=1, lr=1e-3, max_length=256, save_steps=10_000, logging_steps=5,
        report_to="none", max_eval=40,
    ))
    train_wall = time.perf_counter() - t0
    phase = metrics["phases"]["multitask"]
    clear_cache()
    t0 = time.perf_counter()
    loaded = load_base(str(model), devices.choose(device="cpu"))
    refs = find_adapters(str(out))
    source = HFSource(loaded=loaded, adapter=str(out), refs=refs)
    with loaded.lock:
        loaded.attach(refs["*"])
    load_s = time.perf_counter() - t0
    rng = random.Random(1)
    prompts = [prompt_ids(loaded.tokenizer, PromptFields(task="sql_to_ibis", text=pair(rng)[1]))
               for _ in range(5)]
    latency = {}
    for method, n in (("greedy", 1), ("beam", 5)):
        dec = Decoding(method, n, max_new_tokens=64)
        times = []
        for ids in prompts:
            g0 = time.perf_counter()
            source.generate(ids, refs["*"], dec)
            times.append(time.perf_counter() - g0)
        latency[f"{method}_64_tokens_median_s"] = round(statistics.median(times), 4)
    params = sum(p.numel() for p in loaded.model.get_base_model().parameters())
    return {
        "size": size,
        "threads": threads,
        "parameters": params,
        "steps": phase["global_step"],
        "train_tokens_per_second": phase["tokens_per_second"],
        "train_steps_per_second": round(phase["global_step"] / phase["train_runtime"], 2),
        "train_runtime_s": phase["train_runtime"],
        "train_wall_s_incl_eval_and_setup": round(train_wall, 2),
        "eval_loss_before": round(phase.get("eval_loss_before", float("nan")), 4),
        "eval_loss_after": round(phase.get("eval_loss_after", float("nan")), 4),
        "import_s": round(import_s, 2),
        "model_and_adapter_load_s": round(load_s, 3),
        **latency,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--sizes", default="tiny,small")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--worker", nargs=2, metavar=("SIZE", "THREADS"))
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.steps)))
        return

    from ibert_adapters.tiny import TinySpec, build

    shutil.rmtree(DATA, ignore_errors=True)
    corpus = write_corpus(DATA / "corpus")
    sizes = [s for s in args.sizes.split(",") if s]
    for size in sizes:
        build(DATA / f"model-{size}", TinySpec(**SIZES[size]), corpus)
    env = {**os.environ, "WANDB_MODE": "disabled", "HF_HUB_OFFLINE": "1"}
    load_before = os.getloadavg()
    rows = []
    for size in sizes:
        for threads in (int(t) for t in args.threads.split(",")):
            proc = subprocess.run(
                [sys.executable, __file__, "--steps", str(args.steps), "--worker", size,
                 str(threads)],
                capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": str(threads)},
            )
            if proc.returncode != 0:
                sys.exit(f"worker {size}/{threads} failed:\n{proc.stderr[-3000:]}")
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]))
    import torch
    import transformers

    result = {
        "benchmark": "train",
        "command": "python bench/train.py " + " ".join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "gpu": torch.cuda.is_available(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()]},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "settings": {"steps": args.steps, "batch": 4, "grad_accum": 1, "max_length": 256,
                     "lora": "r 32, alpha 64, q/k/v/o", "optimizer": "torch AdamW (CPU)",
                     "dtype": "float32"},
        "note": "CPU, random-weight models of 0.04M-3M parameters: pipeline overhead only; "
                "real-model figures need a GPU machine.",
        "runs": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
