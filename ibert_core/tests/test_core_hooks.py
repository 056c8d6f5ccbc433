"""One `test_hook_<name>` per hook, and guards that every hook is documented and tested."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import click
import pytest

from ibert_core import hookimpl, hookspecs
from ibert_core.cli import resolve_schema
from ibert_core.errors import BadInput, ModelLoadError, UnknownNameError
from ibert_core.plugins import make_context
from ibert_core.registry import AdapterSpec, EmbedderSpec, MinerSpec, TaskSpec, ValidatorSpec
from ibert_core.testing import register_plugin
from ibert_core.types import Schema, ValidationJob, Verdict

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "ibert_spec")
)


def test_hook_list_is_what_the_design_names():
    assert HOOKS == [
        "load_schema",
        "register_adapters",
        "register_commands",
        "register_embedders",
        "register_miners",
        "register_sql_readers",
        "register_tasks",
        "register_validators",
        "resolve_model",
    ]


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_is_documented_under_its_signature(name):
    doc = (ROOT / "docs" / "writing-plugins.md").read_text()
    signature = str(inspect.signature(getattr(hookspecs, name))).replace("'", "")
    assert f"### `{name}{signature}`" in doc
    assert getattr(hookspecs, name).__doc__.strip()


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_has_a_test(name):
    tests = "".join(p.read_text() for p in ROOT.glob("*/tests/test_*.py"))
    assert re.search(rf"def test_hook_{name}\(", tests)


class Everything:
    """One plugin implementing every hook, as a third party would."""

    @staticmethod
    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="t1", summary="A task.", factory=lambda c: None))

    @staticmethod
    @hookimpl
    def register_validators(register):
        register(
            ValidatorSpec(
                name="v1", summary="Says yes.", factory=lambda c: Yes(), backends=("memory",)
            )
        )

    @staticmethod
    @hookimpl
    def register_miners(register):
        register(
            MinerSpec(name="m1", summary="A miner.", factory=lambda c: None, source_kinds=("path",))
        )

    @staticmethod
    @hookimpl
    def register_adapters(register):
        register(AdapterSpec(name="a1", summary="A backend.", factory=lambda c, m, a: (m, a)))

    @staticmethod
    @hookimpl
    def register_embedders(register):
        # "absent" stands for an embedder whose model is not installed: it is skipped
        register(EmbedderSpec(name="absent", summary="No model.", factory=lambda c: None))
        register(EmbedderSpec(name="letters", summary="Letter counts.",
                              factory=lambda c: Letters(c.config.get("letters", "ab"))))

    @staticmethod
    @hookimpl
    def register_commands(cli):
        @cli.command(name="hello")
        def hello():
            click.echo("hi")

        from ibert_core.cli import data_commands

        @data_commands(cli).command(name="greet")
        def greet():
            click.echo("hello from data")

    @staticmethod
    @hookimpl
    def resolve_model(model_id, adapter):
        return "a1" if model_id == "mine" else None

    @staticmethod
    @hookimpl
    def load_schema(kind, location):
        return Schema.from_dict({location: {"x": "int8"}}) if kind == "db" else None


class Letters:
    """A real (if crude) embedder: how often each of some letters occurs, L2-normalized."""

    def __init__(self, letters):
        self.letters = letters
        self.identity = f"letters:{letters}"

    def encode(self, texts):
        rows = [[t.count(ch) for ch in self.letters] for t in texts]
        return [[v / (sum(x * x for x in row) ** 0.5 or 1) for v in row] for row in rows]


class Yes:
    closed = False

    def validate(self, job):
        return Verdict([], required=())

    def validate_many(self, jobs):
        return [self.validate(j) for j in jobs]

    def close(self):
        Yes.closed = True


@pytest.fixture
def pm(plugin_manager):
    with register_plugin(plugin_manager, Everything, name="everything") as pm:
        yield pm


def test_hook_register_tasks(pm):
    spec = pm.registries.tasks.get("t1")
    assert (spec.plugin, spec.summary) == ("everything", "A task.")


def test_hook_register_validators(pm):
    context = make_context(pm)
    validator = context.validator("v1")
    assert validator is context.validator("v1")  # one shared instance per context
    assert validator.validate(ValidationJob("expr = 1")).passed
    context.close()
    assert Yes.closed


def test_hook_register_miners(pm):
    assert pm.registries.miners.get("m1").source_kinds == ("path",)


def test_hook_register_adapters(pm):
    assert make_context(pm).model_source("mine", "lora-1") == ("mine", "lora-1")


def test_hook_register_embedders(pm):
    assert pm.registries.embedders.names() == ["absent", "letters"]
    context = make_context(pm)
    embedder = context.embedder()  # the first one whose model is installed
    assert embedder is context.embedder()  # built once per context
    assert embedder.identity == "letters:ab"
    assert embedder.encode(["aab", "b"]) == [[2 / 5**0.5, 1 / 5**0.5], [0.0, 1.0]]
    chosen = make_context(pm, {"embedder": "letters", "letters": "xyz"}).embedder()
    assert chosen.identity == "letters:xyz"
    # a named embedder without its model is an error naming it, never another embedder
    with pytest.raises(ModelLoadError, match="embedder 'absent' found no model installed"):
        make_context(pm, {"embedder": "absent"}).embedder()
    with pytest.raises(UnknownNameError, match="did you mean 'letters'"):
        make_context(pm, {"embedder": "leters"}).embedder()


def test_plugins_lists_embedders(pm):
    from click.testing import CliRunner

    from ibert_core.cli import make_cli

    text = CliRunner().invoke(make_cli(lambda: pm), ["plugins"]).output
    assert "adapters: a1; embedders: absent, letters" in text
    rows = json.loads(CliRunner().invoke(make_cli(lambda: pm), ["plugins", "--json"]).output)
    assert rows[0]["embedders"] == ["absent", "letters"]


def test_no_embedder_installed_means_none(plugin_manager):
    assert make_context(plugin_manager).embedder() is None


def test_hook_register_commands(pm):
    from click.testing import CliRunner

    from ibert_core.cli import make_cli

    nested = CliRunner().invoke(make_cli(lambda: pm), ["data", "greet"])
    assert nested.output == "hello from data\n"
    result = CliRunner().invoke(make_cli(lambda: pm), ["hello"])
    assert result.output == "hi\n"


def test_hook_resolve_model(pm):
    assert pm.hook.resolve_model(model_id="mine", adapter=None) == "a1"
    assert pm.hook.resolve_model(model_id="other", adapter=None) is None


def test_hook_load_schema(pm, tmp_path):
    db = tmp_path / "x.duckdb"
    db.write_bytes(b"")
    schema, data = resolve_schema(None, str(db), None, pm)
    assert schema.names == (str(db),) and data.kind == "db"
    merged, _ = resolve_schema("extra(y string)", str(db), None, pm)
    assert merged.names == (str(db), "extra")
    (tmp_path / "s.json").write_text('{"t": {"a": "int64"}}')  # the core's built-in answers
    assert pm.hook.load_schema(kind="json", location=str(tmp_path / "s.json")).names == ("t",)
    with pytest.raises(BadInput, match="no installed plugin can read"):
        resolve_schema(None, None, str(tmp_path), pm)
