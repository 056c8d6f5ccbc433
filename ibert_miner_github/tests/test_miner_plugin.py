"""The miner distribution installs as a plugin that loads cleanly (its miners come with issue 8)."""

from __future__ import annotations

from ibert_core.plugins import get_plugin_manager


def test_plugin_loads_in_strict_mode(monkeypatch):
    monkeypatch.setenv("IBERT_STRICT_PLUGINS", "1")
    monkeypatch.setenv("IBERT_LOAD_PLUGINS", "miner_github")
    pm = get_plugin_manager()
    assert pm.get_plugin("miner_github") is not None
    assert pm.failures == []
    assert pm.registries.miners.names() == []
