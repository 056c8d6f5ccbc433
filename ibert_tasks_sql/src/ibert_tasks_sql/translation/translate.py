"""The public entry: SQL text (+ schema, dialect) → Ibis code that assigns `expr`."""

from __future__ import annotations

import attrs

from ibert_core.errors import BadInput
from ibert_core.types import Schema
from ibert_tasks_sql.translation.parse import dialect_name, parse, qualify_tree
from ibert_tasks_sql.translation.readings import correct
from ibert_tasks_sql.translation.relations import Translator
from ibert_tasks_sql.translation.shorthands import expand, mark


@attrs.frozen
class Translation:
    """Ibis code for a query: reads the `tables` as free names, assigns `expr`."""

    code: str
    tables: tuple[str, ...]
    dialect: str


def translate(sql: str, schema: Schema | None, dialect: str | None = None) -> Translation:
    """Translate one SQL query into idiomatic Ibis code, or raise `UnsupportedConstruct`.

    The schema is required: qualifying every column against it is what lets the translator
    name columns without guessing.
    """
    if schema is None or not schema.tables:
        raise BadInput(
            "translating SQL needs the tables' schema",
            "pass --schema FILE (CREATE TABLE statements, YAML or JSON), --db or --parquet",
        )
    read = dialect_name(dialect)
    tree = parse(sql, read)
    mark(tree)
    tree = expand(qualify_tree(tree, schema, read, sql))
    tree, _ = correct(tree, read, schema)
    translator = Translator(schema, sql, read)
    code = translator.translate(tree)
    used = tuple(t.name for t in schema.tables if _mentions(code, t.name))
    return Translation(code=code, tables=used, dialect=read or "ansi")


def _mentions(code: str, name: str) -> bool:
    import re

    return re.search(rf"(?<![\w.]){re.escape(name)}\b", code) is not None
