"""Shared fixtures: one ibis index per test session, built into a temporary cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def qa_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cache directory every qa test uses (never the user's ~/.cache)."""
    return tmp_path_factory.mktemp("ibert-cache")


@pytest.fixture(scope="session", autouse=True)
def _cache_env(qa_cache: Path) -> Iterator[None]:
    """Anything that reads `IBERT_CACHE_DIR` (the CLI, conformance contexts) uses the tmp
    cache, never the user's."""
    import os

    old = os.environ.get("IBERT_CACHE_DIR")
    os.environ["IBERT_CACHE_DIR"] = str(qa_cache)
    yield
    if old is None:
        os.environ.pop("IBERT_CACHE_DIR", None)
    else:
        os.environ["IBERT_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def qa_config(qa_cache: Path) -> dict[str, Any]:
    return {"cache_dir": str(qa_cache)}


@pytest.fixture(scope="session")
def ibis_index(qa_config: dict[str, Any]) -> Any:
    """The default ibis index, built once (a few seconds) and shared by the session."""
    from ibert_tasks_docs.qa.index import open_index

    return open_index(("ibis",), config=qa_config)


@pytest.fixture(scope="session")
def docs_context(qa_config: dict[str, Any]) -> Iterator[Any]:
    """A context over every installed plugin (the DuckDB validator among them)."""
    from ibert_core.plugins import make_context

    context = make_context(config=qa_config)
    yield context
    context.close()
