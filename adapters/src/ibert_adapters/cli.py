"""`ibert train`, `ibert eval` and `ibert adapters ...`.

Options are declared here (cheap); torch, transformers and peft are imported only when
a command runs, so `ibert --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ibert_core.errors import BadInput, IbertError

#: Numbers that must be at least 1 (a batch of 0 failed deep in the Trainer, as an
#: internal error, after the model had loaded); shares in [0, 1]; positive reals.
COUNT = click.IntRange(min=1)
SHARE = click.FloatRange(min=0, max=1)
POSITIVE = click.FloatRange(min=0, min_open=True)
#: --out of a command that writes a folder: click refuses an existing file before any work.
OUT_DIR = click.Path(file_okay=False, path_type=Path)
DEVICES = ("cuda", "mps", "cpu")
DTYPES = ("auto", "float32", "bfloat16", "float16")


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def _check_device(device: str | None) -> None:
    """An explicit --device this machine lacks is an error, never a silent CPU run."""
    if device in (None, "cpu"):
        return
    import torch

    mps = getattr(torch.backends, "mps", None)
    present = torch.cuda.is_available() if device == "cuda" else bool(mps and mps.is_available())
    if not present:
        raise BadInput(f"--device {device}: this machine has no {device.upper()} device",
                       "drop --device to use the best one available, or pass --device cpu")


@click.command(name="train")
@click.option("--model", required=True, help="Base model: a local HF folder or a hub id.")
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="Corpus folder (train.jsonl, val.jsonl) or one .jsonl file.")
@click.option("--out", required=True, type=OUT_DIR,
              help="Run folder; rerun with the same folder to resume after a kill.")
@click.option("--tasks", default=None, help="Comma list of tasks to train on (default: all).")
@click.option("--per-task-adapters", is_flag=True, help="One adapter per task, not one for all.")
@click.option("--full", is_flag=True,
              help="Train every parameter, no LoRA (domain pre-training of a small model); "
                   "writes RUN/model/, usable as --model of later runs.")
@click.option("--prompt-loss", is_flag=True,
              help="Loss on the prompt tokens too (plain causal LM on the text).")
@click.option("--task-weights", default=None, help="Multi-task mix, e.g. sql_to_ibis=2,qa=0.5.")
@click.option("--r", "--lora-r", "r", default=32, show_default=True, type=COUNT,
              help="LoRA rank (--lora-r under torchrun, which takes --r for itself).")
@click.option("--alpha", default=64, show_default=True, type=COUNT, help="LoRA alpha.")
@click.option("--dropout", default=0.1, show_default=True,
              type=click.FloatRange(min=0, max=1, max_open=True), help="LoRA dropout.")
@click.option("--targets", default="q_proj,k_proj,v_proj,o_proj", show_default=True,
              help="LoRA target modules; 'mlp' adds gate/up/down_proj.")
@click.option("--max-steps", default=-1, show_default=True, type=click.IntRange(min=-1),
              help="Stop after N optimizer steps (-1: run --epochs).")
@click.option("--epochs", default=1.0, show_default=True, type=POSITIVE,
              help="Epochs (when --max-steps < 0).")
@click.option("--lr", default=1e-4, show_default=True, type=POSITIVE, help="Learning rate.")
@click.option("--batch", default=4, show_default=True, type=COUNT, help="Per-device batch size.")
@click.option("--grad-accum", default=4, show_default=True, type=COUNT,
              help="Gradient accumulation steps.")
@click.option("--warmup", default=0.05, show_default=True, type=SHARE,
              help="Warmup share of the steps.")
@click.option("--max-length", default=1024, show_default=True, type=COUNT,
              help="Tokens per sequence.")
@click.option("--packing", is_flag=True, help="Pack several examples into each sequence.")
@click.option("--save-steps", default=100, show_default=True, type=COUNT,
              help="Checkpoint every N steps.")
@click.option("--save-total-limit", default=2, show_default=True, type=COUNT,
              help="Checkpoints kept.")
@click.option("--logging-steps", default=10, show_default=True, type=COUNT,
              help="Log every N steps.")
@click.option("--max-eval", default=200, show_default=True, type=COUNT,
              help="Validation records used.")
@click.option("--seed", default=0, show_default=True, help="Seed for mixing and init.")
@click.option("--report-to", type=click.Choice(["wandb", "none"]), default="wandb",
              show_default=True, help="Tracking (W&B runs offline unless WANDB_MODE says).")
@click.option("--device", default=None, type=click.Choice(DEVICES),
              help="Where to train (default: the best available).")
@click.option("--dtype", default=None, type=click.Choice(DTYPES),
              help="Weights' precision (default: auto, by device).")
@click.option("--load-in-8bit", is_flag=True, help="Quantize the base to 8 bits (CUDA).")
@click.option("--load-in-4bit", is_flag=True, help="Quantize the base to 4 bits, QLoRA (CUDA).")
def train_command(**params: Any) -> None:
    """Train LoRA adapters on a verified corpus (HF Trainer; resumable; W&B offline)."""
    from ibert_adapters.data import parse_weights
    from ibert_adapters.train import TrainConfig, is_main_process, run

    params["tasks"] = _split(params["tasks"])
    parse_weights(params["task_weights"])  # a typo fails now, not after the model loads
    _check_device(params["device"])
    metrics = run(TrainConfig(**params))
    if not is_main_process():
        return
    for phase, m in metrics["phases"].items():
        click.echo(
            f"{phase}: step {m.get('global_step')}, train loss {m.get('train_loss'):.4f}, "
            f"val loss {m.get('eval_loss_before', float('nan')):.4f} -> "
            f"{m.get('eval_loss_after', float('nan')):.4f}, "
            f"{m.get('tokens_per_second')} tokens/s"
        )
    model_dir = f", model: {params['out'] / 'model'}" if params["full"] else ""
    click.echo(f"run folder: {params['out']} (metrics.json, loss.png{model_dir})")


@click.command(name="eval")
@click.option("--model", required=True, help="Base model: a local HF folder or a hub id.")
@click.option("--adapter", default=None, help="Adapter folder, run folder or adapter name.")
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="Corpus folder or .jsonl file.")
@click.option("--split", default="val", show_default=True,
              type=click.Choice(["train", "val", "test"]), help="The corpus split to evaluate on.")
@click.option("--tasks", default=None, help="Comma list of tasks (default: all).")
@click.option("--limit", default=20, show_default=True, type=COUNT, help="Records per task.")
@click.option("--decoding", type=click.Choice(["beam", "sample"]), default="beam",
              show_default=True, help="How the loop's candidates are drawn.")
@click.option("--num-candidates", default=5, show_default=True, type=COUNT,
              help="Beams or samples.")
@click.option("--max-new-tokens", default=256, show_default=True, type=COUNT,
              help="Tokens generated per answer at most.")
@click.option("--out", "out_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write the results JSON here.")
@click.option("--gate", default=None, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Baseline results JSON: exit 1 when a metric falls below it.")
@click.option("--tolerance", default=0.02, show_default=True, type=click.FloatRange(min=0),
              help="Allowed drop for --gate.")
def eval_command(**params: Any) -> None:
    """Evaluate a model (+adapter) on a corpus split with the validators in the loop."""
    from ibert_adapters import data as corpus
    from ibert_adapters.backend import Decoding
    from ibert_adapters.evaluate import evaluate, gate
    from ibert_core.cli import current_pm
    from ibert_core.config import load_config
    from ibert_core.plugins import make_context

    baseline = _read_gate(params["gate"]) if params["gate"] else None
    examples = corpus.select_tasks(
        corpus.read_split(params["data"], params["split"]), _split(params["tasks"])
    )
    per_task: dict[str, int] = {}
    chosen = []
    for ex in examples:
        if per_task.get(ex.task, 0) < params["limit"]:
            per_task[ex.task] = per_task.get(ex.task, 0) + 1
            chosen.append(ex)
    if not chosen:
        raise BadInput(f"no {params['split']} records in {str(params['data'])!r}")
    decoding = Decoding(
        method=params["decoding"], n=params["num_candidates"],
        max_new_tokens=params["max_new_tokens"],
    )
    context = make_context(current_pm(), load_config({}))
    try:
        results = evaluate(context, params["model"], params["adapter"], chosen, decoding)
    finally:
        context.close()
    text = json.dumps(results, indent=2, default=str)
    if params["out_path"]:
        params["out_path"].write_text(text + "\n")
    summary = {"overall": results["overall"], "tasks": results["tasks"]}
    click.echo(json.dumps(summary, indent=2))
    if baseline is not None:
        failures = gate(results, baseline, params["tolerance"])
        for f in failures:
            click.echo(f"ibert: gate: {f}", err=True)
        if failures:
            click.get_current_context().exit(1)


def _read_gate(path: Path) -> dict[str, Any]:
    """The --gate baseline, read before the evaluation runs (it takes minutes)."""
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise BadInput(f"--gate {path} is not JSON ({err})",
                       "pass a results file written by `ibert eval --out`") from None
    if not isinstance(baseline, dict) or "overall" not in baseline:
        raise BadInput(f"--gate {path} holds no eval results (no 'overall')",
                       "pass a results file written by `ibert eval --out`")
    return baseline


@click.group(name="adapters")
def adapters_group() -> None:
    """Trained adapters: list, show, merge, and a tiny offline model for demos."""


@adapters_group.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def adapters_list(as_json: bool) -> None:
    """Adapters under $IBERT_ADAPTERS_HOME (default ~/.cache/ibert/adapters)."""
    from ibert_adapters.loading import ADAPTER_CONFIG, adapters_home, read_metadata

    home = adapters_home()
    rows = []
    for path in sorted(home.glob("*")) if home.is_dir() else []:
        for sub in [path, *sorted(path.glob("adapter")), *sorted(path.glob("adapters/*"))]:
            if (sub / ADAPTER_CONFIG).is_file():
                meta = read_metadata(sub)
                rows.append({"name": str(sub.relative_to(home)), "path": str(sub),
                             "base_model": meta.get("base_model"), "tasks": meta.get("tasks")})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"no adapters in {home}; copy a run folder there or use --adapter PATH")
    for r in rows if not as_json else []:
        click.echo(f"{r['name']}  base={r['base_model']}  tasks={','.join(r['tasks'] or [])}")


@adapters_group.command(name="show")
@click.argument("adapter")
def adapters_show(adapter: str) -> None:
    """An adapter's LoRA config and metadata (base model, tasks, data, metrics)."""
    from ibert_adapters.loading import ADAPTER_CONFIG, find_adapters, read_metadata

    out = {}
    for task, ref in find_adapters(adapter).items():
        out[task] = {
            "path": str(ref.path),
            "lora": json.loads((ref.path / ADAPTER_CONFIG).read_text()),
            "metadata": read_metadata(ref.path),
        }
    click.echo(json.dumps(out, indent=2, default=str))


@adapters_group.command(name="merge")
@click.option("--model", required=True, help="The base model the adapter was trained on.")
@click.option("--adapter", required=True, help="Adapter folder (one adapter).")
@click.option("--out", required=True, type=OUT_DIR, help="Folder for the merged model.")
@click.option("--dtype", default="auto", show_default=True,
              type=click.Choice(DTYPES), help="Precision of the merged weights.")
def adapters_merge(model: str, adapter: str, out: Path, dtype: str) -> None:
    """Merge one adapter into a full-precision copy of the base (never into 4-bit weights)."""
    from ibert_adapters.merge import merge

    merge(model, adapter, out, dtype)
    click.echo(f"merged model written to {out}")


@adapters_group.command(name="init-tiny")
@click.option("--out", required=True, type=OUT_DIR, help="Folder for the model.")
@click.option("--data", default=None, type=click.Path(path_type=Path, exists=True),
              help="Train the tokenizer on this corpus too.")
@click.option("--architecture", type=click.Choice(["qwen2", "mistral"]), default="qwen2",
              show_default=True, help="Model architecture.")
@click.option("--hidden", default=32, show_default=True, type=COUNT, help="Hidden size.")
@click.option("--layers", default=2, show_default=True, type=COUNT, help="Decoder layers.")
@click.option("--heads", default=2, show_default=True, type=COUNT, help="Attention heads.")
@click.option("--vocab", default=512, show_default=True, type=COUNT,
              help="Tokenizer vocabulary size (at most).")
@click.option("--no-chat-template", is_flag=True, help="Prompts end in '### Answer:' instead.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random weights.")
def adapters_init_tiny(out: Path, data: Path | None, architecture: str, hidden: int,
                       layers: int, heads: int, vocab: int, no_chat_template: bool,
                       seed: int) -> None:
    """Build a tiny random-weight model + BPE tokenizer offline (tests, CPU demos)."""
    from ibert_adapters.tiny import TinySpec, build

    spec = TinySpec(architecture=architecture, hidden_size=hidden, layers=layers, heads=heads,
                    kv_heads=heads, intermediate_size=hidden * 2, vocab_size=vocab,
                    chat_template=not no_chat_template, seed=seed)
    build(out, spec, data)
    click.echo(f"tiny {architecture} model written to {out}")


def standalone(command: click.Command, argv: list[str] | None = None) -> None:
    """Run a command outside `ibert` (python -m, accelerate launch) with one-line errors."""
    try:
        command.main(args=argv, prog_name=f"ibert {command.name}", standalone_mode=False)
    except IbertError as err:
        click.echo(f"ibert: error: {err}", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(2)
