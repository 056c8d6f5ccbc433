"""New seeds from a verified one: renamed tables and columns, changed literals, reordered
commutative clauses. Each result is a *candidate* seed: it is translated and validated again
like any other, so an augmentation that broke the query is rejected, never kept.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs
import sqlglot
from sqlglot import exp

from ibert_tasks_sql.corpus.domains import Domain, domain
from ibert_tasks_sql.corpus.seeds import SeedQuery


def _parse(sql: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None


def rename_map(dom: Domain, rng: random.Random) -> dict[str, str]:
    """Old → new names for some tables and columns, from each one's synonyms.

    One name maps to one new name everywhere (a column shared by two tables keeps sharing it)
    and no new name collides with any name in the domain, old or new.
    """
    taken = {t.name for t in dom.tables} | {c.name for t in dom.tables for c in t.columns}
    mapping: dict[str, str] = {}
    options: dict[str, tuple[str, ...]] = {}
    for t in dom.tables:
        options.setdefault(t.name, t.synonyms)
        for c in t.columns:
            options.setdefault(c.name, c.synonyms)
    for old in sorted(options):
        if not options[old] or rng.random() < 0.4:
            continue
        new = rng.choice(options[old])
        if new in taken or new in mapping.values():
            continue
        mapping[old] = new
    return mapping


def _renamed_schema(seed: SeedQuery, mapping: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        mapping.get(t, t): {mapping.get(c, c): d for c, d in cols.items()}
        for t, cols in seed.schema.items()
    }


def rename(seed: SeedQuery, rng: random.Random) -> SeedQuery | None:
    tree = _parse(seed.sql)
    if tree is None:
        return None
    mapping = rename_map(domain(seed.domain), rng)
    used = {i.name for i in tree.find_all(exp.Identifier)}
    mapping = {k: v for k, v in mapping.items() if k in used}
    if not mapping or any(v in used for v in mapping.values()):
        return None

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Identifier) and node.name in mapping:
            return exp.to_identifier(mapping[node.name], quoted=node.quoted)
        return node

    sql = tree.transform(swap).sql(dialect="duckdb", pretty=True)
    pairs = ", ".join(f"{k}->{v}" for k, v in sorted(mapping.items()))
    return attrs.evolve(
        seed,
        sql=sql,
        schema=_renamed_schema(seed, mapping),
        augmentations=(*seed.augmentations, f"rename({pairs})"),
    )


def _new_number(node: exp.Literal, rng: random.Random) -> exp.Literal | exp.Neg:
    text = node.this
    try:
        value = float(text)
    except ValueError:
        return node
    if value == 0:
        new = float(rng.choice((1, 2, 5, 10)))
    else:
        new = value * rng.choice((0.5, 0.8, 1.25, 2.0, 3.0))
    is_int = "." not in text and "e" not in text.lower()
    return exp.Literal.number(round(new) if is_int else round(new, 2))


def _column_of(literal: exp.Literal) -> str | None:
    parent = literal.parent
    while isinstance(parent, (exp.Tuple, exp.In, exp.Paren)) and not isinstance(parent, exp.In):
        parent = parent.parent
    if isinstance(parent, (exp.EQ, exp.NEQ, exp.In, exp.Like, exp.ILike)):
        col = parent.this
        if isinstance(col, exp.Column):
            return col.name
    return None


#: contexts where a number is structural, not a value (LIMIT 5, ROWS 2 PRECEDING, GROUP BY 1)
_STRUCTURAL = (exp.Limit, exp.Offset, exp.WindowSpec, exp.Group, exp.Order, exp.Ordered)


def change_literals(seed: SeedQuery, rng: random.Random) -> SeedQuery | None:
    tree = _parse(seed.sql)
    if tree is None:
        return None
    dom = domain(seed.domain)
    changed = []

    def swap(node: exp.Expression) -> exp.Expression:
        new: exp.Literal | exp.Neg
        if not isinstance(node, exp.Literal) or rng.random() < 0.3:
            return node
        if node.find_ancestor(*_STRUCTURAL) or node.find_ancestor(exp.Cast, exp.Interval):
            return node
        if node.is_string:
            column = _column_of(node)
            values = [v for v in dom.values_of(column or "") if v != node.this]
            if not values:
                return node
            new = exp.Literal.string(rng.choice(values))
        elif node.find_ancestor(
            exp.Quantile, exp.PercentileCont, exp.PercentileDisc, exp.Anonymous, exp.Substring
        ):
            return node
        else:
            new = _new_number(node, rng)
        if new.this != node.this:
            changed.append(f"{node.this}->{new.this}")
        return new

    new_tree = tree.transform(swap)
    if not changed:
        return None
    return attrs.evolve(
        seed,
        sql=new_tree.sql(dialect="duckdb", pretty=True),
        augmentations=(*seed.augmentations, f"literals({', '.join(changed)})"),
    )


def reorder(seed: SeedQuery, rng: random.Random) -> SeedQuery | None:
    """Swap operands of AND/OR and of `=` / `<>` (and of join conditions)."""
    tree = _parse(seed.sql)
    if tree is None:
        return None
    swapped = []

    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.And, exp.Or, exp.EQ, exp.NEQ)) and rng.random() < 0.7:
            swapped.append(type(node).__name__)
            return type(node)(this=node.expression.copy(), expression=node.this.copy())
        return node

    new_tree = tree.transform(swap)
    if not swapped:
        return None
    return attrs.evolve(
        seed,
        sql=new_tree.sql(dialect="duckdb", pretty=True),
        augmentations=(*seed.augmentations, f"reorder({','.join(swapped)})"),
    )


AUGMENTATIONS: dict[str, Callable[[SeedQuery, random.Random], SeedQuery | None]] = {
    "rename": rename,
    "literals": change_literals,
    "reorder": reorder,
}


def augment(seed: SeedQuery, rng: random.Random) -> list[SeedQuery]:
    """One try of every augmentation (those that changed nothing are left out)."""
    out = []
    for name in AUGMENTATIONS:
        new = AUGMENTATIONS[name](seed, rng)
        if new is not None and new.sql != seed.sql:
            out.append(new)
    return out
