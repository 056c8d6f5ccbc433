"""`ibert` as a user types it, in process through the console entry point (`main`).

Each case is a mistake a user makes (a typo in a path, a folder where a file goes, a file
that cannot be read): one line on stderr, exit 2, nothing on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ibert_core import cli as cli_module
from ibert_core import hookimpl
from ibert_core.engine import candidate
from ibert_core.plugins import get_plugin_manager
from ibert_core.registry import TaskSpec
from ibert_core.testing import assert_usage_error
from ibert_core.types import Stage, Verdict


class Echo:
    """A task answering its input unchanged, verified: what INPUT became is what it prints."""

    name = "echo.tool"

    def candidates(self, request: Any, feedback: Any) -> list[Any]:
        return [] if feedback else [candidate(request.text, self.name)]

    def validate(self, request: Any, cand: Any) -> Verdict:
        return Verdict([Stage("compare", True, "")], required=("compare",))


class EchoPlugin:
    @hookimpl
    def register_tasks(self, register: Any) -> None:
        for name, kind in (("echo", "sql"), ("ask", "question")):
            register(
                TaskSpec(
                    name=name, summary=f"Echo {kind}.", factory=lambda c: Echo(), input_kind=kind
                )
            )


@pytest.fixture
def ibert(monkeypatch: pytest.MonkeyPatch, ibert_cli: Any) -> Any:
    """`ibert_cli` (ibert_core.testing) with the echo tasks as the only plugin."""

    def factory() -> Any:
        pm = get_plugin_manager(load_entrypoints=False)
        pm.register(EchoPlugin(), name="echo")
        return pm

    real = cli_module.make_cli
    monkeypatch.setattr(cli_module, "make_cli", lambda: real(factory))
    return ibert_cli


def test_a_file_is_read_and_text_is_taken_as_is(ibert: Any, tmp_path: Path) -> None:
    query = tmp_path / "q.sql"
    query.write_text("select 1\n")
    assert ibert("run", "echo", str(query)) == (0, "select 1\n\n", "")
    assert ibert("run", "echo", "select 2") == (0, "select 2\n", "")


def test_a_missing_file_is_named_not_translated_as_text(ibert: Any, tmp_path: Path) -> None:
    missing = tmp_path / "qurey.sql"
    assert_usage_error(ibert("run", "echo", str(missing)), f"INPUT file {missing} does not")


def test_a_question_that_looks_like_a_file_name_is_still_a_question(ibert: Any) -> None:
    assert ibert("run", "ask", "Table.sql") == (0, "Table.sql\n", "")


def test_a_folder_as_input_is_refused(ibert: Any, tmp_path: Path) -> None:
    assert_usage_error(ibert("run", "echo", str(tmp_path)), f"INPUT {tmp_path} is a folder")


def test_an_input_file_that_is_not_text_is_refused(ibert: Any, tmp_path: Path) -> None:
    blob = tmp_path / "blob.sql"
    blob.write_bytes(b"\xff\xfe\x00select")
    assert_usage_error(ibert("run", "echo", str(blob)), f"INPUT file {blob} is not UTF-8")


def test_a_one_line_text_too_long_for_a_path_is_text(ibert: Any) -> None:
    text = "select " + "x" * 600  # stat() would fail with 'File name too long'
    assert ibert("run", "echo", text) == (0, text + "\n", "")


@pytest.mark.parametrize(
    ("option", "make", "message"),
    [
        ("--schema", "dir", "--schema {} is a folder"),
        ("--db", "dir", "--db {} is a folder"),
        ("--parquet", "file", "--parquet {} is a file, not a folder"),
    ],
)
def test_the_wrong_kind_of_path_is_named(
    ibert: Any, tmp_path: Path, option: str, make: str, message: str
) -> None:
    path = tmp_path / "thing"
    path.mkdir() if make == "dir" else path.write_text("x")
    assert_usage_error(ibert("run", "echo", "select 1", option, str(path)), message.format(path))


def test_an_unreadable_corpus_is_a_usage_error_not_a_bug(ibert: Any, tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").mkdir()  # a folder where a corpus file should be
    assert_usage_error(
        ibert("data", "stats", str(tmp_path)),
        f"cannot use {tmp_path / 'train.jsonl'} (Is a directory)",
    )
    code, _, err = ibert("--debug", "data", "stats", str(tmp_path))
    assert code == 2 and "Traceback" in err and "IsADirectoryError" in err


def test_task_help_lists_the_shared_options_in_readme_order(ibert: Any) -> None:
    code, out, _ = ibert("run", "echo", "--help")
    assert code == 0
    order = [
        "--schema",
        "--db",
        "--parquet",
        "--dialect",
        "--json",
        "--model",
        "--adapter",
        "--debug",
    ]
    found = [out.index(f"  {name} ") for name in order]
    assert found == sorted(found), out


def test_json_stdout_is_only_json(ibert: Any) -> None:
    code, out, err = ibert("run", "echo", "select 1", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["answer"] == "select 1"


def test_click_usage_errors_are_one_line_pointing_at_help(ibert: Any) -> None:
    assert_usage_error(
        ibert("run", "echo", "select 1", "--nosuch"),
        "No such option '--nosuch'",
    )
    code, _, err = ibert("tasks", "--jsn")
    assert code == 2 and err.rstrip().endswith("see `ibert tasks --help`"), err


def test_a_bare_group_still_shows_its_help(ibert: Any) -> None:
    code, _, err = ibert("run")
    assert code == 2 and err.startswith("Usage: ibert run") and "echo" in err
