"""The symbol graph: which symbols a hit should bring along.

A question about a rolling mean hits `Value.over`; the answer is better with `ibis.window`
next to it (its see-also), and a hit on a method is easier to use knowing the class it is
on and the type it returns. Edges: class → its methods, method → its class, callable →
the classes named in its return annotation, docstring → its "see also" references.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ibert_tasks_docs.qa.symbols import Symbol

_NAME = re.compile(r"[A-Za-z_][\w.]*")


def build_graph(symbols: Sequence[Symbol]) -> dict[int, tuple[int, ...]]:
    """`{symbol position: neighbour positions}`, each list deduplicated, in edge order."""
    by_qual = {s.qualname: i for i, s in enumerate(symbols)}
    by_short: dict[str, list[int]] = {}
    by_last: dict[str, list[int]] = {}
    for i, s in enumerate(symbols):
        for name in {s.short, *s.aliases}:
            by_short.setdefault(name, []).append(i)
        by_last.setdefault(s.qualname.rsplit(".", 1)[-1], []).append(i)
    classes = {s.qualname.rsplit(".", 1)[-1]: i for i, s in enumerate(symbols) if s.kind == "class"}

    edges: dict[int, list[int]] = {i: [] for i in range(len(symbols))}
    for i, s in enumerate(symbols):
        if s.parent and s.parent in by_qual:
            p = by_qual[s.parent]
            edges[i].append(p)
            edges[p].append(i)
        for name in _NAME.findall(s.returns):
            target = classes.get(name.rsplit(".", 1)[-1])
            if target is not None and target != i:
                edges[i].append(target)
        for ref in s.see_also:
            edges[i].extend(_resolve(ref, s, by_qual, by_short, by_last))
    return {i: tuple(dict.fromkeys(j for j in js if j != i)) for i, js in edges.items()}


def _resolve(
    ref: str,
    origin: Symbol,
    by_qual: dict[str, int],
    by_short: dict[str, list[int]],
    by_last: dict[str, list[int]],
) -> list[int]:
    """A see-also name as symbols: a sibling method first, then a public name."""
    if origin.parent and f"{origin.parent}.{ref}" in by_qual:
        return [by_qual[f"{origin.parent}.{ref}"]]
    if ref in by_qual:
        return [by_qual[ref]]
    for key in (ref, f"ibis.{ref}", ref.split(".", 1)[-1]):
        if key in by_short:
            return by_short[key][:2]
    last = by_last.get(ref.rsplit(".", 1)[-1], [])
    return last[:2] if len(last) <= 2 else []
