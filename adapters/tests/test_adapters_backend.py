"""The hf backend: model resolution, errors that name what failed, adapter hot swap, and
candidates inside the engine's generate-validate-refine loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ibert_adapters import plugin as adapters_plugin
from ibert_adapters.backend import Decoding, HFSource
from ibert_adapters.loading import find_adapters, load_base
from ibert_core import engine, hookimpl
from ibert_core.errors import ModelLoadError
from ibert_core.plugins import make_context
from ibert_core.registry import TaskSpec
from ibert_core.testing import register_plugin
from ibert_core.types import Candidate, Stage, TaskRequest, Verdict

FAST = {"max_new_tokens": 6, "num_candidates": 2}


def make_adapter(model: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) B matrices, so it visibly changes the model."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    base = AutoModelForCausalLM.from_pretrained(model)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"],
                      init_lora_weights=False, task_type="CAUSAL_LM")
    get_peft_model(base, lora).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def two_adapters(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lora")
    return make_adapter(tiny_model, root / "a", 1), make_adapter(tiny_model, root / "b", 2)


class StrictTask:
    """A test task: its own engine proposes nothing, and only one exact text passes."""

    name = "strict"

    def candidates(self, request: TaskRequest, feedback: Any) -> list[Candidate]:
        return []

    def validate(self, request: TaskRequest, candidate: Candidate) -> Verdict:
        ok = candidate.text == "expr = t"
        return Verdict([Stage("parse", ok, "" if ok else "expected `expr = t`")],
                       required=("parse",))


class StrictPlugin:
    @hookimpl
    def register_tasks(self, register: Any) -> None:
        register(TaskSpec("strict", "test task", lambda context: StrictTask()))


@pytest.fixture
def pm(plugin_manager: Any) -> Iterator[Any]:
    with register_plugin(plugin_manager, adapters_plugin, name="adapters"), \
            register_plugin(plugin_manager, StrictPlugin(), name="strict"):
        yield plugin_manager


def test_adapters_resolve_model_answers_for_hf_models(tiny_model: Path, tmp_path: Path) -> None:
    assert adapters_plugin.resolve_model(str(tiny_model), None) == "hf"
    assert adapters_plugin.resolve_model("Qwen/Qwen2.5-Coder-1.5B-Instruct", None) == "hf"
    assert adapters_plugin.resolve_model(str(tmp_path / "missing"), None) == "hf"
    assert adapters_plugin.resolve_model(str(tmp_path), None) is None  # a folder, not a model
    assert adapters_plugin.resolve_model("gpt-4", None) is None


def test_adapters_missing_model_path_is_an_error_naming_it(pm: Any, tmp_path: Path) -> None:
    context = make_context(pm)
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(ModelLoadError, match="no-such-model"):
        context.model_source(missing, None)
    # a folder that is not an HF model is left to other backends; the core names it
    with pytest.raises(ModelLoadError, match="no installed backend can load model.*"):
        context.model_source(str(tmp_path), None)
    from ibert_adapters.loading import check_model_id

    with pytest.raises(ModelLoadError, match="has no config.json"):
        check_model_id(str(tmp_path))


def test_adapters_hub_id_offline_fails_naming_it_never_substitutes(pm: Any) -> None:
    context = make_context(pm)
    with pytest.raises(ModelLoadError, match="ibert-test/not-a-real-model"):
        context.model_source("ibert-test/not-a-real-model", None)


def test_adapters_unknown_adapter_is_an_error_naming_it(
    pm: Any, tiny_model: Path, tmp_path: Path
) -> None:
    context = make_context(pm)
    with pytest.raises(ModelLoadError, match="'no-such-adapter' not found"):
        context.model_source(str(tiny_model), "no-such-adapter")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="holds no LoRA adapter"):
        context.model_source(str(tiny_model), str(tmp_path / "empty"))


def test_adapters_adapter_for_another_base_is_refused(
    pm: Any, tiny_model: Path, tmp_path: Path
) -> None:
    from ibert_adapters.tiny import TinySpec, build

    other = build(tmp_path / "wide", TinySpec(hidden_size=48, intermediate_size=96))
    adapter = make_adapter(other, tmp_path / "wide-lora", 3)
    context = make_context(pm)
    with pytest.raises(ModelLoadError, match="wide-lora.*cannot be loaded"):
        context.model_source(str(tiny_model), str(adapter))


def _logits(source: HFSource, task: str) -> Any:
    import torch

    ids = torch.tensor([[5, 6, 7, 8, 9]])
    with source.loaded.active_model(source.ref_for(task)) as model, torch.inference_mode():
        return model(input_ids=ids).logits[0, -1].clone()


def test_adapters_hot_swap_changes_outputs_on_one_base(
    pm: Any, tiny_model: Path, two_adapters: tuple[Path, Path]
) -> None:
    import torch

    a, b = two_adapters
    context = make_context(pm, FAST)
    src_a = context.model_source(str(tiny_model), str(a))
    src_b = context.model_source(str(tiny_model), str(b))
    base = context.model_source(str(tiny_model), None)
    assert src_a.loaded is src_b.loaded is base.loaded  # the base is loaded once
    out_a, out_b, out_base = _logits(src_a, "x"), _logits(src_b, "x"), _logits(base, "x")
    assert not torch.allclose(out_a, out_b)
    assert not torch.allclose(out_a, out_base) and not torch.allclose(out_b, out_base)
    assert torch.allclose(_logits(src_a, "x"), out_a)  # swapping back gives A again
    assert set(src_a.loaded.adapters) == {src_a.refs["*"].name, src_b.refs["*"].name}
    # generation goes through the active adapter too
    ids = [5, 6, 7, 8, 9]
    greedy = Decoding("greedy", 1, max_new_tokens=8)
    texts_a = src_a.generate(ids, src_a.ref_for("x"), greedy)[0]
    texts_b = src_b.generate(ids, src_b.ref_for("x"), greedy)[0]
    assert texts_a == src_a.generate(ids, src_a.ref_for("x"), greedy)[0]  # deterministic
    assert texts_a != texts_b


def test_adapters_per_task_run_folder_picks_the_task_adapter(
    tiny_model: Path, two_adapters: tuple[Path, Path], tmp_path: Path
) -> None:
    import shutil

    run = tmp_path / "run"
    for task, src in zip(("sql_to_ibis", "qa"), two_adapters, strict=True):
        shutil.copytree(src, run / "adapters" / task)
    refs = find_adapters(str(run))
    assert set(refs) == {"sql_to_ibis", "qa"}
    source = HFSource(loaded=load_base(str(tiny_model), _cpu()), adapter=str(run), refs=refs)
    assert source.ref_for("qa").path == run / "adapters" / "qa"
    with pytest.raises(ModelLoadError, match="no adapter for task 'documentation'"):
        source.ref_for("documentation")


def _cpu() -> Any:
    from ibert_adapters.devices import choose

    return choose(device="cpu")


def test_adapters_candidates_in_the_engine_loop_with_refinement(
    pm: Any, tiny_model: Path, two_adapters: tuple[Path, Path]
) -> None:
    adapter = str(two_adapters[0])
    context = make_context(pm, {**FAST, "num_candidates": 3})
    request = TaskRequest(task="strict", text="SELECT a FROM t", model=str(tiny_model),
                          adapter=adapter)
    result = engine.run(context, request)
    assert not result.verified  # a random model does not produce `expr = t`
    assert any("NOT VERIFIED" in n for n in result.notes)
    rounds = {a.round for a in result.attempts}
    assert 0 in rounds and len(rounds) >= 2  # refinement rounds asked the model again
    for att in result.attempts:
        prov = att.candidate.provenance
        assert (prov.engine, prov.model, prov.adapter) == ("hf", str(tiny_model), adapter)
        assert prov.round == att.round
        assert att.candidate.extra["refined"] is (att.round > 0)
        assert att.candidate.extra["decoding"] == "beam"


def test_adapters_sampling_decoding(pm: Any, tiny_model: Path) -> None:
    context = make_context(pm, {**FAST, "decoding": "sample", "num_candidates": 4})
    source = context.model_source(str(tiny_model), None)
    cands = source.candidates(TaskRequest(task="strict", text="SELECT 1"), ())
    assert 1 <= len(cands) <= 4
    assert all(c.extra["decoding"] == "sample" and c.provenance.adapter is None for c in cands)


def test_adapters_quantization_needs_cuda(pm: Any, tiny_model: Path) -> None:
    context = make_context(pm, {"load_in_8bit": "true", "device": "cpu"})
    with pytest.raises(ModelLoadError, match="8bit loading needs a CUDA GPU"):
        context.model_source(str(tiny_model), None)


def test_adapters_prompt_longer_than_the_model_is_cut_not_crashed(
    pm: Any, tiny_model: Path
) -> None:
    context = make_context(pm, {**FAST, "decoding": "greedy"})
    source = context.model_source(str(tiny_model), None)
    text = " UNION ALL ".join(f"SELECT {i} AS x FROM events" for i in range(200))
    assert len(source.loaded.tokenizer(text).input_ids) > 1024  # the tiny model's positions
    cands = source.candidates(TaskRequest(task="strict", text=text), ())
    assert len(cands) <= 1
