"""Plugin loading with real installed distributions (dist-info folders on PYTHONPATH)."""

from __future__ import annotations

import json

from ibert_core.plugins import get_plugin_manager
from ibert_core.testing import register_plugin

GOOD = """
    import click
    from ibert_core import hookimpl
    from ibert_core.registry import TaskSpec

    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="echo_task", summary="Echo.", factory=lambda c: None))

    @hookimpl
    def register_commands(cli):
        @cli.command()
        def hello():
            click.echo("hello from a plugin")
"""


def install_broken(site, install):
    install(
        site,
        "broken-plugin",
        {"broken_mod": "raise ImportError('needs libfoo, not installed')"},
        "[ibert]\nbroken = broken_mod\n",
    )


def test_broken_plugin_is_reported_and_the_rest_work(install, site, ibert):
    install_broken(site, install)
    install(site, "good-plugin", {"good_mod": GOOD}, "[ibert]\ngood = good_mod\n")
    tasks = ibert("tasks")
    assert tasks.returncode == 0, tasks.stderr
    assert "echo_task" in tasks.stdout
    assert "skipped plugin 'broken' from broken-plugin" in tasks.stderr
    assert tasks.stderr.count("skipped plugin") == 1
    plugins = ibert("plugins", "--json")
    assert plugins.returncode == 0
    rows = {r["name"]: r for r in json.loads(plugins.stdout)}
    assert rows["broken"]["error"] == "ImportError: needs libfoo, not installed"
    assert rows["broken"]["distribution"] == "broken-plugin"
    assert rows["good"]["tasks"] == ["echo_task"]
    text = ibert("plugins")
    assert "broken  [broken-plugin]  FAILED (import): ImportError" in text.stdout
    assert ibert("hello").stdout == "hello from a plugin\n"


def test_strict_mode_fails_naming_the_plugin(install, site, ibert):
    install_broken(site, install)
    out = ibert("tasks", env={"IBERT_STRICT_PLUGINS": "1"})
    assert out.returncode == 2
    assert out.stderr.startswith("ibert: error: plugin 'broken' from broken-plugin failed to load")
    assert "Traceback" not in out.stderr


def test_load_plugins_restricts_by_entry_point_name(install, site, ibert):
    install_broken(site, install)
    install(site, "good-plugin", {"good_mod": GOOD}, "[ibert]\ngood = good_mod\n")
    out = ibert("plugins", "--json", env={"IBERT_LOAD_PLUGINS": "good"})
    assert [r["name"] for r in json.loads(out.stdout)] == ["good"]
    assert out.stderr == ""
    none = ibert("plugins", "--json", env={"IBERT_LOAD_PLUGINS": ""})
    assert json.loads(none.stdout) == []
    # a misspelt name loads nothing: said, with the name it likely meant
    typo = ibert("tasks", env={"IBERT_LOAD_PLUGINS": "good,goood"})
    assert typo.returncode == 0 and "echo_task" in typo.stdout
    assert "no installed plugin is named 'goood'; did you mean 'good'?" in typo.stderr


def test_misspelled_hookimpl_and_failing_register_are_contained(install, site, monkeypatch):
    install(
        site,
        "typo-plugin",
        {
            "typo_mod": """
        from ibert_core import hookimpl
        @hookimpl
        def register_taks(register):
            pass
    """
        },
        "[ibert]\ntypo = typo_mod\n",
    )
    install(
        site,
        "half-plugin",
        {
            "half_mod": """
        from ibert_core import hookimpl
        from ibert_core.registry import TaskSpec
        @hookimpl
        def register_tasks(register):
            register(TaskSpec(name="first_half", summary="s", factory=lambda c: None))
            raise RuntimeError("oops after one")
    """
        },
        "[ibert]\nhalf = half_mod\n",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("IBERT_LOAD_PLUGINS", "typo,half")
    pm = get_plugin_manager()
    assert "first_half" not in pm.registries.tasks  # rolled back
    failures = {f.entry_point: f for f in pm.failures}
    assert failures["typo"].stage == "validate" and "register_taks" in failures["typo"].error
    assert failures["half"].stage == "register"
    assert failures["half"].error == "RuntimeError: oops after one"


def test_duplicate_task_names_name_both_distributions(install, site, ibert):
    for dist, mod in (("dup-a", "dup_a"), ("dup-b", "dup_b")):
        install(
            site,
            dist,
            {mod: GOOD.split("@hookimpl\n    def register_commands")[0]},
            f"[ibert]\n{mod} = {mod}\n",
        )
    out = ibert("tasks")
    assert out.returncode == 2
    assert "task 'echo_task' is registered by both" in out.stderr
    assert "dup-a" in out.stderr and "dup-b" in out.stderr


class Cmds:
    """A plugin given as an object, as tests of third-party plugins do."""

    from ibert_core import hookimpl

    @staticmethod
    @hookimpl
    def register_tasks(register):
        from ibert_core.registry import TaskSpec

        register(TaskSpec(name="obj_task", summary="s", factory=lambda c: None))


def test_register_plugin_context_manager(plugin_manager):
    assert "obj_task" not in plugin_manager.registries.tasks
    with register_plugin(plugin_manager, Cmds, name="cmds") as pm:
        assert pm.registries.tasks.get("obj_task").plugin == "cmds"
    assert "obj_task" not in plugin_manager.registries.tasks
