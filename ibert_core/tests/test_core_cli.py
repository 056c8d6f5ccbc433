"""The `ibert` CLI as a user runs it: a subprocess, with a real plugin installed."""

from __future__ import annotations

import json

import pytest

ADDER = """
    import click
    from ibert_core import hookimpl
    from ibert_core.engine import candidate
    from ibert_core.errors import BadInput
    from ibert_core.registry import TaskSpec
    from ibert_core.types import Stage, Verdict

    class Adder:
        name = "adder.tool"

        def candidates(self, request, feedback):
            if feedback:
                return []
            try:
                total = sum(int(x) for x in request.text.split("+"))
            except ValueError:
                raise BadInput(f"cannot add {request.text.strip()!r}", "give numbers like 1+2")
            bias = request.options.get("bias") or 0
            tables = ",".join(request.schema.names) if request.schema else ""
            return [candidate(str(total + bias), self.name, tables=tables)]

        def validate(self, request, cand):
            want = sum(int(x) for x in request.text.split("+"))
            ok = int(cand.text) == want
            return Verdict([Stage("compare", ok, "" if ok else f"expected {want}")],
                           required=("compare",))

    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="add", summary="Add integers.", factory=lambda c: Adder(),
                          options=(click.Option(["--bias"], type=int, default=0),)))
"""


@pytest.fixture
def cli(install, site, ibert):
    install(site, "adder-plugin", {"adder_mod": ADDER}, "[ibert]\nadder = adder_mod\n")
    return lambda *args, **kw: ibert(*args, env={"IBERT_LOAD_PLUGINS": "adder"}, **kw)


def test_verified_answer_exit_0(cli):
    out = cli("run", "add", "1+2+3")
    assert (out.returncode, out.stdout, out.stderr) == (0, "6\n", "")


def test_unverified_answer_exit_1_and_marked(cli):
    out = cli("run", "add", "1+2", "--bias", "1")
    assert out.returncode == 1
    assert out.stdout == "4\n"
    assert out.stderr == "ibert: NOT VERIFIED: compare failed: expected 3\n"


def test_json_carries_verdict_and_provenance(cli):
    out = cli("run", "add", "2+2", "--json", "--schema", "t(a int64); u(b string)")
    data = json.loads(out.stdout)
    assert data["answer"] == "4" and data["verified"] is True
    assert data["verdict"]["stages"][0] == {
        "name": "compare",
        "ok": True,
        "message": "",
        "duration": 0.0,
    }
    assert data["provenance"]["engine"] == "adder.tool"
    assert data["extra"]["tables"] == "t,u"
    assert "total" in data["timings"]


def test_input_from_file_and_stdin(cli, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("5+5\n")
    assert cli("run", "add", str(path)).stdout == "10\n"
    assert cli("run", "add", "-", stdin="7+1").stdout == "8\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "ad", "1+1"), "ibert: error: unknown task 'ad'; did you mean 'add'?"),
        (("run", "add", "x+y"), "ibert: error: cannot add 'x+y'; give numbers like 1+2"),
        (("run", "add", "1+1", "--schema", "t(a)"), "ibert: error: cannot read column 'a'"),
        (("run", "add", "1+1", "--db", "nope.duckdb"), "ibert: error: DuckDB file nope.duckdb"),
        (("run", "add", "  "), "ibert: error: INPUT is empty"),
        (("tsks",), "ibert: error: unknown command 'tsks'; did you mean 'tasks'?"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, args, message):
    out = cli(*args)
    assert out.returncode == 2, out
    assert out.stderr.startswith(message), out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(cli):
    out = cli("run", "add", "x+y", "--debug")
    assert out.returncode == 2
    assert "Traceback" in out.stderr and "BadInput" in out.stderr


def test_help_lists_tasks_and_their_options(cli):
    out = cli("run", "--help")
    assert "add" in out.stdout and "Add integers." in out.stdout
    task_help = cli("run", "add", "--help").stdout
    for option in (
        "--schema",
        "--db",
        "--parquet",
        "--dialect",
        "--json",
        "--model",
        "--adapter",
        "--debug",
        "--bias",
    ):
        assert option in task_help


def test_tasks_and_plugins_listings(cli):
    assert cli("tasks").stdout == "add  Add integers.  [adder-plugin]\n"
    rows = json.loads(cli("tasks", "--json").stdout)
    assert rows[0]["distribution"] == "adder-plugin"
    assert "adder  [adder-plugin 0.1]  tasks: add" in cli("plugins").stdout
    assert "ibert_core.builtins" in cli("plugins", "--all").stdout


def test_config_file_sets_task_options(cli, tmp_path):
    (tmp_path / "ibert.toml").write_text("[tasks.add]\nbias = 2\n")
    assert cli("run", "add", "1+1", cwd=tmp_path).stdout == "4\n"
    assert cli("run", "add", "1+1", "--bias", "0", cwd=tmp_path).stdout == "2\n"  # flag wins
