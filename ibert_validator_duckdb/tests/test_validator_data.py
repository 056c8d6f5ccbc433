"""Schemas from CREATE TABLE / DuckDB files / parquet folders, and checks on real data."""

from __future__ import annotations

import duckdb
import pytest

from ibert_core.errors import BadInput
from ibert_core.types import STAGES, DataSource, ValidationJob
from ibert_validator_duckdb.schemas import load_schema, schema_from_sql


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    db = root / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE users (id INTEGER NOT NULL, name VARCHAR, score DOUBLE)")
    con.execute("INSERT INTO users VALUES (1, 'ann', 2.5), (2, 'bob', NULL), (3, 'cy', 7)")
    con.execute("CREATE TABLE visits (user_id INTEGER, day DATE)")
    con.execute("INSERT INTO visits VALUES (1, '2024-01-31'), (1, '2024-02-01'), (3, NULL)")
    pq = root / "pq"
    pq.mkdir()
    con.execute(f"COPY users TO '{pq / 'users.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY visits TO '{pq / 'visits.parquet'}' (FORMAT parquet)")
    con.close()
    return root


def test_schema_from_create_table_statements():
    schema = schema_from_sql(
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, price NUMERIC(10, 2),"
        " seen TIMESTAMP, tags TEXT[]);\nCREATE TABLE u (a BIGINT, b BOOLEAN, PRIMARY KEY (a));"
        "\nINSERT INTO t VALUES (1, 'x', 1, NULL, NULL);"
    )
    t, u = schema.table("t"), schema.table("u")
    assert [(c.name, c.dtype, c.nullable) for c in t.columns] == [
        ("id", "int32", False),
        ("name", "string", False),
        ("price", "decimal(10, 2)", True),
        ("seen", "timestamp", True),
        ("tags", "array<string>", True),
    ]
    assert u.column("a").nullable is False and u.column("b").dtype == "boolean"


def test_schema_from_other_dialect():
    schema = schema_from_sql("CREATE TABLE t (id INT64, s STRING)", dialect="bigquery")
    assert schema.to_dict() == {"t": {"id": "int64", "s": "string"}}


def test_bad_schema_sql_names_the_fix():
    with pytest.raises(BadInput, match="CREATE TABLE"):
        schema_from_sql("SELECT 1")


def test_load_schema_db_and_parquet(data_dir):
    from_db = load_schema("db", str(data_dir / "shop.duckdb"))
    assert from_db.to_dict() == {
        "users": {"id": "!int32", "name": "string", "score": "float64"},
        "visits": {"user_id": "int32", "day": "date"},
    }
    from_pq = load_schema("parquet", str(data_dir / "pq"))
    assert set(from_pq.names) == {"users", "visits"}
    assert from_pq.table("users").column("score").dtype == "float64"


def test_load_schema_sql_file(tmp_path):
    path = tmp_path / "s.sql"
    path.write_text("CREATE TABLE a (x INTEGER);")
    assert load_schema("sql", str(path)).to_dict() == {"a": {"x": "int32"}}


def test_missing_data_names_the_path():
    with pytest.raises(BadInput, match="does not exist"):
        load_schema("db", "/nonexistent/x.duckdb")
    with pytest.raises(BadInput, match="does not exist"):
        load_schema("parquet", "/nonexistent")


@pytest.mark.parametrize("kind", ["db", "parquet"])
def test_validation_on_real_data(validator, data_dir, kind):
    location = data_dir / ("shop.duckdb" if kind == "db" else "pq")
    data = DataSource(kind, str(location))
    good = ValidationJob(
        code="j = users.join(visits, users.id == visits.user_id)\n"
        "expr = j.group_by('name').aggregate(n=_.count())",
        reference_sql="SELECT name, count(*) FROM users u JOIN visits v ON u.id = v.user_id "
        "GROUP BY name",
        data=data,
    )
    bad = ValidationJob(
        code="expr = users.filter(users.score > 3).select('name')",
        reference_sql="SELECT name FROM users WHERE score >= 2",
        data=data,
    )
    ok, not_ok = validator.validate_many([good, bad])
    assert ok.passed, ok.feedback
    assert "the given data" in ok.stage("compare").message
    assert not not_ok.passed and not_ok.failed.name == "compare"


def test_real_data_is_read_only(validator, data_dir):
    data = DataSource("db", str(data_dir / "shop.duckdb"))
    job = ValidationJob(
        code="expr = users.count()",
        data=data,
        reference_sql="SELECT count(*) FROM users",
        stages=STAGES,
    )
    assert validator.validate(job).passed
    con = duckdb.connect(str(data_dir / "shop.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM users").fetchone() == (3,)
    con.close()
