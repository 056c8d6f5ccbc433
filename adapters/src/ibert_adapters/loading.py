"""Load a base model once per process and hot-swap LoRA adapters on it.

The engine builds a backend for every request, but a base model takes seconds to
gigabytes to load; so loaded bases live in a process-wide cache keyed by model and
placement, and adapters are attached to them by name (`load_adapter`) and switched with
`set_adapter`. Whatever cannot be loaded raises `ModelLoadError` naming it: never is
another model or adapter used instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from ibert_adapters.devices import Placement, quantization_config
from ibert_core.errors import ModelLoadError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
ADAPTER_CONFIG = "adapter_config.json"
METADATA = "ibert_adapter.json"
#: What `ibert train --full` writes next to a trained full model.
MODEL_METADATA = "ibert_model.json"


def adapters_home() -> Path:
    """Where named adapters live (`ibert adapters list`): $IBERT_ADAPTERS_HOME or ~/.cache."""
    env = os.environ.get("IBERT_ADAPTERS_HOME")
    return Path(env) if env else Path.home() / ".cache" / "ibert" / "adapters"


def is_local_model(model_id: str) -> bool:
    return (Path(model_id).expanduser() / "config.json").is_file()


def looks_like_path(model_id: str) -> bool:
    return model_id.startswith(("/", "./", "../", "~")) or model_id.count("/") > 1


def can_serve(model_id: str) -> bool:
    """What `resolve_model` answers: local HF model folders, hub ids, and paths that look
    like local model folders (so that a missing one is reported by us, naming it).
    """
    path = Path(model_id).expanduser()
    if path.is_dir():
        return is_local_model(model_id)
    return bool(HUB_ID.match(model_id)) or looks_like_path(model_id)


# --- adapters ----------------------------------------------------------------------------


@attrs.frozen
class AdapterRef:
    """Where an adapter's weights are, and the name it is attached under."""

    name: str
    path: Path


def _is_adapter(path: Path) -> bool:
    return (path / ADAPTER_CONFIG).is_file()


def _adapter_name(path: Path) -> str:
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_]", "_", path.name) + "_" + digest


def find_adapters(adapter: str) -> dict[str, AdapterRef]:
    """The adapters `--adapter` names, keyed by task (`"*"` for one adapter for every task).

    Accepts an adapter folder, a training run folder (its multi-task `adapter/` or its
    per-task `adapters/<task>/`), or a name under `adapters_home()`.
    """
    candidates = [Path(adapter).expanduser(), adapters_home() / adapter]
    for path in candidates:
        if not path.is_dir():
            continue
        if _is_adapter(path):
            return {"*": AdapterRef(_adapter_name(path), path)}
        if _is_adapter(path / "adapter"):
            return {"*": AdapterRef(_adapter_name(path / "adapter"), path / "adapter")}
        per_task = path / "adapters"
        if per_task.is_dir():
            found = {
                p.name: AdapterRef(_adapter_name(p), p)
                for p in sorted(per_task.iterdir())
                if _is_adapter(p)
            }
            if found:
                return found
        raise ModelLoadError(
            f"adapter {adapter!r} ({path}) holds no LoRA adapter",
            f"expected {ADAPTER_CONFIG} in it, in adapter/, or in adapters/<task>/",
        )
    known = sorted(p.name for p in adapters_home().glob("*") if p.is_dir())
    hint = f"named adapters in {adapters_home()}: {', '.join(known)}" if known else (
        "pass an adapter folder or a run folder written by `ibert train`"
    )
    raise ModelLoadError(f"adapter {adapter!r} not found", hint)


def adapter_for_task(refs: Mapping[str, AdapterRef], task: str, adapter: str) -> AdapterRef:
    if "*" in refs:
        return refs["*"]
    if task in refs:
        return refs[task]
    raise ModelLoadError(
        f"adapter {adapter!r} has no adapter for task {task!r}",
        f"it has adapters for: {', '.join(sorted(refs))}; train one with --tasks {task}",
    )


def read_metadata(path: Path) -> dict[str, Any]:
    meta = path / METADATA
    return json.loads(meta.read_text()) if meta.is_file() else {}


# --- the base model ----------------------------------------------------------------------


@attrs.define
class LoadedModel:
    """A base model and tokenizer loaded once, with the adapters attached to it so far."""

    model_id: str
    placement: Placement
    model: Any
    tokenizer: Any
    adapters: dict[str, Path] = attrs.field(factory=dict)
    active: str | None = None
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    broken: bool = False

    @property
    def is_peft(self) -> bool:
        return hasattr(self.model, "peft_config")

    def use(self, ref: AdapterRef | None) -> None:
        """Make `ref` the active adapter (loading it on first use), or none for the base."""
        if self.broken:
            raise ModelLoadError(
                f"model {self.model_id!r} was left unusable by a failed adapter load",
                "start a new request: the base model is reloaded",
            )
        if ref is None:
            self.active = None
            return
        self.attach(ref)
        if self.model.active_adapter != ref.name:
            self.model.set_adapter(ref.name)
        self.active = ref.name

    def attach(self, ref: AdapterRef) -> None:
        """Load adapter `ref` onto the base (once); an adapter that does not fit is an error."""
        from peft import PeftModel

        if ref.name in self.adapters:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # peft calls deprecated HF APIs
                if self.is_peft:
                    self.model.load_adapter(str(ref.path), adapter_name=ref.name)
                else:
                    self.model = PeftModel.from_pretrained(
                        self.model, str(ref.path), adapter_name=ref.name
                    )
        except Exception as err:  # peft raises ValueError, RuntimeError (shape), OSError
            # peft injects LoRA layers into the base in place before loading weights, so a
            # failed load leaves it altered: drop it, the next request loads a clean copy.
            self.broken = True
            evict(self)
            raise ModelLoadError(
                f"adapter {str(ref.path)!r} cannot be loaded on {self.model_id!r}: "
                f"{type(err).__name__}: {str(err).splitlines()[0][:300]}",
                "check that it was trained on this base model",
            ) from err
        self.model.eval()
        self.adapters[ref.name] = ref.path

    @contextmanager
    def active_model(self, ref: AdapterRef | None) -> Iterator[Any]:
        """The model with adapter `ref` on, or every adapter off for the base model.

        Held under a lock: the active adapter is model state, shared by every request.
        """
        with self.lock:
            self.use(ref)
            if self.active is None and self.is_peft:
                with self.model.disable_adapter():
                    yield self.model
            else:
                yield self.model


_CACHE: dict[tuple[str, Placement], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_base(model_id: str, placement: Placement) -> LoadedModel:
    """The base model and tokenizer for `model_id`, loaded once per process and placement."""
    key = (model_id, placement)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load(model_id, placement)
        return _CACHE[key]


def evict(loaded: LoadedModel) -> None:
    with _CACHE_LOCK:
        for key in [k for k, v in _CACHE.items() if v is loaded]:
            del _CACHE[key]


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def check_model_id(model_id: str) -> bool:
    """True for a local model folder, False for a hub id; an error naming anything else."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        if not is_local_model(model_id):
            raise ModelLoadError(
                f"model folder {model_id!r} has no config.json",
                "pass a Hugging Face model folder (config.json, weights, tokenizer files)",
            )
        return True
    if looks_like_path(model_id) or not HUB_ID.match(model_id):
        raise ModelLoadError(
            f"model {model_id!r} not found",
            "pass an existing model folder or a hub id like 'Qwen/Qwen2.5-Coder-1.5B-Instruct'",
        )
    return False


def _load(model_id: str, placement: Placement) -> LoadedModel:
    local = check_model_id(model_id)
    source = str(Path(model_id).expanduser()) if local else model_id
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": placement.torch_dtype()}
    quant = quantization_config(placement)
    if quant is not None:
        kwargs.update(quantization_config=quant, device_map="auto")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one-line CLI output; load time is in the timings
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except Exception as err:  # OSError offline, ValueError unknown architecture, ...
        where = "folder" if local else "hub model"
        raise ModelLoadError(
            f"{where} {model_id!r} cannot be loaded: {type(err).__name__}: "
            f"{str(err).splitlines()[0][:300]}",
            "check the path, or download the model first (this machine may be offline)"
            if not local
            else "check that the folder holds a complete causal-LM checkpoint",
        ) from err
    if quant is None:
        model.to(placement.device)  # type: ignore[arg-type]  # transformers' stub of .to
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LoadedModel(model_id=model_id, placement=placement, model=model, tokenizer=tokenizer)


def config_hash(model_id: str) -> str | None:
    """A hash of the base model's config.json, recorded in adapter metadata."""
    cfg = Path(model_id).expanduser() / "config.json"
    if not cfg.is_file():
        return None
    return hashlib.sha256(cfg.read_bytes()).hexdigest()[:16]
