"""Fixture data: deterministic, small, full of the edge cases queries get wrong, with join
keys that match across tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ibert_core.types import Schema
from ibert_validator_duckdb.fixtures import (
    LAYOUTS,
    MAX_ROWS,
    MIN_ROWS,
    Targets,
    create_tables,
    insert_statements,
    key_domain,
    literal_rows,
    make_fixture,
)

WIDE = Schema.from_dict(
    {
        "customers": {
            "customer_id": "!int64",
            "name": "string",
            "signup": "date",
            "vip": "boolean",
            "balance": "decimal(12, 2)",
        },
        "orders": {
            "order_id": "!int64",
            "customer_id": "int64",
            "total": "float64",
            "placed": "timestamp",
            "note": "string",
        },
        "payments": {
            "id": "!int32",
            "order_id": "int64",
            "paid": "timestamp('UTC')",
            "tags": "array<string>",
            "meta": "struct<a: int64, b: string>",
            "t": "time",
            "raw": "binary",
            "attrs": "map<string, int64>",
        },
    }
)


@pytest.fixture(scope="module")
def cons():
    out = []
    for seed in (0, 1, 2):
        con = duckdb.connect()
        create_tables(con, WIDE, make_fixture(WIDE, seed))
        out.append(con)
    yield out
    for con in out:
        con.close()


def test_deterministic_per_seed_and_different_across_seeds():
    assert make_fixture(WIDE, 1) == make_fixture(WIDE, 1)
    assert make_fixture(WIDE, 1).tables != make_fixture(WIDE, 2).tables


def test_small_tables(cons):
    for con in cons:
        for table in WIDE.names:
            (n,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert MIN_ROWS <= n <= MAX_ROWS + 2


def test_nulls_in_every_nullable_column_and_none_in_not_null(cons):
    for con in cons:
        for table in WIDE.tables:
            for col in table.columns:
                (nulls,) = con.execute(
                    f'SELECT count(*) FROM {table.name} WHERE "{col.name}" IS NULL'
                ).fetchone()
                key = col.name in ("customer_id", "order_id", "id") and not col.nullable
                if col.nullable and not key:
                    assert nulls > 0, (table.name, col.name)
                if not col.nullable:
                    assert nulls == 0, (table.name, col.name)


def test_primary_keys_unique(cons):
    for con in cons:
        for table, key in (
            ("customers", "customer_id"),
            ("orders", "order_id"),
            ("payments", "id"),
        ):
            n, distinct = con.execute(
                f"SELECT count(*), count(DISTINCT {key}) FROM {table}"
            ).fetchone()
            assert n == distinct


def test_joins_semi_and_anti_joins_return_rows(cons):
    for con in cons:
        (joined,) = con.execute(
            "SELECT count(*) FROM orders o JOIN customers c USING (customer_id)"
        ).fetchone()
        (semi,) = con.execute(
            "SELECT count(*) FROM customers c WHERE EXISTS "
            "(SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id)"
        ).fetchone()
        (anti,) = con.execute(
            "SELECT count(*) FROM orders o WHERE NOT EXISTS "
            "(SELECT 1 FROM customers c WHERE o.customer_id = c.customer_id)"
        ).fetchone()
        (chain,) = con.execute(
            "SELECT count(*) FROM payments p JOIN orders o USING (order_id) "
            "JOIN customers c USING (customer_id)"
        ).fetchone()
        assert joined > 0 and semi > 0 and anti > 0 and chain > 0


def test_duplicates_and_ties(cons):
    for con in cons:
        (dupes,) = con.execute(
            "SELECT count(*) FROM (SELECT name, signup, vip, balance, count(*) AS n "
            "FROM customers GROUP BY ALL HAVING n > 1)"
        ).fetchone()
        (ties,) = con.execute(
            "SELECT count(*) FROM (SELECT total FROM orders GROUP BY total HAVING count(*) > 1)"
        ).fetchone()
        assert dupes > 0 and ties > 0


def test_edge_values_present_across_seeds(cons):
    strings, numbers, dates = set(), set(), set()
    for con in cons:
        strings |= {
            r[0]
            for r in con.execute(
                "SELECT name FROM customers UNION SELECT note FROM orders"
            ).fetchall()
        }
        numbers |= {r[0] for r in con.execute("SELECT total FROM orders").fetchall()}
        dates |= {r[0] for r in con.execute("SELECT signup FROM customers").fetchall()}
    assert "" in strings or " " in strings
    assert any(s and ("%" in s or "_" in s) for s in strings)
    assert any(s and "'" in s for s in strings)
    assert any(s and not s.isascii() for s in strings)
    assert any(n is not None and n < 0 for n in numbers) and 0.0 in numbers
    years = {d.year for d in dates if d}
    assert len(years) >= 2
    assert any(d and (d + dt.timedelta(days=1)).day == 1 for d in dates)  # a month end


def test_key_domains():
    assert key_domain("orders", "customer_id") == "customer"
    assert key_domain("customers", "id") == "customer"
    assert key_domain("orders", "CustomerId") == "customer"
    assert key_domain("lineitem", "l_orderkey") == "order"
    assert key_domain("users", "paid") is None and key_domain("users", "valid") is None
    for table, column in (
        ("courses", "course_id"),
        ("categories", "category_id"),
        ("movies", "movie_id"),
        ("matches", "match_id"),
        ("statuses", "status_id"),
        ("addresses", "address_id"),
        ("boxes", "box_id"),
        ("employees", "employee_id"),
        ("series", "series_id"),
    ):  # a table and the key that refers to it share a domain, plural or not
        assert key_domain(table, "id") == key_domain("other", column), table


def test_literal_rows_put_query_constants_into_matching_columns():
    fixture = make_fixture(WIDE, 0)
    rows = literal_rows(WIDE, fixture, [100, "A%", "2021-06-30"])
    totals = {r[2] for _, r in rows["orders"]}
    assert {99.0, 100.0, 101.0} <= totals
    names = {r[1] for _, r in rows["customers"]}
    assert "Ax" in names and "aX" in names
    signups = {r[2] for _, r in rows["customers"]}
    assert dt.date(2021, 6, 30) in signups and dt.date(2021, 7, 1) in signups
    for table in ("customers", "orders"):  # primary keys of their own: a key stays a key
        keys = [r[0] for r in fixture.tables[table]] + [r[0] for _, r in rows[table]]
        assert len(keys) == len(set(keys))


def test_literal_rows_stand_out_from_the_rows_they_copy():
    """A boundary row must not hide behind fixture rows under IN, EXISTS or DISTINCT: in
    the "apart" cycles its foreign key points at the parents with the fewest children and
    its other strings are its own, shared only by the rows holding the same constant."""
    fixture = make_fixture(WIDE, 0)
    rows = [r for _, r in literal_rows(WIDE, fixture, [100])["orders"]]
    cycle = 3  # 99, 100, 101
    apart = [r for n, r in enumerate(rows) if LAYOUTS[n // cycle % len(LAYOUTS)] == "apart"]
    customers = {r[0] for r in fixture.tables["customers"]}
    children = {c: 0 for c in customers}
    for r in fixture.tables["orders"]:
        if r[1] in children:
            children[r[1]] += 1
    fewest = min(children.values())
    pointed = {r[1] for r in apart}
    assert None not in pointed and pointed <= customers  # the rows still join
    assert any(children[c] == fewest for c in pointed)
    fixture_notes = {r[4] for r in fixture.tables["orders"]}
    notes = {r[4] for r in apart}
    assert None not in notes and not notes & fixture_notes
    by_total: dict[float, set[str]] = {}
    for r in apart:
        by_total.setdefault(r[2], set()).add(r[4])
    assert all(len(v) == 1 for v in by_total.values())  # twins share their string
    assert len(set().union(*by_total.values())) == len(by_total)  # and no one else does
    assert all(len([r for r in apart if r[2] == t]) == 2 for t in by_total)  # twins


def test_literal_rows_also_share_a_parent_with_nulls_beside_them():
    """One cycle of the constants shares a parent (so a group holds every constant: max
    against min shows) and has NULL in its other nullable columns (so a dropped
    `notnull()` shows on the boundary)."""
    fixture = make_fixture(WIDE, 0)
    rows = [r for _, r in literal_rows(WIDE, fixture, [100])["orders"]]
    start = 3 * LAYOUTS.index("shared")
    shared = rows[start : start + 3]
    assert {r[2] for r in shared} == {99.0, 100.0, 101.0}
    (parent,) = {r[1] for r in shared}
    assert parent in {r[0] for r in fixture.tables["customers"]}
    assert all(r[3] is None and r[4] is None for r in shared)
    assert all(r[0] is not None for r in shared)  # the primary key stays


def test_tally_rows_make_groups_of_exactly_k_and_k_plus_1():
    """A row-count threshold (`HAVING count(*) > 3`) gets groups of exactly 3 and 4 rows,
    each with its own string and a foreign key no other row holds, whatever the seed's own
    groups."""
    for seed in range(3):
        fixture = make_fixture(WIDE, seed)
        found = literal_rows(WIDE, fixture, [3], seed, targets=Targets(counts=(3,)))
        rows = [r for _, r in found["orders"]]
        fixture_notes = {r[4] for r in fixture.tables["orders"]}
        sizes: dict[str, int] = {}
        for r in rows:
            if r[4] is not None:
                sizes[r[4]] = sizes.get(r[4], 0) + 1
        assert not set(sizes) & fixture_notes
        assert 3 in sizes.values() and 4 in sizes.values()
    fixture = make_fixture(WIDE, 0)
    assert len(literal_rows(WIDE, fixture, [3])["orders"]) == len(LAYOUTS) * 3  # not a count
    too_big = literal_rows(WIDE, fixture, [300], targets=Targets(counts=(300,)))["orders"]
    assert len(too_big) == len(LAYOUTS) * 3


def test_literal_rows_are_added_and_rolled_back():
    fixture = make_fixture(WIDE, 0)
    con = duckdb.connect()
    create_tables(con, WIDE, fixture)
    rows = literal_rows(WIDE, fixture, [100])
    (before,) = con.execute("SELECT count(*) FROM orders").fetchone()
    con.execute("BEGIN TRANSACTION")
    for statement in insert_statements(rows):
        con.execute(statement)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (before + len(rows["orders"]),)
    assert con.execute("SELECT count(*) FROM orders WHERE total = 100").fetchone()[0] > 0
    con.execute("ROLLBACK")
    assert con.execute("SELECT count(*) FROM orders WHERE total = 100").fetchone()[0] == 0
    con.close()


def test_literal_rows_only_rewrite_the_tables_asked_for():
    fixture = make_fixture(WIDE, 0)
    everything = literal_rows(WIDE, fixture, [100, "Ax"])
    assert {"customers", "orders"} <= set(everything)
    orders_only = literal_rows(WIDE, fixture, [100, "Ax"], only={"orders"})
    assert set(orders_only) == {"orders"}
    assert orders_only["orders"] == everything["orders"]  # a table's rows do not depend on others
