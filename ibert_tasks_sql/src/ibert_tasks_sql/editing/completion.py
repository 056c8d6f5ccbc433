"""The code-completion engine: learn what the expression before the cursor is, list what is
valid there, rank it by usage, and check the multi-token ones by building them.

No model is involved: the type comes from evaluating the prefix over unbound tables (after
the `restricted` AST check), the members from ibis's own API, the ranking from `usage`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from collections.abc import Mapping
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir
from ibis.common.deferred import Deferred

from ibert_core.errors import IbertError
from ibert_core.types import Schema
from ibert_tasks_sql.editing import building, members, ranking, snippets
from ibert_tasks_sql.editing.cursor import Site, analyze, cursor_offset, scan_code
from ibert_tasks_sql.editing.usage import COLUMN, ROOT, Usage, context_of

_WORD_HEAD = re.compile(r"[A-Za-z0-9_]*")

#: Methods of a relation whose arguments are usually column names as strings.
STRING_ARGUMENTS = frozenset(
    {"group_by", "select", "order_by", "drop", "distinct", "relocate", "join", "left_join",
     "inner_join", "outer_join", "semi_join", "anti_join", "unnest", "fill_null", "drop_null"}
)


@attrs.frozen
class Completion:
    """One proposal: `text` replaces the partial word; `snippet` is the checked full form."""

    text: str
    kind: str
    snippet: str
    score: float
    signature: str = ""
    doc: str = ""
    checked: bool | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class CompletionResult:
    """The ranked completions, what the receiver was, and the code with the best one applied."""

    completions: tuple[Completion, ...]
    site: Site
    receiver_type: str
    code: str  # the whole code with the first checked completion applied
    prefix: str
    suffix: str
    note: str = ""

    def completed(self, completion: Completion) -> str:
        return complete_code(self.prefix, self.site, completion, self.suffix)


def complete_code(prefix: str, site: Site, completion: Completion, suffix: str) -> str:
    """The code with `completion` inserted at the cursor; when nothing follows the cursor,
    still-open brackets are closed so the result is a whole expression."""
    head = prefix[: len(prefix) - len(site.partial)] if site.partial else prefix
    if site.kind == "string":
        head = prefix[: len(prefix) - len(site.partial)]
    text = head + completion.snippet
    if suffix.strip():
        return text + suffix
    return text + closers(text)


def closers(text: str) -> str:
    scan = scan_code(text)
    if scan.open_string is not None:
        return ""
    pairs = {"(": ")", "[": "]", "{": "}"}
    return "".join(pairs[text[pos]] for pos in reversed(scan.stack))


@functools.lru_cache(maxsize=128)
def bind_statements(before: str, schema: Schema | None) -> Mapping[str, Any]:
    """Names bound by the complete statements before the cursor's statement; a statement
    that fails to build is skipped (the user may be mid-edit above too)."""
    names = building.base_namespace(schema)
    if not before.strip():
        return names
    try:
        tree = ast.parse(before)
    except SyntaxError:
        return names
    for stmt in tree.body:
        code = ast.get_source_segment(before, stmt) or ""
        out = building.build(code, schema, compile_sql=False, extra_names=names)
        if out.names:
            names = {k: v for k, v in out.names.items() if k != "__last__"}
    return names


def _evaluate(text: str, names: Mapping[str, Any]) -> Any:
    """A receiver's value. Parenthesized, so a chain written one step per line inside
    brackets (`(orders\n  .filter(...)\n  .`) evaluates as Python reads it."""
    return building.evaluate(f"({text.strip()}\n)", names)


def _context_table(site: Site, names: Mapping[str, Any]) -> Any:
    """The relation a `_` in the current call refers to: the receiver of the innermost
    enclosing method call that is a table (or grouped table)."""
    for bracket in reversed(site.open):
        if bracket.char != "(" or "." not in bracket.callee:
            continue
        receiver = bracket.callee.rsplit(".", 1)[0]
        try:
            value = _evaluate(receiver, names)
        except Exception:  # noqa: BLE001 - an unevaluable receiver just gives no context
            continue
        if isinstance(value, Deferred):
            continue
        if isinstance(value, ir.Table):
            return value
        if type(value).__name__ == "GroupedTable":
            return members.grouped_table(value)
    tables = [v for v in names.values() if isinstance(v, ir.Table)]
    return tables[0] if len(tables) == 1 else None


def _receiver_value(site: Site, names: Mapping[str, Any]) -> Any:
    value = _evaluate(site.receiver, names)
    if isinstance(value, Deferred):
        table = _context_table(site, names)
        if table is not None:
            try:
                return value.resolve(table)
            except Exception:
                if site.receiver.strip() == "_":
                    return table
                raise
    return value


def _context_label(receiver: str, value: Any) -> str:
    if type(value).__name__ == "GroupedTable":
        return "group_by"  # however it was reached (a variable, a chain), it is grouped
    if isinstance(value, ir.Column) or (isinstance(value, ir.Value) and not isinstance(
            value, ir.Scalar)):
        return COLUMN
    try:
        node = ast.parse(receiver.strip(), mode="eval").body
    except SyntaxError:
        return "<name>"
    if isinstance(node, ast.Name) and node.id == "_" and isinstance(value, ir.Table):
        return "_"
    return context_of(node, members.api_names())


def _matches(name: str, partial: str) -> bool:
    return not partial or name.lower().startswith(partial.lower())


def _member_completions(site: Site, names: Mapping[str, Any], usage: Usage) -> tuple[
        list[Completion], Any]:
    value = _receiver_value(site, names)
    label = _context_label(site.receiver, value)
    if label == "<name>" and _starts_statement(site):
        label = ROOT
    enclosing = _enclosing_call(site)
    found = [m for m in members.members_of(value) if _matches(m.name, site.partial)]
    at = ranking.where(site)
    table = _table_of(value)
    columns = [m for m in found if m.kind == "column"]
    schema = table.schema() if table is not None and columns else {}
    made = ranking.made_columns(table, ranking.base_columns(names)) if table is not None else ()
    weights = ranking.column_weights([(m.name, schema[m.name]) for m in columns], at, made,
                                     _partner_columns(at, names, table))
    column_weight = {m.name: w / (sum(weights) or 1.0) for m, w in zip(columns, weights,
                                                                        strict=True)}
    specific = members.specific_members(type(value)) if isinstance(value, ir.Value) else ()
    # A relation after a step: mix the counts with the pipeline prior (SQL clause order).
    pipeline = table is not None and label in ranking.PIPELINE
    keep = 1 - ranking.PIPELINE_WEIGHT if pipeline else 1.0
    taken = ranking.steps_taken(site.receiver) if pipeline else frozenset()
    column_name = site.receiver.rsplit(".", 1)[-1] if isinstance(value, ir.Column) else ""
    compared = _compared(at, names) if value is ibis else None
    out: list[Completion] = []
    for m in found:
        if m.kind == "column":
            score = usage.score(label, COLUMN, enclosing) * column_weight[m.name] * keep
            # Schema order breaks ties, earlier columns first.
            score *= 1 - 1e-6 * len(out)
        else:
            score = usage.score(label, m.name, enclosing) * keep
            if pipeline:
                score += ranking.PIPELINE_WEIGHT * ranking.pipeline_prior(label, m.name)
                score *= ranking.step_weight(m.name, taken)
            if m.name in specific:
                # Defined for this dtype (`upper` on strings, `year` on dates): the counts
                # do not know the receiver's dtype, the type does.
                score *= SPECIFIC_BOOST
            if table is not None:
                score *= ranking.table_weight(m.name, at, column_weight)
            elif compared is not None:
                score *= ranking.literal_weight(m.name, compared)
            else:
                score = ranking.method_score(score, m.name, value, at, column_name)
        out.append(Completion(m.name, m.kind, m.name, score, m.signature, m.doc or m.dtype))
    if table is None and at.keyword:
        top = max((c.score for c in out), default=0.0)
        out = [attrs.evolve(c, score=c.score + top * rank) if (
            rank := ranking.alias_rank(c.text, at)) else c for c in out]
    return out, value


def _compared(at: ranking.Where, names: Mapping[str, Any]) -> Any:
    """The value on the left of the comparison the cursor is on the right of, if any."""
    if not at.compared:
        return None
    try:
        return _evaluate(at.compared, names)
    except Exception:  # noqa: BLE001 - an unevaluable left side just gives no hint
        return None


def _partner_columns(at: ranking.Where, names: Mapping[str, Any], table: Any) -> list[str]:
    """Columns of the other tables a join call names (`nation` in `c.join(nation, c.`)."""
    if at.role != "join":
        return []
    named = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", at.args))
    return [c for k, v in names.items() if k in named and isinstance(v, ir.Table)
            and v is not table for c in v.columns]


def _table_of(value: Any) -> ir.Table | None:
    """The relation whose columns follow `value.` (a grouped table's underlying one)."""
    if isinstance(value, ir.Table):
        return value
    if type(value).__name__ == "GroupedTable":
        return members.grouped_table(value)
    return None


#: How much a member defined for the receiver's own dtype outweighs generic ones.
SPECIFIC_BOOST = 4.0


def _starts_statement(site: Site) -> bool:
    """Whether the receiver is the first name of the statement's expression (`expr = t.`)."""
    head = site.statement[: len(site.statement) - len(site.partial)].rstrip()
    head = head[: len(head) - 1 - len(site.receiver)] if head.endswith(".") else head
    head = re.sub(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)", "", head)
    return not head.strip(" \t\n(")


def _enclosing_call(site: Site) -> str | None:
    """The method or function whose arguments the cursor is in (`order_by` in
    `t.order_by(ibis.`)."""
    for bracket in reversed(site.open):
        if bracket.char == "(" and bracket.callee:
            return bracket.callee.rsplit(".", 1)[-1]
        if bracket.char == "(":
            continue
    return None


def _used_keywords(statement: str, site: Site) -> set[str]:
    if not site.open:
        return set()
    args = statement[site.open[-1].pos + 1 :]
    return set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", args))


def _argument_completions(site: Site, names: Mapping[str, Any], usage: Usage) -> tuple[
        list[Completion], Any]:
    callee = _evaluate(site.receiver, names) if site.receiver else None
    out: list[Completion] = []
    owner = None
    if site.receiver and "." in site.receiver:
        try:
            owner = _evaluate(site.receiver.rsplit(".", 1)[0], names)
        except Exception:  # noqa: BLE001
            owner = None
    method = site.receiver.rsplit(".", 1)[-1] if site.receiver else ""
    args = site.statement[site.open[-1].pos + 1 :] if site.open else ""
    has_args = bool(args.strip()) and not args.rstrip().endswith((",", "("))
    sep = ", " if has_args and not site.partial else ""
    if has_args and not site.partial:
        out.append(Completion(")", "close", ")", 1.0, "", f"close the call to {method}"))
    if callee is not None and callable(callee):
        used = _used_keywords(site.statement, site)
        try:
            params = list(inspect.signature(callee).parameters.values())
        except (TypeError, ValueError):
            params = []
        for i, p in enumerate(params):
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY) or p.name in used:
                continue
            if not _matches(p.name, site.partial):
                continue
            default = "" if p.default is p.empty else f" (default {p.default!r})"
            out.append(Completion(f"{sep}{p.name}=", "keyword", f"{sep}{p.name}=", 0.2 / (i + 1),
                                  members.signature_of(callee, method), f"argument{default}"))
    cols = snippets.columns_for(owner) if owner is not None else ()
    if not cols and isinstance(owner, ir.Value):
        cols = snippets.columns_for(_context_table(site, names))
    as_string = method in STRING_ARGUMENTS
    weights = _column_plausibility(site, cols, names)
    for i, (name, dtype) in enumerate(cols):
        text = sep + (f'"{name}"' if as_string else f"_.{name}")
        if _matches(name, site.partial) or _matches(text.lstrip(", "), site.partial):
            score = 0.5 * weights[i] / (1 + 0.1 * i) * (0.5 if has_args else 1)
            out.append(Completion(text, "column", text, score, "", f"column of type {dtype}"))
    if not out and not site.partial:
        out.append(Completion(")", "close", ")", 0.1, "", f"close the call to {method}"))
    return out, callee


def _getitem_completions(site: Site, names: Mapping[str, Any], usage: Usage) -> tuple[
        list[Completion], Any]:
    value = _evaluate(site.receiver, names)
    out = []
    for i, (name, dtype) in enumerate(snippets.columns_for(value)):
        if _matches(name, site.partial.strip("\"'")):
            out.append(Completion(f'"{name}"]', "column", f'"{name}"]', 1.0 / (i + 1), "",
                                  f"column of type {dtype}"))
    return out, value


def _string_completions(site: Site, names: Mapping[str, Any], usage: Usage) -> tuple[
        list[Completion], Any]:
    value = None
    if site.open:
        bracket = site.open[-1]
        target = bracket.callee if bracket.char == "[" else bracket.callee.rsplit(".", 1)[0]
        try:
            value = _evaluate(target, names) if target else None
        except Exception:  # noqa: BLE001
            value = None
        if value is not None and not snippets.columns_for(value):
            value = _context_table(site, names)
    out = []
    cols = snippets.columns_for(value) if value is not None else ()
    weights = _column_plausibility(site, cols, names)
    for i, (name, dtype) in enumerate(cols):
        if _matches(name, site.partial):
            out.append(Completion(name + site.quote, "column", name + site.quote,
                                  weights[i] / (1 + 0.1 * i), "", f"column of type {dtype}"))
    return out, value


def _column_plausibility(site: Site, cols: snippets.Columns,
                         names: Mapping[str, Any]) -> list[float]:
    """`ranking.column_weights` for columns named inside a call (`group_by(` → a string
    column, `filter(` → not a key), scaled to at most 1."""
    if not cols:
        return []
    typed = [(name, _dtype(dtype)) for name, dtype in cols]
    weights = ranking.column_weights(typed, ranking.where(site), ())
    top = max(weights) or 1.0
    return [w / top for w in weights]


def _dtype(text: str) -> Any:
    try:
        return ibis.dtype(text)
    except Exception:  # noqa: BLE001 - an unparsable dtype just gives no hint
        return None


def _name_completions(site: Site, names: Mapping[str, Any], usage: Usage) -> tuple[
        list[Completion], Any]:
    out = []
    for name, value in names.items():
        if name.startswith("__") or not _matches(name, site.partial) or name == "selectors":
            continue
        if isinstance(value, ir.Table):
            kind, score = "table", 0.5
        elif name in ("ibis", "_", "s"):
            kind, score = "name", 0.3 if name != "s" else 0.05
        else:
            kind, score = "variable", 0.4
        out.append(Completion(name, kind, name, score, "", members.value_kind(value)))
    return out, None


DISPATCH = {
    "member": _member_completions,
    "argument": _argument_completions,
    "getitem": _getitem_completions,
    "string": _string_completions,
    "name": _name_completions,
}


def check(code: str, schema: Schema | None) -> building.Outcome:
    return building.build(code, schema, compile_sql=False)


def complete(
    code: str,
    schema: Schema | None,
    usage: Usage,
    cursor: str | None = None,
    n: int = 5,
    verify: bool = True,
) -> CompletionResult:
    """Ranked completions at the cursor (the end of `code` by default)."""
    offset = cursor_offset(code, cursor)
    prefix, suffix = code[:offset], code[offset:]
    site = analyze(prefix)
    if site.kind != "string":
        # The rest of the word under the cursor is replaced, as editors do (`x.gr|oup_by`).
        suffix = suffix[len(_WORD_HEAD.match(suffix).group(0)):]  # type: ignore[union-attr]
    names = bind_statements(site.before, schema)
    try:
        found, value = DISPATCH[site.kind](site, names, usage)
    except IbertError:
        raise
    except Exception as err:  # noqa: BLE001 - the prefix itself does not build
        return CompletionResult((), site, "", code, prefix, suffix,
                                f"the code before the cursor does not build: "
                                f"{building.message_of(err)}")
    found.sort(key=lambda c: -c.score)
    context = snippets.columns_for(_context_table(site, names)) if site.open else ()
    top = [_with_snippet(c, value, names, context) for c in found[:n]]
    chosen = code
    if verify:
        top, chosen = _check(top, prefix, site, suffix, schema, code)
    return CompletionResult(tuple(top), site, members.value_kind(value) if value is not None
                            else "", chosen, prefix, suffix)


def _with_snippet(c: Completion, value: Any, names: Mapping[str, Any],
                  context: snippets.Columns) -> Completion:
    if c.kind not in ("method", "function") or value is None:
        return c
    return attrs.evolve(c, snippet=snippets.snippet(value, c.text, c.kind, names, context))


def is_multi_token(c: Completion) -> bool:
    """A completion that inserts more than a name (a call with arguments, a closing
    bracket after arguments): these are the ones that can be wrong, so each is built."""
    inner = c.snippet[len(c.text):] if c.snippet.startswith(c.text) else c.snippet
    return bool(inner) and inner not in ("()", "(", "=", "]", '"', "'")


def _check(top: list[Completion], prefix: str, site: Site, suffix: str,
           schema: Schema | None, code: str) -> tuple[list[Completion], str]:
    """Build every multi-token completion, and others in rank order until one builds (the
    answer shown); completions left unbuilt keep `checked=None`."""
    out, chosen = [], None
    for c in top:
        if chosen is None or is_multi_token(c):
            c = _checked(c, prefix, site, suffix, schema)
            if chosen is None and c.checked:
                chosen = complete_code(prefix, site, c, suffix)
        out.append(c)
    return out, chosen if chosen is not None else code


def _checked(c: Completion, prefix: str, site: Site, suffix: str,
             schema: Schema | None) -> Completion:
    code = complete_code(prefix, site, c, suffix)
    out = check(code, schema)
    return attrs.evolve(c, checked=out.ok, message="" if out.ok else out.message)

