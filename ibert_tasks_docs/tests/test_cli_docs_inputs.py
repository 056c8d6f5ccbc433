"""`ibert qa ...` and `ibert docstrings ...` given bad input, through the console entry
point as a user runs them: one line on stderr, exit 2, no traceback, nothing on stdout.
None of these opens the API index, so they are fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ibert_core.testing import assert_usage_error


@pytest.mark.parametrize("k", ["0", "-1"])
def test_search_refuses_a_hit_count_below_one(ibert_cli: Any, k: str) -> None:
    # -k -1 used to print every hit but the last (a slice), -k 0 nothing, both exit 0
    assert_usage_error(
        ibert_cli("qa", "search", "rank", "-k", k),
        contains="Invalid value for '-k'",
    )


def test_search_refuses_an_empty_question(ibert_cli: Any) -> None:
    assert_usage_error(ibert_cli("qa", "search", "  "), contains="QUESTION is empty")


@pytest.mark.parametrize("command", ["index", "search"])
def test_docs_must_be_a_folder(ibert_cli: Any, tmp_path: Path, command: str) -> None:
    page = tmp_path / "page.md"
    page.write_text("# a page, not a folder\n")
    question = ["rank"] if command == "search" else []
    assert_usage_error(
        ibert_cli("qa", command, *question, "--docs", str(page)),
        contains="is a file",
    )


def test_check_names_a_file_that_is_not_python(ibert_cli: Any, tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text('def f(x):\n    """F.\n\n    Parameters\n    ----------\n    x : int\n'
                    '        The x.\n    """\n    return x\n')
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    assert_usage_error(ibert_cli("docstrings", "check", str(good), str(broken)),
                       contains=f"{broken}:1: not valid Python")


@pytest.mark.parametrize("command", ["check", "write"])
def test_a_file_that_is_not_text_is_refused(ibert_cli: Any, tmp_path: Path, command: str) -> None:
    blob = tmp_path / "blob.py"
    blob.write_bytes(b"\xff\xfe\x00def")
    assert_usage_error(
        ibert_cli("docstrings", command, str(blob)),
        contains=f"{blob} is not UTF-8 text",
    )
    assert blob.read_bytes() == b"\xff\xfe\x00def"


def test_help_explains_every_option(ibert_cli: Any) -> None:
    for args in (("qa", "search"), ("docstrings", "check"), ("docstrings", "write")):
        code, out, _ = ibert_cli(*args, "--help")
        assert code == 0
        options = [line for line in out.splitlines() if line.startswith("  -")]
        bare = [line for line in options if len(line.split()) <= 2]  # name (+ metavar) only
        assert not bare, (args, bare)


def test_run_qa_refuses_showing_no_symbols(ibert_cli: Any) -> None:
    # --top 0 used to show 3 (0 read as "not given")
    assert_usage_error(ibert_cli("run", "qa", "rename a column", "--top", "0"), contains="'--top'")


def test_docstrings_write_leaves_a_documented_file_alone(ibert_cli: Any, tmp_path: Path) -> None:
    # it said "wrote" (and rewrote the file) when every function had a docstring
    path = tmp_path / "done.py"
    path.write_text('def f(x):\n    """Return x.\n\n    Parameters\n    ----------\n'
                    '    x : int\n        A value.\n    """\n    return x\n')
    before = path.stat().st_mtime_ns
    code, out, err = ibert_cli("docstrings", "write", str(path))
    assert code == 0 and out.startswith("nothing to write: ") and err == ""
    assert path.stat().st_mtime_ns == before
