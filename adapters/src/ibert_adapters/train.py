"""LoRA training on the verified corpus with the Hugging Face Trainer.

One multi-task adapter (tasks mixed by weight) or one adapter per task; or, with
`full=True`, every parameter of the base (domain pre-training of a small model, whose
result is a full model folder that later runs use as their base). The same code
runs on one CPU, one GPU, or many GPUs under `accelerate launch -m ibert_adapters.train`
or `torchrun -m ibert_adapters.train`: the Trainer does the distribution, and only the
main process writes metrics, plots and adapters. A killed run, rerun with the same
`--out`, resumes from its last complete checkpoint.

Run folder layout::

    RUN/config.json                  the arguments
    RUN/checkpoints/<phase>/...      Trainer checkpoints (phase = "multitask" or a task)
    RUN/adapter/                     the multi-task adapter, or
    RUN/adapters/<task>/             one adapter per task (with ibert_adapter.json metadata)
    RUN/model/                       full=True: the trained model + tokenizer (ibert_model.json)
    RUN/metrics.json, RUN/loss.png   what the run measured
    RUN/wandb/                       the offline W&B run
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from ibert_adapters import data as corpus
from ibert_adapters import devices, tracking
from ibert_adapters.loading import METADATA, MODEL_METADATA, check_model_id, config_hash
from ibert_core.errors import BadInput, ModelLoadError
from ibert_core.types import Example, to_jsonable

log = logging.getLogger("ibert.adapters.train")

MULTITASK = "multitask"
FULL = "full"
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP_TARGETS = ("gate_proj", "up_proj", "down_proj")


def _targets(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    out: list[str] = []
    for v in value:
        out += list(MLP_TARGETS) if v == "mlp" else [v]
    return tuple(out)


@attrs.frozen
class TrainConfig:
    """Everything a run depends on; saved as RUN/config.json and in W&B."""

    model: str
    data: Path = attrs.field(converter=Path)
    out: Path = attrs.field(converter=Path)
    tasks: tuple[str, ...] = attrs.field(converter=tuple, default=())
    per_task_adapters: bool = False
    full: bool = False
    prompt_loss: bool = False
    task_weights: str | None = None
    r: int = 32
    alpha: int = 64
    dropout: float = 0.1
    targets: tuple[str, ...] = attrs.field(converter=_targets, default=DEFAULT_TARGETS)
    max_steps: int = -1
    epochs: float = 1.0
    lr: float = 1e-4
    batch: int = 4
    grad_accum: int = 4
    warmup: float = 0.05
    max_length: int = 1024
    packing: bool = False
    save_steps: int = 100
    save_total_limit: int = 2
    logging_steps: int = 10
    max_eval: int = 200
    seed: int = 0
    report_to: str = "wandb"
    device: str | None = None
    dtype: str | None = None
    load_in_8bit: bool = False
    load_in_4bit: bool = False

    def __attrs_post_init__(self) -> None:
        if self.full and self.per_task_adapters:
            raise BadInput("full training writes one model, not per-task adapters",
                           "drop --per-task-adapters (or --full to train LoRA adapters)")
        if self.full and (self.load_in_8bit or self.load_in_4bit):
            raise BadInput("full training cannot update quantized weights",
                           "drop --load-in-8bit/--load-in-4bit, or train LoRA adapters")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = to_jsonable(self)
        d["data"], d["out"] = str(self.data), str(self.out)
        return d


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def last_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint that was completely written (its trainer_state.json is saved
    last), so a run killed while saving resumes from the one before.
    """
    if not folder.is_dir():
        return None
    done = [
        p for p in folder.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return max(done, key=lambda p: int(p.name.split("-")[-1]), default=None)


def file_digest(path: Path) -> str | None:
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def phases(cfg: TrainConfig, train: Sequence[Example]) -> list[tuple[str, list[Example], Path]]:
    """(phase name, its training examples, where its adapter (or full model) goes)."""
    if cfg.full:
        return [(FULL, list(train), cfg.out / "model")]
    if not cfg.per_task_adapters:
        return [(MULTITASK, list(train), cfg.out / "adapter")]
    tasks = sorted({e.task for e in train})
    return [(t, [e for e in train if e.task == t], cfg.out / "adapters" / t) for t in tasks]


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train every phase of `cfg` (skipping finished ones); returns what metrics.json holds."""
    check_model_id(cfg.model)
    train_all = corpus.select_tasks(corpus.read_split(cfg.data, "train"), cfg.tasks)
    if not train_all:
        raise BadInput(f"no training records in {str(cfg.data)!r}",
                       "build a corpus with `ibert data build --out DIR`")
    val_all = [
        e for e in corpus.read_split(cfg.data, "val") if not cfg.tasks or e.task in cfg.tasks
    ]
    placement = devices.choose(cfg.device, cfg.dtype, cfg.load_in_8bit, cfg.load_in_4bit)
    optim, optim_note = devices.optimizer_name(placement)
    notes = [*placement.notes, optim_note]
    for note in notes:
        log.warning(note)
    cfg.out.mkdir(parents=True, exist_ok=True)
    saved = cfg.out / "config.json"
    if saved.is_file():  # a rerun resumes; say so when it was started differently
        before = json.loads(saved.read_text())
        changed = sorted(k for k, v in cfg.to_dict().items() if before.get(k) != v)
        if changed:
            notes.append(f"resumed with changed settings: {', '.join(changed)}")
            log.warning(notes[-1])
    if is_main_process():
        tracking.write_json(saved, cfg.to_dict())
    snapshot = {
        "path": str(cfg.data),
        "train_sha256": file_digest(cfg.data / "train.jsonl" if cfg.data.is_dir() else cfg.data),
        "train": corpus.stats(train_all),
        "val": corpus.stats(val_all),
    }
    metrics: dict[str, Any] = {
        "config": cfg.to_dict(),
        "git": tracking.git_hash(),
        "data": snapshot,
        "notes": notes,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
        "phases": {},
    }
    previous = cfg.out / "metrics.json"
    if previous.is_file():
        metrics["phases"] = json.loads(previous.read_text()).get("phases", {})
    for phase, rows, adapter_dir in phases(cfg, train_all):
        if (adapter_dir / (MODEL_METADATA if cfg.full else METADATA)).is_file():
            log.warning("phase %s already finished (%s); skipping", phase, adapter_dir)
            continue
        val = [e for e in val_all if phase in (MULTITASK, FULL) or e.task == phase]
        val = val[: cfg.max_eval]
        metrics["phases"][phase] = train_phase(
            cfg, phase, rows, val, adapter_dir, placement, optim, snapshot, metrics
        )
        if is_main_process():
            tracking.write_json(cfg.out / "metrics.json", metrics)
    if is_main_process():
        curves = {p: m.get("log_history", []) for p, m in metrics["phases"].items()}
        tracking.plot_losses(curves, cfg.out / "loss.png")
        tracking.write_json(cfg.out / "metrics.json", metrics)
    return metrics


def train_phase(
    cfg: TrainConfig,
    phase: str,
    rows: list[Example],
    val: list[Example],
    adapter_dir: Path,
    placement: devices.Placement,
    optim: str,
    snapshot: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    from transformers import Trainer, TrainingArguments

    model, tokenizer = load_for_training(cfg, placement)
    mixed = corpus.mix(rows, corpus.parse_weights(cfg.task_weights), seed=cfg.seed)
    train_enc = corpus.encode(tokenizer, mixed, cfg.max_length, cfg.prompt_loss)
    if cfg.packing:
        train_enc = corpus.pack(train_enc, cfg.max_length)
    val_enc = corpus.encode(tokenizer, val, cfg.max_length, cfg.prompt_loss) if val else None
    ckpt_dir = cfg.out / "checkpoints" / phase
    resume = last_checkpoint(ckpt_dir)
    use_wandb = tracking.wandb_wanted(cfg.report_to) and is_main_process()
    wb = None
    if use_wandb:
        wb = tracking.start_wandb(
            cfg.out, f"{cfg.out.name}-{phase}",
            {**cfg.to_dict(), "phase": phase, "git": metrics["git"], "data": snapshot,
             "train_tokens": train_enc.tokens, "train_target_tokens": train_enc.target_tokens},
        )
    precision = devices.training_precision(placement)
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=cfg.batch,
        per_device_eval_batch_size=cfg.batch,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        warmup_steps=cfg.warmup,
        max_steps=cfg.max_steps,
        num_train_epochs=cfg.epochs,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="no",
        report_to=["wandb"] if use_wandb else "none",
        optim=optim,
        seed=cfg.seed,
        remove_unused_columns=False,
        use_cpu=placement.device == "cpu",
        include_num_input_tokens_seen=True,
        disable_tqdm=not sys.stderr.isatty(),
        bf16=precision["bf16"],
        fp16=precision["fp16"],
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=corpus.TorchDataset(train_enc),
        eval_dataset=corpus.TorchDataset(val_enc) if val_enc else None,
        data_collator=corpus.collate(tokenizer.pad_token_id),
    )
    out: dict[str, Any] = {
        "examples": len(rows),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "parameters": sum(p.numel() for p in model.parameters()),
        "tasks": corpus.stats(rows)["tasks"],
        "train_tokens": train_enc.tokens,
        "train_target_tokens": train_enc.target_tokens,
        "sequences": len(train_enc.input_ids),
        "resumed_from": resume.name if resume else None,
    }
    if val_enc is not None and resume is None:
        out["eval_loss_before"] = trainer.evaluate()["eval_loss"]
    start_tokens = _tokens_at(resume)  # read now: checkpoint rotation may delete it
    t0, c0 = time.perf_counter(), time.process_time()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    state = trainer.state
    trained = state.num_input_tokens_seen - start_tokens
    out.update(
        global_step=state.global_step,
        train_loss=result.training_loss,
        train_runtime=round(wall, 3),
        # CPU seconds of this process (all its threads): on a shared machine the wall
        # clock says as much about the neighbours as about the training
        train_cpu_seconds=round(cpu, 3),
        tokens_seen=state.num_input_tokens_seen,
        tokens_per_second=round(trained / wall, 1) if wall > 0 else None,
        tokens_per_cpu_second=round(trained / cpu, 1) if cpu > 0 else None,
        log_history=state.log_history,
    )
    if val_enc is not None:
        out["eval_loss_after"] = trainer.evaluate()["eval_loss"]
    if trainer.is_world_process_zero():
        model.save_pretrained(str(adapter_dir))
        tokenizer.save_pretrained(str(adapter_dir))
        meta: dict[str, Any] = {
            "base_model": cfg.model,
            "base_config_sha256": config_hash(cfg.model),
            "phase": phase,
            "tasks": sorted(out["tasks"]),
            "data": snapshot,
            "git": metrics["git"],
            "loss_on": "all tokens" if cfg.prompt_loss else "target tokens",
            "metrics": {k: v for k, v in out.items() if k != "log_history"},
        }
        if not cfg.full:
            meta["lora"] = {"r": cfg.r, "alpha": cfg.alpha, "dropout": cfg.dropout,
                            "targets": list(cfg.targets)}
        tracking.write_json(adapter_dir / (MODEL_METADATA if cfg.full else METADATA), meta)
    if wb is not None:
        wb.summary.update({k: v for k, v in out.items() if isinstance(v, (int, float))})
        wb.finish()
    return out


def _tokens_at(checkpoint: Path | None) -> int:
    if checkpoint is None:
        return 0
    state = json.loads((checkpoint / "trainer_state.json").read_text())
    return int(state.get("num_input_tokens_seen", 0))


def load_for_training(cfg: TrainConfig, placement: devices.Placement) -> tuple[Any, Any]:
    """A fresh base with a new LoRA adapter (every phase starts from the untouched base),
    or the base itself with every parameter trainable when `cfg.full`.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": placement.torch_dtype()}
    quant = devices.quantization_config(placement)
    if quant is not None:
        rank = int(os.environ.get("LOCAL_RANK", "0"))
        kwargs.update(quantization_config=quant, device_map={"": rank})
    check_model_id(cfg.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(cfg.model)
        model = AutoModelForCausalLM.from_pretrained(cfg.model, **kwargs)
    except Exception as err:
        raise ModelLoadError(
            f"model {cfg.model!r} cannot be loaded for training: {type(err).__name__}: "
            f"{str(err).splitlines()[0][:300]}",
            "pass a local Hugging Face model folder (or a hub id on a machine that can download)",
        ) from err
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if cfg.full:
        model.train()
        return model, tokenizer
    if quant is not None:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    missing = [t for t in cfg.targets if t not in names]
    if missing:
        raise BadInput(
            f"LoRA targets {', '.join(missing)} are not modules of {cfg.model!r}",
            "pass --targets with module names of this architecture (e.g. q_proj,v_proj)",
        )
    lora = LoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.targets),
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora), tokenizer


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m ibert_adapters.train ...` (what `accelerate launch -m` and torchrun run)."""
    from ibert_adapters.cli import standalone, train_command

    standalone(train_command, list(argv) if argv is not None else None)


if __name__ == "__main__":
    main()
