"""The realistic schemas queries are written against, read from the YAML files in `schemas/`.

A domain is more than a `Schema`: the generator needs to know which columns are keys, which
reference which (to join), which string values are plausible (to write filters that select
rows) and what names a person might have used instead (to augment by renaming).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs
import yaml

from ibert_core.errors import UnknownNameError
from ibert_core.types import Schema

NUMERIC = "numeric"
STRING = "string"
TEMPORAL = "temporal"
BOOLEAN = "boolean"


def kind_of(dtype: str) -> str:
    """The generator's coarse type of an ibis dtype string."""
    d = dtype.lstrip("!").strip().lower()
    if d.startswith(("int", "uint", "float", "decimal", "double")):
        return NUMERIC
    if d.startswith(("date", "timestamp")):
        return TEMPORAL
    if d.startswith("bool"):
        return BOOLEAN
    return STRING


@attrs.frozen
class ColumnInfo:
    table: str
    name: str
    dtype: str
    values: tuple[str, ...] = ()
    range: tuple[float, float] | None = None
    references: str | None = None  # "table.column"
    synonyms: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return kind_of(self.dtype)

    @property
    def base_dtype(self) -> str:
        return self.dtype.lstrip("!").strip()

    @property
    def is_integer(self) -> bool:
        return self.base_dtype.startswith(("int", "uint"))


@attrs.frozen
class TableInfo:
    name: str
    key: str | None
    columns: tuple[ColumnInfo, ...]
    synonyms: tuple[str, ...] = ()

    def column(self, name: str) -> ColumnInfo:
        for c in self.columns:
            if c.name == name:
                return c
        raise UnknownNameError(f"column of {self.name}", name, [c.name for c in self.columns])

    def of_kind(self, kind: str) -> list[ColumnInfo]:
        """Value columns of a kind: keys and references are identifiers, not quantities."""
        return [
            c for c in self.columns if c.kind == kind and c.name != self.key and not c.references
        ]


@attrs.frozen
class Join:
    """`left.left_col = right.right_col` where the left column references the right one."""

    left: str
    left_col: str
    right: str
    right_col: str


@attrs.frozen
class Domain:
    name: str
    tables: tuple[TableInfo, ...]

    def table(self, name: str) -> TableInfo:
        for t in self.tables:
            if t.name == name:
                return t
        raise UnknownNameError(f"table of domain {self.name}", name, [t.name for t in self.tables])

    @property
    def schema(self) -> Schema:
        return Schema.from_dict(self.schema_dict())

    def schema_dict(self) -> dict[str, dict[str, str]]:
        return {t.name: {c.name: c.dtype for c in t.columns} for t in self.tables}

    @property
    def joins(self) -> tuple[Join, ...]:
        out = []
        for t in self.tables:
            for c in t.columns:
                if c.references:
                    rt, rc = c.references.split(".")
                    out.append(Join(t.name, c.name, rt, rc))
        return tuple(out)

    def column(self, table: str, column: str) -> ColumnInfo:
        return self.table(table).column(column)

    def values_of(self, column: str) -> tuple[str, ...]:
        """Plausible string values of any column called `column` (for literals in templates)."""
        for t in self.tables:
            for c in t.columns:
                if c.name == column and c.values:
                    return c.values
        return ()


def _column(table: str, name: str, spec: Any) -> ColumnInfo:
    if isinstance(spec, str):
        spec = {"type": spec}
    rng = spec.get("range")
    return ColumnInfo(
        table=table,
        name=name,
        dtype=str(spec["type"]),
        values=tuple(str(v) for v in spec.get("values", ())),
        range=(float(rng[0]), float(rng[1])) if rng else None,
        references=spec.get("references"),
        synonyms=tuple(spec.get("synonyms", ())),
    )


def parse_domain(data: Mapping[str, Any]) -> Domain:
    tables = []
    for tname, tspec in data["tables"].items():
        cols = tuple(_column(tname, cname, cspec) for cname, cspec in tspec["columns"].items())
        tables.append(TableInfo(tname, tspec.get("key"), cols, tuple(tspec.get("synonyms", ()))))
    return Domain(str(data["name"]), tuple(tables))


@functools.cache
def domains() -> dict[str, Domain]:
    """Every bundled domain by name."""
    out = {}
    folder = resources.files("ibert_tasks_sql.corpus") / "schemas"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            domain = parse_domain(yaml.safe_load(entry.read_text(encoding="utf-8")))
            out[domain.name] = domain
    return out


def domain(name: str) -> Domain:
    found = domains()
    if name not in found:
        raise UnknownNameError("schema domain", name, found)
    return found[name]
