from __future__ import annotations

import json

import pytest

from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.schema import load, parse_inline
from ibert_core.types import Column, Schema


def test_inline_schema_with_nested_types_and_not_null():
    schema = parse_inline(
        "events(user_id int64 not null, amount decimal(12, 2), tags array<string>);"
        " users(id !int64, name string)"
    )
    assert schema.names == ("events", "users")
    events = schema.table("events")
    assert events.columns == (
        Column("user_id", "int64", False),
        Column("amount", "decimal(12, 2)"),
        Column("tags", "array<string>"),
    )
    assert schema.to_dict()["users"] == {"id": "!int64", "name": "string"}
    assert Schema.from_dict(schema.to_dict()) == schema


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("events user_id int64", "cannot read table definition"),
        ("events(user_id)", "cannot read column 'user_id'"),
        ("t(a int64); t(b int64)", "table t is defined twice"),
        ("t(a int64, a string)", "column 'a' twice"),
        ("", "schema is empty"),
    ],
)
def test_bad_inline_schemas_say_what_to_write(text, message):
    with pytest.raises(BadInput, match=message) as info:
        parse_inline(text)
    assert info.value.hint


def test_unknown_table_suggests_closest():
    schema = parse_inline("events(a int64); users(id int64)")
    with pytest.raises(UnknownNameError, match="did you mean 'events'"):
        schema.table("event")
    assert schema.table("EVENTS").name == "events"


def test_json_and_yaml_files(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"tables": {"t": {"a": "int64", "b": "!string"}}}))
    (tmp_path / "s.yaml").write_text("t:\n  a: int64\n  b: '!string'\n")
    assert load(str(tmp_path / "s.json")) == load(str(tmp_path / "s.yaml"))
    assert load(str(tmp_path / "s.json")).table("t").column("b").nullable is False


def test_bad_files_are_one_line_errors(tmp_path):
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(BadInput, match="not valid JSON"):
        load(str(tmp_path / "bad.json"))
    with pytest.raises(BadInput, match="does not exist"):
        load(str(tmp_path / "missing.yaml"))
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(BadInput, match="is not a schema"):
        load(str(tmp_path / "list.json"))


def test_sql_files_need_a_plugin(tmp_path):
    ddl = tmp_path / "s.sql"
    ddl.write_text("CREATE TABLE t (a INT)")
    with pytest.raises(BadInput, match="no installed plugin can read") as info:
        load(str(ddl), plugin_loader=lambda kind, location: None)
    assert "ibert-validator-duckdb" in str(info.value)
    seen = []
    schema = load(
        str(ddl), plugin_loader=lambda k, loc: seen.append(k) or parse_inline("t(a int32)")
    )
    assert seen == ["sql"] and schema.table("t").column("a").dtype == "int32"
