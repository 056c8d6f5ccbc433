"""What a training run leaves behind besides weights: W&B (offline by default),
`metrics.json` and a loss-curve PNG in the run folder, so a run can be judged without
any service.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def git_hash(start: Path | None = None) -> str | None:
    """The commit of the code that trained (with `+dirty` when the tree has changes)."""
    cwd = start or Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd, capture_output=True, text=True, timeout=10,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def wandb_wanted(report_to: str) -> bool:
    if report_to != "wandb" or os.environ.get("WANDB_MODE") == "disabled":
        return False
    import importlib.util

    return importlib.util.find_spec("wandb") is not None


def start_wandb(run_dir: Path, name: str, config: Mapping[str, Any]) -> Any:
    """A W&B run, offline unless WANDB_MODE says otherwise, stored under the run folder.

    Started here (not by the Trainer) so the run carries our config, git hash and data stats;
    the Trainer's callback then logs metrics into this same run.
    """
    import wandb

    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_DIR", str(run_dir))
    os.environ.setdefault("WANDB_PROJECT", "ibert")
    os.environ.setdefault("WANDB_SILENT", "true")
    return wandb.init(
        project=os.environ["WANDB_PROJECT"],
        name=name,
        dir=os.environ["WANDB_DIR"],
        config=dict(config),
        resume="allow",
        id=_run_id(run_dir, name),
    )


def _run_id(run_dir: Path, name: str) -> str:
    """One W&B id per run folder and phase, so a resumed run continues its W&B history."""
    import hashlib

    return hashlib.sha1(f"{run_dir.resolve()}:{name}".encode()).hexdigest()[:16]


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Atomic: a killed run leaves the previous file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
        f.write("\n")
    os.replace(tmp, path)


def loss_points(log_history: Sequence[Mapping[str, Any]], key: str) -> list[tuple[int, float]]:
    return [(int(r["step"]), float(r[key])) for r in log_history if key in r and "step" in r]


def plot_losses(curves: Mapping[str, Sequence[Mapping[str, Any]]], path: Path) -> Path:
    """A PNG of training (and validation) loss per phase against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for phase, history in curves.items():
        for key, style in (("loss", "-"), ("eval_loss", "o--")):
            pts = loss_points(history, key)
            if pts:
                label = f"{phase} {'train' if key == 'loss' else 'val'}"
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("iBERT LoRA training")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
