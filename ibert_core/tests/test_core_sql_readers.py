"""The `register_sql_readers` hook: readers a plugin adds, and how one is picked.

A reader turns SQL in a dialect into the DuckDB SQL it means; the validator's CLI reads
its reference with one, so it needs no task's corrections imported. These readers are
plain functions (the core has no sqlglot), registered as a third party would.
"""

from __future__ import annotations

import json

import pytest

from ibert_core import hookimpl
from ibert_core.errors import BadInput, DuplicateNameError, UnknownNameError
from ibert_core.plugins import describe_plugins
from ibert_core.registry import SqlReaderSpec, TaskSpec
from ibert_core.testing import register_plugin
from ibert_core.types import Schema


def nvl(sql: str, dialect: str | None, schema: Schema | None) -> str:
    """Oracle's NVL is COALESCE; a reader that knows nothing else refuses CONNECT BY."""
    if "CONNECT BY" in sql.upper():
        raise BadInput("CONNECT BY has no DuckDB reading", "write a recursive CTE")
    return sql.replace("NVL(", "COALESCE(")


def tables(sql: str, dialect: str | None, schema: Schema | None) -> str:
    names = ", ".join(t.name for t in schema.tables) if schema else "none"
    return f"-- {dialect} on {names}\n{sql}"


class Readers:
    @staticmethod
    @hookimpl
    def register_sql_readers(register):
        register(SqlReaderSpec(name="nvl", summary="Oracle's NVL as COALESCE.", read=nvl))
        register(SqlReaderSpec(name="tables", summary="Names the tables.", read=tables))


class SameName:
    @staticmethod
    @hookimpl
    def register_sql_readers(register):
        register(SqlReaderSpec(name="nvl", summary="Another NVL.", read=nvl))


class WrongKind:
    @staticmethod
    @hookimpl
    def register_sql_readers(register):
        register(TaskSpec(name="nvl", summary="Not a reader.", factory=lambda c: None))


@pytest.fixture
def pm(plugin_manager):
    with register_plugin(plugin_manager, Readers(), name="readers"):
        yield plugin_manager


def test_hook_register_sql_readers(pm):
    readers = pm.registries.sql_readers
    assert readers.names() == ["nvl", "tables"]
    spec = readers.get("nvl")
    assert spec.plugin == "readers" and spec.summary
    assert spec.read("SELECT NVL(a, 0) FROM t", "oracle", None) == "SELECT COALESCE(a, 0) FROM t"
    with pytest.raises(BadInput, match="CONNECT BY has no DuckDB reading; write a recursive"):
        spec.read("SELECT a FROM t CONNECT BY PRIOR a = b", "oracle", None)
    schema = Schema.from_dict({"t": {"a": "int64"}})
    assert readers.get("tables").read("SELECT 1", "snowflake", schema) == (
        "-- snowflake on t\nSELECT 1"
    )


def test_the_first_reader_unless_one_is_named(pm):
    registries = pm.registries
    assert registries.sql_reader().name == "nvl"
    assert registries.sql_reader("tables").name == "tables"
    with pytest.raises(UnknownNameError, match="SQL reader 'tabels'; did you mean 'tables'"):
        registries.sql_reader("tabels")


def test_no_reader_installed_means_none(plugin_manager):
    assert plugin_manager.registries.sql_reader() is None
    with pytest.raises(UnknownNameError, match="no SQL readers are registered"):
        plugin_manager.registries.sql_reader("nvl")


def test_two_plugins_with_one_reader_name_are_an_error(pm):
    duplicate = pytest.raises(DuplicateNameError, match="SQL reader 'nvl' is registered by both")
    with register_plugin(pm, SameName(), name="same"), duplicate:
        pm.registries  # noqa: B018 - building the registries is the act under test


def test_a_spec_of_another_kind_skips_that_plugin(pm):
    with register_plugin(pm, WrongKind(), name="wrong"):
        assert pm.registries.sql_readers.names() == ["nvl", "tables"]
        (failure,) = pm.failures
        assert (failure.entry_point, failure.stage) == ("wrong", "register")
        assert "pass a SqlReaderSpec" in failure.error


def test_plugins_lists_sql_readers(pm):
    rows = json.loads(json.dumps(describe_plugins(pm)))
    assert rows == [
        {
            "name": "readers",
            "distribution": rows[0]["distribution"],
            "sql_readers": ["nvl", "tables"],
            "hooks": ["register_sql_readers"],
            "version": rows[0]["version"],
        }
    ]
