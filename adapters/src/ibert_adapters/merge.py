"""Merging a LoRA adapter into its base, for serving without peft.

Merging into quantized (4-bit) weights would round the adapter away, so the base is
always reloaded in full or half precision for the merge.
"""

from __future__ import annotations

from pathlib import Path

from ibert_adapters import devices
from ibert_adapters.loading import find_adapters, read_metadata
from ibert_adapters.tracking import write_json
from ibert_core.errors import BadInput, ModelLoadError


def merge(model_id: str, adapter: str, out: Path, dtype: str = "auto") -> Path:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ibert_adapters.loading import check_model_id

    refs = find_adapters(adapter)
    if len(refs) != 1:
        raise BadInput(
            f"{adapter!r} holds {len(refs)} adapters ({', '.join(sorted(refs))})",
            "merge one of them: pass its adapters/<task> folder",
        )
    ref = next(iter(refs.values()))
    check_model_id(model_id)
    placement = devices.choose(device="cpu", dtype=dtype)
    try:
        base = AutoModelForCausalLM.from_pretrained(model_id, dtype=placement.torch_dtype())
        tokenizer = AutoTokenizer.from_pretrained(model_id)
        merged = PeftModel.from_pretrained(base, str(ref.path)).merge_and_unload()
    except Exception as err:
        raise ModelLoadError(
            f"cannot merge adapter {str(ref.path)!r} into {model_id!r}: "
            f"{type(err).__name__}: {str(err).splitlines()[0][:300]}",
            "check that the adapter was trained on this base model",
        ) from err
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_json(out / "ibert_merged.json", {
        "base_model": model_id, "adapter": str(ref.path), "dtype": placement.dtype,
        "adapter_metadata": read_metadata(ref.path),
    })
    return out
