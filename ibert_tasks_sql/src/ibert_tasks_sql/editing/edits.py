"""Text edits on source code that keep the user's formatting, and the record of each change.

Rules never regenerate the whole program from an AST (that would reformat it and lose
comments); they replace the spans of the nodes they fix. Offsets are UTF-8 byte offsets,
the unit both `ast` (col_offset) and semgrep report.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Sequence

import attrs


@attrs.frozen
class Edit:
    start: int
    end: int
    text: str


@attrs.frozen
class Change:
    """One fix applied: which rule, why, and the text before and after."""

    rule: str
    reason: str
    before: str
    after: str
    line: int | None = None
    engine: str = "dynamic"  # "semgrep" (static rule) or "dynamic" (driven by the error)

    def to_dict(self) -> dict[str, object]:
        return attrs.asdict(self)


class Source:
    """Code with byte-offset helpers for AST nodes."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.data = code.encode("utf-8")
        self.line_starts = [0]
        for i, b in enumerate(self.data):
            if b == 0x0A:
                self.line_starts.append(i + 1)

    def offset(self, lineno: int, col: int) -> int:
        return self.line_starts[lineno - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode("utf-8")

    def replace(self, node: ast.AST, text: str) -> Edit:
        start, end = self.span(node)
        return Edit(start, end, text)


def apply_edits(code: str, edits: Iterable[Edit]) -> tuple[str, list[Edit]]:
    """Apply non-overlapping edits (earlier-starting wins a conflict); return the new code
    and the edits actually applied. Skipped edits are retried by the next round."""
    data = code.encode("utf-8")
    chosen: list[Edit] = []
    for e in sorted(edits, key=lambda e: (e.start, -(e.end - e.start))):
        if chosen and e.start < chosen[-1].end:
            continue
        chosen.append(e)
    out = bytearray()
    pos = 0
    for e in chosen:
        out += data[pos : e.start]
        out += e.text.encode("utf-8")
        pos = e.end
    out += data[pos:]
    return out.decode("utf-8"), chosen


def unified_diff(before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True) if before.endswith("\n") else
            (before + "\n").splitlines(keepends=True),
            after.splitlines(keepends=True) if after.endswith("\n") else
            (after + "\n").splitlines(keepends=True),
            "original", "fixed",
        )
    )


def needs_parens(node: ast.AST) -> bool:
    """Whether `node`'s source must be parenthesized as an operand of `&`, `|` or `~`."""
    return isinstance(node, (ast.Compare, ast.BoolOp, ast.BinOp, ast.IfExp, ast.Lambda,
                             ast.UnaryOp, ast.NamedExpr))


def operand(src: Source, node: ast.AST) -> str:
    text = src.text(node)
    return f"({text})" if needs_parens(node) else text


def line_of(code: str, start: int) -> int:
    return code.encode("utf-8")[:start].count(b"\n") + 1


def changes_from(code: str, edits: Sequence[Edit], rule: str, reason: str,
                 engine: str = "dynamic") -> list[Change]:
    data = code.encode("utf-8")
    return [
        Change(rule, reason, data[e.start : e.end].decode("utf-8"), e.text,
               line_of(code, e.start), engine)
        for e in edits
    ]
