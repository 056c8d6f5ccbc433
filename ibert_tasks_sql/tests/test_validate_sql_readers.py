"""`ibert validate --dialect X` reads its reference as the SQL→Ibis translator does.

sqlglot's transpilation misreads some dialects' functions; ibert-tasks-sql registers its
corrections as an SQL reader (`register_sql_readers`) and the validator's CLI reads the
reference with it, without importing this package. Each query below was judged wrongly
before (a correct candidate "not equivalent", or a reference that does not run on DuckDB).
Real CLI, real plugins from their entry points, real DuckDB fixtures.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ibert_core.testing import assert_usage_error
from ibert_core.types import Schema

USERS = "users(id int64, name string, d date, t timestamp)"

#: (dialect, reference SQL, an Ibis candidate that means the same in that dialect)
MISREAD = {
    "redshift REGEXP_REPLACE replaces every match": (
        "redshift",
        "SELECT id, REGEXP_REPLACE(name, '[a-z]', 'x') AS n FROM users",
        "expr = users.select('id', n=users.name.re_replace('[a-z]', 'x'))",
    ),
    "snowflake TO_CHAR formats a date": (
        "snowflake",
        "SELECT id, TO_CHAR(d, 'YYYY-MM') AS m FROM users",
        "expr = users.select('id', m=users.d.strftime('%Y-%m'))",
    ),
    "tsql CONVERT cuts the styled text": (
        "tsql",
        "SELECT id, CONVERT(VARCHAR(7), d, 120) AS m FROM users",
        "expr = users.select('id', m=users.d.strftime('%Y-%m'))",
    ),
    "redshift TRUNC of a timestamp is its date": (
        "redshift",
        "SELECT id, TRUNC(t) AS day FROM users",
        "expr = users.select('id', day=users.t.date())",
    ),
}


def validate(ibert_cli: Any, dialect: str, sql: str, code: str) -> tuple[int, str, str]:
    return ibert_cli(
        "validate", "--json", "--seeds", "2", "--dialect", dialect, "--schema", USERS,
        "--sql", sql, "--ibis", code,
    )


@pytest.mark.parametrize("case", list(MISREAD))
def test_a_correct_candidate_is_equivalent_to_the_dialects_meaning(
    ibert_cli: Any, case: str
) -> None:
    dialect, sql, code = MISREAD[case]
    code_, out, err = validate(ibert_cli, dialect, sql, code)
    verdict = json.loads(out)
    assert (code_, verdict["passed"]) == (0, True), (verdict["stages"][-1], err)
    assert verdict["reference_reader"] == "sql_readings"


def test_the_misreading_itself_is_not_equivalent(ibert_cli: Any) -> None:
    """A candidate that replaces only the first match, as sqlglot reads Redshift's
    REGEXP_REPLACE, differs from the reference: the reader corrects, it does not wave
    everything through."""
    dialect, sql, _ = MISREAD["redshift REGEXP_REPLACE replaces every match"]
    first_only = r"expr = users.select('id', n=users.name.re_replace('^([^a-z]*)[a-z]', r'\1x'))"
    code, out, _ = validate(ibert_cli, dialect, sql, first_only)
    verdict = json.loads(out)
    assert (code, verdict["passed"]) == (1, False)
    assert "results differ" in verdict["stages"][-1]["message"]


def test_the_translators_own_code_passes(ibert_cli: Any) -> None:
    """What `sql_to_ibis` writes for a misread query is judged equivalent by the CLI."""
    from ibert_core.schema import parse_inline
    from ibert_tasks_sql.translation.translate import translate

    dialect, sql, _ = MISREAD["snowflake TO_CHAR formats a date"]
    schema: Schema = parse_inline(USERS)
    code = translate(sql, schema, dialect).code
    exit_code, out, _ = validate(ibert_cli, dialect, sql, code)
    assert exit_code == 0, json.loads(out)["stages"][-1]


def test_duckdb_sql_is_not_read_again(ibert_cli: Any) -> None:
    code, out, _ = validate(
        ibert_cli, "duckdb", "SELECT id FROM users", "expr = users.select('id')"
    )
    assert code == 0 and json.loads(out)["reference_reader"] is None


def test_sql_the_reader_refuses_is_a_usage_error(ibert_cli: Any) -> None:
    result = validate(ibert_cli, "redshift", "SELECT id, FROM users WHERE", "expr = users")
    assert_usage_error(
        result,
        "SQL reader 'sql_readings' from ibert-tasks-sql cannot read --sql as redshift: "
        "sqlglot cannot parse it",
        contains="fix --sql",
    )


def test_sql_whose_meaning_the_reader_is_not_sure_of_is_refused(ibert_cli: Any) -> None:
    """T-SQL style 101 is mm/dd/yyyy; VARCHAR(7) cuts it mid-year, which the translator
    refuses. The reference must not fall back to sqlglot's reading (the whole date), which
    would call the uncut candidate equivalent."""
    sql = "SELECT id, CONVERT(VARCHAR(7), d, 101) AS m FROM users"
    uncut = "expr = users.select('id', m=users.d.strftime('%m/%d/%Y'))"
    assert_usage_error(
        validate(ibert_cli, "tsql", sql, uncut),
        "SQL reader 'sql_readings' from ibert-tasks-sql cannot read --sql as tsql",
        contains="CONVERT(VARCHAR(7), ..., 101)",
    )


def test_an_unknown_configured_reader_suggests_the_installed_one(
    ibert_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IBERT_SQL_READER", "sql_reading")
    dialect, sql, code = MISREAD["redshift TRUNC of a timestamp is its date"]
    assert_usage_error(
        validate(ibert_cli, dialect, sql, code),
        "unknown SQL reader 'sql_reading'",
        contains="did you mean 'sql_readings'?",
    )


def test_ibert_plugins_lists_the_reader(ibert_cli: Any) -> None:
    code, out, _ = ibert_cli("plugins")
    assert code == 0 and "sql_readers: sql_readings" in out


GROUP_BY_ALIAS = "SELECT IFNULL(name, 'unknown') AS name, COUNT(*) AS n FROM users GROUP BY name"
BY_ALIAS = "expr = users.group_by(name=users.name.fill_null('unknown')).agg(n=_.count())"
BY_COLUMN = (
    "expr = users.group_by('name').agg(n=_.count())"
    ".select(name=_.name.fill_null('unknown'), n=_.n)"
)


@pytest.mark.parametrize(
    ("dialect", "right", "wrong"),
    [("bigquery", BY_ALIAS, BY_COLUMN), ("postgres", BY_COLUMN, BY_ALIAS)],
)
def test_a_group_by_name_that_is_column_and_alias_follows_the_dialect(
    ibert_cli: Any, dialect: str, right: str, wrong: str
) -> None:
    """BigQuery groups by the alias (NULL and 'unknown' names fall together), Postgres by
    the column, as DuckDB does; sqlglot's plain transpilation gave DuckDB's rule to both."""
    sql = GROUP_BY_ALIAS.replace("IFNULL", "COALESCE") if dialect == "postgres" else GROUP_BY_ALIAS
    code, out, _ = validate(ibert_cli, dialect, sql, right)
    assert code == 0, json.loads(out)["stages"][-1]
    code, out, _ = validate(ibert_cli, dialect, sql, wrong)
    assert code == 1, json.loads(out)["stages"][-1]
