"""Lay rewritten Ibis code out the way a person would: one method call a line.

`ast.unparse` prints a whole chain on one line; the corpus's targets should look like the
translator's own output, so long or multi-call chains are broken into a parenthesized
block, one `.method(...)` a line.
"""

from __future__ import annotations

import ast

WIDTH = 100


def _chain(node: ast.expr) -> list[ast.expr]:
    """`a.f(x).g(y)` → [a, .f(x), .g(y)] as (receiver, call, call) nodes."""
    links: list[ast.expr] = []
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        links.append(node)
        node = node.func.value
    links.append(node)
    return list(reversed(links))


def _link_text(call: ast.Call) -> str:
    assert isinstance(call.func, ast.Attribute)
    args = [ast.unparse(a) for a in call.args]
    args += [
        f"**{ast.unparse(k.value)}" if k.arg is None else f"{k.arg}={ast.unparse(k.value)}"
        for k in call.keywords
    ]
    return f".{call.func.attr}({', '.join(args)})"


def _assignment(stmt: ast.Assign) -> str:
    target = ", ".join(ast.unparse(t) for t in stmt.targets)
    flat = f"{target} = {ast.unparse(stmt.value)}"
    links = _chain(stmt.value)
    if len(links) < 3 and len(flat) <= WIDTH:
        return flat
    if len(links) < 3:
        return flat
    head = ast.unparse(links[0])
    lines = [f"{target} = (", f"    {head}{_link_text(links[1])}"]  # type: ignore[arg-type]
    lines += [f"    {_link_text(call)}" for call in links[2:]]  # type: ignore[arg-type]
    lines.append(")")
    return "\n".join(lines)


def layout(code: str) -> str:
    """The same code, method chains one call a line (statements otherwise unparsed)."""
    tree = ast.parse(code)
    out = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            out.append(_assignment(stmt))
        else:
            out.append(ast.unparse(stmt))
    return "\n".join(out) + "\n"
