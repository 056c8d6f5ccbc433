"""Put docstrings into source text at AST positions, leaving every other byte alone."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Mapping

from ibert_core.errors import UnsupportedConstruct
from ibert_tasks_docs.documentation.analysis import functions
from ibert_tasks_docs.documentation.render import as_literal


def docstring_node(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Expr | None:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def insert_docstrings(source: str, docstrings: Mapping[str, str]) -> str:
    """`source` with `docstrings` ({qualname: text}) set on those functions.

    An existing docstring is replaced in place; a missing one goes before the first
    statement of the body, at its indentation. Edits are applied bottom-up so earlier
    positions stay valid.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))

    def pos(line: int, col: int) -> int:
        # ast columns are UTF-8 byte offsets
        text = lines[line - 1].encode("utf-8")[:col].decode("utf-8", errors="replace")
        return offsets[line - 1] + len(text)

    edits: list[tuple[int, int, str]] = []
    for qualname, node in functions(tree):
        if qualname not in docstrings:
            continue
        first = node.body[0]
        if lines[first.lineno - 1].encode("utf-8")[: first.col_offset].strip():
            raise UnsupportedConstruct(
                "a function body on the same line as its `def`", node.lineno, node.col_offset,
                f"put the body of {qualname} on its own lines first",
            )
        indent = lines[first.lineno - 1][: len(lines[first.lineno - 1]) -
                                          len(lines[first.lineno - 1].lstrip())]
        literal = as_literal(docstrings[qualname], indent)
        existing = docstring_node(node)
        if existing is not None:
            assert existing.end_lineno is not None and existing.end_col_offset is not None
            start = pos(existing.lineno, existing.col_offset)
            end = pos(existing.end_lineno, existing.end_col_offset)
            edits.append((start, end, literal))
        else:
            header = _header_end(source, node.lineno)
            at = offsets[header]
            newline = "\r\n" if lines[header - 1].endswith("\r\n") else "\n"
            edits.append((at, at, f"{indent}{literal}{newline}"))
    out = source
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return out



def _header_end(source: str, def_line: int) -> int:
    """The line holding the `:` that ends the `def` header starting at `def_line`, so the
    docstring goes right under the signature (above any comment that opens the body)."""
    lines = source.splitlines(keepends=True)[def_line - 1:]
    depth = 0
    for tok in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
        if tok.type == tokenize.OP:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
            elif tok.string == ":" and depth == 0:
                return def_line + tok.start[0] - 1
    return def_line
