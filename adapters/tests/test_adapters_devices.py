"""Device, dtype, optimizer and decoding choices on this (CPU-only) machine."""

from __future__ import annotations

import pytest

from ibert_adapters import devices
from ibert_adapters.backend import Decoding, fit_context
from ibert_core.errors import BadInput, ModelLoadError


def test_adapters_cpu_placement_is_fp32_with_torch_adamw() -> None:
    placement = devices.choose(device="cpu")
    assert (placement.device, placement.dtype, placement.quantization) == ("cpu", "float32", None)
    assert devices.training_precision(placement) == {"bf16": False, "fp16": False}
    optim, note = devices.optimizer_name(placement)
    assert optim == "adamw_torch" and "no CUDA" in note


def test_adapters_placement_refuses_what_cannot_work() -> None:
    with pytest.raises(ModelLoadError, match="4bit loading needs a CUDA GPU"):
        devices.choose(device="cpu", load_in_4bit=True)
    with pytest.raises(ModelLoadError, match="choose one"):
        devices.choose(load_in_8bit=True, load_in_4bit=True)
    with pytest.raises(ModelLoadError, match="unknown dtype 'fp8'"):
        devices.choose(device="cpu", dtype="fp8")


def test_adapters_placement_from_config_strings() -> None:
    placement = devices.from_config({"device": "cpu", "dtype": "bfloat16", "load_in_8bit": "0"})
    assert placement.dtype == "bfloat16" and placement.quantization is None


def test_adapters_decoding_settings() -> None:
    beam = Decoding.from_config({})
    assert beam.generate_kwargs() == {"do_sample": False, "num_beams": 5,
                                      "num_return_sequences": 5, "early_stopping": True}
    sample = Decoding.from_config({"decoding": "sample", "num_candidates": "3"})
    assert sample.generate_kwargs() == {"do_sample": True, "temperature": 0.7, "top_p": 0.95,
                                        "num_return_sequences": 3}
    with pytest.raises(BadInput, match="unknown decoding 'nucleus'"):
        Decoding("nucleus")


def test_adapters_long_prompts_keep_their_end() -> None:
    class Config:
        max_position_embeddings = 100

    ids = list(range(150))
    assert fit_context(ids, Config(), 40) == ids[-60:]
    assert fit_context(ids[:50], Config(), 40) == ids[:50]
