"""A cheap first gate: does the SQL bind against the domain's tables (empty, in DuckDB)?

Binding catches generator mistakes (a type mismatch, an ambiguous column) in about a
millisecond, before the translator and the sandboxed validator spend time on the query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

DUCKDB_TYPES = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


def duckdb_type(dtype: str) -> str:
    d = dtype.lstrip("!").strip().lower()
    m = re.fullmatch(r"decimal\((\d+),\s*(\d+)\)", d)
    if m:
        return f"DECIMAL({m.group(1)}, {m.group(2)})"
    return DUCKDB_TYPES[d]


class EmptyTables:
    """One in-memory DuckDB connection per schema, its tables created empty."""

    def __init__(self) -> None:
        import duckdb

        self._duckdb = duckdb
        self._cons: dict[str, Any] = {}

    def _con(self, schema: Mapping[str, Mapping[str, str]]) -> Any:
        key = repr(sorted((t, sorted(c.items())) for t, c in schema.items()))
        if key not in self._cons:
            con = self._duckdb.connect(":memory:")
            for table, cols in schema.items():
                body = ", ".join(f'"{c}" {duckdb_type(d)}' for c, d in cols.items())
                con.execute(f'CREATE TABLE "{table}" ({body})')
            self._cons[key] = con
        return self._cons[key]

    def error(self, sql: str, schema: Mapping[str, Mapping[str, str]]) -> str | None:
        """None when `sql` binds and runs on the empty tables, else DuckDB's message."""
        try:
            self._con(schema).execute(f"EXPLAIN {sql}")
        except self._duckdb.Error as err:
            return str(err).splitlines()[0]
        return None
