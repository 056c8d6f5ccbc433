"""Result equality as SQL means it: bags of rows, columns by position, NULL equal to NULL.

Order counts only when the reference has a top-level ORDER BY, and then only between rows
whose ORDER BY keys differ (tied rows may come in any order; with a LIMIT the last tie
group may hold any of the tied rows). Numbers are equal within a relative tolerance,
dates and timestamps are normalized (a DATE equals a TIMESTAMP at midnight, aware
timestamps compare in UTC). A mismatch message says what differs, for model feedback.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

DEFAULT_TOLERANCE = 1e-6
SHOW_CHARS = 160

Row = tuple[Any, ...]


@attrs.frozen
class Ordering:
    """How the reference orders its rows: key column positions (None when unknown) and
    whether a LIMIT cuts the last tie group."""

    ordered: bool = False
    keys: tuple[int, ...] | None = None
    limited: bool = False


# --- normalization ------------------------------------------------------------------------


def _datetime(v: dt.datetime) -> dt.datetime:
    if v.tzinfo is not None:
        return v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return v


def _float(v: float) -> Any:
    return "NaN" if math.isnan(v) else v


NORMALIZERS: Mapping[type, Callable[[Any], Any]] = {
    float: _float,
    Decimal: lambda v: _float(float(v)),
    dt.datetime: _datetime,
    dt.date: lambda v: dt.datetime(v.year, v.month, v.day),
    uuid.UUID: str,
    list: lambda v: tuple(normalize(x) for x in v),
    tuple: lambda v: tuple(normalize(x) for x in v),
    dict: lambda v: tuple(sorted(((str(k), normalize(x)) for k, x in v.items()), key=repr)),
    bytearray: bytes,
    memoryview: bytes,
}


def normalize(value: Any) -> Any:
    """One comparable, hashable form per value (see the module docstring)."""
    f = NORMALIZERS.get(type(value))
    return value if f is None else f(value)


def normalize_rows(rows: Sequence[Row]) -> list[Row]:
    return [tuple(normalize(v) for v in row) for row in rows]


def sort_lists(rows: Sequence[Row], positions: Sequence[int]) -> list[Row]:
    """`rows` with the list values at `positions` in one canonical order, for lists whose
    element order the reference leaves undefined (`array_agg(x)` without ORDER BY)."""
    if not positions:
        return list(rows)
    wanted = set(positions)
    return [
        tuple(
            tuple(sorted(v, key=_sort_key)) if i in wanted and isinstance(v, tuple) else v
            for i, v in enumerate(row)
        )
        for row in rows
    ]


def _hash_key(value: Any) -> Any:
    """Numbers rounded to 9 significant digits, so near-equal floats usually share a key."""
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else value
    if isinstance(value, tuple):
        return tuple(_hash_key(v) for v in value)
    return value


def _row_key(row: Row) -> Row:
    return tuple(_hash_key(v) for v in row)


_RANK = {
    type(None): 0,
    bool: 1,
    int: 1,
    float: 1,
    str: 2,
    bytes: 3,
    dt.datetime: 4,
    dt.time: 5,
    dt.timedelta: 6,
    tuple: 7,
}


def _sort_key(value: Any) -> tuple[int, Any]:
    rank = _RANK.get(type(value), 9)
    if rank == 0:
        return (0, 0)
    if rank == 1:
        return (1, float(value))
    if value == "NaN":
        return (1, math.inf)
    if rank == 7:
        return (7, tuple(_sort_key(v) for v in value))
    if rank == 9:
        return (9, repr(value))
    return (rank, value)


def _row_sort_key(row: Row) -> tuple[Any, ...]:
    return tuple(_sort_key(v) for v in row)


def close(a: Any, b: Any, tolerance: float) -> bool:
    """Equal, with numbers compared relative to their magnitude."""
    if a is None or b is None:
        return a is b
    num = (int, float)
    numeric = isinstance(a, num) and isinstance(b, num)
    if numeric and not (isinstance(a, bool) or isinstance(b, bool)):
        if a == b:
            return True
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(close(x, y, tolerance) for x, y in zip(a, b, strict=False))
    return bool(a == b)


# --- comparisons --------------------------------------------------------------------------


def show(row: Row) -> str:
    text = "(" + ", ".join(_show_value(v) for v in row) + ")"
    return text if len(text) <= SHOW_CHARS else text[: SHOW_CHARS - 3] + "..."


def _show_value(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, dt.datetime):
        return repr(v.isoformat(sep=" "))
    if isinstance(v, float):
        return repr(round(v, 9))
    return repr(v)


def bags_equal(expected: Sequence[Row], actual: Sequence[Row], tolerance: float) -> bool:
    if len(expected) != len(actual):
        return False
    # Most equal results are equal exactly (same values, same types): one Counter each,
    # before rounding every float for the near-equal case.
    if Counter(expected) == Counter(actual):
        return True
    if Counter(map(_row_key, expected)) == Counter(map(_row_key, actual)):
        return True
    exp = sorted(expected, key=_row_sort_key)
    act = sorted(actual, key=_row_sort_key)
    return all(close(e, a, tolerance) for e, a in zip(exp, act, strict=False))


def _bag_difference(expected: Sequence[Row], actual: Sequence[Row]) -> str:
    exp, act = Counter(map(_row_key, expected)), Counter(map(_row_key, actual))
    missing, extra = exp - act, act - exp
    parts = []
    if len(expected) != len(actual):
        parts.append(f"expected {len(expected)} rows, got {len(actual)}")
    if missing:
        parts.append(
            f"{sum(missing.values())} expected row(s) missing, e.g. {show(next(iter(missing)))}"
        )
    if extra:
        parts.append(f"{sum(extra.values())} unexpected row(s), e.g. {show(next(iter(extra)))}")
    if not (missing or extra):
        parts.append("the same rows occur a different number of times")
    hint = _duplicate_hint(expected, actual) + _type_hint(expected, actual)
    return "; ".join(parts) + hint


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return type(value).__name__


def _type_hint(expected: Sequence[Row], actual: Sequence[Row]) -> str:
    """Columns whose values are of another kind than the reference's (text vs number ...)."""
    if not expected or not actual or len(expected[0]) != len(actual[0]):
        return ""
    notes = []
    for i in range(len(expected[0])):
        want = {k for r in expected if (k := _kind(r[i])) is not None}
        got = {k for r in actual if (k := _kind(r[i])) is not None}
        if want and got and not want & got:
            notes.append(
                f"column {i + 1} holds {'/'.join(sorted(got))} values where the "
                f"reference has {'/'.join(sorted(want))}"
            )
    return f" ({'; '.join(notes)})" if notes else ""


def _duplicate_hint(expected: Sequence[Row], actual: Sequence[Row]) -> str:
    exp, act = set(map(_row_key, expected)), set(map(_row_key, actual))
    if exp == act and len(expected) != len(actual):
        if len(set(map(_row_key, actual))) == len(actual) < len(expected):
            return " (the candidate drops duplicate rows; is there an extra distinct()?)"
        return " (the same distinct rows with different duplicate counts)"
    return ""


def _segments(keys: Sequence[Row]) -> list[tuple[int, int]]:
    """Runs of consecutive rows with equal ORDER BY keys, as (start, end) ranges."""
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or _row_key(keys[i]) != _row_key(keys[start]):
            out.append((start, i))
            start = i
    return out


def _project(rows: Sequence[Row], keys: Sequence[int]) -> list[Row]:
    return [tuple(r[k] for k in keys) for r in rows]


def compare_ordered(
    expected: Sequence[Row],
    actual: Sequence[Row],
    ordering: Ordering,
    tolerance: float,
    expected_keys: Sequence[Row] | None = None,
) -> str | None:
    """Rows in order, where rows tied on the ORDER BY keys may permute.

    `expected_keys` are the ORDER BY key values of each expected row (computed by the
    caller when the keys are not output columns); without them and without key positions
    the comparison is strictly positional.
    """
    keys = ordering.keys
    if expected_keys is None and keys is not None:
        expected_keys = _project(expected, keys)
    if expected_keys is None:
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            if not close(e, a, tolerance):
                return f"row {i + 1} differs: expected {show(e)}, got {show(a)}"
        return None
    segments = _segments(expected_keys)
    for n, (start, end) in enumerate(segments):
        exp, act = expected[start:end], actual[start:end]
        if ordering.limited and n == len(segments) - 1:
            # A LIMIT may cut a tie group anywhere: only the keys must match.
            if keys is None:
                return None
            exp, act = _project(exp, keys), _project(act, keys)
        if not bags_equal(exp, act, tolerance):
            where = f"row {start + 1}" if end - start == 1 else f"rows {start + 1}-{end}"
            got = show(actual[start]) if start < len(actual) else "no row"
            by = (
                f"column(s) {', '.join(str(k + 1) for k in keys)}"
                if keys is not None
                else "expressions not in the output"
            )
            return (
                f"{where} differ in order: expected {show(expected[start])}, got {got} "
                f"(the reference sorts by {by})"
            )
    return None


def compare_results(
    expected: Sequence[Row],
    actual: Sequence[Row],
    ordering: Ordering = Ordering(),
    tolerance: float = DEFAULT_TOLERANCE,
    expected_columns: Sequence[str] = (),
    actual_columns: Sequence[str] = (),
    expected_keys: Sequence[Row] | None = None,
) -> str | None:
    """None when equal, else a message saying what differs. Rows must be normalized."""
    if expected_columns and actual_columns and len(expected_columns) != len(actual_columns):
        return (
            f"column count differs: expected {len(expected_columns)} column(s) "
            f"({', '.join(expected_columns)}), got {len(actual_columns)} "
            f"({', '.join(actual_columns)})"
        )
    if ordering.ordered and ordering.limited:
        if len(expected) != len(actual):
            return f"expected {len(expected)} rows, got {len(actual)}"
        return compare_ordered(expected, actual, ordering, tolerance, expected_keys)
    if not bags_equal(expected, actual, tolerance):
        return _bag_difference(expected, actual)
    if ordering.ordered:
        message = compare_ordered(expected, actual, ordering, tolerance, expected_keys)
        if message:
            return "the rows match but " + message
    return None
