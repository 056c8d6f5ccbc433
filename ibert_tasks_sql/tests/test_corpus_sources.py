"""Templates, domain schemas, the generator and SQL augmentation, checked on real DuckDB data."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import duckdb
import pytest
import sqlglot

from ibert_tasks_sql.corpus.augment import augment, change_literals, rename, reorder
from ibert_tasks_sql.corpus.domains import Domain, domains
from ibert_tasks_sql.corpus.generator import RULES, generate
from ibert_tasks_sql.corpus.normalize import skeleton
from ibert_tasks_sql.corpus.sqlcheck import duckdb_type
from ibert_tasks_sql.corpus.templates import templates


def _value(col, i: int, rng: random.Random):
    if col.references:
        return i % 5 + 1
    kind = col.kind
    if kind == "numeric":
        low, high = col.range or (0, 100)
        v = rng.uniform(low, high)
        return int(v) if col.is_integer else round(v, 2)
    if kind == "string":
        return rng.choice(col.values) if col.values else f"s{i}"
    if kind == "boolean":
        return i % 2 == 0
    day = dt.date(2019, 1, 1) + dt.timedelta(days=37 * i)
    return dt.datetime.combine(day, dt.time(i % 24)) if "timestamp" in col.dtype else day


def populated(domain: Domain, rows: int = 12) -> duckdb.DuckDBPyConnection:
    """The domain's tables with `rows` plausible rows each; keys 1..n so joins match."""
    con = duckdb.connect(":memory:")
    rng = random.Random(domain.name)
    for table in domain.tables:
        cols = ", ".join(f'"{c.name}" {duckdb_type(c.dtype)}' for c in table.columns)
        con.execute(f'CREATE TABLE "{table.name}" ({cols})')
        for i in range(rows):
            values = [
                i + 1 if c.name == table.key else _value(c, i, rng) for c in table.columns
            ]
            marks = ", ".join("?" for _ in values)
            con.execute(f'INSERT INTO "{table.name}" VALUES ({marks})', values)
    return con


@pytest.fixture(scope="module")
def connections() -> dict[str, duckdb.DuckDBPyConnection]:
    return {name: populated(d) for name, d in domains().items()}


def test_five_realistic_domains_with_joins() -> None:
    found = domains()
    assert {"events", "ecommerce", "finance", "iot", "hr"} <= set(found)
    for d in found.values():
        assert len(d.tables) >= 3
        assert d.joins, f"{d.name} declares no references to join on"
        for j in d.joins:
            assert d.column(j.right, j.right_col)  # references point at real columns


def test_templates_cover_the_translator_patterns() -> None:
    ts = templates()
    assert len(ts) >= 25
    assert {t.domain for t in ts} == set(domains())
    features = Counter(f for t in ts for f in t.features)
    for needed in ("where", "group_by", "having", "inner_join", "left_join", "right_join",
                   "outer_join", "self_join", "semi_join", "correlated_subquery", "cte",
                   "cte_reuse", "union", "intersect_except", "window", "frame", "case",
                   "cast", "dates", "interval", "strings", "like", "nulls", "coalesce",
                   "count_distinct", "aggregate_filter", "quantile", "distinct", "offset"):
        assert features[needed], f"no template exercises {needed}"
    assert all(t.combinations() > 1 or not t.params for t in ts)


@pytest.mark.parametrize("template", templates(), ids=lambda t: t.name)
def test_every_template_instance_runs_on_duckdb(template, connections) -> None:
    con = connections[template.domain]
    sqls = {template.instantiate(random.Random(i)).sql for i in range(6)}
    for sql in sqls:
        con.execute(sql).fetchall()  # binds and executes on real rows
    if template.combinations() > 1:
        assert len(sqls) > 1, "parameters should vary the query"


def test_generator_is_type_aware_and_deterministic(connections) -> None:
    seen_rules: Counter[str] = Counter()
    returned_rows = 0
    for i in range(150):
        seed = generate(random.Random(i))
        assert seed == generate(random.Random(i))
        seen_rules[seed.origin] += 1
        assert seed.difficulty == RULES[seed.origin][0]
        rows = connections[seed.domain].execute(seed.sql).fetchall()
        returned_rows += bool(rows)
        sqlglot.parse_one(seed.sql, read="duckdb")
    assert set(seen_rules) == set(RULES)
    assert {RULES[r][0] for r in seen_rules} == {1, 2, 3}
    assert returned_rows > 75, "most generated queries should select rows of plausible data"


def test_generator_difficulty_filter() -> None:
    for level in (1, 2, 3):
        for i in range(10):
            assert generate(random.Random(i), difficulty=level).difficulty == level


def test_rename_is_consistent_and_keeps_the_skeleton(connections) -> None:
    renamed_any = 0
    for i in range(40):
        rng = random.Random(i)
        seed = templates()[i % len(templates())].instantiate(rng)
        new = rename(seed, rng)
        if new is None:
            continue
        renamed_any += 1
        assert skeleton(new.sql) == skeleton(seed.sql)
        assert new.schema != seed.schema
        con = duckdb.connect(":memory:")
        for table, cols in new.schema.items():
            body = ", ".join(f'"{c}" {duckdb_type(d)}' for c, d in cols.items())
            con.execute(f'CREATE TABLE "{table}" ({body})')
        con.execute(new.sql).fetchall()  # every name in the SQL exists in the renamed schema
    assert renamed_any > 20


def test_literal_change_and_reorder_keep_the_skeleton_and_run(connections) -> None:
    changed = Counter()
    for i in range(60):
        rng = random.Random(i)
        seed = generate(rng) if i % 2 else templates()[i % len(templates())].instantiate(rng)
        for augmentation in (change_literals, reorder):
            new = augmentation(seed, rng)
            if new is None:
                continue
            changed[augmentation.__name__] += 1
            assert new.sql != seed.sql
            assert skeleton(new.sql) == skeleton(seed.sql)
            connections[new.domain].execute(new.sql).fetchall()
    assert changed["change_literals"] > 20 and changed["reorder"] > 10


def test_augment_names_what_it_did() -> None:
    seed = templates()[0].instantiate(random.Random(3))
    out = augment(seed, random.Random(3))
    assert out and all(a.augmentations and a.source == seed.source for a in out)


def test_empty_tables_bind_each_schema_on_its_own() -> None:
    from ibert_tasks_sql.corpus.sqlcheck import EmptyTables

    empty = EmptyTables(keep=2)
    one = {"t": {"a": "!int64", "b": "string"}}
    two = {"t": {"c": "date"}, "u": {"a": "float64"}}
    assert empty.error("SELECT a, b FROM t", one) is None
    assert "c" in (empty.error("SELECT c FROM t", one) or "")
    assert empty.error("SELECT c FROM t JOIN u ON true", two) is None
    assert empty.error("SELECT a FROM u", one) is not None  # u is not a table of `one`
    assert empty.error("SELECT a + 1 FROM t WHERE b LIKE 'x%'", one) is None
    # a third schema evicts the oldest; asking for it again rebuilds it
    assert empty.error("SELECT x FROM v", {"v": {"x": "int32"}}) is None
    assert empty.error("SELECT c FROM t", two) is None
    assert empty.error("SELECT b FROM t", one) is None
