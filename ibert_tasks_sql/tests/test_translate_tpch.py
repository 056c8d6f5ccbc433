"""The 22 TPC-H queries ibis ships: every one translates and builds; with `tpchgen-cli`
installed (the bench extra), every one returns the SQL's own result on real TPC-H data."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ibert_core.types import Schema
from ibert_tasks_sql.translation.translate import translate

TPCH_SCHEMA = {
    "customer": {
        "c_custkey": "int64", "c_name": "string", "c_address": "string",
        "c_nationkey": "int64", "c_phone": "string", "c_acctbal": "decimal(15, 2)",
        "c_mktsegment": "string", "c_comment": "string",
    },
    "lineitem": {
        "l_orderkey": "int64", "l_partkey": "int64", "l_suppkey": "int64",
        "l_linenumber": "int32", "l_quantity": "decimal(15, 2)",
        "l_extendedprice": "decimal(15, 2)", "l_discount": "decimal(15, 2)",
        "l_tax": "decimal(15, 2)", "l_returnflag": "string", "l_linestatus": "string",
        "l_shipdate": "date", "l_commitdate": "date", "l_receiptdate": "date",
        "l_shipinstruct": "string", "l_shipmode": "string", "l_comment": "string",
    },
    "nation": {
        "n_nationkey": "int64", "n_name": "string", "n_regionkey": "int64",
        "n_comment": "string",
    },
    "orders": {
        "o_orderkey": "int64", "o_custkey": "int64", "o_orderstatus": "string",
        "o_totalprice": "decimal(15, 2)", "o_orderdate": "date", "o_orderpriority": "string",
        "o_clerk": "string", "o_shippriority": "int32", "o_comment": "string",
    },
    "part": {
        "p_partkey": "int64", "p_name": "string", "p_mfgr": "string", "p_brand": "string",
        "p_type": "string", "p_size": "int32", "p_container": "string",
        "p_retailprice": "decimal(15, 2)", "p_comment": "string",
    },
    "partsupp": {
        "ps_partkey": "int64", "ps_suppkey": "int64", "ps_availqty": "int32",
        "ps_supplycost": "decimal(15, 2)", "ps_comment": "string",
    },
    "region": {"r_regionkey": "int64", "r_name": "string", "r_comment": "string"},
    "supplier": {
        "s_suppkey": "int64", "s_name": "string", "s_address": "string",
        "s_nationkey": "int64", "s_phone": "string", "s_acctbal": "decimal(15, 2)",
        "s_comment": "string",
    },
}


def _queries() -> dict[str, str]:
    import ibis

    folder = Path(ibis.__file__).parent / "backends/tests/tpc/queries/duckdb/h"
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.sql"))}


QUERIES = _queries()
pytestmark = pytest.mark.skipif(len(QUERIES) != 22, reason="ibis ships no TPC-H queries here")


@pytest.mark.parametrize("number", sorted(QUERIES))
def test_tpch_query_translates_and_builds(number):
    import ibis

    schema = Schema.from_dict(TPCH_SCHEMA)
    code = translate(QUERIES[number], schema).code
    namespace = {name: ibis.table(cols, name=name) for name, cols in TPCH_SCHEMA.items()}
    exec(compile(code, f"<q{number}>", "exec"), namespace)
    assert ibis.to_sql(namespace["expr"], dialect="duckdb")


@pytest.fixture(scope="module")
def tpch(tmp_path_factory):
    cli = shutil.which("tpchgen-cli") or shutil.which(
        "tpchgen-cli", path=str(Path(sys.executable).parent)
    )
    if cli is None:
        pytest.skip("tpchgen-cli is not installed (pip install 'ibert-tasks-sql[bench]')")
    out = tmp_path_factory.mktemp("tpch")
    subprocess.run([cli, "parquet", "-s", "0.01", "-o", str(out)], check=True,
                   capture_output=True, timeout=120)
    import ibis

    con = ibis.duckdb.connect()
    tables = {n: con.read_parquet(str(out / f"{n}.parquet"), table_name=n) for n in TPCH_SCHEMA}
    return con, tables


@pytest.mark.slow
def test_all_tpch_queries_return_the_sql_result(tpch):
    import ibis

    con, tables = tpch
    schema = Schema.from_dict(
        {n: {c: str(t) for c, t in table.schema().items()} for n, table in tables.items()}
    )
    mismatches = []
    for number, sql in QUERIES.items():
        namespace = dict(tables)
        exec(compile(translate(sql, schema).code, f"<q{number}>", "exec"), namespace)
        got = con.raw_sql(ibis.to_sql(namespace["expr"], dialect="duckdb")).fetchall()
        want = con.raw_sql(sql).fetchall()
        if _rounded(got) != _rounded(want):
            mismatches.append(number)
    assert not mismatches


def _rounded(rows):
    return sorted(
        (tuple(round(float(v), 4) if hasattr(v, "as_integer_ratio") else v for v in r)
         for r in rows),
        key=repr,
    )
