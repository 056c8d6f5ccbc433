"""`ibert data mine` end to end: in process through click, and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from ibert_miner_github.cli import mine_command


def test_mine_command_writes_corpus_and_summary(origin_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("IBERT_CACHE_DIR", str(tmp_path / "cache"))
    listing = tmp_path / "repos.txt"
    listing.write_text(f"# one repo, docs only\n{origin_repo['url']}|demo|docs,notebooks\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        mine_command, ["--repos", str(listing), "--out", str(out), "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["files_read"] == 2 and summary["sources"][0]["source"] == "demo"
    assert summary["kept_per_task"] == {"ibis_to_sql": 2, "sql_to_ibis": 2}
    assert (out / "mined.jsonl").read_text().count("\n") == 4


def test_no_source_is_a_usage_error(tmp_path):
    from ibert_core.errors import BadInput

    with pytest.raises(BadInput, match="nothing to mine"):
        CliRunner().invoke(mine_command, ["--out", str(tmp_path)], catch_exceptions=False)


def _core_routes_plugin_subcommands() -> bool:
    from ibert_core.cli import make_cli

    cli = make_cli()
    data = cli.get_command(click.Context(cli), "data")
    return data is not None and "mine" in getattr(data, "commands", {})


def test_cli_subprocess_end_to_end(origin_repo, tmp_path):
    if not _core_routes_plugin_subcommands():
        pytest.skip(
            "ibert-core adds plugin commands only when a top-level name is unknown, so "
            "`ibert data mine` is not routed yet (reported to the lead)"
        )
    out = tmp_path / "out"
    env = {**os.environ, "IBERT_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ibert_core",
            "data",
            "mine",
            "--repo",
            origin_repo["url"],
            "--out",
            str(out),
            "--max-file-bytes",
            "100000",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "files read     3" in done.stdout
    assert "sql_pair" in done.stdout and "doc_pair" in done.stdout
    assert "mining" in done.stderr  # the progress bar
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kept"] == (out / "mined.jsonl").read_text().count("\n") > 0


def test_summary_table_and_progress_bar(origin_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("IBERT_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(
        mine_command,
        ["--repo", origin_repo["url"], "--out", str(tmp_path / "out"), "--max-file-bytes", "800"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    out = result.stdout
    assert "files read     2" in out  # the notebook is over 800 bytes
    # the notebook, big.py and blob.py are over the limit (size is checked before content)
    assert "files skipped  symlink_outside_tree 2, too_large 3" in out
    assert "doc_pair" in out and "sql_pair" in out
    assert "kept per task  code_completion 1, documentation 1, ibis_to_sql 2, sql_to_ibis 2" in out
    assert "mining" in result.stderr
