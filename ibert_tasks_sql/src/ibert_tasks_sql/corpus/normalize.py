"""Normal forms for deduplication and splitting.

Dedup compares ASTs, not text: SQL through sqlglot (layout, case of keywords and quoting
disappear), Python through `ast.dump` without positions. The *skeleton* of a query goes
further: identifiers and literals become placeholders and commutative operands are sorted,
so a query, its renamed and re-literalled augmentations and its reordered variants all share
one skeleton, and therefore one split.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp

from ibert_tasks_sql.corpus.ibis_code import normalized_dump

COMMUTATIVE = (exp.And, exp.Or, exp.EQ, exp.NEQ, exp.Add, exp.Mul)
SPLITS = (("train", 80), ("val", 10), ("test", 10))


def digest(*parts: str, size: int = 16) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:size]


#: normal forms are pure functions of their text, and one query's text recurs in every record
#: of its pair (dedup keys, skeleton, split): remember the recent ones instead of re-parsing
CACHE_SIZE = 4096


@functools.lru_cache(maxsize=256)
def parsed_sql(sql: str, dialect: str = "duckdb") -> exp.Expr:
    """sqlglot's tree of `sql`, shared: read it or print it (`.sql()` copies), never change it.

    One dialect SQL is parsed for its round trip to DuckDB, its dedup key and its skeleton;
    parsing is most of what the builder spends on SQL."""
    return sqlglot.parse_one(sql, read=dialect)


@functools.lru_cache(maxsize=CACHE_SIZE)
def normalized_sql(sql: str, dialect: str = "duckdb") -> str:
    """The SQL's AST printed canonically (None-safe: unparsable text is whitespace-folded)."""
    try:
        tree = parsed_sql(sql, dialect)
    except sqlglot.errors.ParseError:
        return " ".join(sql.split())
    return tree.sql(dialect=dialect, normalize=True, identify=False)


def _flatten(node: exp.Expr, kind: type[exp.Expr]) -> list[exp.Expr]:
    if isinstance(node, kind):
        return [*_flatten(node.this, kind), *_flatten(node.expression, kind)]
    return [node]


def _canonical(node: exp.Expr) -> str:
    """A string of the abstracted tree with commutative operands in sorted order."""
    if isinstance(node, COMMUTATIVE):
        parts = sorted(_canonical(p) for p in _flatten(node, type(node)))
        return f"{type(node).__name__}({','.join(parts)})"
    if isinstance(node, exp.Identifier):
        return "id"
    if isinstance(node, exp.Literal):
        return "str" if node.is_string else "num"
    args = []
    for key, value in sorted(node.args.items()):
        if isinstance(value, exp.Expression):
            args.append(f"{key}={_canonical(value)}")
        elif isinstance(value, list):
            items = [_canonical(v) if isinstance(v, exp.Expression) else repr(v) for v in value]
            args.append(f"{key}=[{','.join(items)}]")
        elif value not in (None, False):
            args.append(f"{key}={value!r}" if key not in ("this",) else "this=?")
    return f"{type(node).__name__}({','.join(args)})"


@functools.lru_cache(maxsize=CACHE_SIZE)
def skeleton(sql: str, dialect: str = "duckdb") -> str:
    """A hash naming the query's shape, blind to names, literals and commutative order."""
    try:
        tree = parsed_sql(sql, dialect)
    except sqlglot.errors.ParseError:
        return digest("unparsable", " ".join(sql.split()))
    return digest(_canonical(tree))


def split_of(skeleton_hash: str) -> str:
    """train/val/test from the skeleton alone, so every query of one shape lands together."""
    bucket = int(skeleton_hash[:8], 16) % 100
    for name, share in SPLITS:
        if bucket < share:
            return name
        bucket -= share
    return SPLITS[-1][0]


CODE_FIELDS = frozenset({"code", "prefix", "rest", "fixed", "broken", "function"})
SQL_FIELDS = frozenset({"sql"})


def field_form(key: str, value: Any, dialect: str | None) -> str:
    if isinstance(value, str) and key in CODE_FIELDS:
        return normalized_dump(value)
    if isinstance(value, str) and key in SQL_FIELDS:
        return normalized_sql(value, dialect or "duckdb")
    if isinstance(value, str):
        return " ".join(value.split())
    return repr(value)


def dedup_key(
    task: str, dialect: str | None, inp: Mapping[str, Any], target: Mapping[str, Any]
) -> str:
    """Equal for records whose input and target have the same ASTs."""
    parts = [task, dialect or ""]
    for prefix, fields in (("in", inp), ("out", target)):
        for key in sorted(fields):
            parts.append(f"{prefix}.{key}={field_form(key, fields[key], dialect)}")
    return digest(*parts, size=24)
