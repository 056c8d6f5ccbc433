"""The column names an Ibis join chain produces, computed the way ibis does.

Ibis keeps one column for `a.k == b.k` inner equi-joins and renames other clashes with
`{name}_right`; code that refers to a joined relation (correlated subqueries, `SELECT *`)
needs those names. This mirrors `ibis.expr.types.joins.disambiguate_fields` so the
translator knows them without building the expression.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

Field = tuple[str, str]  # (source alias, column name)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Field, Field] = {}

    def find(self, f: Field) -> Field:
        while self.parent.get(f, f) != f:
            f = self.parent[f]
        return f

    def union(self, a: Field, b: Field) -> None:
        self.parent.setdefault(a, a)
        self.parent.setdefault(b, b)
        self.parent[self.find(a)] = self.find(b)

    def connected(self, a: Field, b: Field) -> bool:
        return a in self.parent and b in self.parent and self.find(a) == self.find(b)


@attrs.define
class JoinNames:
    """Output names of a join chain so far: `fields` maps output name → the field it holds."""

    fields: dict[str, Field] = attrs.field(factory=dict)
    equal: _UnionFind = attrs.field(factory=_UnionFind)
    collisions: set[str] = attrs.field(factory=set)

    @classmethod
    def start(cls, alias: str, columns: Sequence[str]) -> JoinNames:
        return cls({c: (alias, c) for c in columns})

    def add(
        self,
        how: str,
        alias: str,
        columns: Sequence[str],
        equalities: Sequence[tuple[Field, Field]] | None,
        rname: str = "{name}_right",
    ) -> JoinNames:
        """The names after joining `alias`; `equalities` is None unless every predicate is
        an `==` (then it lists the field pairs of the field-to-field ones)."""
        equal = self.equal
        if how == "inner" and equalities is not None:
            for a, b in equalities:
                equal.union(a, b)
        if how in ("semi", "anti"):
            return JoinNames(dict(self.fields), equal, set(self.collisions))
        right = {c: (alias, c) for c in columns}
        fields: dict[str, Field] = {}
        for name, field in self.fields.items():
            fields[name] = field  # ibis's default left template keeps the name
        collisions = set(self.collisions)
        for name, field in right.items():
            if name in self.fields:
                if equal.connected(field, self.fields[name]):
                    continue
                name = rname.format(name=name)
            if name in fields:
                collisions.add(name)
            else:
                fields[name] = field
        return JoinNames(fields, equal, collisions)

    def would_collide(self, how: str, columns: Sequence[str], rname: str = "{name}_right") -> bool:
        if how in ("semi", "anti"):
            return False
        taken = set(self.fields)
        for c in columns:
            if c in self.fields:
                renamed = rname.format(name=c)
                if renamed in taken:
                    return True
                taken.add(renamed)
        return False

    def outname(self, field: Field) -> str | None:
        """The output column holding `field`, or the one holding a field equal to it."""
        for name, f in self.fields.items():
            if f == field:
                return name
        for name, f in self.fields.items():
            if self.equal.connected(f, field):
                return name
        return None
