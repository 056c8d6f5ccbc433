"""Synthesized test data for a schema, chosen to expose the differences queries get wrong.

The same (schema, seed) always gives the same rows. Each table has 12-30 rows with NULLs
in every nullable column, duplicate rows, ties, zero/negative/large numbers, dates across
years and month ends, strings with `%`, `_`, quotes, unicode and the empty string.
Join keys (`id`, `*_id`, `*key`) share one integer domain per entity, and same-named columns
share one value pool, so joins, semi/anti joins and correlated subqueries return rows; a
few foreign keys point nowhere so anti joins return rows too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import attrs

from ibert_core.types import Column, Schema, TableSchema

MIN_ROWS = 12
MAX_ROWS = 30
DEFAULT_SEEDS = (0, 1, 2)
POOL_SIZE = 6
NULL_RATE = 0.15

STRINGS = (
    "alpha",
    "Beta",
    "beta",
    "gamma",
    "",
    " ",
    "100%",
    "50% off",
    "under_score",
    "a_b%c",
    "O'Brien",
    'say "hi"',
    "ünïcødé",
    "日本語",
    "naïve café",
    "x",
    "Zeta",
    "NULL",
    "trailing ",
    "line\nbreak",
    "back\\slash",
    "emoji 🙂",
)
FLOATS = (0.0, -0.0, 1.0, -1.5, 2.25, 3.14159, 1e6 + 0.125, -2.5e5, 0.1, 7.0, 1e-7, 42.0)
DATES = (
    dt.date(2024, 2, 29),
    dt.date(2024, 1, 1),
    dt.date(2025, 3, 31),
    dt.date(1999, 12, 31),
    dt.date(2000, 1, 1),
    dt.date(2000, 2, 29),
    dt.date(2019, 12, 31),
    dt.date(2020, 1, 1),
    dt.date(2020, 1, 31),
    dt.date(2020, 2, 29),
    dt.date(2021, 2, 28),
    dt.date(2021, 3, 1),
    dt.date(2023, 6, 15),
    dt.date(2023, 6, 30),
    dt.date(2024, 12, 31),
)
TIMES = (
    dt.time(0, 0),
    dt.time(0, 0, 1),
    dt.time(9, 30),
    dt.time(12, 0),
    dt.time(23, 59, 59),
    dt.time(18, 45, 30, 500000),
)
INT_BOUNDS = {8: 60, 16: 1000, 32: 1_000_000, 64: 1_000_000_000}


@attrs.frozen
class Fixture:
    """Rows per table for one seed, in the schema's column order."""

    seed: int
    tables: Mapping[str, list[tuple[Any, ...]]]
    #: per table, what its literal rows take instead of their copy's values (`_own_values`):
    #: a function of the rows alone, so worked out once, not on every check
    own_values: dict[str, list[list[Any]]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False
    )


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _singular(word: str) -> str:
    """The stem a table name and a key column's prefix share, whether they are written in
    the singular or the plural (`courses`/`course_id` → `cours`, `categories`/`category_id`
    → `categori`, `movies`/`movie_id`, `matches`/`match_id`, `statuses`/`status_id`): it
    only has to give the same stem to both forms, not a word. (Stripping only the plural's
    ending gave `cours` for the table and `course` for its key, so the keys of such tables
    were drawn without their parents' values.)"""
    word = word.lower()
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "i"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if word.endswith("y") and len(word) > 3:
        word = word[:-1] + "i"
    return word


def key_domain(table: str, column: str) -> str | None:
    """The entity a key column refers to (`orders.user_id` → `user`), or None."""
    name = column.lower()
    if name == "id":
        return _singular(table)
    camel = len(column) > 2 and column[-2:] in ("Id", "ID") and column[-3].islower()
    for suffix in ("_id", "_key", "key"):
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)].rstrip("_")
            if "_" in stem and suffix.endswith("key"):
                stem = stem.split("_", 1)[1] or stem  # TPC-H style c_custkey → cust
            return _singular(stem) if stem else None
    if camel:  # CustomerId, customerID
        return _singular(name[:-2])
    return None


def _is_primary(table: str, column: str) -> bool:
    name = column.lower()
    return name == "id" or key_domain(table, column) == _singular(table)


# --- values per dtype ---------------------------------------------------------------------


class MapValue(dict):
    """A MAP value (a plain dict is written as a STRUCT)."""


def _ints(rng: random.Random, dtype: Any) -> list[Any]:
    bits = getattr(dtype, "nbytes", 8) * 8
    large = INT_BOUNDS.get(bits, INT_BOUNDS[64])
    signed = dtype.is_signed_integer() if hasattr(dtype, "is_signed_integer") else True
    edge = [0, 1, 2, 3, 5, 7, 10, large, large - 1]
    if signed:
        edge += [-1, -3, -large]
    return edge


def _floats(rng: random.Random, dtype: Any) -> list[Any]:
    return list(FLOATS)


def _decimals(rng: random.Random, dtype: Any) -> list[Any]:
    precision = dtype.precision or 18
    scale = dtype.scale if dtype.scale is not None else 3
    whole = 10 ** max(min(precision - scale, 9) - 1, 0)
    quantum = Decimal(1).scaleb(-scale)
    raw = [
        0,
        1,
        -1,
        Decimal("2.5"),
        Decimal("-0.5"),
        Decimal("1.005"),
        whole,
        -whole,
        Decimal("3.333333"),
        Decimal("10.1"),
    ]
    bound = Decimal(10) ** (precision - scale)
    return [Decimal(v).quantize(quantum) for v in raw if abs(Decimal(v)) < bound]


def _strings(rng: random.Random, dtype: Any) -> list[Any]:
    return list(STRINGS)


def _dates(rng: random.Random, dtype: Any) -> list[Any]:
    return list(DATES)


def _timestamps(rng: random.Random, dtype: Any) -> list[Any]:
    out = []
    for i, day in enumerate(DATES):
        out.append(_stamp(day, TIMES[i % len(TIMES)], dtype))
    return out


def _stamp(day: dt.date, time: dt.time, dtype: Any) -> dt.datetime:
    """A value of the timestamp `dtype`: in UTC when it has a time zone."""
    stamp = dt.datetime.combine(day, time)
    return stamp.replace(tzinfo=dt.timezone.utc) if dtype.timezone else stamp


def _times(rng: random.Random, dtype: Any) -> list[Any]:
    return list(TIMES)


def _booleans(rng: random.Random, dtype: Any) -> list[Any]:
    return [True, False]


def _intervals(rng: random.Random, dtype: Any) -> list[Any]:
    return [dt.timedelta(0), dt.timedelta(days=1), dt.timedelta(hours=-3), dt.timedelta(days=31)]


def _uuids(rng: random.Random, dtype: Any) -> list[Any]:
    import uuid

    return [uuid.UUID(int=rng.getrandbits(128)) for _ in range(4)]


def _binaries(rng: random.Random, dtype: Any) -> list[Any]:
    return [b"", b"\x00\x01", b"abc"]


def _jsons(rng: random.Random, dtype: Any) -> list[Any]:
    return ['{"a": 1}', "[]", '"s"', "null"]


def _arrays(rng: random.Random, dtype: Any) -> list[Any]:
    inner = values_for(rng, dtype.value_type)
    return [[], [inner[0]], [inner[1], inner[2], inner[1]], [inner[-1], inner[0]]]


def _structs(rng: random.Random, dtype: Any) -> list[Any]:
    pools = {name: values_for(rng, t) for name, t in dtype.fields.items()}
    return [{n: rng.choice(p) for n, p in pools.items()} for _ in range(4)]


def _maps(rng: random.Random, dtype: Any) -> list[Any]:
    keys = values_for(rng, dtype.key_type)
    vals = values_for(rng, dtype.value_type)
    pairs = [{}, {keys[0]: vals[0]}, {keys[1]: vals[1], keys[2]: vals[0]}]
    return [MapValue(p) for p in pairs]


#: ibis dtype class name → the edge values of that type.
VALUES: Mapping[str, Callable[[random.Random, Any], list[Any]]] = {
    **{
        name: _ints
        for name in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64")
    },
    "Float16": _floats,
    "Float32": _floats,
    "Float64": _floats,
    "Decimal": _decimals,
    "String": _strings,
    "Date": _dates,
    "Timestamp": _timestamps,
    "Time": _times,
    "Boolean": _booleans,
    "Interval": _intervals,
    "UUID": _uuids,
    "Binary": _binaries,
    "JSON": _jsons,
    "Array": _arrays,
    "Struct": _structs,
    "Map": _maps,
}


def values_for(rng: random.Random, dtype: Any) -> list[Any]:
    """Edge values of an ibis dtype; unknown types raise with the supported list."""
    make = VALUES.get(type(dtype).__name__)
    if make is None:
        from ibert_core.errors import BadInput

        raise BadInput(
            f"cannot synthesize fixture data for type {dtype}",
            f"supported: {', '.join(sorted(VALUES))}; or pass real data with --db/--parquet",
        )
    return make(rng, dtype)


# --- tables -------------------------------------------------------------------------------


def _sizes(schema: Schema, seed: int) -> dict[str, int]:
    return {t.name: _rng(seed, "size", t.name).randint(MIN_ROWS, MAX_ROWS) for t in schema.tables}


def _entity_sizes(schema: Schema, sizes: Mapping[str, int]) -> dict[str, int]:
    """Entity → the row count of the table that owns its primary key."""
    out: dict[str, int] = {}
    for t in schema.tables:
        for c in t.columns:
            if _is_primary(t.name, c.name):
                dom = key_domain(t.name, c.name)
                if dom:
                    out.setdefault(dom, sizes[t.name])
    return out


def _key_value(number: int, dtype: Any) -> Any:
    if dtype.is_integer() or dtype.is_floating() or dtype.is_decimal():
        return Decimal(number) if dtype.is_decimal() else number
    return f"k{number}"


def _column_values(
    table: TableSchema, column: Column, n: int, seed: int, entities: Mapping[str, int]
) -> list[Any]:
    dtype = _dtype(column.dtype)
    rng = _rng(seed, "rows", table.name, column.name)
    domain = key_domain(table.name, column.name)
    keyish = domain is not None and (dtype.is_integer() or dtype.is_string())
    if keyish and _is_primary(table.name, column.name):
        numbers = list(range(1, n + 1))
        rng.shuffle(numbers)
        return [_key_value(k, dtype) for k in numbers]
    if keyish:
        assert domain is not None
        size = entities.get(domain, 10)
        # Mostly matching keys, a few dangling ones (anti joins), NULLs added later.
        numbers = [
            rng.randint(1, size) if rng.random() < 0.85 else size + rng.randint(1, 3)
            for _ in range(n)
        ]
        return [_key_value(k, dtype) for k in numbers]
    # Same-named columns draw from one pool per seed so joins on them match.
    pool_rng = _rng(seed, "pool", column.name.lower(), type(dtype).__name__)
    edge = values_for(pool_rng, dtype)
    pool = pool_rng.sample(edge, min(POOL_SIZE, len(edge)))
    return [rng.choice(pool) if rng.random() < 0.75 else rng.choice(edge) for _ in range(n)]


def table_rows(
    table: TableSchema, seed: int, n: int, entities: Mapping[str, int]
) -> list[tuple[Any, ...]]:
    """The rows of one table: values per column, NULLs, then duplicates, shuffled."""
    columns = [_column_values(table, c, n, seed, entities) for c in table.columns]
    rng = _rng(seed, "nulls", table.name)
    for c, values in zip(table.columns, columns, strict=False):
        if not c.nullable or _is_primary(table.name, c.name):
            continue
        forced = rng.randrange(n)
        for i in range(n):
            if i == forced or rng.random() < NULL_RATE:
                values[i] = None
    rows = [tuple(col[i] for col in columns) for i in range(n)]
    primary = [i for i, c in enumerate(table.columns) if _is_primary(table.name, c.name)]
    for _ in range(2):  # duplicate rows (a fresh primary key keeps it unique)
        row = list(rows[rng.randrange(len(rows))])
        for i in primary:
            row[i] = _key_value(len(rows) + 1, _dtype(table.columns[i].dtype))
        rows.append(tuple(row))
    rng.shuffle(rows)
    return rows


@lru_cache(maxsize=1024)
def _dtype(text: str) -> Any:
    import ibis

    return ibis.dtype(text)


def make_fixture(schema: Schema, seed: int) -> Fixture:
    """Every table's rows for `seed`; pure, deterministic."""
    sizes = _sizes(schema, seed)
    entities = _entity_sizes(schema, sizes)
    return Fixture(
        seed, {t.name: table_rows(t, seed, sizes[t.name], entities) for t in schema.tables}
    )


def create_tables(con: Any, schema: Schema, fixture: Fixture) -> None:
    """Create and fill the fixture tables on a DuckDB connection (one statement per table:
    `executemany` costs a statement per row)."""
    from ibis.backends.sql.datatypes import DuckDBType

    for table in schema.tables:
        cols = ", ".join(
            f"{_quote(c.name)} {DuckDBType.to_string(_dtype(c.dtype))}"
            + ("" if c.nullable else " NOT NULL")
            for c in table.columns
        )
        con.execute(f"CREATE TABLE {_quote(table.name)} ({cols})")
        rows = fixture.tables[table.name]
        if rows:
            values = ", ".join("(" + ", ".join(map(sql_literal, r)) + ")" for r in rows)
            con.execute(f"INSERT INTO {_quote(table.name)} VALUES {values}")


def _string(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _blob(v: bytes) -> str:
    return "'" + "".join(f"\\x{b:02x}" for b in v) + "'::BLOB"


def _interval(v: dt.timedelta) -> str:
    return f"INTERVAL '{v.days} days {v.seconds} seconds {v.microseconds} microseconds'"


def _struct(v: Mapping[Any, Any]) -> str:
    return "{" + ", ".join(f"{_string(str(k))}: {sql_literal(x)}" for k, x in v.items()) + "}"


#: Python type → SQL literal; the INSERT casts it to the column type.
LITERALS: Mapping[type, Callable[[Any], str]] = {
    bool: lambda v: "TRUE" if v else "FALSE",
    int: str,
    float: repr,
    Decimal: lambda v: _string(str(v)),
    str: _string,
    dt.date: lambda v: _string(v.isoformat()),
    dt.datetime: lambda v: _string(v.isoformat(sep=" ")),
    dt.time: lambda v: _string(v.isoformat()),
    dt.timedelta: _interval,
    bytes: _blob,
    list: lambda v: "[" + ", ".join(map(sql_literal, v)) + "]",
    dict: _struct,
    MapValue: lambda v: (
        "MAP {" + ", ".join(f"{sql_literal(k)}: {sql_literal(x)}" for k, x in v.items()) + "}"
    ),
}


def sql_literal(value: Any) -> str:
    """A fixture value as a DuckDB literal (NULL for None)."""
    if value is None:
        return "NULL"
    render = LITERALS.get(type(value))
    return render(value) if render is not None else _string(str(value))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def seeds_from(option: int | Sequence[int] | None) -> tuple[int, ...]:
    """`3` → (0, 1, 2); a sequence is used as given; None → the defaults."""
    if option is None:
        return DEFAULT_SEEDS
    if isinstance(option, int):
        return tuple(range(max(option, 1)))
    return tuple(int(s) for s in option)


# --- rows built around the query's own constants ------------------------------------------

LITERAL_ROWS = 6
#: How the literal rows' other columns are filled, one layout per cycle of the constants:
#: "apart": a row's own strings and foreign keys are shared only with the rows holding the
#: same constant (a boundary row changes DISTINCT, IN and EXISTS results on its own), and
#: it comes twice, so duplicates among the rows that pass a filter show;
#: "shared": the cycle shares one parent and one set of strings, except that its nullable
#: columns are NULL: a group holds every constant (max against min, counts per parent) and
#: a boundary row has NULLs beside it (a dropped `notnull()`).
LAYOUTS = ("apart", "apart", "shared")
#: Row-count thresholds up to this get groups of exactly that many rows (and one more).
TALLY_LIMIT = 10
MAX_TALLY_ROWS = 24
#: Foreign keys of tally groups start here, past any parent's key (fixtures have at most
#: a few dozen rows a table)
DANGLING_KEYS = 900
MAX_LITERAL_ROWS = 24
MAX_LITERALS = 16


@attrs.frozen
class Targets:
    """What the reference compares with a constant besides a plain column, which literal
    rows aim at: `counts` (`HAVING count(*) > 3`: groups of exactly 3 and 4 rows),
    `aggregates`, thresholds of a sum, average, minimum or maximum (`HAVING sum(x) > 100`:
    one-row groups holding 99, 100 and 101, whose aggregate is that value) and `parts`,
    (column, part, constant) for a part of a column (`length(name) > 5`, `hour(ts)
    BETWEEN 6 AND 11`: values whose part is the constant and its neighbours)."""

    counts: tuple[int, ...] = ()
    aggregates: tuple[Any, ...] = ()
    parts: tuple[tuple[str, str, int], ...] = ()


def _day(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


#: part → the first and last day whose part is n (none where there is none): the days on
#: either side of its boundaries, so `month(d) >= 9` against `quarter(d) = 4` shows
_DAYS_WITH_PART: dict[str, Callable[[int], list[dt.date]]] = {
    "year": lambda n: [dt.date(n, 1, 1), dt.date(n, 12, 31)] if 1 <= n <= 9999 else [],
    "month": lambda n: [dt.date(2023, n, 1), _month_end(2023, n)] if 1 <= n <= 12 else [],
    "quarter": lambda n: (
        [dt.date(2023, 3 * n - 2, 1), _month_end(2023, 3 * n)] if 1 <= n <= 4 else []
    ),
    "day": lambda n: [d for d in (_day(2023, 1, n),) if d is not None],
}


def _part_values(dtype: Any, part: str, n: int) -> list[Any]:
    """Values of `dtype` whose `part` is n - 1, n and n + 1, so a threshold on that part
    shows its boundary (`hour(ts) < 11` against `<= 11` needs an 11:30)."""
    out: list[Any] = []
    for k in (n - 1, n, n + 1):
        if part == "length" and dtype.is_string() and k >= 0:
            out.append("x" * k)
        elif part == "abs" and dtype.is_numeric() and _fits(-k, dtype):
            out.append(_in_type(-k, dtype))
        elif part == "hour" and 0 <= k <= 23 and dtype.is_time():
            out.append(dt.time(k, 30))
        elif part == "hour" and 0 <= k <= 23 and dtype.is_timestamp():
            out.append(_stamp(dt.date(2023, 5, 17), dt.time(k, 30), dtype))
        elif part in _DAYS_WITH_PART and dtype.is_date():
            out.extend(_DAYS_WITH_PART[part](k))
        elif part in _DAYS_WITH_PART and dtype.is_timestamp():
            out.extend(_stamp(day, dt.time(12, 30), dtype) for day in _DAYS_WITH_PART[part](k))
    return out


def _numbers_near(value: float | int | Decimal) -> list[Any]:
    return [value - 1, value, value + 1]


def _like_variants(text: str) -> list[str]:
    if "%" not in text and "_" not in text:
        return [text, text.upper(), text + "x"]
    matching = text.replace("%", "x").replace("_", "y")
    stripped = text.replace("%", "").replace("_", "")
    return [matching, matching.swapcase(), stripped, "z" + stripped + "z"]


def _date_variants(text: str) -> list[dt.date]:
    try:
        day = dt.date.fromisoformat(text[:10])
    except ValueError:
        return []
    return [day - dt.timedelta(days=1), day, day + dt.timedelta(days=1)]


def _fits(value: Any, dtype: Any) -> bool:
    if dtype.is_integer():
        bits = dtype.nbytes * 8
        low = -(2 ** (bits - 1)) if dtype.is_signed_integer() else 0
        high = 2 ** (bits - 1) - 1 if dtype.is_signed_integer() else 2**bits - 1
        return float(value).is_integer() and low <= value <= high
    if dtype.is_decimal():
        precision, scale = dtype.precision or 18, dtype.scale or 0
        return abs(Decimal(str(value))) < Decimal(10) ** (precision - scale)
    return True


def _literal_values(dtype: Any, literals: Sequence[Any]) -> list[Any]:
    """Values of `dtype` around the constants of a query (v-1, v, v+1; LIKE matches)."""
    out: list[Any] = []
    for lit in literals:
        if isinstance(lit, bool):
            continue
        if isinstance(lit, (int, float, Decimal)) and dtype.is_numeric():
            out.extend(_in_type(v, dtype) for v in _numbers_near(lit) if _fits(v, dtype))
        elif isinstance(lit, str) and dtype.is_string():
            out.extend(_like_variants(lit))
        elif isinstance(lit, str) and dtype.is_date():
            out.extend(_date_variants(lit))
        elif isinstance(lit, str) and dtype.is_timestamp():
            days = _date_variants(lit)
            out.extend(_stamp(day, dt.time(), dtype) for day in days)
            # and the day itself after midnight: a date compared with a timestamp column
            # (`ts <= '2024-03-31'` for "on or before the 31st") misses that row
            out.extend(_stamp(day, dt.time(12), dtype) for day in days[1:2])
    return out


def literal_rows(
    schema: Schema,
    fixture: Fixture,
    literals: Sequence[Any],
    seed: int = 0,
    only: Collection[str] | None = None,
    targets: Targets | None = None,
) -> dict[str, list[tuple[int, tuple[Any, ...]]]]:
    """Fixture rows rewritten to hold the query's constants (and their neighbours) in the
    columns of matching type, so `>` versus `>=` or a wrong LIKE pattern shows.

    Returns (row index, new row) pairs: each new row is a copy of the fixture row at that
    index, with a primary key of its own. So that a row on the boundary (`x = 5` under `x > 5`
    versus `x >= 5`) cannot hide behind the rows it copies, it is made to stand out where
    those would mask it: its foreign keys point at the parents with the fewest children
    (an `IN`/`EXISTS` over it then changes which parents match) and its other strings are
    its own (a `DISTINCT` or `GROUP BY` over them then changes). `only` (lower-cased names)
    limits the tables; each table's rows do not depend on the others.

    The constants come in cycles, one `LAYOUTS` entry each; `targets` add the values whose
    part is compared (to the cycles) and groups built for aggregate thresholds
    (`_tally_rows`).
    """
    literals = list(dict.fromkeys(literals))[:MAX_LITERALS]
    targets = targets or Targets()
    out: dict[str, list[tuple[int, tuple[Any, ...]]]] = {}
    for table in schema.tables:
        if only is not None and table.name.lower() not in only:
            continue
        base = fixture.tables.get(table.name) or []
        if not base:
            continue
        rng = _rng(seed, "literals", table.name)
        pools = []
        dtypes = [_dtype(c.dtype) for c in table.columns]
        keys = [key_domain(table.name, c.name) is not None for c in table.columns]
        for c, dtype, key in zip(table.columns, dtypes, keys, strict=True):
            pool = [] if key else _literal_values(dtype, literals)
            for column, part, n in targets.parts:
                if column == c.name.lower() and not key:
                    pool += _part_values(dtype, part, n)
            pools.append(pool)
        own = _own_values(schema, fixture, table)
        nullable = [c.nullable and not _is_primary(table.name, c.name) for c in table.columns]
        cycle = max(len(p) for p in pools)
        count = min(max(LITERAL_ROWS, len(LAYOUTS) * cycle), MAX_LITERAL_ROWS, len(base))
        if not cycle:
            count = cycle = 1  # no constant fits this table; its tallies may still count
        replaced = []
        for i, index in enumerate(sorted(rng.sample(range(len(base)), count))):
            row = list(base[index])
            turn, place = divmod(i, cycle)
            layout = LAYOUTS[turn % len(LAYOUTS)]
            for j, pool in enumerate(pools):
                if pool:
                    row[j] = pool[i % len(pool)]
                elif layout == "shared" and nullable[j] and not keys[j]:
                    row[j] = None
                elif own[j]:
                    at = place if layout == "apart" else cycle + turn
                    row[j] = own[j][at % len(own[j])]
            replaced.append((index, tuple(row)))
        if not any(pools):
            replaced = []
        # the tallies' strings follow those the cycles above took
        first = cycle + count // cycle + 1
        replaced += _tally_rows(base, dtypes, keys, pools, own, targets, rng, first)
        if replaced:
            out[table.name] = _fresh_keys(table, replaced, len(base))
    return out


def _tally_rows(
    base: Sequence[tuple[Any, ...]],
    dtypes: Sequence[Any],
    keys: Sequence[bool],
    pools: Sequence[Sequence[Any]],
    own: Sequence[Sequence[Any]],
    targets: Targets,
    rng: random.Random,
    first: int,
) -> list[tuple[int, tuple[Any, ...]]]:
    """Groups built for the reference's aggregate thresholds, whatever the seed's own groups:
    for a row-count threshold k, groups of exactly k and k + 1 rows (`> k` against `>= k`,
    `k` against `k + 1`), each twice: with the query's largest constant (+1) in its numeric
    columns and with its smallest (-1), so a filter before the grouping keeps one of the two
    whole; for a sum, average, minimum or maximum threshold v, one-row groups holding v - 1,
    v and v + 1 (in the numeric columns that hold constants). A group has its own strings
    (`first` on in `own`) and a foreign key of its own that no parent holds, so grouping by
    the key counts or sums the group alone (a join to the parent drops it, as it drops the
    fixture's other dangling rows)."""
    sizes = sorted({n for k in targets.counts if 1 <= k <= TALLY_LIMIT for n in (k, k + 1)})
    groups: list[tuple[int, Any]] = [(size, pick) for pick in (max, min) for size in sizes]
    groups += [(1, v) for value in targets.aggregates for v in _numbers_near(value)]
    if not groups or not any(o for o in own):
        return []
    out: list[tuple[int, tuple[Any, ...]]] = []
    for g, (size, pick) in enumerate(groups):
        if len(out) + size > MAX_TALLY_ROWS:
            break
        index = rng.randrange(len(base))
        row = list(base[index])
        for j, pool in enumerate(pools):
            if own[j] and keys[j]:
                fresh = _key_value(DANGLING_KEYS + g, dtypes[j])
                row[j] = fresh if _fits(fresh, dtypes[j]) else own[j][(first + g) % len(own[j])]
            elif own[j]:  # strings: the group's own
                row[j] = own[j][(first + g) % len(own[j])]
            elif pool and callable(pick):
                row[j] = pick(pool)
            elif pool:  # a threshold: where the column cannot hold it, its largest constant
                fits = dtypes[j].is_numeric() and _fits(pick, dtypes[j])
                row[j] = _in_type(pick, dtypes[j]) if fits else max(pool)
        out.extend((index, tuple(row)) for _ in range(size))
    return out


def _in_type(value: Any, dtype: Any) -> Any:
    """The number `value` as a value of the numeric `dtype` (which `_fits` it)."""
    if dtype.is_integer():
        return int(value)
    return Decimal(str(value)) if dtype.is_decimal() else float(value)


def _fresh_keys(
    table: TableSchema, rows: list[tuple[int, tuple[Any, ...]]], taken: int
) -> list[tuple[int, tuple[Any, ...]]]:
    """The rows with primary keys of their own (after the fixture's 1..`taken`), as the
    fixture's duplicate rows have: a copy keeping its original's key would make a key
    column hold one value twice, and an equivalent query that relies on the key (GROUP BY
    the key, COUNT(DISTINCT key) for a count of rows) would look different."""
    keys = [
        j
        for j, c in enumerate(table.columns)
        if _is_primary(table.name, c.name) and key_domain(table.name, c.name) is not None
    ]
    if not keys:
        return rows
    out = []
    for n, (index, row) in enumerate(rows, start=taken + 1):
        values = list(row)
        for j in keys:
            values[j] = _key_value(n, _dtype(table.columns[j].dtype))
        out.append((index, tuple(values)))
    return out


def _own_values(schema: Schema, fixture: Fixture, table: TableSchema) -> list[list[Any]]:
    """Per column, the values literal rows take instead of their copy's: for a foreign
    key, the parents' keys by how few rows of `table` point at them; for a non-key string,
    strings no fixture row holds; nothing for other columns (they keep the copy's)."""
    if table.name not in fixture.own_values:
        fixture.own_values[table.name] = _work_out_own_values(schema, fixture, table)
    return fixture.own_values[table.name]


def _work_out_own_values(schema: Schema, fixture: Fixture, table: TableSchema) -> list[list[Any]]:
    base = fixture.tables.get(table.name) or []
    out: list[list[Any]] = []
    for j, c in enumerate(table.columns):
        domain = key_domain(table.name, c.name)
        if domain is not None and not _is_primary(table.name, c.name):
            parents = _primary_values(schema, fixture, domain, exclude=table.name)
            uses: dict[Any, int] = {}
            for row in base:
                uses[row[j]] = uses.get(row[j], 0) + 1
            out.append(sorted(parents, key=lambda v: (uses.get(v, 0), v)))
        elif domain is None and _dtype(c.dtype).is_string():
            out.append([f"{c.name} {n}" for n in range(1, MAX_LITERAL_ROWS + MAX_TALLY_ROWS + 1)])
        else:
            out.append([])
    return out


def _primary_values(schema: Schema, fixture: Fixture, domain: str, exclude: str) -> list[Any]:
    """The distinct non-NULL keys of `domain`'s primary key columns in other tables."""
    values: set[Any] = set()
    for other in schema.tables:
        if other.name == exclude:
            continue
        for j, c in enumerate(other.columns):
            if key_domain(other.name, c.name) == domain and _is_primary(other.name, c.name):
                rows = fixture.tables.get(other.name) or ()
                values.update(r[j] for r in rows if r[j] is not None)
    return sorted(values)


def insert_statements(rows: Mapping[str, Sequence[tuple[int, tuple[Any, ...]]]]) -> list[str]:
    """One INSERT per table adding `rows` next to the fixture rows they copy. Adding costs
    one DuckDB statement per table where replacing in place cost two (DELETE + INSERT);
    the copies have keys of their own, like the duplicate rows fixtures already hold."""
    return [
        f"INSERT INTO {_quote(table)} VALUES "
        + ", ".join("(" + ", ".join(map(sql_literal, r)) + ")" for _, r in pairs)
        for table, pairs in rows.items()
        if pairs
    ]
