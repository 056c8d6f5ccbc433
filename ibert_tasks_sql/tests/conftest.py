"""Shared fixtures of ibert-tasks-sql's tests: a small shop database on real DuckDB.

`shop` runs a translation for real: the generated code is executed with ibis against
DuckDB tables holding the rows below, and its result is compared with the SQL's own
result on the same tables. The rows have NULLs, duplicates, negative numbers, dates across
years and strings with `%` and quotes, so wrong translations show.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import pytest

from ibert_core.types import Schema

SHOP_SCHEMA = {
    "customers": {
        "customer_id": "!int64", "name": "string", "country": "string",
        "signup_date": "date", "score": "float64",
    },
    "orders": {
        "order_id": "!int64", "customer_id": "int64", "order_date": "date",
        "status": "string", "amount": "float64",
    },
    "items": {
        "order_id": "int64", "product_id": "int64", "quantity": "int32", "price": "float64",
    },
    "products": {"product_id": "!int64", "name": "string", "category": "string"},
}

_D = dt.date
SHOP_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "customers": [
        (1, "Ann", "FR", _D(2023, 1, 31), 4.5),
        (2, "Bob", "DE", _D(2023, 2, 28), None),
        (3, "Cé'line", "FR", _D(2024, 1, 1), 3.0),
        (4, "Dan", None, _D(2024, 2, 29), -1.5),
        (5, "100% Eve", "US", None, 2.25),
        (6, "Fay", "DE", _D(2022, 12, 31), 0.0),
    ],
    "orders": [
        (10, 1, _D(2023, 12, 31), "shipped", 120.5),
        (11, 1, _D(2024, 1, 15), "shipped", 80.0),
        (12, 2, _D(2024, 1, 20), "cancelled", 15.25),
        (13, 3, _D(2024, 2, 1), "shipped", 300.0),
        (14, 3, _D(2024, 2, 1), None, None),
        (15, 4, _D(2024, 3, 10), "returned", -20.0),
        (16, None, _D(2024, 3, 11), "shipped", 42.0),
        (17, 6, _D(2024, 12, 31), "shipped", 99.99),
    ],
    "items": [
        (10, 100, 2, 10.0), (10, 101, 1, 100.5), (11, 100, 8, 10.0), (12, 102, 1, 15.25),
        (13, 101, 3, 100.0), (13, 103, None, 5.0), (15, 100, -2, 10.0), (16, 104, 1, 42.0),
        (17, 102, 4, 24.9975), (10, 100, 2, 10.0),
    ],
    "products": [
        (100, "pen", "office"), (101, "desk", "furniture"), (102, "lamp_x", "furniture"),
        (103, "ink", None), (104, "chair", "furniture"), (105, "unsold", "office"),
    ],
}


@pytest.fixture(scope="session")
def shop_schema() -> Schema:
    return Schema.from_dict(SHOP_SCHEMA)


@attrs.define
class Shop:
    """The shop tables on DuckDB, through ibis and through plain SQL."""

    con: Any
    schema: Schema
    _tables: dict[str, Any] = attrs.field(factory=dict)

    def tables(self) -> dict[str, Any]:
        if not self._tables:
            self._tables.update({name: self.con.table(name) for name in SHOP_SCHEMA})
        return self._tables

    def run_code(self, code: str) -> list[tuple[Any, ...]]:
        import ibis

        namespace: dict[str, Any] = {**self.tables()}
        exec(compile(code, "<translation>", "exec"), namespace)
        sql = ibis.to_sql(namespace["expr"], dialect="duckdb")
        return normalize(self.con.raw_sql(sql).fetchall())

    def run_sql(self, sql: str, dialect: str = "duckdb") -> list[tuple[Any, ...]]:
        import sqlglot

        duck = sqlglot.transpile(sql, read=dialect, write="duckdb")[0]
        return normalize(self.con.raw_sql(duck).fetchall())

    def translate(self, sql: str, dialect: str = "duckdb") -> str:
        from ibert_tasks_sql.translation.translate import translate

        return translate(sql, self.schema, dialect).code

    @staticmethod
    def body(code: str) -> str:
        """The program without its import lines."""
        lines = code.strip().splitlines()
        kept = [ln for ln in lines if not ln.startswith(("import ", "from "))]
        return "\n".join(kept).strip()

    def check(self, sql: str, dialect: str = "duckdb", ordered: bool = False) -> str:
        """Translate `sql`, run both, assert equal results; the code for further checks."""
        code = self.translate(sql, dialect)
        got, want = self.run_code(code), self.run_sql(sql, dialect)
        if not ordered:
            got, want = sorted(got, key=repr), sorted(want, key=repr)
        assert got == want, f"results differ for\n{sql}\n--- code:\n{code}"
        return code


def normalize(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    def value(v: Any) -> Any:
        if isinstance(v, (float, decimal.Decimal)):
            return round(float(v), 6)
        if isinstance(v, dt.datetime) and v.time() == dt.time(0):
            return v.date()
        return v

    return [tuple(value(v) for v in row) for row in rows]


@pytest.fixture(scope="session")
def shop(shop_schema: Schema) -> Shop:
    import ibis

    con = ibis.duckdb.connect()
    for name, rows in SHOP_ROWS.items():
        con.create_table(name, schema=ibis.schema(SHOP_SCHEMA[name]))
        raw = con.con
        marks = ", ".join("?" for _ in SHOP_SCHEMA[name])
        raw.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    return Shop(con, shop_schema)


@pytest.fixture(scope="module")
def context(installed_plugin_manager: Any) -> Iterator[Any]:
    """A task context with every installed plugin (the DuckDB validator's pool included),
    closed after the module that used it."""
    from ibert_core.plugins import make_context

    ctx = make_context(installed_plugin_manager)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def ecommerce() -> Schema:
    """The bundled example schema that `make run` translates against."""
    from ibert_core.schema import load
    from ibert_tasks_sql.examples import example_path

    return load(str(example_path("ecommerce.yaml")), lambda kind, location: None)

