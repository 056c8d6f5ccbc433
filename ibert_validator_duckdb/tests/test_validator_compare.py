"""Result comparison as SQL means it (pure functions, no processes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ibert_validator_duckdb.compare import Ordering, compare_results, normalize_rows
from ibert_validator_duckdb.fixtures import Targets
from ibert_validator_duckdb.reference import BadReference, prepare


def same(expected, actual, **kw):
    return compare_results(normalize_rows(expected), normalize_rows(actual), **kw)


def test_bags_count_duplicates():
    assert same([(1,), (1,), (2,)], [(2,), (1,), (1,)]) is None
    message = same([(1,), (1,), (2,)], [(1,), (2,)])
    assert message and "expected 3 rows, got 2" in message


def test_distinct_hint_when_duplicates_dropped():
    message = same([(1,), (1,), (2,)], [(1,), (2,)])
    assert "distinct" in message


def test_null_equals_null_and_differs_from_values():
    assert same([(None, "a")], [(None, "a")]) is None
    assert same([(None,)], [(0,)]) is not None


def test_float_tolerance_relative_to_magnitude():
    assert same([(1e6 + 0.0001,)], [(1e6,)]) is None
    assert same([(0.1 + 0.2,)], [(0.3,)]) is None
    assert same([(1.0,)], [(1.001,)]) is not None
    assert same([(1.0,)], [(1.001,)], tolerance=0.01) is None


def test_decimal_equals_float_and_int():
    assert same([(Decimal("2.50"),)], [(2.5,)]) is None
    assert same([(3,)], [(3.0,)]) is None


def test_dates_and_timestamps_normalized():
    day = dt.date(2020, 2, 29)
    assert same([(day,)], [(dt.datetime(2020, 2, 29),)]) is None
    aware = dt.datetime(2020, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert same([(aware,)], [(dt.datetime(2020, 1, 1, 10),)]) is None


def test_column_count_message():
    message = same([(1, 2)], [(1,)], expected_columns=["a", "b"], actual_columns=["a"])
    assert message.startswith("column count differs: expected 2")


def test_order_ignored_without_order_by_and_checked_with_it():
    rows = [(1, "a"), (2, "b")]
    assert same(rows, rows[::-1]) is None
    ordering = Ordering(ordered=True, keys=(0,))
    message = same(rows, rows[::-1], ordering=ordering)
    assert message and "order" in message


def test_ties_may_permute():
    expected = [(1, "x"), (1, "y"), (2, "z")]
    actual = [(1, "y"), (1, "x"), (2, "z")]
    assert same(expected, actual, ordering=Ordering(True, (0,))) is None
    assert same(expected, actual[::-1], ordering=Ordering(True, (0,))) is not None


def test_limit_cuts_tie_group_anywhere():
    expected = [(1, "a"), (2, "b")]
    actual = [(1, "a"), (2, "c")]  # another row tied on the key at the LIMIT
    assert same(expected, actual, ordering=Ordering(True, (0,), limited=True)) is None
    assert same(expected, [(1, "a"), (3, "c")], ordering=Ordering(True, (0,), True)) is not None


def test_reference_ordering_detection():
    assert not prepare("SELECT a FROM t").ordering.ordered
    ref = prepare("SELECT a, b AS total FROM t ORDER BY total DESC, 1")
    assert ref.ordering == Ordering(True, (1, 0), False)
    ref = prepare("SELECT a FROM t ORDER BY b LIMIT 3")
    assert ref.ordering.ordered and ref.ordering.keys is None and ref.keyed_sql
    assert "__ibert_order_key_0" in ref.keyed_sql
    assert prepare("SELECT a FROM (SELECT a FROM t ORDER BY a) s").ordering.ordered is False


def test_reference_must_be_one_query():
    for bad in ("DROP TABLE t", "SELECT 1; SELECT 2", "COPY t TO 'x.csv'", "SELEC 1 FROM"):
        try:
            prepare(bad)
        except BadReference as err:
            assert str(err)
        else:
            raise AssertionError(bad)


def test_reference_transpiled_from_dialect():
    ref = prepare("SELECT TOP 3 a FROM t ORDER BY a", "tsql")
    assert "LIMIT 3" in ref.sql and ref.ordering.limited


def test_type_difference_is_named():
    message = same([(1, "a"), (2, "b")], [("1", "a"), ("2", "b")])
    assert "column 1 holds str values where the reference has number" in message


def test_reference_targets_are_what_its_constants_are_compared_with():
    """They decide the rows fixtures aim at: counts and other aggregates get groups, parts
    of a column get values with that part; constants compared with plain columns do not."""
    targets = {
        "SELECT a FROM t GROUP BY a HAVING count(*) > 3": Targets(counts=(3,)),
        "SELECT a FROM t GROUP BY a HAVING count(*) >= 2 AND sum(b) > 100": Targets(
            counts=(2,), aggregates=(100,)
        ),
        "SELECT a, count(*) = 1 AS single FROM t GROUP BY a": Targets(counts=(1,)),
        "SELECT * FROM t WHERE (SELECT count(*) FROM u) >= 2": Targets(counts=(2,)),
        "SELECT a FROM t WHERE b > 5 ORDER BY a LIMIT 3": Targets(),
        "SELECT a FROM t WHERE length(name) > 5 AND hour(ts) BETWEEN 6 AND 11": Targets(
            parts=(("name", "length", 5), ("ts", "hour", 6), ("ts", "hour", 11))
        ),
        "SELECT a FROM t WHERE EXTRACT(MONTH FROM d) IN (1, 2) OR quarter(d) = 3": Targets(
            parts=(("d", "month", 1), ("d", "month", 2), ("d", "quarter", 3))
        ),
        "SELECT a FROM t GROUP BY a HAVING sum(x) >= 10.5": Targets(aggregates=(Decimal("10.5"),)),
        "SELECT a FROM t GROUP BY a HAVING avg(x) > 70 OR min(y) >= 50": Targets(
            aggregates=(70, 50)
        ),
    }
    for sql, expected in targets.items():
        assert prepare(sql).targets == expected, sql
