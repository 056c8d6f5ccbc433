"""Dynamic fix rules: keyed on the error ibis actually raised, they edit the code's AST
spans to remove the cause.

Each rule is a row of `RULES`: a name, a regex over the failure message
("ErrorType: text", as both the in-process build and the validator report it), the reason
shown to the user, and a fixer returning edits. The first rule whose regex matches and
whose fixer finds something to change wins the round.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import ibis.expr.types as ir

from ibert_core.types import Schema
from ibert_tasks_sql.editing import frame_rules as frames
from ibert_tasks_sql.editing import habit_rules as habits
from ibert_tasks_sql.editing import members
from ibert_tasks_sql.editing import operator_rules as ops
from ibert_tasks_sql.editing import silent_rules as silent
from ibert_tasks_sql.editing.ast_helpers import calls, value_of
from ibert_tasks_sql.editing.edits import Edit, Source, operand


@attrs.frozen
class FixContext:
    """The failing code, its error message, and the names it had bound when it failed."""

    code: str
    message: str
    schema: Schema | None
    names: Mapping[str, Any]
    source: Source
    tree: ast.Module
    match: re.Match[str] | None = None

    @classmethod
    def make(cls, code: str, message: str, schema: Schema | None,
             names: Mapping[str, Any]) -> FixContext:
        return cls(code, message, schema, names, Source(code), ast.parse(code))


Fixer = Callable[[FixContext], list[Edit]]


@attrs.frozen
class Rule:
    name: str
    pattern: re.Pattern[str]
    reason: str
    fix: Fixer


# --- helpers --------------------------------------------------------------------------------


def _tables(ctx: FixContext) -> dict[str, ir.Table]:
    return {k: v for k, v in ctx.names.items() if isinstance(v, ir.Table) and k != "__last__"}


def _all_columns(ctx: FixContext) -> list[str]:
    seen: dict[str, None] = {}
    for table in _tables(ctx).values():
        for name in table.columns:
            seen[name] = None
    return list(seen)


def _receiver_columns(ctx: FixContext, attr: str) -> list[str]:
    """Columns of the tables `.attr` is read from, when the receivers are plain table
    names (`orders.pric` → orders' columns); else every known column."""
    tables = _tables(ctx)
    owners = {n.value.id for n in _attributes(ctx, attr) if isinstance(n.value, ast.Name)}
    if owners and owners <= set(tables):
        return [c for o in sorted(owners) for c in tables[o].columns]
    return _all_columns(ctx)


def _closest(name: str, choices: Sequence[str]) -> str | None:
    choices = [c for c in choices if c != name]
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    near = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return near[0] if near else None


def _attr_edit(src: Source, node: ast.Attribute, new_attr: str) -> Edit:
    """Replace only the attribute name of `node` (keeps the receiver's text untouched)."""
    _, end = src.span(node)
    return Edit(end - len(node.attr.encode()), end, new_attr)


def _attributes(ctx: FixContext, attr: str) -> list[ast.Attribute]:
    return [n for n in ast.walk(ctx.tree) if isinstance(n, ast.Attribute) and n.attr == attr]


def _rename_attr(ctx: FixContext, old: str, new: str) -> list[Edit]:
    return [_attr_edit(ctx.source, n, new) for n in _attributes(ctx, old)]


# --- the rules ------------------------------------------------------------------------------


def fix_bool_ops(ctx: FixContext) -> list[Edit]:
    src = ctx.source

    def render(node: ast.AST) -> str:
        if isinstance(node, ast.BoolOp):
            op = " & " if isinstance(node.op, ast.And) else " | "
            return op.join(_wrap(v) for v in node.values)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return "~" + _wrap(node.operand)
        return src.text(node)

    def _wrap(node: ast.AST) -> str:
        if isinstance(node, (ast.BoolOp,)) or (
                isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)):
            return f"({render(node)})"
        return operand(src, node)

    def is_logical(node: ast.AST) -> bool:
        return isinstance(node, ast.BoolOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))

    edits = []
    nested: set[int] = set()
    for node in ast.walk(ctx.tree):
        if is_logical(node) and id(node) not in nested:
            for child in ast.walk(node):
                if child is not node and is_logical(child):
                    nested.add(id(child))
            edits.append(src.replace(node, render(node)))
    return edits


def fix_unknown_name(ctx: FixContext) -> list[Edit]:
    assert ctx.match is not None
    name = ctx.match.group(1)
    choices = [k for k in ctx.names if not k.startswith("__")]
    near = habits.ibis_name(name) or _closest(name, choices)
    if near is None:
        return []
    return [ctx.source.replace(n, near) for n in ast.walk(ctx.tree)
            if isinstance(n, ast.Name) and n.id == name]


#: Names from pandas or older Ibis versions and what Ibis 12 calls them.
RENAMES: dict[str, str] = {
    "groupby": "group_by", "sort_values": "order_by", "sort_by": "order_by",
    "isna": "isnull", "notna": "notnull", "astype": "cast", "drop_duplicates": "distinct",
    "merge": "join", "where": "ifelse", "nunique_approx": "approx_nunique",
    "sort": "order_by", "orderby": "order_by", "aggregate_by": "agg", "distinct_count":
    "nunique", "projection": "select", "fillna": "fill_null", "dropna": "drop_null",
    "to_string": "cast", "startwith": "startswith", "endwith": "endswith",
    "in_": "isin", "notin_": "notin", "alias": "name", "count_distinct": "nunique",
    "date_trunc": "truncate", "as_": "name",
}

#: Table methods of pandas and SQL (checked before ibis's own "did you mean" guess).
TABLE_RENAMES: dict[str, str] = {"where": "filter", "assign": "mutate",
                                 "with_columns": "mutate", "with_column": "mutate"}

#: pandas names with no Ibis counterpart of the same shape: when their fixer (in
#: ATTRIBUTE_FIXES) cannot rewrite the call, no near name (`shift` → `std`) means the same.
NO_NEAR_NAME = frozenset({"shift", "diff", "pct_change", "replace"})

_AGG_METHODS = ("mean", "sum", "max", "min", "median", "std", "var", "first", "last", "nunique")


def fix_missing_attribute(ctx: FixContext) -> list[Edit]:
    """`X has no attribute 'm'`: pandas and old-Ibis names, `.apply`, `.loc`, `.str`,
    aggregates on a grouped table, string methods on non-strings, else closest name."""
    assert ctx.match is not None
    owner = next(g for g in (ctx.match.group("owner1"), ctx.match.group("owner2"),
                             ctx.match.group("owner3")) if g)
    attr = next(g for g in (ctx.match.group("attr1"), ctx.match.group("attr2"),
                            ctx.match.group("attr3")) if g)
    owner = owner.strip("'")
    special = ATTRIBUTE_FIXES.get(attr)
    if special is not None:
        edits = special(ctx, owner)
        if edits:
            return edits
    if attr in NO_NEAR_NAME:
        return []
    if owner == "GroupedTable" and attr in _AGG_METHODS:
        return _grouped_reduction(ctx, attr)
    if owner == "Table" and attr in TABLE_RENAMES:
        return _rename_attr(ctx, attr, TABLE_RENAMES[attr])
    cls = getattr(ir, owner, None)
    if not (isinstance(cls, type) and issubclass(cls, ir.Value)):
        cls = None if owner != "Table" else cls
    elif _member_elsewhere(cls, attr) and not hasattr(ir.StringValue, attr):
        return []  # e.g. `mean` of a string column: no rename can give it that meaning
    suggestion = re.search(r"did you mean '(\w+)'", ctx.message)
    if suggestion and _fits(ctx, cls, attr, suggestion.group(1)):
        return _rename_attr(ctx, attr, suggestion.group(1))
    if attr in RENAMES:
        return _rename_attr(ctx, attr, RENAMES[attr])
    if cls is not None and issubclass(cls, ir.Value) and not issubclass(cls, ir.StringValue) \
            and hasattr(ir.StringValue, attr):
        return [Edit(ctx.source.span(n.value)[1], ctx.source.span(n.value)[1], '.cast("string")')
                for n in _attributes(ctx, attr)]
    if cls is not None and issubclass(cls, ir.StringValue) and hasattr(ir.TimestampValue, attr):
        return [Edit(ctx.source.span(n.value)[1], ctx.source.span(n.value)[1],
                     '.cast("timestamp")') for n in _attributes(ctx, attr)]
    # Called → a misspelled method; read → a misspelled column.
    called = _is_called(ctx, attr)
    near = None
    if owner == "Table" and not called:
        near = _closest(attr, _receiver_columns(ctx, attr))
    elif cls is not None and called:
        near = _closest(attr, [m.name for m in members.type_members(cls)
                               if _fits(ctx, cls, attr, m.name)])
    elif owner == "ibis":
        near = _closest(attr, [m.name for m in members.module_members(__import__("ibis"))])
    return _rename_attr(ctx, attr, near) if near else []


def _fits(ctx: FixContext, cls: type | None, attr: str, name: str) -> bool:
    """Whether `name` can replace `attr` as used: a called `attr` needs a method (not a
    property such as `Table.columns`, which `with_columns(...)` once became)."""
    if cls is None or not _is_called(ctx, attr):
        return True
    return callable(getattr(cls, name, None))


#: Every kind of Ibis value expression (scalars and columns of each type).
_VALUE_TYPES = tuple(c for c in vars(ir).values()
                     if isinstance(c, type) and issubclass(c, ir.Value))


def _member_elsewhere(cls: type, attr: str) -> bool:
    """Whether `attr` is a real method of another kind of Ibis value (so a misspelling it is
    not: `country.mean()` means a wrong column, not a typo for `median`)."""
    return any(hasattr(t, attr) for t in _VALUE_TYPES
               if not issubclass(cls, t) and not issubclass(t, cls))


def _is_called(ctx: FixContext, attr: str) -> bool:
    return bool(calls(ctx, attr))


def _grouped_reduction(ctx: FixContext, reduction: str) -> list[Edit]:
    """`t.group_by(k).mean()` (pandas) → an explicit `agg` over the numeric columns."""
    edits = []
    for call in calls(ctx, reduction):
        func = call.func
        assert isinstance(func, ast.Attribute)
        receiver = func.value
        if not (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute)
                and receiver.func.attr == "group_by"):
            continue
        table = value_of(ctx, receiver.func.value)
        if not isinstance(table, ir.Table):
            continue
        keys = {a.value for a in receiver.args if isinstance(a, ast.Constant)}
        cols = [n for n, t in table.schema().items() if t.is_numeric() and n not in keys]
        if not cols:
            continue
        args = ", ".join(f"{c}=_.{c}.{reduction}()" for c in cols)
        edits.append(Edit(ctx.source.span(receiver)[1], ctx.source.span(call)[1], f".agg({args})"))
    return edits


def _fix_apply(ctx: FixContext, owner: str) -> list[Edit]:
    """`col.apply(lambda x: x * 2)` → `(col * 2)`: inline the lambda on the column."""
    edits = []
    for call in calls(ctx, "apply", "map"):
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Lambda):
            continue
        lam = call.args[0]
        if len(lam.args.args) != 1:
            continue
        param = lam.args.args[0].arg
        assert isinstance(call.func, ast.Attribute)
        receiver = operand(ctx.source, call.func.value)
        body_src = Source(ctx.source.text(lam.body))
        body_tree = ast.parse(body_src.code.strip(), mode="eval")
        inner = [Edit(*body_src.span(n), receiver) for n in ast.walk(body_tree)
                 if isinstance(n, ast.Name) and n.id == param]
        from ibert_tasks_sql.editing.edits import apply_edits

        body, _ = apply_edits(body_src.code.strip(), inner)
        edits.append(ctx.source.replace(call, f"({body})"))
    return edits


def _fix_str_accessor(ctx: FixContext, owner: str) -> list[Edit]:
    return [Edit(ctx.source.span(n.value)[1], ctx.source.span(n)[1], "")
            for n in _attributes(ctx, "str")]


def _fix_ibis_case(ctx: FixContext, owner: str) -> list[Edit]:
    """`ibis.case().when(c, r)....else_(e).end()` → `ibis.cases((c, r), ..., else_=e)`."""
    if owner != "ibis":
        return []
    edits = []
    for node in ast.walk(ctx.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "end" and not node.args):
            continue
        whens, default, cur = [], None, node.func.value
        while isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute):
            if cur.func.attr == "when" and len(cur.args) == 2:
                whens.append(cur.args)
            elif cur.func.attr == "else_" and len(cur.args) == 1:
                default = cur.args[0]
            elif cur.func.attr == "case":
                break
            else:
                whens = []
                break
            cur = cur.func.value
        if not whens or not (isinstance(cur, ast.Call) and isinstance(cur.func, ast.Attribute)
                             and isinstance(cur.func.value, ast.Name)
                             and cur.func.value.id == "ibis"):
            continue
        parts = [f"({ctx.source.text(c)}, {ctx.source.text(r)})" for c, r in reversed(whens)]
        if default is not None:
            parts.append(f"else_={ctx.source.text(default)}")
        edits.append(ctx.source.replace(node, f"ibis.cases({', '.join(parts)})"))
    return edits


ATTRIBUTE_FIXES: dict[str, Callable[[FixContext, str], list[Edit]]] = {
    "apply": _fix_apply,
    "map": _fix_apply,
    "loc": habits.fix_loc_columns,
    "iloc": habits.fix_iloc,
    "str": _fix_str_accessor,
    "case": _fix_ibis_case,
    "relabel": habits.fix_rename_mapping,
    "reset_index": habits.fix_reset_index,
    "dt": habits.fix_dt_accessor,
    "unique": habits.fix_unique,
    "agg": habits.fix_column_agg,
    "offset": habits.fix_offset,
    "concat": habits.fix_ibis_concat,
    "query": habits.fix_query,
    **dict.fromkeys(ops.OPERATOR_METHODS, ops.fix_operator_method),
    "match": ops.fix_str_match,
    "fullmatch": ops.fix_str_match,
    "nlargest": habits.fix_nlargest,
    "nsmallest": habits.fix_nlargest,
    "count": habits.fix_ibis_reduction,
    "sum": habits.fix_ibis_reduction,
    "mean": habits.fix_ibis_reduction,
    "avg": habits.fix_ibis_reduction,
    "max": habits.fix_ibis_reduction,
    "min": habits.fix_ibis_reduction,
    "desc": frames.fix_list_sort_key,
    "asc": frames.fix_list_sort_key,
    "replace": frames.fix_replace_mapping,
    "shift": frames.fix_row_offset,
    "diff": frames.fix_row_offset,
}


def fix_sql_text(ctx: FixContext) -> list[Edit]:
    """A string of SQL passed where ibis takes columns (`filter("a > 1")`): translated."""
    from ibert_tasks_sql.editing.sql_text import fix_sql_text as translate_sql_text

    assert ctx.match is not None
    text = ctx.match.group(1) or ctx.match.group(2)
    if re.fullmatch(r"\w+", text):
        return []  # a misspelt column: the column-not-found rule's business
    return translate_sql_text(ctx, text)


def fix_column_not_found(ctx: FixContext) -> list[Edit]:
    assert ctx.match is not None
    name = ctx.match.group(1)
    existing = re.findall(r"'([^']+)'", ctx.match.group(2))
    edits = fix_agg_dict(ctx) or habits.fix_sql_strings(ctx, name, existing)
    if edits:
        return edits
    if not re.fullmatch(r"\w+", name):
        return []  # SQL text such as 'count(*)': no column name is close to what was meant
    near = _closest(name, existing or _all_columns(ctx))
    if near is None:
        return []
    out = [ctx.source.replace(n, _requote(ctx.source.text(n), near)) for n in ast.walk(ctx.tree)
           if isinstance(n, ast.Constant) and n.value == name]
    out += _rename_attr(ctx, name, near)
    return out


def _requote(literal: str, value: str) -> str:
    """`value` as a string literal in the quote style of `literal`."""
    quote = literal[-1] if literal[-1:] in ("'", '"') else '"'
    return f"{quote}{value}{quote}"


def fix_agg_dict(ctx: FixContext) -> list[Edit]:
    """pandas `agg({"a": "sum"})` → `agg(a=_.a.sum())`."""
    edits = []
    for call in calls(ctx, "agg", "aggregate"):
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Dict):
            continue
        parts = []
        for k, v in zip(call.args[0].keys, call.args[0].values, strict=True):
            if not (isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                    and isinstance(k.value, str) and isinstance(v.value, str)):
                return []
            func = {"size": "count"}.get(v.value, v.value)
            parts.append(f"{k.value}=_.{k.value}.{func}()")
        assert isinstance(call.func, ast.Attribute)
        start = ctx.source.span(call.func.value)[1]
        text = f".{call.func.attr}({', '.join(parts)})"
        edits.append(Edit(start, ctx.source.span(call)[1], text))
    return edits


def fix_quoted_number(ctx: FixContext) -> list[Edit]:
    assert ctx.match is not None
    literal = ctx.match.group(1)
    try:
        float(literal)
    except ValueError:
        return []
    return [ctx.source.replace(n, literal) for n in ast.walk(ctx.tree)
            if isinstance(n, ast.Constant) and n.value == literal]


def fix_len(ctx: FixContext) -> list[Edit]:
    return [ctx.source.replace(n, f"{operand(ctx.source, n.args[0])}.count()")
            for n in ast.walk(ctx.tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "len"
            and len(n.args) == 1]


_RELATION_METHODS = ("filter", "select", "mutate", "order_by", "agg", "aggregate", "group_by",
                     "having", "distinct", "drop")


def fix_relation_changed(ctx: FixContext) -> list[Edit]:
    """A column of a table from before a join/aggregation used after it → `_.column`."""
    tables = _tables(ctx)
    edits = []
    for call in calls(ctx, *_RELATION_METHODS):
        assert isinstance(call.func, ast.Attribute)
        receiver = call.func.value
        receiver_name = receiver.id if isinstance(receiver, ast.Name) else None
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            for node in ast.walk(arg):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id in tables and node.value.id != receiver_name
                        and node.attr in tables[node.value.id].columns):
                    edits.append(ctx.source.replace(node.value, "_"))
    return edits


def fix_new_column_on_old_table(ctx: FixContext) -> list[Edit]:
    """`t.group_by(k).agg(total=...).filter(t.total > 1)`: `total` exists only on the new
    relation, so `t.total` → `_.total`."""
    assert ctx.match is not None
    attr = next((g for g in (ctx.match.group("attr1"), ctx.match.group("attr3")) if g), None)
    tables = _tables(ctx)
    defined = {k.arg for n in ast.walk(ctx.tree) if isinstance(n, ast.Call)
               for k in n.keywords if k.arg}
    if attr is None or attr not in defined:
        return []
    return [ctx.source.replace(n.value, "_") for n in _attributes(ctx, attr)
            if isinstance(n.value, ast.Name) and n.value.id in tables
            and attr not in tables[n.value.id].columns]


def fix_grouped_filter(ctx: FixContext) -> list[Edit]:
    """`t.group_by(k).filter(agg > x)` → `.having(...)`: grouped tables filter with having."""
    edits = []
    for call in calls(ctx, "filter"):
        assert isinstance(call.func, ast.Attribute)
        recv = call.func.value
        if (isinstance(recv, ast.Call) and isinstance(recv.func, ast.Attribute)
                and recv.func.attr == "group_by"):
            edits.append(_attr_edit(ctx.source, call.func, "having"))
    return edits


def fix_duplicate_names(ctx: FixContext) -> list[Edit]:
    """Unnamed expressions in `agg`/`select`/`mutate` whose default names clash → keywords."""
    edits = []
    used: set[str] = set()
    for call in calls(ctx, "agg", "aggregate", "select", "mutate"):
        for arg in call.args:
            if isinstance(arg, (ast.Constant, ast.Name, ast.Starred)):
                continue
            name = _name_for(arg, used)
            edits.append(Edit(ctx.source.span(arg)[0], ctx.source.span(arg)[0], f"{name}="))
    return edits


def _name_for(node: ast.AST, used: set[str]) -> str:
    parts = []
    cur = node
    while isinstance(cur, (ast.Call, ast.Attribute)):
        if isinstance(cur, ast.Call):
            cur = cur.func
        else:
            parts.append(cur.attr)
            cur = cur.value
    base = "_".join(reversed(parts[:2])) or "value"
    name, i = base, 1
    while name in used:
        i += 1
        name = f"{base}_{i}"
    used.add(name)
    return name


PRIVATE_ATTRIBUTE = re.compile(r"attribute access \.(_[A-Za-z0-9]\w*)")
#: The allow-list refuses `x * "2"` before it runs (string repetition); a quoted number.
SEQUENCE_REPEAT = re.compile(r"repeating a sequence with \*")


def fix_private_attribute(ctx: FixContext) -> list[Edit]:
    """`t._price` (a typo that the evaluation allow-list refuses) → the closest column."""
    assert ctx.match is not None
    attr = ctx.match.group(1)
    near = _closest(attr, _receiver_columns(ctx, attr))
    return _rename_attr(ctx, attr, near) if near else []


_ATTRIBUTE_ERROR = re.compile(
    r"AttributeError: (?:(?P<owner1>'?\w+'?) object has no attribute '(?P<attr1>\w+)'"
    r"|module '(?P<owner2>ibis)' has no attribute '(?P<attr2>\w+)'"
    r"|(?P<owner3>GroupedTable) has no attribute '?(?P<attr3>\w+)'?)"
)

RULES: tuple[Rule, ...] = (
    Rule("private-attribute", PRIVATE_ATTRIBUTE,
         "a column name misspelled with a leading underscore; replaced with the closest column",
         fix_private_attribute),
    Rule("python-bool-ops", re.compile(r"truth value of an Ibis expression"),
         "Python `and`/`or`/`not` call bool() on expressions; Ibis combines predicates with "
         "`&`, `|` and `~`", fix_bool_ops),
    Rule("python-in", re.compile(r"truth value of an Ibis expression"),
         "Python's `in` asks the expression for a bool; Ibis tests membership with `.isin()`",
         habits.fix_python_in),
    Rule("operator-precedence", re.compile(r"truth value of an Ibis expression"),
         "`&` and `|` bind tighter than comparisons in Python: each comparison needs "
         "parentheses", habits.fix_chained_comparison),
    Rule("sql-null", re.compile(r"NameError: name 'NULL' is not defined"),
         "SQL's NULL is Python's None (tested with `.isnull()`/`.notnull()`)", ops.fix_null_name),
    Rule("polars-expression", re.compile(r"NameError: name 'pl' is not defined"),
         "polars `pl.col(\"x\")` is `_.x` in Ibis (`pl.lit` → `ibis.literal`, `pl.len()` → "
         "`_.count()`)", frames.fix_polars),
    Rule("unknown-name", re.compile(r"NameError: name '(\w+)' is not defined"),
         "the name is not a table or variable; replaced with the closest one", fix_unknown_name),
    Rule("pandas-len", re.compile(r"Use \.count\(\) instead"),
         "`len()` would execute the table; `.count()` counts rows lazily", fix_len),
    Rule("grouped-filter", re.compile(r"'GroupedArray' object is not callable|GroupedTable has no "
                                      r"attribute '?filter"),
         "a grouped table is filtered on aggregates with `having`", fix_grouped_filter),
    Rule("relation-changed", _ATTRIBUTE_ERROR,
         "the column was made by a later step (agg/mutate); the table from before that step "
         "does not have it, `_` refers to the current relation", fix_new_column_on_old_table),
    Rule("missing-attribute", _ATTRIBUTE_ERROR,
         "the member does not exist on this type of expression in this Ibis version",
         fix_missing_attribute),
    Rule("column-not-found",
         re.compile(r"Column '([^']+)' is not found in table\.(?: Existing columns: (.*))?"),
         "no such column; replaced with the closest existing column name",
         fix_column_not_found),
    Rule("sql-text", re.compile(r"""Column (?:'([^']+)'|"([^"]+)") is not found in table"""),
         "the string is SQL, not a column name; the SQL was translated into Ibis",
         fix_sql_text),
    Rule("quoted-number", re.compile(r"Literal\(([^)]*)\):string.*not comparable"),
         "a numeric column was compared with a quoted number; compare with a number",
         fix_quoted_number),
    Rule("relation-changed", re.compile(r"IntegrityError: Cannot add .* they belong to another "
                                        r"relation"),
         "a column of the table from before the join/aggregation was used after the relation "
         "changed; `_` refers to the current relation", fix_relation_changed),
    Rule("duplicate-names", re.compile(r"Duplicate column name '([^']+)'"),
         "unnamed expressions got the same default name; each now has a keyword name",
         fix_duplicate_names),
    Rule("agg-dict", re.compile(r"Aggregate\(|Column '(sum|mean|count|max|min|nunique)' is not"),
         "pandas-style `agg({column: function})`; Ibis takes named expressions",
         fix_agg_dict),
    Rule("rename-mapping", re.compile(r"unhashable type: 'dict'|descriptor '\w+' for 'str' "
                                      r"objects doesn't apply to a 'Table'"),
         "pandas `rename(columns={old: new})` maps old to new; Ibis `rename(new=\"old\")` "
         "maps new to old", habits.fix_rename_mapping),
    Rule("keyword-argument", re.compile(r"got an unexpected keyword argument|positional-only "
                                        r"arguments passed as keyword"),
         "Ibis spells this argument differently (or takes it by position)", habits.fix_keyword),
    Rule("keyword-argument", re.compile(r"got an unexpected keyword argument"),
         "Ibis spells this argument differently", frames.fix_frame_keyword),
    Rule("replace-mapping", re.compile(r"replace\(\) missing 1 required positional argument"),
         "pandas `replace({old: new})` maps whole values; Ibis spells it `substitute`",
         frames.fix_replace_mapping),
    Rule("strftime-number", re.compile(r"Arguments Strftime\(.*\):string and Literal\(-?\d+\)"
                                       r":\w+ are not comparable"),
         "`strftime` gives text, compared here with a number; the date part as a number is "
         "`.year()`/`.month()`/...", frames.fix_strftime_number),
    Rule("isin-list", re.compile(r"isin\(\) takes 2 positional arguments"),
         "`isin` takes one list of values", habits.fix_isin_varargs),
    Rule("between-bounds", re.compile(r"between\(\) missing 1 required positional argument"),
         "`between` takes the bounds as two arguments, not a list", habits.fix_between_list),
    Rule("python-builtin", re.compile(r"Column' object is not iterable"),
         "Python's `sum`/`max`/`min` iterate; an Ibis column reduces with `.sum()` etc.",
         habits.fix_python_builtin),
    Rule("operator-precedence", re.compile(r"unsupported operand type\(s\) for [&|]"),
         "`&` and `|` bind tighter than comparisons in Python: each comparison needs "
         "parentheses", habits.fix_chained_comparison),
    Rule("pandas-groupby-keywords", re.compile(r"PandasHabit: group_by\(\) got the pandas"),
         "pandas `groupby` keywords (`as_index`, `sort`, ...) would be constant group keys in "
         "Ibis; they are dropped", silent.fix_groupby_keywords),
    Rule("pandas-named-agg", re.compile(r"PandasHabit: a \(column, function\) tuple"),
         "pandas named aggregation `n=(col, fn)` is `n=_.col.fn()` in Ibis",
         silent.fix_named_agg),
    Rule("table-count-column", re.compile(r"Table\.count\(\) takes 1 positional argument"),
         "`t.count()` counts rows; the non-null values of a column are `t.col.count()`",
         ops.fix_table_count_column),
    Rule("grouped-column", re.compile(r"GroupedTable|Column '\w' is not found"),
         "a grouped table is reduced with `agg`: `group_by(k)[c].sum()` → "
         "`group_by(k).agg(c=_.c.sum())`", ops.fix_grouped_column),
    Rule("isin-list", re.compile(r"InValues\("), "`isin`/`notin` take a list of values",
         ops.fix_scalar_options),
    Rule("join-kind", re.compile(r"JoinLink\(|argument `how`"),
         "Ibis names join kinds `inner`, `left`, `right`, `outer`, `semi`, `anti`, `cross`",
         ops.fix_join_kind),
    Rule("bool-string", re.compile(r":boolean and Literal\((true|false|True|False)\):string"),
         "a boolean compared with the text 'true'/'false'; compare with True/False",
         ops.fix_bool_string),
    Rule("date-plus-days", re.compile(r"unsupported operand type\(s\) for [+-]: 'Date\w*' "
                                      r"and 'int'"),
         "SQL adds a number of days to a date; Ibis adds an interval", ops.fix_date_plus_days),
    Rule("date-plus-days", re.compile(r"__(sub|add|rsub|radd)__\b"),
         "SQL adds a number of days to a date; Ibis adds an interval", ops.fix_date_plus_days),
    Rule("uncalled-method", re.compile(r"takes 1 positional argument but 2 were given|"
                                       r"compare failed|UncalledMethod:|and 'method'|"
                                       r"'method' and"),
         "a method was used without calling it (`col.year` is a method, `col.year()` the "
         "value)", habits.fix_uncalled_method),
    Rule("year-string", re.compile(r"Conversion Error: invalid date field format: \"?\d{4}\b"),
         "a date was compared with a year in a string; compare the date's year with a number",
         habits.fix_year_string),
    Rule("numeric-date", re.compile(r"Arguments \S+:(date|timestamp) and Literal\(\d{8}\):\w+ "
                                    r"are not comparable"),
         "a date was compared with a YYYYMMDD number; compare it with a date literal",
         habits.fix_numeric_date),
    Rule("limit-offset", re.compile(r"limit\(\) takes 2 positional arguments but 3"),
         "the offset of `limit` is a keyword argument", habits.fix_limit_offset),
    Rule("quoted-number", re.compile(r"unsupported operand type\(s\) for [-+*/%]: "
                                     r"'\w+' and 'str'|unsupported operand type\(s\) for "
                                     r"[-+*/%]: 'str' and|can't multiply sequence by non-int|"
                                     + SEQUENCE_REPEAT.pattern),
         "arithmetic with a quoted number; use the number", habits.fix_quoted_operand),
    Rule("string-concat", re.compile(r"StringConcat\("),
         "a string plus a number: the number is cast to a string first", habits.fix_string_concat),
    Rule("temporal-string", re.compile(r"__(sub|add|rsub|radd)__\b"),
         "date arithmetic needs a typed literal: `ibis.date(\"...\")`", habits.fix_temporal_string),
)


def dynamic_fix(ctx: FixContext) -> tuple[Rule, list[Edit]] | None:
    """The first rule that matches the message and finds something to change."""
    for rule in RULES:
        m = rule.pattern.search(ctx.message)
        if not m:
            continue
        edits = rule.fix(attrs.evolve(ctx, match=m))
        if edits:
            return rule, edits
    return None


#: When no rule can fix an error safely: what the user should do instead (regex → text,
#: `{0}`, `{1}` ... are the regex groups).
ADVICE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"'(String|Date|Timestamp|Boolean)\w*' object has no attribute "
                r"'(sum|mean|avg|median|std|var|cumsum)'"),
     "`{1}` needs a numeric column and this is a {0} column: aggregate a numeric column, "
     "or `.cast(\"float64\")` it first if its text holds numbers"),
    (re.compile(r"'(\w+)' object has no attribute 'replace'"),
     "pandas `replace(old, new)` swaps whole values: `col.substitute({{old: new}})` "
     "({0} has no `replace`; a string's `replace(a, b)` swaps substrings)"),
    (re.compile(r"has no attribute 'pct_change'"),
     "write the change as `t.x / t.x.lag().over(ibis.window(order_by=\"k\")) - 1` with `k` "
     "the column that orders the rows (pandas forward-fills missing values first and gives "
     "inf after a 0: fill or filter them if that matters)"),
    (re.compile(r"has no attribute '(shift|diff)'"),
     "`{0}` needs the rows in an order, and Ibis rows have none: order the table and use a "
     "window, `t.order_by(\"k\").mutate(prev=t.x.lag().over(ibis.window(order_by=\"k\")))` "
     "with `k` the column that orders the rows"),
    (re.compile(r"Arguments Strftime\(\w+, '([^']*)'\):string and Literal\((-?\d+)\)"),
     "`strftime('{0}')` gives text: compare it with text in that format (\"{1}\" only if it "
     "has the same zero-padding), or compare a date part, `col.year() == 2024`"),
    (re.compile(r"rank\(\) got an unexpected keyword argument 'method'"),
     "Ibis ranks from 0 with ties at the lowest rank: pandas `method=\"min\"` is "
     "`col.rank() + 1`, `\"dense\"` is `col.dense_rank() + 1`, `\"first\"` is "
     "`ibis.row_number().over(order_by=col) + 1`; `\"average\"` has no Ibis counterpart"),
    (re.compile(r"has no attribute 'query'"),
     "Ibis has no query strings: write the condition as an expression, "
     "`t.filter((t.a == 1) & (t.b > 2))`"),
    (re.compile(r"Column '([^']*[^\w'][^']*)' is not found"),
     "Ibis takes column names or expressions, not SQL text: `_.count()` for COUNT(*), "
     "`ibis.desc(\"col\")` for `col DESC`, `t.a + t.b` for arithmetic"),
    (re.compile(r"Arguments \S+:(date|timestamp) and Literal\((-?\d+)\):\w+ are not comparable"),
     "compare a {0} with a {0} literal, `ibis.{0}(\"2024-01-01\")`, or one of its parts with "
     "a number, `col.year() == 2024`"),
    (re.compile(r"Arguments \S+:(\w+) and Literal\(([^)]*)\):(\w+) are not comparable"),
     "a {0} column was compared with a {2} literal ({1}): use a literal of the column's type "
     "or `.cast(...)` one side"),
)


def advice(ctx: FixContext) -> str | None:
    """What to do about an error no rule fixes, when we know."""
    for pattern, text in ADVICE:
        m = pattern.search(ctx.message)
        if m:
            return text.format(*m.groups())
    return None
