"""Benchmark: does the pipeline learn, and does validation in the loop help? (CPU, ~15 min)

    nice -n 10 .venv/bin/python bench/learning.py            # the full run (~15 min)
    .venv/bin/python bench/learning.py --quick                # a smoke run (~2 min)

Every phase runs the project's own commands, each in a fresh process:

1. corpus: `ibert data build --n N` (verified records of every task, split by query
   skeleton, so no test skeleton appears in train);
2. model: `ibert adapters init-tiny` (a random-weight Qwen2-architecture model of a few
   million parameters, its BPE tokenizer trained on the train split's text);
3. domain pre-training: `ibert train --full --prompt-loss --packing` on the train split of
   every task (all the corpus text, full-parameter causal LM);
4. LoRA: `ibert train --tasks sql_to_ibis` on top of the pre-trained model;
5. evaluation on a seeded sample of the held-out sql_to_ibis test split, in two
   processes at once (the pre-trained base without adapter, and base + LoRA):
   `ibert_adapters.evaluate` (greedy pass@1 vs the engine's validated beam@5 + up to 3
   refinements, judged by the real DuckDB validator), the share of answers passing each
   validator stage, and the target-token loss of the random init, the pre-trained base and
   the LoRA model on the whole test split.

Wall and CPU seconds and the load average are recorded per phase: other jobs share this
machine, so wall-clock figures depend on them. Writes bench/results/learning.json (with
`--quick`: bench/results/learning-quick.json, not committed).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
DATA = ROOT / "data" / "learning"
RESULTS = ROOT / "results"
TASK = "sql_to_ibis"

#: Settings of the full run (about 15 minutes on this 2-core machine) and of `--quick`.
PRESETS: dict[str, dict[str, Any]] = {
    "full": {"n": 3000, "hidden": 256, "layers": 4, "heads": 4, "vocab": 2048,
             "pretrain_epochs": 1.0, "pretrain_steps": -1, "pretrain_lr": 2e-3,
             "lora_epochs": 2.0, "lora_steps": -1, "lora_lr": 1e-3, "r": 32, "alpha": 64,
             "eval_n": 24, "max_new_tokens": 128},
    "quick": {"n": 600, "hidden": 128, "layers": 2, "heads": 2, "vocab": 1024,
              "pretrain_epochs": 1.0, "pretrain_steps": 20, "pretrain_lr": 2e-3,
              "lora_epochs": 1.0, "lora_steps": 10, "lora_lr": 1e-3, "r": 32, "alpha": 64,
              "eval_n": 4, "max_new_tokens": 48},
}
MAX_LENGTH = 512  # LoRA and loss: one record (prompt ~250 + answer ~75 tokens) per sequence
PACK_LENGTH = 512  # pre-training: records packed (most are 250-400 tokens)
BATCH = 8


# --- measuring a phase -------------------------------------------------------------------


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_phases(commands: Sequence[Sequence[str]], env: dict[str, str]) -> dict[str, Any]:
    """Run `commands` side by side; wall and CPU seconds (of all of them) and load averages.

    Their stdout is returned, stderr shown only when one fails.
    """
    load_before, cpu0, t0 = _load(), _children_cpu(), time.perf_counter()
    procs = [subprocess.Popen(list(c), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=REPO) for c in commands]
    outs = [p.communicate() for p in procs]
    for cmd, p, (_, err) in zip(commands, procs, outs, strict=True):
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err[-4000:]}")
    return {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(_children_cpu() - cpu0, 1),
        "load_average_before": load_before,
        "load_average_after": _load(),
        "stdout": [o for o, _ in outs],
    }


def ibert(*args: str) -> list[str]:
    """The `ibert` console script of this interpreter's environment."""
    return [str(Path(sys.executable).parent / "ibert"), *args]


# --- the evaluation worker (a fresh process per model) -------------------------------------


def test_sample(corpus: Path, n: int, seed: int) -> tuple[list[Any], list[Any]]:
    """The whole sql_to_ibis test split, and the seeded sample that is generated for."""
    from ibert_adapters import data

    rows = [e for e in data.read_split(corpus, "test") if e.task == TASK]
    return rows, random.Random(seed).sample(rows, min(n, len(rows)))


def target_loss(model: str, adapter: str | None, examples: Sequence[Any]) -> float:
    """Mean loss per target token (the prompt masked, as in training) over `examples`."""
    import torch

    from ibert_adapters import data, devices
    from ibert_adapters.encoding import IGNORE
    from ibert_adapters.loading import find_adapters, load_base

    loaded = load_base(model, devices.choose(device="cpu"))
    ref = find_adapters(adapter)["*"] if adapter else None
    enc = data.encode(loaded.tokenizer, examples, MAX_LENGTH)
    total = tokens = 0.0
    with loaded.active_model(ref) as m, torch.inference_mode():
        for ids, labels in zip(enc.input_ids, enc.labels, strict=True):
            n = sum(1 for t in labels[1:] if t != IGNORE)  # the model shifts by one
            out = m(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
            total += float(out.loss) * n
            tokens += n
    return total / tokens


def worker(args: argparse.Namespace) -> dict[str, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    from ibert_adapters.backend import Decoding
    from ibert_adapters.evaluate import evaluate
    from ibert_adapters.prompts import example_target
    from ibert_core.config import load_config
    from ibert_core.plugins import make_context

    everything, sample = test_sample(args.corpus, args.eval_n, args.seed)
    losses = {name: round(target_loss(path, adapter, everything), 4)
              for name, path, adapter in json.loads(args.losses)}
    context = make_context(None, load_config({}))
    try:
        results = evaluate(context, args.model, args.adapter, sample,
                           Decoding("beam", 5, max_new_tokens=args.max_new_tokens))
    finally:
        context.close()
    targets = {e.id: example_target(e) for e in sample}
    overall = results["overall"]
    return {
        "model": args.model,
        "adapter": args.adapter,
        "test_target_loss": losses,
        "test_examples_for_loss": len(everything),
        "overall": overall,
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(time.process_time() - c0, 1),
        "examples": [
            {k: r[k] for k in ("id", "answer", "exact_match", "prefix_match", "greedy_pass@1",
                               "greedy_stages", "verified@beam+refine", "rounds",
                               "loop_candidates", "loop_stage_counts", "loop_feedback")}
            | {"target": targets[r["id"]]}
            for r in results["examples"]
        ],
    }


# --- the orchestrator ----------------------------------------------------------------------


def params_of(model: Path) -> int:
    """Parameters of a saved model, counted from its safetensors header (tied weights once)."""
    header = (model / "model.safetensors").read_bytes()
    size = int.from_bytes(header[:8], "little")
    meta = json.loads(header[8 : 8 + size])
    return sum(math.prod(v["shape"]) for k, v in meta.items() if k != "__metadata__")


def phase_metrics(run_dir: Path, phase: str) -> dict[str, Any]:
    m = json.loads((run_dir / "metrics.json").read_text())["phases"][phase]
    keep = ("examples", "sequences", "train_tokens", "train_target_tokens", "global_step",
            "parameters", "trainable_parameters", "train_loss", "eval_loss_before",
            "eval_loss_after", "train_runtime", "train_cpu_seconds", "tokens_seen",
            "tokens_per_second", "tokens_per_cpu_second")
    return {k: (round(m[k], 4) if isinstance(m.get(k), float) else m.get(k)) for k in keep}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="A smoke run of a minute or two.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", default="auto",
                    help="torch threads for training: 1, 2, or auto (2 on an idle machine)")
    ap.add_argument("--reuse-corpus", action="store_true",
                    help="Keep an existing corpus (its build time is then not measured).")
    for key, value in PRESETS["full"].items():
        ap.add_argument(f"--{key.replace('_', '-')}", type=type(value), default=None,
                        help=f"default {value} ({PRESETS['quick'][key]} with --quick)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    ap.add_argument("--adapter", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--losses", default="[]", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    preset = "quick" if args.quick else "full"
    s = {k: (getattr(args, k) if getattr(args, k) is not None else v)
         for k, v in PRESETS[preset].items()}
    threads = int(args.threads) if args.threads != "auto" else (
        2 if os.getloadavg()[0] < 0.5 * (os.cpu_count() or 1) else 1)
    base_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "WANDB_MODE": "disabled", "TOKENIZERS_PARALLELISM": "false"}
    train_env = {**base_env, "OMP_NUM_THREADS": str(threads)}
    eval_env = {**base_env, "OMP_NUM_THREADS": "1"}  # two evaluations share the two cores
    work = DATA / preset
    corpus, tiny = work / "corpus", work / "tiny"
    pre_run, lora_run = work / "pretrain", work / "lora"
    started, load_start = time.perf_counter(), _load()
    phases: dict[str, Any] = {}

    # 1. corpus
    if not (args.reuse_corpus and (corpus / "test.jsonl").is_file()):
        shutil.rmtree(corpus, ignore_errors=True)
        phases["corpus"] = run_phases([ibert(
            "data", "build", "--out", str(corpus), "--n", str(s["n"]), "--seed",
            str(args.seed), "--workers", "2", "--quiet")], base_env)
    else:
        phases["corpus"] = {"reused": True}
    from ibert_adapters import data

    splits = {sp: data.stats(data.read_split(corpus, sp)) for sp in ("train", "val", "test")}
    print(f"corpus: {json.dumps(splits)}", flush=True)

    # 2. tiny model, tokenizer trained on the train split only (no test text)
    for d in (tiny, pre_run, lora_run):
        shutil.rmtree(d, ignore_errors=True)
    phases["model"] = run_phases([ibert(
        "adapters", "init-tiny", "--out", str(tiny), "--data", str(corpus / "train.jsonl"),
        "--hidden", str(s["hidden"]), "--layers", str(s["layers"]), "--heads", str(s["heads"]),
        "--vocab", str(s["vocab"]), "--seed", str(args.seed))], base_env)
    params = params_of(tiny)
    print(f"model: {params} parameters", flush=True)

    common = ["--batch", str(BATCH), "--grad-accum", "1", "--report-to", "none",
              "--save-steps", "100000", "--logging-steps", "5",
              "--seed", str(args.seed), "--max-eval", "200", "--warmup", "0.05"]
    # 3. domain pre-training: every parameter, every task's text, loss on all tokens; the
    # weights keep the corpus's own task mix (the default would balance tasks, repeating
    # the few qa records dozens of times)
    natural = ",".join(f"{t}={n}" for t, n in splits["train"]["tasks"].items())
    phases["pretrain"] = run_phases([ibert(
        "train", "--model", str(tiny), "--data", str(corpus), "--out", str(pre_run),
        "--full", "--prompt-loss", "--packing", "--max-length", str(PACK_LENGTH),
        "--task-weights", natural,
        "--lr", str(s["pretrain_lr"]),
        "--epochs", str(s["pretrain_epochs"]), "--max-steps", str(s["pretrain_steps"]),
        *common)], train_env)
    phases["pretrain"].update(phase_metrics(pre_run, "full"))
    base = pre_run / "model"
    print(f"pretrain: {json.dumps({k: v for k, v in phases['pretrain'].items() if k != 'stdout'})}",
          flush=True)

    # 4. LoRA on sql_to_ibis over the pre-trained base
    phases["lora"] = run_phases([ibert(
        "train", "--model", str(base), "--data", str(corpus), "--out", str(lora_run),
        "--tasks", TASK, "--r", str(s["r"]), "--alpha", str(s["alpha"]),
        "--lr", str(s["lora_lr"]), "--epochs", str(s["lora_epochs"]),
        "--max-steps", str(s["lora_steps"]), "--max-length", str(MAX_LENGTH), *common)],
        train_env)
    phases["lora"].update(phase_metrics(lora_run, "multitask"))
    print(f"lora: {json.dumps({k: v for k, v in phases['lora'].items() if k != 'stdout'})}",
          flush=True)

    # 5. evaluation of the base and of base + LoRA, side by side
    def eval_cmd(adapter: Path | None, losses: list[tuple[str, str, str | None]]) -> list[str]:
        cmd = [sys.executable, __file__, "--worker", "--model", str(base), "--corpus",
               str(corpus), "--eval-n", str(s["eval_n"]), "--max-new-tokens",
               str(s["max_new_tokens"]), "--seed", str(args.seed), "--losses",
               json.dumps(losses)]
        return cmd + (["--adapter", str(adapter)] if adapter else [])

    phases["eval"] = run_phases([
        eval_cmd(None, [("random_init", str(tiny), None), ("pretrained", str(base), None)]),
        eval_cmd(lora_run, [("pretrained_plus_lora", str(base), str(lora_run))]),
    ], eval_env)
    base_eval, lora_eval = (json.loads(o.strip().splitlines()[-1])
                            for o in phases["eval"].pop("stdout"))
    for p in phases.values():
        p.pop("stdout", None)
    losses = {**base_eval["test_target_loss"], **lora_eval["test_target_loss"]}

    import torch
    import transformers

    result: dict[str, Any] = {
        "benchmark": "learning",
        "command": ("nice -n 10 " if os.nice(0) > 0 else "") + "python bench/learning.py "
                   + " ".join(sys.argv[1:]),
        "preset": preset,
        "settings": {**s, "seed": args.seed, "train_threads": threads, "eval_threads": 1,
                     "batch": BATCH, "grad_accum": 1, "max_length": MAX_LENGTH,
                     "pretrain_packed_length": PACK_LENGTH,
                     "pretrain": "full-parameter causal LM, loss on all tokens, packed, "
                                 "train split of every task",
                     "lora": f"r {s['r']}, alpha {s['alpha']}, q/k/v/o, target tokens only, "
                             f"{TASK} train split",
                     "eval": f"seeded sample of {TASK} test split; beam 5 + up to 3 "
                             "refinements through ibert_core.engine with the DuckDB "
                             "validator; deterministic engine off"},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "gpu": torch.cuda.is_available(),
                    "nice": os.nice(0), "load_average_start": load_start,
                    "load_average_end": _load()},
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "corpus": {"records": sum(v["examples"] for v in splits.values()), "splits": splits},
        "model": {"architecture": "qwen2", "parameters": params, "hidden": s["hidden"],
                  "layers": s["layers"], "heads": s["heads"], "vocab": s["vocab"]},
        "phases": phases,
        "test_target_loss": {**losses, "examples": base_eval["test_examples_for_loss"],
                             "note": f"mean loss per target token on the whole {TASK} test "
                                     "split (prompt masked)"},
        "eval": {"pretrained": base_eval, "pretrained_plus_lora": lora_eval},
        "total_wall_s": round(time.perf_counter() - started, 1),
    }
    out = RESULTS / ("learning.json" if preset == "full" else "learning-quick.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    summary = {name: {k: e["overall"].get(k) for k in
                      ("n", "exact_match", "prefix_match", "greedy_pass@1",
                       "verified@beam+refine", "stage_pass")}
               for name, e in result["eval"].items()}
    print(json.dumps({"test_target_loss": losses, "eval": summary,
                      "total_wall_s": result["total_wall_s"]}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
