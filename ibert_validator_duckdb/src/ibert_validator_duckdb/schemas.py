"""Schemas from CREATE TABLE scripts, DuckDB files and parquet directories.

Types become ibis dtype strings (the core `Schema` speaks ibis), NOT NULL becomes
`nullable=False`. Files are opened read-only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ibert_core.errors import BadInput
from ibert_core.types import Column, Schema, TableSchema


def ibis_dtype(type_text: str, dialect: str = "duckdb") -> str:
    """A SQL type in `dialect` as an ibis dtype string (`DECIMAL(10,2)` → `decimal(10, 2)`)."""
    import sqlglot
    from ibis.backends.sql.datatypes import DuckDBType

    try:
        duck = sqlglot.exp.DataType.build(type_text, dialect=dialect).sql(dialect="duckdb")
        dtype = DuckDBType.from_string(duck)
    except Exception as err:
        raise BadInput(
            f"cannot map SQL type {type_text!r} to an ibis type: {err}",
            "use a standard SQL type (INTEGER, VARCHAR, DECIMAL(p, s), DATE, TIMESTAMP ...)",
        ) from err
    return dtype_string(dtype)


def dtype_string(dtype: Any) -> str:
    """The ibis dtype string, nullable (NOT NULL lives in `Column.nullable`); DuckDB's
    microsecond TIMESTAMP is plain `timestamp`."""
    if dtype.is_timestamp() and dtype.scale == 6:
        dtype = dtype.copy(scale=None)
    return str(dtype.copy(nullable=True))


def schema_from_sql(text: str, dialect: str = "duckdb") -> Schema:
    """Tables of the CREATE TABLE statements in `text` (other statements are ignored)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        statements = sqlglot.parse(text, read=dialect)
    except ParseError as err:
        raise BadInput(
            f"the schema SQL does not parse: {err}", "pass CREATE TABLE statements"
        ) from err
    tables = []
    for stmt in statements:
        if not isinstance(stmt, exp.Create) or (stmt.kind or "").upper() != "TABLE":
            continue
        target = stmt.this
        if not isinstance(target, exp.Schema):
            continue  # CREATE TABLE ... AS SELECT: no declared columns
        name = target.this.name
        primary = _primary_keys(target)
        columns = []
        for col in target.expressions:
            if not isinstance(col, exp.ColumnDef):
                continue
            kind = col.args.get("kind")
            dtype = ibis_dtype(kind.sql(dialect=dialect), dialect) if kind else "string"
            constraints = [c.args.get("kind") for c in col.args.get("constraints") or []]
            not_null = any(
                isinstance(k, (exp.NotNullColumnConstraint, exp.PrimaryKeyColumnConstraint))
                and not (isinstance(k, exp.NotNullColumnConstraint) and k.args.get("allow_null"))
                for k in constraints
            )
            columns.append(Column(col.name, dtype, not (not_null or col.name in primary)))
        tables.append(TableSchema(name, tuple(columns)))
    if not tables:
        raise BadInput(
            "no CREATE TABLE statement with columns found in the schema SQL",
            "pass statements like CREATE TABLE t (id INTEGER NOT NULL, name TEXT)",
        )
    return Schema(tuple(tables))


def _primary_keys(target: Any) -> set[str]:
    from sqlglot import exp

    keys: set[str] = set()
    for item in target.expressions:
        if isinstance(item, exp.PrimaryKey):
            keys.update(e.name for e in item.expressions)
    return keys


def schema_from_connection(con: Any) -> Schema:
    """Tables and views of the connection's current schema, in name order."""
    from ibis.backends.sql.datatypes import DuckDBType

    rows = con.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_catalog = current_database() "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, list[Column]] = {}
    for table, column, data_type, nullable in rows:
        dtype = dtype_string(DuckDBType.from_string(data_type))
        tables.setdefault(table, []).append(Column(column, dtype, nullable == "YES"))
    return Schema(tuple(TableSchema(t, tuple(cols)) for t, cols in tables.items()))


def parquet_files(directory: str) -> list[Path]:
    path = Path(directory)
    if not path.is_dir():
        raise BadInput(
            f"parquet directory {directory!r} does not exist",
            "pass a directory holding *.parquet files",
        )
    files = sorted(path.glob("*.parquet"))
    if not files:
        raise BadInput(
            f"no *.parquet files in {directory!r}", "each file becomes a table named after its stem"
        )
    return files


def open_data(kind: str, location: str, config: dict[str, Any] | None = None) -> Any:
    """A DuckDB connection onto real data: a database file read-only, or parquet files loaded
    into memory (one table per file stem). The caller locks the configuration."""
    import duckdb

    connect = getattr(duckdb, "_ibert_real_connect", duckdb.connect)
    if kind == "db":
        if not Path(location).is_file():
            raise BadInput(f"DuckDB file {location!r} does not exist", "check the --db path")
        try:
            return connect(location, read_only=True, config=config or {})
        except duckdb.Error as err:
            raise BadInput(
                f"cannot open DuckDB file {location!r}: {err}", "pass a DuckDB database file"
            ) from err
    if kind == "parquet":
        con = connect(config=config or {})
        for file in parquet_files(location):
            name = file.stem.replace('"', '""')
            path = str(file).replace("'", "''")
            con.execute(f"CREATE TABLE \"{name}\" AS SELECT * FROM read_parquet('{path}')")
        return con
    raise BadInput(f"unknown data kind {kind!r}", "use 'db' or 'parquet'")


def load_schema(kind: str, location: str) -> Schema:
    """The `load_schema` hook's work: kinds "sql" (a file or the SQL text), "db", "parquet"."""
    if kind == "sql":
        path = Path(location)
        text = path.read_text() if len(location) < 4096 and path.is_file() else location
        return schema_from_sql(text)
    if kind == "db":
        con = open_data("db", location)
        try:
            return schema_from_connection(con)
        finally:
            con.close()
    if kind == "parquet":
        import duckdb

        con = duckdb.connect()
        try:
            for file in parquet_files(location):
                name = file.stem.replace('"', '""')
                quoted = str(file).replace("'", "''")
                con.execute(f"CREATE VIEW \"{name}\" AS SELECT * FROM read_parquet('{quoted}')")
            return schema_from_connection(con)
        finally:
            con.close()
    raise BadInput(f"unknown schema kind {kind!r}", "use 'sql', 'db' or 'parquet'")
