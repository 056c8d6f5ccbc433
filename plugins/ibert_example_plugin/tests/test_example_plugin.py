"""The template plugin, tested the way a third party would test theirs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ibert_core import engine
from ibert_core.plugins import make_context
from ibert_core.testing import TaskConformance, register_plugin
from ibert_core.types import Candidate, TaskRequest
from ibert_example_plugin import plugin

SQL = "select a, count(*) as n from t where b > 1 group by a order by n desc"


def test_registered_through_its_entry_point(plugin_manager):
    with register_plugin(plugin_manager, plugin, name="example"):
        spec = plugin_manager.registries.tasks.get("sql_pretty")
    assert spec.plugin == "example"
    assert spec.output_kind == "sql"


def test_pretty_sql_is_verified_and_laid_out(plugin_manager):
    with register_plugin(plugin_manager, plugin, name="example"):
        result = engine.run(make_context(plugin_manager), TaskRequest("sql_pretty", SQL))
    assert result.verified
    assert result.answer.splitlines()[0] == "SELECT"
    assert [s.name for s in result.verdict.stages] == ["parse", "compare"]


def test_a_changed_statement_is_rejected(plugin_manager):
    with register_plugin(plugin_manager, plugin, name="example"):
        handler = make_context(plugin_manager).handler("sql_pretty")
    verdict = handler.validate(TaskRequest("sql_pretty", SQL), Candidate(SQL.replace("> 1", "> 2")))
    assert not verdict.passed
    assert "different statement" in verdict.feedback


def test_runs_through_the_installed_cli():
    out = subprocess.run(
        [sys.executable, "-m", "ibert_core", "run", "sql_pretty", SQL, "--leading-comma"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "\n  , COUNT(*) AS n" in out.stdout
    listed = subprocess.run(
        [sys.executable, "-m", "ibert_core", "tasks"], capture_output=True, text=True, check=True
    )
    assert "sql_pretty" in listed.stdout


class TestSqlPrettyConformance(TaskConformance):
    task_name = "sql_pretty"
    good_requests = (
        TaskRequest("sql_pretty", SQL),
        TaskRequest("sql_pretty", "SELECT 1; SELECT 2"),
    )
    bad_candidate = "SELEC nonsense FROM"


@pytest.mark.parametrize("bad", ["SELECT (", "FROM WHERE"])
def test_unparseable_input_is_a_one_line_error(bad):
    out = subprocess.run(
        [sys.executable, "-m", "ibert_core", "run", "sql_pretty", bad],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2, out
    assert out.stderr.startswith("ibert: error: cannot parse the SQL")
    assert len(out.stderr.splitlines()) == 1
