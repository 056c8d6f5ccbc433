"""The `hf-encoder` embedder on a tiny random BERT built offline: real transformers, no mocks."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ibert_adapters import plugin
from ibert_adapters.embeddings import ENV, PACKAGED, TransformersEmbedder, factory
from ibert_core.errors import ModelLoadError
from ibert_core.plugins import make_context
from ibert_core.testing import register_plugin

TEXTS = ["filter rows where the amount is above ten", "group by user", "sort"]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ibert_adapters.tiny import build_encoder

    return build_encoder(tmp_path_factory.mktemp("encoder") / "model")


def reference(folder: Path, text: str, pool: str = "mean") -> np.ndarray:
    """One text alone (no padding): the plain mean (or first token) of the last hidden
    states, normalized; what sentence-transformers computes for all-MiniLM-L6-v2."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    with torch.inference_mode():
        hidden = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]
    row = (hidden.mean(dim=0) if pool == "mean" else hidden[0]).numpy()
    return row / np.linalg.norm(row)


def test_rows_are_the_normalized_mean_over_the_attention_mask(encoder):
    vectors = TransformersEmbedder(encoder).encode(TEXTS)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the shorter texts are padded in the batch; padding must not enter their mean
    for text, row in zip(TEXTS, vectors, strict=True):
        np.testing.assert_allclose(row, reference(encoder, text), atol=1e-5)
    assert TransformersEmbedder(encoder).encode([]).shape == (0, 32)


def test_cls_pooling_when_the_folder_says_so(encoder, tmp_path):
    folder = Path(shutil.copytree(encoder, tmp_path / "cls"))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}))
    embedder = TransformersEmbedder(folder)
    assert embedder.pooling == "cls"
    np.testing.assert_allclose(embedder.encode(TEXTS[:2])[1], reference(folder, TEXTS[1], "cls"),
                               atol=1e-5)


def test_identity_names_the_model_and_changes_with_it(encoder, tmp_path):
    assert TransformersEmbedder(encoder).identity == TransformersEmbedder(encoder).identity
    folder = Path(shutil.copytree(encoder, tmp_path / "copy"))
    before = TransformersEmbedder(folder).identity
    assert str(folder.resolve()) in before
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_dropout_prob": 0.2}))
    assert TransformersEmbedder(folder).identity != before
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 16}')
    assert ":16:" in TransformersEmbedder(folder).identity  # the truncation shapes vectors


def test_registered_and_chosen_through_the_plugin_manager(encoder, plugin_manager, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with register_plugin(plugin_manager, plugin, name="adapters") as pm:
        assert pm.registries.embedders.names() == ["hf-encoder"]
        embedder = make_context(pm, {"embedding_model": str(encoder)}).embedder()
        assert isinstance(embedder, TransformersEmbedder)
        np.testing.assert_allclose(embedder.encode(TEXTS[:1])[0], reference(encoder, TEXTS[0]),
                                   atol=1e-5)
        monkeypatch.setenv(ENV, str(encoder))  # the environment names it as well
        assert make_context(pm, {}).embedder().folder == encoder.resolve()


def test_no_model_installed_gives_no_embedder(plugin_manager, monkeypatch):
    if importlib.util.find_spec(PACKAGED) is not None:
        pytest.skip(f"{PACKAGED} is installed here, so a model is always found")
    monkeypatch.delenv(ENV, raising=False)
    with register_plugin(plugin_manager, plugin, name="adapters") as pm:
        assert make_context(pm, {}).embedder() is None


def test_a_named_folder_without_a_model_is_an_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(ModelLoadError, match=f"embedding model '{tmp_path}' is not a model folder"):
        factory(make_context(config={"embedding_model": str(tmp_path)}))


def test_broken_weights_are_an_error_naming_the_folder(encoder, tmp_path):
    folder = Path(shutil.copytree(encoder, tmp_path / "broken"))
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    embedder = TransformersEmbedder(folder)  # nothing is loaded before the first encode
    with pytest.raises(ModelLoadError, match=f"cannot load embedding model '{folder}'"):
        embedder.encode(["x"])
