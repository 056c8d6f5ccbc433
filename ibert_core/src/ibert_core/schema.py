"""Reading a schema the way every task accepts it.

The core reads what needs no heavy library: the inline form
`events(user_id int64, amount float64); users(id int64, name string)` and `.json` /
`.yaml` files (`{table: {column: dtype}}`). CREATE TABLE files, DuckDB databases and
parquet folders are read by whichever plugin implements the `load_schema` hook.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from ibert_core.errors import BadInput
from ibert_core.types import Column, Schema, TableSchema

_TABLE = re.compile(r"\s*([A-Za-z_][\w.]*)\s*\((.*)\)\s*$", re.S)
_NAME = r'"[^"]+"|`[^`]+`|[A-Za-z_]\w*'
_COLUMN = re.compile(rf"\s*({_NAME})(?:\s*:\s*|\s+)(.+?)\s*$", re.S)


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside brackets, so `decimal(12, 2)` and `array<int64>` stay whole."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch in "(<[":
            depth += 1
        elif ch in ")>]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in (p.strip() for p in parts) if p]


def _dtype(raw: str) -> tuple[str, bool]:
    """An inline dtype: `string not null` or `!string` mean NOT NULL."""
    text = raw.strip()
    nullable = True
    if text.startswith("!"):
        text, nullable = text[1:].strip(), False
    lowered = text.lower()
    if lowered.endswith(" not null"):
        text, nullable = text[: -len(" not null")].strip(), False
    elif lowered.endswith(" null"):
        text = text[: -len(" null")].strip()
    return text, nullable


def parse_inline(text: str) -> Schema:
    """`events(user_id int64, amount float64); users(id int64, name string)`."""
    tables = []
    for chunk in _split_top(text, ";"):
        match = _TABLE.match(chunk)
        if not match:
            raise BadInput(
                f"cannot read table definition {chunk!r}",
                "write tables as name(column type, ...), separated by ';'",
            )
        name, body = match.groups()
        columns = []
        for col in _split_top(body, ","):
            cmatch = _COLUMN.match(col)
            if not cmatch or not cmatch.group(2).strip():
                raise BadInput(
                    f"cannot read column {col.strip()!r} of table {name}",
                    "write each column as 'name type', e.g. 'amount float64'",
                )
            dtype, nullable = _dtype(cmatch.group(2))
            columns.append(Column(cmatch.group(1).strip('"`'), dtype, nullable))
        if not columns:
            raise BadInput(f"table {name} has no columns", "list at least one 'name type'")
        tables.append(TableSchema(name, tuple(columns)))
    if not tables:
        raise BadInput("the schema is empty", "give at least one table, e.g. 't(a int64)'")
    _check_unique(tables)
    return Schema(tuple(tables))


def _check_unique(tables: list[TableSchema]) -> None:
    seen: set[str] = set()
    for t in tables:
        if t.name in seen:
            raise BadInput(f"table {t.name} is defined twice", "give each table once")
        seen.add(t.name)
        cols = [c.name for c in t.columns]
        dup = {c for c in cols if cols.count(c) > 1}
        if dup:
            raise BadInput(
                f"table {t.name} has column {sorted(dup)[0]!r} twice", "rename one of them"
            )


def from_mapping(data: Any, origin: str) -> Schema:
    """`{table: {column: dtype}}`, or `{"tables": {...}}` as the corpus context stores it."""
    if isinstance(data, Mapping) and set(data) == {"tables"}:
        data = data["tables"]
    if not isinstance(data, Mapping) or not all(isinstance(v, Mapping) for v in data.values()):
        raise BadInput(
            f"{origin} is not a schema",
            'write {"table": {"column": "dtype", ...}, ...}',
        )
    schema = Schema.from_dict(data)
    _check_unique(list(schema.tables))
    if not schema.tables:
        raise BadInput(f"{origin} holds no tables", "give at least one table")
    return schema


def _read_json(path: Path) -> Schema:
    try:
        return from_mapping(json.loads(path.read_text()), str(path))
    except json.JSONDecodeError as err:
        raise BadInput(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from None


def _read_yaml(path: Path) -> Schema:
    try:
        return from_mapping(yaml.safe_load(path.read_text()), str(path))
    except yaml.YAMLError as err:
        raise BadInput(f"{path} is not valid YAML ({err})".replace("\n", " ")) from None


#: Suffix → reader for the files the core reads itself.
CORE_READERS: Mapping[str, Callable[[Path], Schema]] = {
    ".json": _read_json,
    ".yaml": _read_yaml,
    ".yml": _read_yaml,
}

#: Suffix → `load_schema` kind for files a plugin must read.
PLUGIN_KINDS: Mapping[str, str] = {".sql": "sql", ".ddl": "sql"}

_PLUGIN_HINT = {
    "sql": "reading CREATE TABLE files needs ibert-validator-duckdb (pip install it)",
    "db": "reading a DuckDB database needs ibert-validator-duckdb (pip install it)",
    "parquet": "reading parquet files needs ibert-validator-duckdb (pip install it)",
}


def load(value: str, plugin_loader: Callable[[str, str], Schema | None] | None = None) -> Schema:
    """A schema from `--schema VALUE`: an existing file (by suffix) or the inline form."""
    path = Path(value)
    suffix = path.suffix.lower()
    looks_like_file = "(" not in value and (suffix in CORE_READERS or suffix in PLUGIN_KINDS)
    if looks_like_file and not path.exists():
        raise BadInput(f"schema file {value} does not exist", "check the path")
    if path.suffix and path.is_file():
        if suffix in CORE_READERS:
            return CORE_READERS[suffix](path)
        if suffix in PLUGIN_KINDS:
            return load_with_plugin(PLUGIN_KINDS[suffix], str(path), plugin_loader)
        raise BadInput(
            f"cannot read a schema from {path.name}",
            "use .json, .yaml, .sql (CREATE TABLE) or the inline form t(a int64)",
        )
    return parse_inline(value)


def load_with_plugin(
    kind: str, location: str, plugin_loader: Callable[[str, str], Schema | None] | None
) -> Schema:
    """Ask the `load_schema` hook; an install hint when no plugin can read this kind."""
    schema = plugin_loader(kind, location) if plugin_loader else None
    if schema is None:
        raise BadInput(f"no installed plugin can read {location}", _PLUGIN_HINT.get(kind))
    return schema
