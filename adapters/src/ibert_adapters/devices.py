"""Where a model runs and in which precision, chosen from what the machine has.

One place decides device, dtype, quantization and optimizer so that generation and
training agree, and so that every choice is recorded (a CPU run says it used fp32 and
torch AdamW instead of silently differing from a GPU run).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import attrs

from ibert_core.errors import ModelLoadError

DTYPES = ("auto", "float32", "bfloat16", "float16")


@attrs.frozen
class Placement:
    """The device, dtype and quantization a model is loaded with, and why."""

    device: str  # "cuda", "mps" or "cpu"
    dtype: str  # "float32", "bfloat16" or "float16"
    quantization: str | None = None  # None, "8bit" or "4bit"
    notes: tuple[str, ...] = ()

    def torch_dtype(self) -> Any:
        import torch

        return getattr(torch, self.dtype)


def available_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _auto_dtype(device: str) -> str:
    import torch

    if device == "cuda":
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16"
    return "float32"  # CPU matmuls in half precision are slower and less exact


def has_bitsandbytes() -> bool:
    return importlib.util.find_spec("bitsandbytes") is not None


def choose(
    device: str | None = None,
    dtype: str | None = None,
    load_in_8bit: bool = False,
    load_in_4bit: bool = False,
) -> Placement:
    """Device and dtype for this machine, honouring explicit choices; quantization is
    refused (not skipped) where it cannot work, so a run never silently differs from
    what was asked.
    """
    if load_in_8bit and load_in_4bit:
        raise ModelLoadError("both --load-in-8bit and --load-in-4bit were given", "choose one")
    device = device or available_device()
    if dtype in (None, "auto"):
        dtype = _auto_dtype(device)
    if dtype not in DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}", f"choose one of: {', '.join(DTYPES)}")
    quant = "8bit" if load_in_8bit else "4bit" if load_in_4bit else None
    if quant and device != "cuda":
        raise ModelLoadError(
            f"{quant} loading needs a CUDA GPU (this machine runs on {device})",
            "drop --load-in-8bit/--load-in-4bit, or run on a CUDA machine",
        )
    if quant and not has_bitsandbytes():
        raise ModelLoadError(
            f"{quant} loading needs bitsandbytes, which is not installed",
            "pip install 'ibert-adapters[cuda]'",
        )
    notes = (f"device {device}, dtype {dtype}" + (f", {quant} quantization" if quant else ""),)
    return Placement(device=device, dtype=dtype, quantization=quant, notes=notes)


def from_config(config: Mapping[str, Any]) -> Placement:
    """A placement from config keys `device`, `dtype`, `load_in_8bit`, `load_in_4bit`."""
    return choose(
        device=config.get("device") or None,
        dtype=config.get("dtype") or None,
        load_in_8bit=_flag(config.get("load_in_8bit")),
        load_in_4bit=_flag(config.get("load_in_4bit")),
    )


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def quantization_config(placement: Placement) -> Any:
    """A bitsandbytes config for `from_pretrained`, or None."""
    if placement.quantization is None:
        return None
    from transformers import BitsAndBytesConfig

    if placement.quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=placement.torch_dtype(),
    )


def training_precision(placement: Placement) -> dict[str, bool]:
    """Trainer mixed-precision flags: bf16 or fp16 on GPUs that support them, none on CPU."""
    if placement.device != "cuda":
        return {"bf16": False, "fp16": False}
    return {"bf16": placement.dtype == "bfloat16", "fp16": placement.dtype == "float16"}


def optimizer_name(placement: Placement) -> tuple[str, str]:
    """The Trainer `optim` and a note saying why: 8-bit AdamW needs CUDA and bitsandbytes."""
    if placement.device == "cuda" and has_bitsandbytes():
        return "adamw_bnb_8bit", "optimizer: 8-bit AdamW (bitsandbytes)"
    why = "no CUDA" if placement.device != "cuda" else "bitsandbytes not installed"
    return "adamw_torch", f"optimizer: torch AdamW ({why}; 8-bit AdamW needs CUDA + bitsandbytes)"
