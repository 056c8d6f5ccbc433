"""Every distribution installed together: all plugins load, strictly, with no clashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

EXPECTED_PLUGINS = {"duckdb", "tasks_sql", "tasks_docs", "miner_github", "example"}


def ibert(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("IBERT_")}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ibert_core", *args],
        capture_output=True,
        text=True,
        env=full,
        check=False,
    )


def test_all_plugins_load_strictly():
    out = ibert("plugins", "--json", IBERT_STRICT_PLUGINS="1")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert not [r for r in rows if "error" in r]
    assert {r["name"] for r in rows} >= EXPECTED_PLUGINS


def test_example_plugin_runs_through_ibert_run():
    out = ibert("run", "sql_pretty", "select 1 as x", IBERT_STRICT_PLUGINS="1")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "SELECT\n  1 AS x\n"
