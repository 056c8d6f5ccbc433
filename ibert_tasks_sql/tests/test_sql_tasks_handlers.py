"""sql_to_ibis and ibis_to_sql through the engine, judged by the real DuckDB validator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ibert_core import engine
from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.testing import TaskConformance
from ibert_core.types import Candidate, DataSource, Schema, TaskRequest
from ibert_tasks_sql.examples import example_path
from ibert_tasks_sql.translation.tasks import IBIS_DIALECTS

SCHEMA = Schema.from_dict(
    {
        "customers": {"customer_id": "!int64", "name": "string", "country": "string"},
        "orders": {"order_id": "!int64", "customer_id": "int64", "amount": "float64"},
    }
)
SQL = """
SELECT c.country, COUNT(*) AS n, SUM(o.amount) AS total
FROM customers c JOIN orders o ON o.customer_id = c.customer_id
GROUP BY c.country
ORDER BY total DESC
"""
IBIS = """
import ibis
from ibis import _

expr = orders.filter(_.amount > 10).group_by("customer_id").agg(total=_.amount.sum())
"""


class TestSqlToIbisConformance(TaskConformance):
    task_name = "sql_to_ibis"
    good_requests = (TaskRequest("sql_to_ibis", SQL, schema=SCHEMA),)
    bad_candidate = "expr = orders.filter(orders.amount > 10)"


class TestIbisToSqlConformance(TaskConformance):
    task_name = "ibis_to_sql"
    good_requests = (TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA, options={"to": "postgres"}),)
    bad_candidate = "SELECT 1"


def test_sql_to_ibis_answers_verified_code_with_provenance(context):
    result = engine.run(context, TaskRequest("sql_to_ibis", SQL, schema=SCHEMA))
    assert result.verified
    assert result.answer.startswith("import ibis")
    assert "expr = " in result.answer
    assert result.provenance.engine == "sql_to_ibis.transpiler"
    assert [s.name for s in result.verdict.stages] == [
        "parse", "build", "compile", "execute", "compare"
    ]


def test_sql_to_ibis_needs_a_schema(context):
    with pytest.raises(BadInput, match="--schema"):
        engine.run(context, TaskRequest("sql_to_ibis", SQL))


def test_wrong_candidate_fails_with_feedback(context):
    handler = context.handler("sql_to_ibis")
    request = TaskRequest("sql_to_ibis", SQL, schema=SCHEMA)
    wrong = "expr = customers.group_by('country').agg(n=customers.count())"
    verdict = handler.validate(request, Candidate(wrong))
    assert not verdict.passed and verdict.feedback


def test_standalone_script_runs_on_its_own(context, tmp_path):
    request = TaskRequest("sql_to_ibis", SQL, schema=SCHEMA, options={"standalone": True})
    result = engine.run(context, request)
    assert result.verified
    script = result.answer
    assert "con = ibis.duckdb.connect()" in script
    assert "customers = con.create_table(" in script
    assert "ibis.schema(" in script
    path = tmp_path / "q.py"
    path.write_text(script)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "country" in run.stdout


def test_standalone_script_reads_the_users_database(context, tmp_path):
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "CREATE TABLE customers (customer_id BIGINT NOT NULL, name VARCHAR, country VARCHAR)"
    )
    con.execute("CREATE TABLE orders (order_id BIGINT NOT NULL, customer_id BIGINT, amount DOUBLE)")
    con.execute("INSERT INTO customers VALUES (1, 'a', 'FR'), (2, 'b', 'DE')")
    con.execute("INSERT INTO orders VALUES (10, 1, 5.0), (11, 1, 7.5), (12, 2, 1.0)")
    con.close()
    request = TaskRequest(
        "sql_to_ibis", SQL, schema=SCHEMA, data=DataSource("db", str(db)),
        options={"standalone": True},
    )
    result = engine.run(context, request)
    assert result.verified, result.verdict.feedback
    path = tmp_path / "q.py"
    path.write_text(result.answer)
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "12.5" in run.stdout and "FR" in run.stdout


def test_ibis_to_sql_compiles_to_the_dialect_and_checks_it(context):
    result = engine.run(
        context, TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA, options={"to": "tsql"})
    )
    assert result.verified, result.verdict.feedback
    assert result.answer.lstrip().upper().startswith("SELECT")
    assert "[" in result.answer  # T-SQL quoting
    assert result.provenance.engine == "ibis_to_sql.compiler"


@pytest.mark.parametrize("target", sorted(IBIS_DIALECTS))
def test_ibis_to_sql_compiles_to_every_dialect_it_offers(context, target):
    """Each `--to` the task lists gives SQL (singlestoredb did not: `ibis.to_sql` finds only
    the compilers its package exports)."""
    request = TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA, options={"to": target})
    result = engine.run(context, request)
    assert result.answer.lstrip().upper().startswith(("SELECT", "WITH")), result.verdict.feedback


def test_ibis_to_sql_defaults_to_duckdb(context):
    result = engine.run(context, TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA))
    assert result.verified
    assert '"orders"' in result.answer


def test_ibis_to_sql_takes_dialect_as_the_target_without_to(context):
    """The input is Ibis: `--dialect bigquery` can only mean the SQL wanted (ignored before)."""
    request = TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA, dialect="bigquery")
    result = engine.run(context, request)
    assert result.verified and "`orders`" in result.answer  # BigQuery quoting
    both = TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA, dialect="bigquery",
                       options={"to": "tsql"})
    assert "[" in engine.run(context, both).answer  # --to wins


def test_ibis_to_sql_rejects_broken_code_and_unknown_dialects(context):
    with pytest.raises(BadInput, match="does not compile"):
        engine.run(context, TaskRequest("ibis_to_sql", "expr = orders.nope", schema=SCHEMA))
    with pytest.raises(UnknownNameError, match="postgres"):
        engine.run(
            context,
            TaskRequest("ibis_to_sql", IBIS, schema=SCHEMA, options={"to": "postgre"}),
        )


def test_ibis_to_sql_says_when_the_target_is_what_cannot_express_the_code(context):
    """Code that compiles to DuckDB is not "broken" because SQLite has no approx_median."""
    code = "expr = orders.select(m=orders.amount.approx_median())"
    request = TaskRequest("ibis_to_sql", code, schema=SCHEMA, options={"to": "sqlite"})
    with pytest.raises(BadInput, match="sqlite cannot express this Ibis code") as err:
        engine.run(context, request)
    assert "pick another --to" in str(err.value) and "fix the code" not in str(err.value)


def test_bundled_example_is_verified(context):
    from ibert_core.schema import load

    schema = load(str(example_path("ecommerce.yaml")), lambda kind, location: None)
    sql = example_path("ecommerce.sql").read_text()
    result = engine.run(context, TaskRequest("sql_to_ibis", sql, schema=schema))
    assert result.verified, result.verdict.feedback
    assert ".over(" in result.answer and "order_totals = " in result.answer


def test_example_path_names_the_files():
    assert example_path("ecommerce.sql").is_file()
    with pytest.raises(UnknownNameError, match="ecommerce"):
        example_path("ecommerse.sql")


@pytest.mark.slow
def test_cli_runs_the_bundled_example():
    ibert = Path(sys.executable).parent / "ibert"
    run = subprocess.run(
        [str(ibert), "run", "sql_to_ibis", str(example_path("ecommerce.sql")),
         "--schema", str(example_path("ecommerce.yaml"))],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "expr = " in run.stdout
