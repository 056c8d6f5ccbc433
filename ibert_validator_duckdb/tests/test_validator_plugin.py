"""The plugin: registered validator spec, load_schema hook, `ibert validate`, conformance."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ibert_core.cli import main, make_cli
from ibert_core.plugins import get_plugin_manager
from ibert_core.testing import ValidatorConformance
from ibert_core.types import Schema, ValidationJob, Validator

SCHEMA_SQL = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR, age INTEGER NOT NULL);\n"
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, amount DOUBLE);\n"
)
SCHEMA = Schema.from_dict(
    {
        "users": {"id": "!int32", "name": "string", "age": "!int32"},
        "orders": {"id": "!int32", "user_id": "int32", "amount": "float64"},
    }
)


def test_spec_is_registered_with_summary():
    pm = get_plugin_manager()
    spec = pm.registries.validators.get("duckdb")
    assert spec.summary and spec.dsl == "ibis" and spec.backends == ("duckdb",)
    assert spec.distribution == "ibert-validator-duckdb"


def test_factory_builds_a_validator_from_config():
    from ibert_core.plugins import make_context

    context = make_context(config={"validators": {"duckdb": {"workers": 1, "timeout": 5}}})
    validator = context.validator("duckdb")
    try:
        assert isinstance(validator, Validator)
        assert validator.pool.size == 1 and validator.limits.timeout == 5.0
    finally:
        context.close()


def test_load_schema_hook_answers_sql(tmp_path):
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA_SQL)
    pm = get_plugin_manager()
    schema = pm.hook.load_schema(kind="sql", location=str(path))
    assert schema.to_dict() == SCHEMA.to_dict()


@pytest.fixture
def schema_file(tmp_path):
    path = tmp_path / "schema.sql"
    path.write_text(SCHEMA_SQL)
    return str(path)


def invoke(*args):
    return CliRunner().invoke(make_cli(), ["validate", *args])


def test_cli_equivalent_exit_0(schema_file):
    result = invoke(
        "--sql",
        "SELECT name FROM users WHERE age > 30",
        "--ibis",
        "expr = users.filter(users.age > 30).select('name')",
        "--schema",
        schema_file,
    )
    assert result.exit_code == 0, result.output
    assert "equivalent" in result.output


def test_cli_not_equivalent_exit_1_with_feedback(schema_file, tmp_path):
    code = tmp_path / "candidate.py"
    code.write_text("expr = users.filter(users.agee > 30).select('name')\n")
    result = invoke(
        "--sql",
        "SELECT name FROM users WHERE age > 30",
        "--ibis",
        str(code),
        "--schema",
        schema_file,
    )
    assert result.exit_code == 1
    assert "did you mean 'age'?" in result.output


def test_cli_json_prints_every_stage(schema_file):
    result = invoke(
        "--sql",
        "SELECT count(*) FROM orders",
        "--ibis",
        "expr = orders.count()",
        "--schema",
        schema_file,
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["name"] for s in data["stages"]] == [
        "parse",
        "build",
        "compile",
        "execute",
        "compare",
    ]
    assert data["passed"] is True and "SELECT" in data["artifacts"]["sql"]


def exit_code(*args):
    with pytest.raises(SystemExit) as stop:
        main(["validate", *args])
    return stop.value.code


def test_cli_bad_reference_exit_2(schema_file, capsys):
    code = exit_code(
        "--sql",
        "SELECT nme FROM users",
        "--ibis",
        "expr = users.select('name')",
        "--schema",
        schema_file,
    )
    assert code == 2
    assert "reference SQL cannot be used" in capsys.readouterr().err


def test_cli_without_schema_exit_2_when_the_code_reads_a_table(capsys):
    assert exit_code("--sql", "SELECT 1", "--ibis", "expr = users.count()") == 2
    err = capsys.readouterr().err
    assert "no schema given: name 'users' is not defined" in err and "--schema" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--sql", ""), "--sql is empty"),  # was: no comparison, "equivalent", exit 0
        (("--sql", "SELECT 1", "--dialect", "postgrez"), "unknown --dialect 'postgrez'"),
        (("--sql", "SELECT 1", "--seeds", "0"), "'--seeds'"),
        (("--sql", "SELECT 1", "--timeout", "0"), "'--timeout'"),
    ],
)
def test_cli_unusable_options_exit_2_before_any_check(args, says, capsys):
    assert exit_code(*args, "--ibis", "expr = ibis.literal(1)") == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_without_schema_checks_code_that_reads_no_table():
    """Literals and `ibis.memtable`s need no schema: the check runs on empty fixtures."""
    assert exit_code("--sql", "SELECT 1 AS a", "--ibis", "expr = ibis.literal(1).name('a')") == 0
    memtable = "m = ibis.memtable({'a': [1, 2, 3]})\nexpr = m.filter(m.a > 1)"
    assert exit_code("--sql", "SELECT * FROM (VALUES (2), (3)) v(a)", "--ibis", memtable) == 0
    assert exit_code("--sql", "SELECT 2 AS a", "--ibis", memtable) == 1


class TestDuckDBConformance(ValidatorConformance):
    validator_name = "duckdb"
    equal_jobs = (
        ValidationJob(
            code="expr = users.filter(users.age > 30).select('name')",
            schema=SCHEMA,
            reference_sql="SELECT name FROM users WHERE age > 30",
        ),
        ValidationJob(
            code="expr = orders.group_by('user_id').aggregate(t=_.amount.sum())",
            schema=SCHEMA,
            reference_sql="SELECT user_id, sum(amount) FROM orders GROUP BY 1",
        ),
    )
    different_jobs = (
        ValidationJob(
            code="expr = users.filter(users.age >= 30).select('name')",
            schema=SCHEMA,
            reference_sql="SELECT name FROM users WHERE age > 30",
        ),
        ValidationJob(
            code="expr = users.select('nam')", schema=SCHEMA, reference_sql="SELECT name FROM users"
        ),
    )
