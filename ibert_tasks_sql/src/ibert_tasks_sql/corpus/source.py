"""Python source with its AST, edited in place so that the author's layout survives.

`ast.unparse` would reprint the whole snippet (quotes, blank lines, line breaks all change);
rewrites and mutations instead replace the text of the nodes they touch.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable


class Source:
    """Code, its AST, and character spans of its nodes."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.tree = ast.parse(code)
        self._lines = code.splitlines(keepends=True)
        self._starts = [0]
        for line in self._lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, line: int, col_bytes: int) -> int:
        text = self._lines[line - 1].encode("utf-8")[:col_bytes].decode("utf-8", "ignore")
        return self._starts[line - 1] + len(text)

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def text(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.code[start:end]

    def replace(self, node: ast.AST, text: str) -> str:
        start, end = self.span(node)
        return self.code[:start] + text + self.code[end:]

    def replace_attr(self, node: ast.Attribute, attr: str) -> str:
        _, end = self.span(node)
        start = end - len(node.attr)
        return self.code[:start] + attr + self.code[end:]

    def apply(self, edits: Iterable[tuple[int, int, str]]) -> str:
        """The code with non-overlapping (start, end, text) edits applied."""
        out = self.code
        for start, end, text in sorted(edits, key=lambda e: e[0], reverse=True):
            out = out[:start] + text + out[end:]
        return out
