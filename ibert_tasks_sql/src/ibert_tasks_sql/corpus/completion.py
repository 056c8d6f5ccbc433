"""Code-completion examples: a verified snippet cut at a syntactic point into prefix → rest.

Cuts fall where an editor would ask for help: before a method call in a chain (`.`), just
inside a call's parentheses, and before a keyword argument. Prefix + rest is exactly the
verified code, so the target is as verified as the pair it came from.
"""

from __future__ import annotations

import ast
import random

import attrs


@attrs.frozen
class Cut:
    offset: int
    kind: str  # "method", "arguments" or "keyword"


def _offsets(code: str) -> list[int]:
    """Character offset of the start of each line (ast positions are line + utf-8 column)."""
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _to_offset(code: str, starts: list[int], line: int, col_bytes: int) -> int:
    text = code.splitlines(keepends=True)[line - 1]
    col = len(text.encode("utf-8")[:col_bytes].decode("utf-8", errors="ignore"))
    return starts[line - 1] + col


def cuts(code: str) -> list[Cut]:
    """Every syntactic cut point in the last statement (the one assigning `expr`)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    if not tree.body:
        return []
    last = tree.body[-1]
    starts = _offsets(code)
    found: dict[int, Cut] = {}
    for node in ast.walk(last):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.value.end_lineno is not None:
            end = _to_offset(code, starts, func.value.end_lineno, func.value.end_col_offset or 0)
            dot = code.find(".", end)
            if dot != -1:
                found.setdefault(dot, Cut(dot, "method"))
        if node.args or node.keywords:
            first = node.args[0] if node.args else node.keywords[0]
            pos = _to_offset(code, starts, first.lineno, first.col_offset)
            found.setdefault(pos, Cut(pos, "arguments"))
        for kw in node.keywords[1:] if not node.args else node.keywords:
            pos = _to_offset(code, starts, kw.lineno, kw.col_offset)
            found.setdefault(pos, Cut(pos, "keyword"))
    head = _to_offset(code, starts, last.lineno, last.col_offset)
    return [
        c
        for c in sorted(found.values(), key=lambda c: c.offset)
        if head < c.offset < len(code.rstrip()) - 1
    ]


def split(code: str, rng: random.Random, k: int = 2) -> list[tuple[str, str, str]]:
    """Up to `k` (prefix, rest, kind) cuts, chosen at random among the syntactic points."""
    points = cuts(code)
    chosen = sorted(rng.sample(points, k=min(k, len(points))), key=lambda c: c.offset)
    return [(code[: c.offset], code[c.offset :], c.kind) for c in chosen]
