"""`ibert train`, `ibert eval` and `ibert adapters ...` given bad input, through the console
entry point as a user runs them. Every mistake here is caught before a model or a corpus is
read (the model and data named do not even exist), so no test loads torch weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ibert_core.testing import assert_usage_error


def _train(tmp_path: Path, *extra: str) -> list[str]:
    return ["train", "--model", str(tmp_path / "no-model"), "--data", str(tmp_path / "no-data"),
            "--out", str(tmp_path / "run"), *extra]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--batch", "0"), ("--grad-accum", "0"), ("--max-length", "0"), ("--lr", "0"),
     ("--warmup", "1.5"), ("--dropout", "1"), ("--r", "0"), ("--max-steps", "-2"),
     ("--device", "tpu"), ("--dtype", "float8")],
)
def test_train_refuses_values_that_cannot_train(
    ibert_cli: Any, tmp_path: Path, option: str, value: str
) -> None:
    # --batch 0 was an internal error from the Trainer after the model had loaded, and
    # --device tpu trained on the CPU
    assert_usage_error(
        ibert_cli(*_train(tmp_path, option, value)),
        contains=f"Invalid value for '{option}'",
    )


def test_train_refuses_a_device_this_machine_lacks(ibert_cli: Any, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert_usage_error(ibert_cli(*_train(tmp_path, "--device", "cuda")),
                       contains="--device cuda: this machine has no CUDA device")


def test_train_reads_task_weights_before_anything_loads(ibert_cli: Any, tmp_path: Path) -> None:
    assert_usage_error(ibert_cli(*_train(tmp_path, "--task-weights", "sql_to_ibis:2")),
                       contains="bad task weight 'sql_to_ibis:2'")


@pytest.mark.parametrize(
    "command",
    [["train", "--model", "m", "--data", "d"], ["adapters", "merge", "--model", "m", "--adapter",
                                                "a"], ["adapters", "init-tiny"]],
)
def test_an_out_folder_that_is_a_file_is_refused(
    ibert_cli: Any, tmp_path: Path, command: list[str]
) -> None:
    taken = tmp_path / "taken.txt"
    taken.write_text("")
    assert_usage_error(ibert_cli(*command, "--out", str(taken)), contains="is a file")


@pytest.mark.parametrize(("option", "value"),
                         [("--hidden", "0"), ("--layers", "0"), ("--heads", "0")])
def test_init_tiny_refuses_an_empty_model(
    ibert_cli: Any, tmp_path: Path, option: str, value: str
) -> None:
    assert_usage_error(
        ibert_cli("adapters", "init-tiny", "--out", str(tmp_path / "m"), option, value),
        contains=f"Invalid value for '{option}'",
    )


def _eval(tmp_path: Path, *extra: str) -> list[str]:
    return ["eval", "--model", str(tmp_path / "no-model"), "--data", str(tmp_path / "no-data"),
            *extra]


@pytest.mark.parametrize("option", ["--num-candidates", "--limit", "--max-new-tokens"])
def test_eval_refuses_counts_below_one(ibert_cli: Any, tmp_path: Path, option: str) -> None:
    # --num-candidates 0 was a ZeroDivisionError after the evaluation ran
    assert_usage_error(
        ibert_cli(*_eval(tmp_path, option, "0")),
        contains=f"Invalid value for '{option}'",
    )


def test_eval_reads_the_gate_before_evaluating(ibert_cli: Any, tmp_path: Path) -> None:
    gate = tmp_path / "baseline.json"
    gate.write_text("not json")
    assert_usage_error(
        ibert_cli(*_eval(tmp_path, "--gate", str(gate))),
        contains=f"--gate {gate} is not JSON",
    )
    gate.write_text("[1, 2]")
    assert_usage_error(
        ibert_cli(*_eval(tmp_path, "--gate", str(gate))),
        contains="holds no eval results",
    )


def test_every_option_has_help() -> None:
    import click

    from ibert_adapters.cli import adapters_group, eval_command, train_command

    commands = [train_command, eval_command, *adapters_group.commands.values()]
    bare = [f"{c.name} {p.name}" for c in commands for p in c.params
            if isinstance(p, click.Option) and not p.help]
    assert not bare
