from __future__ import annotations

import pytest

from ibert_core.errors import BadInput, DuplicateNameError, UnknownNameError
from ibert_core.registry import Registry, TaskSpec, ValidatorSpec


def spec(name: str) -> TaskSpec:
    return TaskSpec(name=name, summary="s", factory=lambda context: None)


def test_registry_remembers_plugin_and_distribution():
    reg = Registry("task", TaskSpec)
    added = reg.add(spec("sql_to_ibis"), plugin="tasks_sql", distribution="ibert-tasks-sql")
    assert reg.get("sql_to_ibis") is added
    assert (added.plugin, added.distribution) == ("tasks_sql", "ibert-tasks-sql")
    assert reg.names() == ["sql_to_ibis"] and len(reg) == 1 and "sql_to_ibis" in reg


def test_duplicate_names_both_distributions():
    reg = Registry("task", TaskSpec)
    reg.add(spec("qa"), plugin="a", distribution="dist-a")
    with pytest.raises(DuplicateNameError) as info:
        reg.add(spec("qa"), plugin="b", distribution="dist-b")
    assert "dist-a" in str(info.value) and "dist-b" in str(info.value)


def test_unknown_name_suggests_closest():
    reg = Registry("task", TaskSpec)
    for name in ("sql_to_ibis", "ibis_to_sql", "qa"):
        reg.add(spec(name))
    with pytest.raises(UnknownNameError) as info:
        reg.get("sql_to_ibsi")
    assert info.value.suggestion == "sql_to_ibis"
    assert "did you mean 'sql_to_ibis'?" in str(info.value)
    with pytest.raises(UnknownNameError, match="choose one of: ibis_to_sql, qa, sql_to_ibis"):
        reg.get("zzzzzz")


def test_wrong_spec_type_and_bad_names_are_refused():
    reg = Registry("task", TaskSpec)
    with pytest.raises(BadInput, match="pass a TaskSpec"):
        reg.add(ValidatorSpec(name="duckdb", summary="s", factory=lambda c: None))  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="not usable"):
        reg.add(spec("has space"))
    reg.add(spec("ok-name_2"))
    reg.remove("ok-name_2")
    assert "ok-name_2" not in reg
