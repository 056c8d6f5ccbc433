"""`ibert data mine` given bad input, through the console entry point as a user runs it:
one line on stderr and exit 2 when nothing can be mined, before any work where possible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def test_an_unknown_package_is_named_with_the_closest_one(ibert_cli: Any, tmp_path: Path) -> None:
    code, out, err = ibert_cli("data", "mine", "--package", "ibis-framewrk", "--out", str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (
        "ibert: error: --package 'ibis-framewrk' is not an installed distribution; "
        "did you mean 'ibis-framework'?\n"
    )
    assert not (tmp_path / "mined.jsonl").exists()  # refused before mining


def test_when_every_source_fails_the_exit_is_2_and_json_stays_valid(
    ibert_cli: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-repo.git"
    code, out, err = ibert_cli(
        "data",
        "mine",
        "--repo",
        str(missing),
        "--out",
        str(tmp_path / "o"),
        "--json",
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert code == 2, err
    assert json.loads(out)["sources"][0]["error"].startswith("git clone failed")
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"ibert: error: no source could be mined: {missing}: git clone"), err


def test_a_failed_source_among_good_ones_still_exits_0(ibert_cli: Any, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "notes.md").write_text("nothing to mine here\n")
    code, out, err = ibert_cli(
        "data",
        "mine",
        "--repo",
        str(tmp_path / "nope.git"),
        "--path",
        str(tree),
        "--out",
        str(tmp_path / "o"),
        "--json",
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert code == 0, err
    assert [bool(s.get("error")) for s in json.loads(out)["sources"]] == [True, False]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--max-files", "0"),
        ("--batch", "0"),
        ("--max-file-bytes", "-1"),
        ("--clone-timeout", "0"),
        ("--parse-timeout", "-5"),
    ],
)
def test_limits_that_would_mine_nothing_are_refused(
    ibert_cli: Any, tmp_path: Path, option: str, value: str
) -> None:
    code, out, err = ibert_cli(
        "data", "mine", "--path", str(tmp_path), "--out", str(tmp_path / "o"), option, value
    )
    assert (code, out) == (2, "")
    assert f"Invalid value for '{option}'" in err


def test_help_says_what_each_limit_does(ibert_cli: Any) -> None:
    code, out, _ = ibert_cli("data", "mine", "--help")
    assert code == 0
    for option in ("--max-file-bytes", "--max-repo-bytes", "--clone-timeout", "--parse-timeout"):
        line = next(x for x in out.splitlines() if x.strip().startswith(option))
        assert not line.rstrip().endswith("RANGE"), line  # a help text follows the metavar
