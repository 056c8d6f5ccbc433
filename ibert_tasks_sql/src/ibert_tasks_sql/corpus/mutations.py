"""Breaking verified Ibis code the way people do, for error-resolution examples.

Each mutator returns broken code (or None when it does not apply). The broken code is then
*run* by the validator and the example keeps the real message of the stage that failed; a
mutation that still passes validation is no error and is dropped.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable, Mapping

from ibert_tasks_sql.corpus.source import Source

#: a method people reach for → what exists in ibis (the mutation swaps the other way).
WRONG_METHODS: dict[str, str] = {
    "group_by": "groupby",
    "order_by": "sort_values",
    "filter": "where",
    "mean": "avg",
    "nunique": "count_distinct",
    "isin": "is_in",
    "left_join": "leftjoin",
    "mutate": "assign",
    "select": "project",
    "fill_null": "fillna",
    "cases": "case_when",
    "desc": "descending",
    "notin": "not_in",
    "ilike": "icontains",
    "truncate": "date_trunc",
    "substr": "substring",
    "length": "len",
    "agg": "summarize",
    "row_number": "rownum",
    "lag": "shift",
}

Tables = Mapping[str, Mapping[str, str]]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 3:
        return word + word[-1]
    i = rng.randrange(1, len(word) - 1)
    choice = rng.random()
    if choice < 0.4:
        return word[:i] + word[i + 1 :]  # dropped letter
    if choice < 0.8:
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]  # swapped letters
    return word[:i] + word[i] + word[i:]  # doubled letter


def misspelled_column(code: str, tables: Tables, rng: random.Random) -> str | None:
    src = Source(code)
    tree = src.tree
    columns = {c for cols in tables.values() for c in cols}
    spots: list[ast.AST] = [
        n
        for n in ast.walk(tree)
        if (isinstance(n, ast.Attribute) and n.attr in columns)
        or (isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in columns)
    ]
    if not spots:
        return None
    node = rng.choice(spots)
    if isinstance(node, ast.Attribute):
        new = _typo(node.attr, rng)
        return None if new in columns else src.replace_attr(node, new)
    assert isinstance(node, ast.Constant) and isinstance(node.value, str)
    new = _typo(node.value, rng)
    return None if new in columns else src.replace(node, repr(new))


def wrong_method(code: str, tables: Tables, rng: random.Random) -> str | None:
    src = Source(code)
    spots = [
        n for n in ast.walk(src.tree) if isinstance(n, ast.Attribute) and n.attr in WRONG_METHODS
    ]
    if not spots:
        return None
    node = rng.choice(spots)
    return src.replace_attr(node, WRONG_METHODS[node.attr])


def missing_namespace(code: str, tables: Tables, rng: random.Random) -> str | None:
    """`ibis.desc(x)` → `desc(x)`: a function used without its module."""
    src = Source(code)
    spots = [
        n
        for n in ast.walk(src.tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "ibis"
    ]
    if not spots:
        return None
    node = rng.choice(spots)
    assert isinstance(node.func, ast.Attribute)
    return src.replace(node.func, node.func.attr)


def wrong_table(code: str, tables: Tables, rng: random.Random) -> str | None:
    """A column read from a table that does not have it."""
    src = Source(code)
    names = set(tables)
    spots = [
        n
        for n in ast.walk(src.tree)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Name)
        and n.value.id in names
        and n.attr in tables[n.value.id]
    ]
    others = sorted(names)
    if not spots or len(others) < 2:
        return None
    node = rng.choice(spots)
    assert isinstance(node.value, ast.Name)
    wrong = [t for t in others if t != node.value.id and node.attr not in tables[t]]
    if not wrong:
        return None
    return src.replace(node.value, rng.choice(wrong))


def unbalanced(code: str, tables: Tables, rng: random.Random) -> str | None:
    """A closing parenthesis lost (a syntax error with a position)."""
    closers = [i for i, ch in enumerate(code) if ch == ")"]
    if not closers:
        return None
    i = rng.choice(closers)
    return code[:i] + code[i + 1 :]


def string_for_number(code: str, tables: Tables, rng: random.Random) -> str | None:
    """A number compared as a string (`_.amount > '100'`): a type error ibis reports."""
    src = Source(code)
    spots = [
        n
        for n in ast.walk(src.tree)
        if isinstance(n, ast.Compare)
        and len(n.comparators) == 1
        and isinstance(n.comparators[0], ast.Constant)
        and isinstance(n.comparators[0].value, (int, float))
        and not isinstance(n.comparators[0].value, bool)
    ]
    if not spots:
        return None
    node = rng.choice(spots)
    const = node.comparators[0]
    assert isinstance(const, ast.Constant)
    return src.replace(const, repr(str(const.value)))


MUTATORS: dict[str, Callable[[str, Tables, random.Random], str | None]] = {
    "misspelled_column": misspelled_column,
    "wrong_method": wrong_method,
    "missing_namespace": missing_namespace,
    "wrong_table": wrong_table,
    "unbalanced_parens": unbalanced,
    "string_for_number": string_for_number,
}


def mutate(code: str, tables: Tables, rng: random.Random, k: int = 2) -> list[tuple[str, str]]:
    """Up to `k` (mutation name, broken code) pairs from different mutators."""
    names = list(MUTATORS)
    rng.shuffle(names)
    out = []
    for name in names:
        try:
            broken = MUTATORS[name](code, tables, rng)
        except SyntaxError:
            return []
        if broken and broken.strip() != code.strip():
            out.append((name, broken))
        if len(out) >= k:
            break
    return out
