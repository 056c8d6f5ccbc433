"""LoRA training on the tiny model: adapter, metrics, plot, W&B offline, resume after a
real kill, per-task adapters, merge, and `ibert eval` with the validators in the loop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ibert_adapters import plugin as adapters_plugin
from ibert_adapters.train import TrainConfig, last_checkpoint, run
from ibert_core import hookimpl
from ibert_core.cli import make_cli
from ibert_core.plugins import make_context
from ibert_core.registry import TaskSpec
from ibert_core.testing import register_plugin
from ibert_core.types import Candidate, Stage, TaskRequest, Verdict

pytestmark = pytest.mark.slow

SMALL = {"batch": 2, "grad_accum": 1, "r": 4, "alpha": 8, "max_length": 192,
         "logging_steps": 1, "report_to": "none"}


def cfg(model: Path, data: Path, out: Path, **kw: Any) -> TrainConfig:
    return TrainConfig(model=str(model), data=data, out=out, **{**SMALL, **kw})


@pytest.fixture(scope="module")
def trained(tiny_model: Path, corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "multi"
    run(cfg(tiny_model, corpus_dir, out, max_steps=12, save_steps=6, lr=3e-3,
            report_to="wandb"))
    return out


def test_adapters_training_writes_adapter_metrics_plot_and_wandb(trained: Path) -> None:
    adapter = trained / "adapter"
    assert (adapter / "adapter_config.json").is_file()
    assert (adapter / "adapter_model.safetensors").is_file()
    meta = json.loads((adapter / "ibert_adapter.json").read_text())
    assert meta["tasks"] == ["ibis_to_sql", "sql_to_ibis"]
    assert meta["lora"]["r"] == 4 and meta["base_config_sha256"]
    metrics = json.loads((trained / "metrics.json").read_text())
    phase = metrics["phases"]["multitask"]
    assert phase["global_step"] == 12 and phase["resumed_from"] is None
    assert phase["train_target_tokens"] < phase["train_tokens"]  # prompts carry no loss
    assert phase["tokens_per_second"] > 0
    assert any("optimizer: torch AdamW" in n for n in metrics["notes"])  # CPU, and said so
    assert metrics["data"]["train"]["examples"] == 48
    # it learns: the held-out loss goes down
    assert phase["eval_loss_after"] < phase["eval_loss_before"]
    png = (trained / "loss.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    runs = list(Path(os.environ["WANDB_DIR"]).glob("wandb/offline-run-*"))
    assert runs, "an offline W&B run was recorded"


def test_adapters_trained_adapter_serves_candidates(
    trained: Path, tiny_model: Path, plugin_manager: Any
) -> None:
    with register_plugin(plugin_manager, adapters_plugin, name="adapters"):
        context = make_context(plugin_manager, {"max_new_tokens": 8, "num_candidates": 2})
        source = context.model_source(str(tiny_model), str(trained))
        cands = source.candidates(TaskRequest(task="sql_to_ibis", text="SELECT 1"), ())
    assert cands and all(c.provenance.adapter == str(trained) for c in cands)


def test_adapters_kill_and_resume(tiny_model: Path, corpus_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed"
    args = ["--model", str(tiny_model), "--data", str(corpus_dir), "--out", str(out),
            "--max-steps", "10", "--save-steps", "2", "--batch", "2", "--grad-accum", "1",
            "--r", "4", "--alpha", "8", "--max-length", "192", "--report-to", "none",
            "--logging-steps", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "ibert_adapters.train", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpts = out / "checkpoints" / "multitask"
    deadline = time.monotonic() + 120
    try:
        while last_checkpoint(ckpts) is None and proc.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    killed_at = last_checkpoint(ckpts)
    assert killed_at is not None and not (out / "adapter").exists()
    step = int(killed_at.name.split("-")[1])
    assert 0 < step < 10
    metrics = run(cfg(tiny_model, corpus_dir, out, max_steps=10, save_steps=2))
    assert not any("changed settings" in n for n in metrics["notes"])  # same run, same args
    phase = metrics["phases"]["multitask"]
    assert phase["resumed_from"] == killed_at.name
    assert phase["global_step"] == 10
    state = json.loads((last_checkpoint(ckpts) / "trainer_state.json").read_text())
    assert state["global_step"] == 10
    first_logged = min(r["step"] for r in phase["log_history"] if "loss" in r)
    assert first_logged <= step + 1  # history continues from the checkpoint
    assert (out / "adapter" / "adapter_config.json").is_file()


def test_adapters_per_task_adapters_and_skip_finished(
    tiny_model: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "per-task"
    config = cfg(tiny_model, corpus_dir, out, max_steps=2, save_steps=50, max_length=512,
                 per_task_adapters=True, packing=True, targets="q_proj,v_proj,mlp")
    metrics = run(config)
    assert set(metrics["phases"]) == {"sql_to_ibis", "ibis_to_sql"}
    for task in ("sql_to_ibis", "ibis_to_sql"):
        meta = json.loads((out / "adapters" / task / "ibert_adapter.json").read_text())
        assert meta["tasks"] == [task]
        lora = json.loads((out / "adapters" / task / "adapter_config.json").read_text())
        assert set(lora["target_modules"]) == {"q_proj", "v_proj", "gate_proj", "up_proj",
                                               "down_proj"}
    # packed: fewer sequences than examples
    assert metrics["phases"]["sql_to_ibis"]["sequences"] < metrics["phases"]["sql_to_ibis"][
        "examples"]
    before = (out / "metrics.json").read_text()
    again = run(config)  # both phases finished: nothing retrained
    assert again["phases"] == json.loads(before)["phases"]


def test_adapters_bad_targets_are_refused(tiny_model: Path, corpus_dir: Path,
                                          tmp_path: Path) -> None:
    from ibert_core.errors import BadInput

    with pytest.raises(BadInput, match="c_attn"):
        run(cfg(tiny_model, corpus_dir, tmp_path / "bad", max_steps=1, targets="c_attn"))


def test_adapters_merge_matches_the_adapter(trained: Path, tiny_model: Path,
                                            tmp_path: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from ibert_adapters.merge import merge

    out = merge(str(tiny_model), str(trained), tmp_path / "merged", "float32")
    ids = torch.tensor([[5, 6, 7, 8]])
    merged = AutoModelForCausalLM.from_pretrained(out)
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model),
                                     str(trained / "adapter"))
    with torch.inference_mode():
        assert torch.allclose(merged(ids).logits, peft(ids).logits, atol=1e-4)


class ParseTask:
    """Test tasks named like the corpus's: code passes when Python parses it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def candidates(self, request: TaskRequest, feedback: Any) -> list[Candidate]:
        return [Candidate("expr = t")]  # what the tool engine would say; eval must ignore it

    def validate(self, request: TaskRequest, candidate: Candidate) -> Verdict:
        import ast

        try:
            ast.parse(candidate.text)
            stage = Stage("parse", True)
        except SyntaxError as err:
            stage = Stage("parse", False, f"{err.msg} at line {err.lineno}")
        return Verdict([stage], required=("parse",))


class ParsePlugin:
    @hookimpl
    def register_tasks(self, register: Any) -> None:
        for name in ("sql_to_ibis", "ibis_to_sql"):
            register(TaskSpec(name, "test", lambda context, n=name: ParseTask(n)))


@pytest.fixture
def cli_pm(plugin_manager: Any) -> Iterator[Any]:
    with register_plugin(plugin_manager, adapters_plugin, name="adapters"), \
            register_plugin(plugin_manager, ParsePlugin(), name="parse"):
        yield plugin_manager


def test_adapters_eval_command_and_gate(
    cli_pm: Any, trained: Path, tiny_model: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    cli = make_cli(lambda: cli_pm)
    out = tmp_path / "eval.json"
    args = ["eval", "--model", str(tiny_model), "--adapter", str(trained), "--data",
            str(corpus_dir), "--limit", "2", "--max-new-tokens", "6", "--num-candidates", "2",
            "--out", str(out)]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    results = json.loads(out.read_text())
    assert results["overall"]["n"] == 4 and set(results["tasks"]) == {"sql_to_ibis",
                                                                      "ibis_to_sql"}
    for row in results["examples"]:
        assert 0 <= row["rounds"] <= 3
        if not row["verified@beam+refine"]:
            assert row["loop_feedback"]  # says why
    # the task's own engine (whose `expr = t` always parses) is switched off in eval
    from ibert_adapters.evaluate import model_only_context

    only = model_only_context(make_context(cli_pm), {})
    handler, request = only.handler("sql_to_ibis"), TaskRequest("sql_to_ibis", "SELECT 1")
    assert handler.candidates(request, ()) == []
    assert handler.validate(request, Candidate("expr = t")).passed
    assert not handler.validate(request, Candidate("expr = (")).passed
    same = CliRunner().invoke(cli, [*args, "--gate", str(out)], catch_exceptions=False)
    assert same.exit_code == 0, same.output
    better = dict(results, overall={**results["overall"], "exact_match": 1.0})
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(better))
    worse = CliRunner().invoke(cli, [*args, "--gate", str(baseline)], catch_exceptions=False)
    assert worse.exit_code == 1 and "exact_match" in worse.output


def test_adapters_cli_lists_and_shows(cli_pm: Any, trained: Path) -> None:
    import shutil

    cli = make_cli(lambda: cli_pm)
    shutil.copytree(trained / "adapter", Path(os.environ["IBERT_ADAPTERS_HOME"]) / "demo")
    listed = CliRunner().invoke(cli, ["adapters", "list", "--json"], catch_exceptions=False)
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["name"] == "demo"
    shown = CliRunner().invoke(cli, ["adapters", "show", "demo"], catch_exceptions=False)
    info = json.loads(shown.output)["*"]
    assert info["lora"]["r"] == 4 and info["metadata"]["phase"] == "multitask"
    helped = CliRunner().invoke(cli, ["train", "--help"], catch_exceptions=False)
    assert "--per-task-adapters" in helped.output and "--packing" in helped.output


def test_adapters_init_tiny_command_builds_a_loadable_model(cli_pm: Any, tmp_path: Path,
                                                            corpus_dir: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cli = make_cli(lambda: cli_pm)
    out = tmp_path / "mistral"
    res = CliRunner().invoke(cli, ["adapters", "init-tiny", "--out", str(out), "--data",
                                   str(corpus_dir), "--architecture", "mistral",
                                   "--no-chat-template"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    assert model.config.model_type == "mistral" and model.config.hidden_size == 32
    assert not tok.chat_template and tok.eos_token == "<|endoftext|>"
    # the BPE merges learned the domain: common code is far fewer tokens than bytes
    text = "expr = events.group_by('user_id').agg(total=events.amount.sum())"
    assert len(tok(text, add_special_tokens=False).input_ids) < len(text) / 2


def test_adapters_train_module_reports_errors_in_one_line(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ibert_adapters.train import main

    with pytest.raises(SystemExit) as stop:
        main(["--model", str(tmp_path / "no-model"), "--data", str(corpus_dir), "--out",
              str(tmp_path / "out")])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no-model" in err and err.startswith("ibert: error:")


def test_adapters_full_training_writes_a_base_model(
    tiny_model: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    """`full=True` trains every weight (domain pre-training) and writes a model folder
    that a LoRA run then takes as its base."""
    from safetensors.torch import load_file

    out = tmp_path / "full"
    config = cfg(tiny_model, corpus_dir, out, max_steps=4, save_steps=50, lr=3e-3, full=True,
                 prompt_loss=True, packing=True, max_length=512)
    metrics = run(config)
    phase = metrics["phases"]["full"]
    assert phase["trainable_parameters"] == phase["parameters"] > 0  # no LoRA: all weights
    assert phase["train_target_tokens"] == phase["train_tokens"]  # loss on prompts too
    assert phase["eval_loss_after"] < phase["eval_loss_before"]
    model = out / "model"
    meta = json.loads((model / "ibert_model.json").read_text())
    assert meta["base_model"] == str(tiny_model) and "lora" not in meta
    assert not (model / "adapter_config.json").exists()
    before, after = load_file(tiny_model / "model.safetensors"), load_file(
        model / "model.safetensors")
    assert before.keys() == after.keys()
    assert sum(not before[k].equal(after[k]) for k in before) > len(before) // 2
    assert run(config)["phases"] == metrics["phases"]  # finished: skipped on rerun
    lora = run(cfg(model, corpus_dir, tmp_path / "lora", max_steps=2, save_steps=50,
                   tasks=("sql_to_ibis",)))
    assert lora["phases"]["multitask"]["trainable_parameters"] < phase["parameters"]
    ref = json.loads((tmp_path / "lora" / "adapter" / "ibert_adapter.json").read_text())
    assert ref["base_model"] == str(model)
