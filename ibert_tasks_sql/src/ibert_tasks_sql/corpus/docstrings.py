"""Documentation examples: the verified expression wrapped in a function, and its docstring.

The docstring is written from what is known for certain: the SQL the code is proven equal
to (what it filters, groups, orders) and the columns the validator saw it return. It is then
checked: the documented function parses, its docstring documents exactly its parameters, and
the Returns section names exactly the result columns.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence

import sqlglot
from sqlglot import exp

AGG_WORDS = {"SUM": "total", "AVG": "average", "MIN": "minimum", "MAX": "maximum", "COUNT": "count"}


def _short(node: exp.Expression, limit: int = 70) -> str:
    text = node.sql(dialect="duckdb")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key(select: exp.Select, key: exp.Expression) -> str:
    """A GROUP BY key as a reader knows it (`GROUP BY 1` → the first output column)."""
    if isinstance(key, exp.Literal) and not key.is_string and key.this.isdigit():
        position = int(key.this) - 1
        if 0 <= position < len(select.expressions):
            return select.expressions[position].alias_or_name or _short(key, 30)
    return _short(key, 30)


def _describe_select(select: exp.Select) -> list[str]:
    """A first sentence (what is read, filtered, grouped) and sentences with the details."""
    base = select.args.get("from_") or select.args.get("from")
    source = base.this if base is not None else None
    main = source.name if isinstance(source, exp.Table) else "a subquery"
    if isinstance(source, exp.Table) and source.alias and source.alias != source.name:
        main = source.name
    joined = [j.this.name for j in select.args.get("joins") or [] if isinstance(j.this, exp.Table)]
    what = main + (" joined with " + ", ".join(joined) if joined else "")
    group = select.args.get("group")
    if group is not None:
        keys = ", ".join(_key(select, k) for k in group.expressions)
        head = f"Aggregates {what} by {keys}"
    elif any(
        isinstance(e, exp.AggFunc)
        for e in select.expressions
        for e in e.find_all(exp.AggFunc)
        if not e.find_ancestor(exp.Window, exp.Subquery)
    ):
        head = f"Aggregates {what} into one row"
    else:
        head = f"Selects from {what}"
    details = []
    where = select.args.get("where")
    if where is not None:
        condition = _short(where.this)
        if len(head) + len(condition) < 80:
            head += f" where {condition}"
        else:
            details.append(f"Keeps rows where {condition}.")
    having = select.args.get("having")
    if having is not None:
        details.append(f"Keeps groups where {_short(having.this)}.")
    if select.args.get("distinct") is not None:
        details.append("Removes duplicate rows.")
    if select.find(exp.Window) is not None:
        details.append("Computes window functions over partitions of the rows.")
    order = select.args.get("order")
    if order is not None:
        details.append("Orders by " + ", ".join(_short(o, 30) for o in order.expressions) + ".")
    limit = select.args.get("limit")
    if limit is not None:
        details.append(f"Returns at most {_short(limit.expression or limit.this, 10)} rows.")
    return [head + ".", *details]


def summary(sql: str) -> list[str]:
    """Sentences saying what the query does, from its AST."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    parts: list[str] = []
    if isinstance(tree, exp.SetOperation):
        kind = type(tree).__name__.lower()
        all_ = "" if tree.args.get("distinct") else " all"
        parts.append(f"Combines the rows of two queries with {kind}{all_}.")
    elif isinstance(tree, exp.Select):
        parts.extend(_describe_select(tree))
    with_ = tree.args.get("with_") or tree.args.get("with")
    if with_ is not None:
        names = [c.alias for c in with_.expressions]
        plural = "s" if len(names) > 1 else ""
        parts.append(f"Builds it from the intermediate result{plural} {', '.join(names)}.")
    if tree.find(exp.Subquery) is not None:
        parts.append("Uses a subquery.")
    return parts
    if isinstance(tree, exp.Select):
        parts.extend(_describe_select(tree))
    if tree.find(exp.Subquery) is not None:
        parts.append("Uses a subquery.")
    return parts


def function_name(origin: str, tables: Sequence[str]) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", f"{origin}_{'_'.join(tables[:2])}".lower())
    return re.sub(r"_+", "_", name).strip("_") or "query"


def docstring(
    sql: str, tables: Sequence[str], used: dict[str, list[str]], columns: Sequence[str]
) -> str:
    lines = summary(sql)
    head, rest = (lines[0], lines[1:]) if lines else ("Builds an ibis expression.", [])
    body = [head]
    if rest:
        body += ["", textwrap.fill(" ".join(rest), width=88)]
    body += ["", "Args:"]
    for t in tables:
        cols = ", ".join(used.get(t, [])) or "its rows"
        body.append(
            textwrap.fill(
                f"{t}: The {t} table (uses {cols}).",
                width=88,
                initial_indent="    ",
                subsequent_indent="        ",
            )
        )
    body += ["", "Returns:"]
    body.append(
        textwrap.fill(
            "A table expression with columns " + ", ".join(columns) + ".",
            width=88,
            initial_indent="    ",
            subsequent_indent="    ",
        )
    )
    return "\n".join(body)


def columns_used(code: str, tables: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Columns of each table the code names (as attributes or strings), in schema order."""
    tree = ast.parse(code)
    names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }
    return {t: [c for c in cols if c in names] for t, cols in tables.items()}


def wrap(code: str, name: str, params: Sequence[str], doc: str | None) -> str:
    """Module-level imports stay outside; the rest becomes the body, returning `expr`."""
    tree = ast.parse(code)
    lines = code.splitlines()
    imports, body_start = [], 0
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            imports.extend(lines[stmt.lineno - 1 : stmt.end_lineno])
            body_start = stmt.end_lineno or body_start
        else:
            break
    body = textwrap.indent("\n".join(lines[body_start:]).strip("\n"), "    ")
    out = [*imports, "", ""] if imports else []
    out.append(f"def {name}({', '.join(params)}):")
    if doc is not None:
        out.append(textwrap.indent(f'"""{doc}\n"""', "    "))
    out.append(body)
    out.append("    return expr")
    return "\n".join(out) + "\n"


def check(function_code: str, params: Sequence[str], columns: Sequence[str]) -> str | None:
    """None when the documented function is sound, else what is wrong."""
    try:
        tree = ast.parse(function_code)
    except SyntaxError as err:
        return f"does not parse: {err}"
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if len(funcs) != 1:
        return "expected exactly one function"
    func = funcs[0]
    doc = ast.get_docstring(func) or ""
    args = [a.arg for a in func.args.args]
    if args != list(params):
        return f"parameters {args} differ from {list(params)}"
    section = doc.split("Args:", 1)[-1].split("Returns:", 1)[0] if "Args:" in doc else ""
    documented = re.findall(r"^    (\w+):", section, flags=re.M)
    if documented != args:
        return f"docstring documents {documented}, function takes {args}"
    used = {n.id for n in ast.walk(func) if isinstance(n, ast.Name)}
    if any(p not in used for p in args):
        return "a parameter is never used"
    returns = " ".join(doc.split("Returns:", 1)[-1].split())
    if columns and not all(c in returns for c in columns):
        return "Returns does not name every result column"
    return None
