"""Python code as `ast` nodes, and a small layout engine that prints them the way a person would.

The translator builds `ast.expr` trees instead of strings so that parenthesization is always
right (`ast.unparse` knows operator precedence); this module only decides where lines break:
method chains one call a line, long calls one argument a line, long `&`/`|` chains one operand
a line. Everything else stays on one line.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

WIDTH = 100
INDENT = "    "


# --- builders --------------------------------------------------------------------------------


def name(ident: str) -> ast.expr:
    return ast.Name(id=ident, ctx=ast.Load())


def lit(value: Any) -> ast.expr:
    """A Python literal: None, bool, int, float, str, or a list/tuple of those."""
    if isinstance(value, (list, tuple)):
        elts = [lit(v) for v in value]
        if isinstance(value, list):
            return ast.List(elts=elts, ctx=ast.Load())
        return ast.Tuple(elts=elts, ctx=ast.Load())
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def attr(obj: ast.expr, field: str) -> ast.expr:
    return ast.Attribute(value=obj, attr=field, ctx=ast.Load())


def call(func: ast.expr, *args: ast.expr, **kwargs: ast.expr) -> ast.expr:
    return ast.Call(
        func=func,
        args=list(args),
        keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()],
    )


def call_kw(func: ast.expr, args: Iterable[ast.expr], kwargs: Iterable[tuple[str, ast.expr]]) -> ast.expr:
    """`call` for keyword names that are not Python identifiers-safe as `**kwargs` keys."""
    return ast.Call(
        func=func, args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs]
    )


def method(obj: ast.expr, meth: str, *args: ast.expr, **kwargs: ast.expr) -> ast.expr:
    return call(attr(obj, meth), *args, **kwargs)


def ibis_call(func: str, *args: ast.expr, **kwargs: ast.expr) -> ast.expr:
    return call(attr(name("ibis"), func), *args, **kwargs)


_BINOPS: Mapping[str, ast.operator] = {
    "+": ast.Add(), "-": ast.Sub(), "*": ast.Mult(), "/": ast.Div(), "//": ast.FloorDiv(),
    "%": ast.Mod(), "**": ast.Pow(), "&": ast.BitAnd(), "|": ast.BitOr(), "^": ast.BitXor(),
}
_CMPOPS: Mapping[str, ast.cmpop] = {
    "==": ast.Eq(), "!=": ast.NotEq(), "<": ast.Lt(), "<=": ast.LtE(), ">": ast.Gt(),
    ">=": ast.GtE(),
}


def binop(left: ast.expr, op: str, right: ast.expr) -> ast.expr:
    if op in _CMPOPS:
        return ast.Compare(left=left, ops=[_CMPOPS[op]], comparators=[right])
    return ast.BinOp(left=left, op=_BINOPS[op], right=right)


def invert(operand: ast.expr) -> ast.expr:
    return ast.UnaryOp(op=ast.Invert(), operand=operand)


def neg(operand: ast.expr) -> ast.expr:
    return ast.UnaryOp(op=ast.USub(), operand=operand)


def is_identifier(text: str) -> bool:
    return text.isidentifier() and not keyword.iskeyword(text)


def column(obj: ast.expr, col: str, reserved: frozenset[str] = frozenset()) -> ast.expr:
    """`obj.col`, or `obj["col"]` when the name is not an identifier or is a Table method."""
    if is_identifier(col) and not col.startswith("_") and col not in reserved:
        return attr(obj, col)
    return ast.Subscript(value=obj, slice=ast.Constant(col), ctx=ast.Load())


def is_name(node: ast.expr, ident: str | None = None) -> bool:
    return isinstance(node, ast.Name) and (ident is None or node.id == ident)


# --- layout ------------------------------------------------------------------------------------


def _double_quoted(text: str) -> str:
    r = repr(text)
    if r.startswith('"'):
        return r
    inner = r[1:-1].replace("\\'", "'").replace('"', '\\"')
    return f'"{inner}"'


class _Unparser(ast._Unparser):  # type: ignore[name-defined,misc]
    """`ast.unparse` writing strings in double quotes, as formatters do."""

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and not getattr(self, "_in_fstring", False):
            self.write(_double_quoted(node.value))
        else:
            super().visit_Constant(node)


def unparse(node: ast.AST) -> str:
    return _Unparser().visit(ast.fix_missing_locations(node))


def _chain(node: ast.expr) -> tuple[ast.expr, list[tuple[str, ast.Call | None]]] | None:
    """Split `base.m1(...).m2(...)` into the base and its links; None when not a chain."""
    links: list[tuple[str, ast.Call | None]] = []
    cur = node
    while True:
        if isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
            links.append((cur.func.attr, cur))
            cur = cur.func.value
        elif isinstance(cur, ast.Attribute) and links:
            links.append((cur.attr, None))
            cur = cur.value
        else:
            break
    calls = sum(1 for _, c in links if c is not None)
    if calls < 2:
        return None
    links.reverse()
    return cur, links


def _args_nodes(call_node: ast.Call) -> list[tuple[str, ast.expr]]:
    out: list[tuple[str, ast.expr]] = [("", a) for a in call_node.args]
    out += [(f"{kw.arg}=" if kw.arg else "**", kw.value) for kw in call_node.keywords]
    return out


def _fmt_call(prefix: str, call_node: ast.Call, col: int, level: int) -> str:
    """`prefix(` + arguments + `)`: on one line if it fits, else one argument a line."""
    args = _args_nodes(call_node)
    one = f"{prefix}({', '.join(label + unparse(v) for label, v in args)})"
    if col + len(one) <= WIDTH:
        return one
    pad = INDENT * (level + 1)
    lines = [f"{prefix}("]
    for label, value in args:
        lines.append(f"{pad}{label}{fmt(value, len(pad) + len(label), level + 1)},")
    lines.append(INDENT * level + ")")
    return "\n".join(lines)


_BOOL_OPS = (ast.BitOr, ast.BitAnd)


def _flatten(node: ast.expr, op_type: type) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, op_type):
        return _flatten(node.left, op_type) + [node.right]
    return [node]


def fmt(node: ast.expr, col: int = 0, level: int = 0) -> str:
    """The expression's source starting at column `col` of a line indented `level` times,
    broken over lines when it does not fit in `WIDTH`."""
    one = unparse(node)
    if col + len(one) <= WIDTH:
        return one
    pad = INDENT * level
    inner = INDENT * (level + 1)
    chain = _chain(node)
    if chain is not None:
        base, links = chain
        head = fmt(base, len(inner), level + 1)
        if isinstance(base, ast.Name) and links[0][1] is not None:
            # `t.filter(...)` reads better on one line than `t` alone
            meth, call_node = links.pop(0)
            head += _fmt_call(f".{meth}", call_node, len(inner) + len(head), level + 1)
        lines = ["(", inner + head]
        for meth, call_node in links:
            if call_node is None:
                lines.append(f"{inner}.{meth}")
            else:
                lines.append(inner + _fmt_call(f".{meth}", call_node, len(inner), level + 1))
        lines.append(pad + ")")
        return "\n".join(lines)
    if isinstance(node, ast.Call):
        return _fmt_call(unparse(node.func), node, col, level)
    if isinstance(node, ast.BinOp) and isinstance(node.op, _BOOL_OPS):
        symbol = "|" if isinstance(node.op, ast.BitOr) else "&"
        parts = _flatten(node, type(node.op))
        lines = ["("]
        for i, part in enumerate(parts):
            lead = "" if i == 0 else f"{symbol} "
            text = fmt(part, len(inner) + len(lead) + 1, level + 1)
            # operands of & and | bind looser than comparisons: keep them parenthesized
            if isinstance(part, (ast.Compare, ast.BinOp)) and not text.startswith("("):
                text = f"({text})"
            lines.append(f"{inner}{lead}{text}")
        lines.append(pad + ")")
        return "\n".join(lines)
    return one


# --- programs ------------------------------------------------------------------------------------


@attrs.define
class Program:
    """Statements `name = expression` in order; the last one assigns `expr`."""

    reserved: set[str] = attrs.field(factory=set)
    statements: list[tuple[str, ast.expr]] = attrs.field(factory=list)
    imports_underscore: bool = False

    def fresh(self, hint: str) -> str:
        """A variable name based on `hint` that shadows nothing in scope."""
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in hint.lower()) or "t"
        if base[0].isdigit():
            base = f"t_{base}"
        if keyword.iskeyword(base) or base in {"ibis", "_", "expr", "datetime"}:
            base = f"{base}_"
        candidate, n = base, 2
        while candidate in self.reserved:
            candidate = f"{base}_{n}"
            n += 1
        self.reserved.add(candidate)
        return candidate

    def bind(self, value: ast.expr, hint: str) -> ast.expr:
        var = self.fresh(hint)
        self.statements.append((var, value))
        return name(var)

    def render(self, final: ast.expr, target: str = "expr") -> str:
        body = [f"{var} = {fmt(value, len(var) + 3)}" for var, value in self.statements]
        body.append(f"{target} = {fmt(final, len(target) + 3)}")
        text = "\n".join(body)
        header = ["import ibis"]
        if _uses_underscore(self.statements, final):
            header.append("from ibis import _")
        return "\n".join(header) + "\n\n" + text + "\n"


def _uses_underscore(statements: list[tuple[str, ast.expr]], final: ast.expr) -> bool:
    nodes = [value for _, value in statements] + [final]
    return any(
        isinstance(n, ast.Name) and n.id == "_" for root in nodes for n in ast.walk(root)
    )
