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


def call_kw(
    func: ast.expr, args: Iterable[ast.expr], kwargs: Iterable[tuple[str, ast.expr]]
) -> ast.expr:
    """`call` for keyword names that are not Python identifiers-safe as `**kwargs` keys."""
    return ast.Call(
        func=func, args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs]
    )


def method(obj: ast.expr, meth: str, *args: ast.expr, **kwargs: ast.expr) -> ast.expr:
    return call(attr(obj, meth), *args, **kwargs)


def ibis_call(func: str, *args: ast.expr, **kwargs: ast.expr) -> ast.expr:
    return call(attr(name("ibis"), func), *args, **kwargs)


_BINOPS: Mapping[str, ast.operator] = {
    "+": ast.Add(),
    "-": ast.Sub(),
    "*": ast.Mult(),
    "/": ast.Div(),
    "//": ast.FloorDiv(),
    "%": ast.Mod(),
    "**": ast.Pow(),
    "&": ast.BitAnd(),
    "|": ast.BitOr(),
    "^": ast.BitXor(),
}
_CMPOPS: Mapping[str, ast.cmpop] = {
    "==": ast.Eq(),
    "!=": ast.NotEq(),
    "<": ast.Lt(),
    "<=": ast.LtE(),
    ">": ast.Gt(),
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


_BaseUnparser: type | None = getattr(ast, "_Unparser", None)

if _BaseUnparser is not None:

    class _Unparser(_BaseUnparser):  # type: ignore[misc,valid-type]
        """`ast.unparse` writing strings in double quotes, as formatters do."""

        def visit_Constant(self, node: ast.Constant) -> None:
            if isinstance(node.value, str):
                self.write(_double_quoted(node.value))
            else:
                super().visit_Constant(node)


#: unparse results by node identity, only while a finished program is laid out (`fmt` asks
#: for the same subtrees again at every level); off otherwise, as node ids get reused
_UNPARSED: dict[int, str] | None = None


def unparse(node: ast.AST) -> str:
    cache = _UNPARSED
    if cache is not None and id(node) in cache:
        return cache[id(node)]
    node = ast.fix_missing_locations(node)
    # a Python without the private unparser gets single quotes
    text: str = ast.unparse(node) if _BaseUnparser is None else _Unparser().visit(node)
    if cache is not None:
        cache[id(node)] = text
    return text


def _layout(statements: list[tuple[str, ast.expr]]) -> list[str]:
    """`var = value` lines for finished statements (nothing mutates them meanwhile)."""
    global _UNPARSED
    _UNPARSED = {}
    try:
        return [f"{var} = {fmt(value, len(var) + 3)}" for var, value in statements]
    finally:
        _UNPARSED = None


_PRECEDENCE: dict[type, int] = {
    ast.BitOr: 7,
    ast.BitXor: 8,
    ast.BitAnd: 9,
    ast.LShift: 10,
    ast.RShift: 10,
    ast.Add: 11,
    ast.Sub: 11,
    ast.Mult: 12,
    ast.Div: 12,
    ast.FloorDiv: 12,
    ast.Mod: 12,
    ast.MatMult: 12,
    ast.Pow: 14,
}
_SYMBOLS: dict[type, str] = {
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.Pow: "**",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}


def precedence(node: ast.expr) -> int:
    """Python's binding strength of `node`'s outermost operator (atoms bind tightest)."""
    if isinstance(node, ast.BinOp):
        return _PRECEDENCE[type(node.op)]
    if isinstance(node, ast.Compare):
        return 6
    if isinstance(node, ast.UnaryOp):
        return 5 if isinstance(node.op, ast.Not) else 13
    if isinstance(node, (ast.BoolOp, ast.IfExp, ast.Lambda, ast.NamedExpr)):
        return 1
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0:
        return 13
    return 16


def _chain(node: ast.expr) -> tuple[ast.expr, list[tuple[str, ast.Call | None]]]:
    """Split `base.m1(...).m2(...).attr` into the base and its links. `ibis.f(...)` and
    `_` stay whole as bases."""
    links: list[tuple[str, ast.Call | None]] = []
    cur = node
    while True:
        if (
            isinstance(cur, ast.Call)
            and isinstance(cur.func, ast.Attribute)
            and not is_name(cur.func.value, "ibis")
        ):
            links.append((cur.func.attr, cur))
            cur = cur.func.value
        elif isinstance(cur, ast.Attribute) and not is_name(cur.value, "ibis"):
            links.append((cur.attr, None))
            cur = cur.value
        else:
            break
    links.reverse()
    return cur, links


def _args_nodes(call_node: ast.Call) -> list[tuple[str, ast.expr]]:
    out: list[tuple[str, ast.expr]] = [("", a) for a in call_node.args]
    out += [(f"{kw.arg}=" if kw.arg else "**", kw.value) for kw in call_node.keywords]
    return out


def _last_width(text: str, col: int) -> int:
    """The column where `text` ends when it starts at `col`."""
    if "\n" in text:
        return len(text.rsplit("\n", 1)[1])
    return col + len(text)


def _fmt_call(prefix: str, call_node: ast.Call, col: int, level: int) -> str:
    """`prefix(` + arguments + `)`: on one line if it fits, else one argument a line."""
    args = _args_nodes(call_node)
    one = f"({', '.join(label + unparse(v) for label, v in args)})"
    if _last_width(prefix, col) + len(one) <= WIDTH:
        return prefix + one
    pad = INDENT * (level + 1)
    lines = [f"{prefix}("]
    for label, value in args:
        lines.append(f"{pad}{label}{fmt(value, len(pad) + len(label), level + 1)},")
    lines.append(INDENT * level + ")")
    return "\n".join(lines)


def _fmt_base(base: ast.expr, col: int, level: int, force: bool = False) -> str:
    if isinstance(base, ast.Call):
        return _fmt_call(unparse(base.func), base, col, level)
    text = fmt(base, col + 1, level, force=force and _operands(base) is not None)
    if precedence(base) < 16 and not _grouped(text):
        text = f"({text})"
    return text


def _grouped(text: str) -> bool:
    """Whether `text` is one of our own multi-line parenthesized groups."""
    return text.startswith("(\n") and text.endswith(")")


def _operands(node: ast.expr) -> tuple[list[ast.expr], list[str]] | None:
    """A left-deep run of one precedence level: operands and the operators between them."""
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return [node.left, node.comparators[0]], [_SYMBOLS[type(node.ops[0])]]
    if not isinstance(node, ast.BinOp):
        return None
    level = precedence(node)
    operands: list[ast.expr] = []
    symbols: list[str] = []
    cur: ast.expr = node
    while isinstance(cur, ast.BinOp) and precedence(cur) == level:
        operands.append(cur.right)
        symbols.append(_SYMBOLS[type(cur.op)])
        cur = cur.left
    operands.append(cur)
    operands.reverse()
    symbols.reverse()
    return operands, symbols


def fmt(node: ast.expr, col: int = 0, level: int = 0, force: bool = False) -> str:
    """The expression's source starting at column `col` of a line indented `level` times,
    broken over lines when it does not fit in `WIDTH` (or when `force`d to)."""
    one = unparse(node)
    if col + len(one) <= WIDTH and not force:
        return one
    pad = INDENT * level
    inner = INDENT * (level + 1)
    base, links = _chain(node)
    calls = sum(1 for _, c in links if c is not None)
    if calls >= 2:
        head = _fmt_base(base, len(inner), level + 1)
        if isinstance(base, ast.Name) and links[0][1] is not None:
            # `t.filter(...)` reads better on one line than `t` alone
            meth, first_call = links.pop(0)
            assert first_call is not None
            head = _fmt_call(f"{head}.{meth}", first_call, len(inner), level + 1)
        lines = ["(", inner + head]
        for meth, call_node in links:
            if call_node is None:
                lines[-1] += f".{meth}"
            else:
                lines.append(inner + _fmt_call(f".{meth}", call_node, len(inner), level + 1))
        lines.append(pad + ")")
        return "\n".join(lines)
    if links:
        text = _fmt_base(base, col, level, force=col + len(unparse(base)) + 2 < WIDTH)
        for meth, call_node in links:
            if call_node is None:
                text += f".{meth}"
            else:
                text = _fmt_call(f"{text}.{meth}", call_node, col, level)
        return text
    if isinstance(node, ast.Call):
        return _fmt_call(unparse(node.func), node, col, level)
    if isinstance(node, ast.Dict):
        items = [
            f"{inner}{unparse(k) if k is not None else '**'}: {fmt(v, len(inner) + 8, level + 1)},"
            for k, v in zip(node.keys, node.values, strict=True)
        ]
        return "\n".join(["{", *items, pad + "}"])
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        symbol = {ast.Invert: "~", ast.USub: "-", ast.UAdd: "+"}[type(node.op)]
        text = fmt(node.operand, col + 1, level)
        if precedence(node.operand) < 13 and not _grouped(text):
            text = f"({text})"
        return symbol + text
    split = _operands(node)
    if split is not None:
        operands, symbols = split
        strength = precedence(node)
        lines = ["("]
        for i, part in enumerate(operands):
            lead = "" if i == 0 else f"{symbols[i - 1]} "
            text = fmt(part, len(inner) + len(lead) + 1, level + 1)
            weaker = precedence(part) < strength or (i > 0 and precedence(part) == strength)
            if weaker and not _grouped(text):
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
        """A variable holding `value`; the existing one when the same value is bound already
        (equal ibis expressions are the same expression, so sharing the name is honest)."""
        if _shareable(value):
            key = ast.dump(value)
            for var, existing in self.statements:
                if ast.dump(existing) == key:
                    return name(var)
        var = self.fresh(hint)
        self.statements.append((var, value))
        return name(var)

    def render(self, final: ast.expr, target: str = "expr") -> str:
        statements = _share([*self.statements, (target, final)])
        body = _layout(statements)
        text = "\n".join(body)
        header = ["import ibis"]
        if _uses_underscore(statements):
            header.append("from ibis import _")
        return "\n".join(header) + "\n\n" + text + "\n"


def _shareable(value: ast.expr) -> bool:
    """`.view()` makes a new table instance on purpose: never merge those."""
    return not any(
        isinstance(n, ast.Attribute) and n.attr == "view" for n in ast.walk(value)
    ) and not isinstance(value, ast.Name)


class _Share(ast.NodeTransformer):
    def __init__(self, known: dict[str, str]) -> None:
        self.known = known

    def generic_visit(self, node: ast.AST) -> ast.AST:
        # relations are method calls: only those can equal an earlier binding
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            var = self.known.get(ast.dump(node))
            if var is not None:
                return name(var)
        return super().generic_visit(node)


def _share(statements: list[tuple[str, ast.expr]]) -> list[tuple[str, ast.expr]]:
    """Refer to an earlier variable wherever its value appears again."""
    known: dict[str, str] = {}
    out = []
    for var, value in statements:
        value = _Share(known).visit(value) if known else value
        out.append((var, value))
        if _shareable(value):
            known[ast.dump(value)] = var
    return out


def _uses_underscore(statements: list[tuple[str, ast.expr]]) -> bool:
    nodes = [value for _, value in statements]
    return any(isinstance(n, ast.Name) and n.id == "_" for root in nodes for n in ast.walk(root))


def fmt_statement(target: str, source: str) -> str:
    """`target = source` laid out like the rest of the program (`source` is Python code)."""
    value = ast.parse(source, mode="eval").body
    return _layout([(target, value)])[0]
