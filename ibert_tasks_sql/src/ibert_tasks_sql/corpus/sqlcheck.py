"""A cheap first gate: does the SQL bind against the domain's tables (empty, in DuckDB)?

Binding catches generator mistakes (a type mismatch, an ambiguous column) in about a
millisecond, before the translator and the sandboxed validator spend time on the query.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping

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
    """The tables of each schema, created empty in a DuckDB schema of their own, all in one
    in-memory database: a connection per schema would cost ~50 ms and megabytes each, and
    renamed augmentations bring a new schema with nearly every unit. The most recent
    `keep` schemas stay; older ones are dropped."""

    def __init__(self, keep: int = 64) -> None:
        import duckdb

        self._duckdb = duckdb
        self._con = duckdb.connect(":memory:")
        self._names: OrderedDict[str, str] = OrderedDict()
        self._made = 0
        self.keep = keep

    def _use(self, schema: Mapping[str, Mapping[str, str]]) -> None:
        key = repr(sorted((t, sorted(c.items())) for t, c in schema.items()))
        name = self._names.get(key)
        if name is None:
            self._made += 1
            name = f"s{self._made}"
            self._con.execute(f"CREATE SCHEMA {name}")
            for table, cols in schema.items():
                body = ", ".join(f'"{c}" {duckdb_type(d)}' for c, d in cols.items())
                self._con.execute(f'CREATE TABLE {name}."{table}" ({body})')
            self._names[key] = name
            if len(self._names) > self.keep:
                _, old = self._names.popitem(last=False)
                self._con.execute(f"DROP SCHEMA {old} CASCADE")
        else:
            self._names.move_to_end(key)
        self._con.execute(f"SET search_path = '{name}'")

    def error(self, sql: str, schema: Mapping[str, Mapping[str, str]]) -> str | None:
        """None when `sql` binds and runs on the empty tables, else DuckDB's message."""
        self._use(schema)
        try:
            self._con.execute(f"EXPLAIN {sql}")
        except self._duckdb.Error as err:
            return str(err).splitlines()[0]
        return None
