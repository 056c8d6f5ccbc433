"""The plugin registers one miner per source kind and the `ibert data mine` command."""

from __future__ import annotations

import click

from ibert_core.plugins import call_register_commands, get_plugin_manager


def test_plugin_loads_in_strict_mode(monkeypatch):
    monkeypatch.setenv("IBERT_STRICT_PLUGINS", "1")
    monkeypatch.setenv("IBERT_LOAD_PLUGINS", "miner_github")
    pm = get_plugin_manager()
    assert pm.get_plugin("miner_github") is not None
    assert pm.failures == []
    assert pm.registries.miners.names() == ["git", "path", "package"]
    git = pm.registries.miners.get("git")
    assert {"git", "notebook", "docs"} <= set(git.source_kinds)
    assert git.distribution == "ibert-miner-github"


def test_miner_factories_resolve_sources(monkeypatch, tmp_path):
    from ibert_core.plugins import make_context
    from ibert_miner_github.limits import MineLimits
    from ibert_miner_github.sources import Source

    monkeypatch.setenv("IBERT_LOAD_PLUGINS", "miner_github")
    context = make_context(get_plugin_manager())
    (tmp_path / "a.py").write_text("import ibis\n")
    miner = context.registries.miners.get("path").factory(context)
    tree = miner.resolve(Source("path", str(tmp_path)), MineLimits())
    assert tree.root == tmp_path.resolve() and tree.commit is None


def test_mine_command_is_added_under_data(monkeypatch):
    monkeypatch.setenv("IBERT_LOAD_PLUGINS", "miner_github")
    pm = get_plugin_manager()
    cli = click.Group(name="ibert")
    group = click.Group(name="data")
    cli.add_command(group)
    call_register_commands(pm, cli)
    assert "mine" in group.commands
    assert pm.failures == []


def test_mining_without_a_validator_says_what_to_install(monkeypatch, tmp_path):
    import pytest

    from ibert_core.errors import BadInput
    from ibert_core.plugins import make_context
    from ibert_miner_github.pipeline import run
    from ibert_miner_github.sources import Source

    monkeypatch.setenv("IBERT_LOAD_PLUGINS", "miner_github")
    context = make_context(get_plugin_manager())
    with pytest.raises(BadInput, match="pip install ibert-validator-duckdb"):
        run(context, [Source("path", str(tmp_path))], tmp_path / "out")
