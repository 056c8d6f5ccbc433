"""Small AST helpers every family of fixers uses (`fix_rules`, `habit_rules`, `frame_rules`,
`operator_rules`, `silent_rules`, `sql_text`): finding calls by method name, asking what a
piece of the code evaluates to, reading literals and keywords, and re-writing a call.

They live apart from any one rule module so that each module imports them by a public name
(a fixer module reaching into another's privates breaks when that module is tidied), and so
that all the rules agree on one meaning of "the value is unknown" (None: the fixer refuses).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from ibert_tasks_sql.editing.edits import Edit

if TYPE_CHECKING:
    from ibert_tasks_sql.editing.fix_rules import FixContext


def calls(ctx: FixContext, *methods: str) -> list[ast.Call]:
    """Every call `recv.m(...)` of one of `methods` in the code, in `ast.walk` order: ibis's
    errors name the method, so a fixer starts from the calls of that name."""
    return [n for n in ast.walk(ctx.tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and n.func.attr in methods]


def value_of(ctx: FixContext, node: ast.AST) -> Any:
    """What `node`'s text evaluates to over the program's bound names (a table, a column, a
    method...), or None when it does not evaluate: a fixer checks the kind of value it is
    about to rewrite, and treats None as "unknown", so it refuses rather than guesses."""
    from ibert_tasks_sql.editing.building import evaluate

    try:
        return evaluate(ctx.source.text(node), ctx.names)
    except Exception:  # noqa: BLE001 - any failure means "unknown"
        return None


def str_const(node: ast.AST | None) -> str | None:
    """The string a literal holds, else None: column names and SQL fragments arrive as string
    literals, and anything computed is not ours to rewrite."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    """The call's keyword argument `name=`, or None when it is not passed."""
    return next((k for k in call.keywords if k.arg == name), None)


def recall(ctx: FixContext, call: ast.Call, method: str, args: str) -> Edit:
    """Replace `recv.m(...)` from the method name on, keeping the receiver's text: the
    receiver may be a long chain the fix must not re-spell (its comments and layout stay)."""
    assert isinstance(call.func, ast.Attribute)
    start = ctx.source.span(call.func.value)[1]
    return Edit(start, ctx.source.span(call)[1], f".{method}({args})")
