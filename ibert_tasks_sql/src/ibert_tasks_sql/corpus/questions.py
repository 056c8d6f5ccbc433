"""Questions for the qa task, grounded in the ibis API a verified pair calls.

The qa engine (ibert-tasks-docs) answers from the index of the installed ibis: the best
matching symbols with their signatures and an example that ran in the sandbox. Its answer
depends on the question alone, so what a pair contributes is *which* questions to ask: for
each ibis symbol its code calls, how to use it (by its class-qualified name and by the bare
method name), an example, what it returns, its parameters, how to do what it does in plain
words, how it differs from its near relatives, and how to apply it to the call before it.

Two things the engine does not promise are checked here instead:

- retrieval is lexical, so a bare method name can land on another symbol (`agg` is also
  the UDF decorator, `upper` ranks `Value.between` first): the symbol is named with its
  class (`StringValue.upper`), inferred from the call's receiver and the schema;
- "verified" means *an* example ran, not that it shows what was asked: `relevant` accepts
  an answer only when it cites the asked symbols and its example is of one of them (or, for
  what a symbol returns or takes, its signature says so).
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ibert_tasks_sql.corpus import ibis_code

#: Methods called on a table (or on what a table method returns), as the index names them.
#: `agg` is the same method as `aggregate` but is indexed only under `aggregate`.
TABLE_SYMBOLS: dict[str, str] = {
    **{
        name: f"Table.{name}"
        for name in (
            "filter", "select", "mutate", "group_by", "order_by", "limit", "distinct", "view",
            "join", "left_join", "right_join", "outer_join", "inner_join", "semi_join",
            "anti_join", "cross_join", "union", "intersect", "difference", "count",
            "nunique", "as_scalar", "cast", "try_cast", "fill_null", "drop_null", "rename",
            "drop", "relocate", "head", "value_counts", "topk", "to_array",
        )
    },
    "agg": "Table.aggregate",
    "aggregate": "Table.aggregate",
}

#: Methods called on `t.group_by(...)`; the others fall back to `TABLE_SYMBOLS` (the
#: grouped `aggregate` has no example of its own: `Table.aggregate(by=...)` is the one).
GROUPED_SYMBOLS: dict[str, str] = {"having": "GroupedTable.having", "mutate": "GroupedTable.mutate"}

#: Methods called on a column or a scalar, by the class that documents them.
VALUE_SYMBOLS: dict[str, str] = {
    **{n: f"Value.{n}" for n in (
        "asc", "desc", "cast", "try_cast", "isin", "notin", "cases", "case", "coalesce",
        "between", "isnull", "notnull", "nullif", "name", "fill_null", "over",
    )},
    **{n: f"Column.{n}" for n in (
        "count", "nunique", "max", "min", "median", "quantile", "lag", "lead", "rank",
        "dense_rank", "percent_rank", "ntile", "cume_dist", "first", "last", "as_scalar",
        "value_counts", "topk", "cummax", "cummin",
    )},
    **{n: f"NumericColumn.{n}" for n in ("sum", "mean", "cumsum", "std", "var")},
    **{n: f"NumericValue.{n}" for n in ("round", "abs", "ceil", "floor")},
    **{n: f"StringValue.{n}" for n in (
        "substr", "upper", "lower", "strip", "lstrip", "rstrip", "length", "like", "ilike",
        "contains", "startswith", "endswith", "replace", "re_search", "concat", "capitalize",
    )},
    **{n: f"DateValue.{n}" for n in ("year", "month", "day", "quarter", "epoch_seconds")},
    "truncate": "TimestampValue.truncate",
    "date": "TimestampValue.date",
    "strftime": "TimestampValue.strftime",
    "any": "BooleanColumn.any",
    "all": "BooleanColumn.all",
    "ifelse": "BooleanValue.ifelse",
}

#: Table methods whose result is again a table (so a method called on it is a table's).
TABLE_RESULTS = frozenset(
    {"filter", "select", "mutate", "order_by", "limit", "distinct", "view", "join",
     "left_join", "right_join", "outer_join", "inner_join", "semi_join", "anti_join",
     "cross_join", "union", "intersect", "difference", "agg", "aggregate", "having", "cast",
     "try_cast", "fill_null", "drop_null", "rename", "drop", "relocate", "head"}
)

#: What each symbol does, in the words of someone who does not know its name yet (only
#: phrasings the qa retrieval answers with the symbol itself: the others were dropped).
TASKS: dict[str, tuple[str, ...]] = {
    "Table.filter": ("filter the rows of a table with a condition", "filter rows"),
    "Table.aggregate": ("aggregate a table", "compute aggregates grouped by a column"),
    "Table.group_by": ("group the rows of a table by a column",),
    "Table.order_by": ("sort a table by a column",),
    "Table.limit": ("take the first rows of a table, skipping an offset",),
    "Table.join": ("join two tables on a key column",),
    "Table.left_join": ("left join two tables",),
    "Table.right_join": ("right join two tables",),
    "Table.outer_join": ("keep the unmatched rows of both tables in a join",),
    "Table.semi_join": ("keep the rows that have a match in another table",),
    "Table.anti_join": ("keep the rows that have no match in another table",),
    "Table.union": ("union two tables",),
    "Table.intersect": ("intersect two tables",),
    "Table.difference": ("compute the set difference of two tables",),
    "Table.count": ("count the rows of a table", "count the number of rows in each group"),
    "Column.nunique": ("count the distinct values of a column",),
    "NumericColumn.sum": ("compute the sum of a column",),
    "NumericColumn.mean": ("compute the average of a column",),
    "Column.max": ("compute the maximum of a column",),
    "Column.min": ("compute the minimum of a column",),
    "Column.median": ("compute the median of a column",),
    "Column.quantile": ("compute a percentile of a column",),
    "NumericColumn.cumsum": ("compute a cumulative sum", "compute a running total"),
    "Column.lag": ("get the value of the previous row",),
    "Column.lead": ("get the value of the next row",),
    "ibis.row_number": ("add a row number",),
    "ibis.dense_rank": ("rank rows without gaps after ties",),
    "Value.cases": ("write a CASE WHEN expression",),
    "ibis.cases": ("write a CASE WHEN expression",),
    "Value.cast": ("convert a column to another data type",),
    "Value.isin": ("check if a value is in a list",),
    "Value.notin": ("check if a value is not in a list",),
    "Value.between": ("keep the rows whose value lies between two bounds",),
    "StringValue.like": ("match a string column against a SQL LIKE pattern",),
    "StringValue.substr": ("take a substring of a string column",),
    "StringValue.upper": ("convert a string to uppercase",),
    "StringValue.lower": ("convert a string to lowercase",),
    "StringValue.strip": ("trim whitespace from strings",),
    "StringValue.length": ("compute the length of a string",),
    "Value.coalesce": ("replace nulls with the first non-null value",),
    "ibis.coalesce": ("take the first non-null value of several columns",),
    "DateValue.year": ("extract the year from a date",),
    "DateValue.month": ("extract the month from a date",),
    "DateValue.day": ("extract the day from a date",),
    "DateValue.quarter": ("extract the quarter from a date",),
    "TimestampValue.truncate": ("truncate a timestamp",),
    "DateValue.truncate": ("truncate a date to the month",),
    "ibis.date": ("create a date from a string",),
    "Value.name": ("name the result of an expression",),
    "Column.as_scalar": ("use a scalar subquery",),
}

#: The same operation documented twice, as an `ibis.` function and as a method: an answer
#: about either one answers a question about the other.
EQUIVALENT: tuple[frozenset[str], ...] = tuple(
    frozenset(group)
    for group in (
        ("ibis.union", "Table.union"),
        ("ibis.intersect", "Table.intersect"),
        ("ibis.difference", "Table.difference"),
        ("ibis.coalesce", "Value.coalesce"),
        ("ibis.desc", "Value.desc"),
        ("ibis.asc", "Value.asc"),
        ("ibis.rank", "Column.rank"),
        ("ibis.dense_rank", "Column.dense_rank"),
        ("ibis.cases", "Value.cases"),
        ("ibis.ifelse", "BooleanValue.ifelse"),
    )
)

#: Near relatives: a pair that calls one is asked how it differs from the other.
RELATED: tuple[tuple[str, str], ...] = (
    ("Table.join", "Table.left_join"),
    ("Table.left_join", "Table.outer_join"),
    ("Table.left_join", "Table.right_join"),
    ("Table.inner_join", "Table.semi_join"),
    ("Table.semi_join", "Table.anti_join"),
    ("Table.union", "Table.intersect"),
    ("Table.intersect", "Table.difference"),
    ("Table.select", "Table.mutate"),
    ("Table.filter", "GroupedTable.having"),
    ("Table.distinct", "Column.nunique"),
    ("Table.count", "Column.count"),
    ("Column.count", "Column.nunique"),
    ("Column.median", "Column.quantile"),
    ("Column.max", "Column.min"),
    ("Column.lag", "Column.lead"),
    ("Column.rank", "Column.dense_rank"),
    ("ibis.rank", "ibis.dense_rank"),
    ("ibis.row_number", "ibis.rank"),
    ("Value.asc", "Value.desc"),
    ("Value.isin", "Value.notin"),
    ("Value.isnull", "Value.notnull"),
    ("Value.coalesce", "Value.fill_null"),
    ("Value.nullif", "Value.coalesce"),
    ("Value.cast", "Value.try_cast"),
    ("StringValue.like", "StringValue.ilike"),
    ("StringValue.upper", "StringValue.lower"),
    ("NumericColumn.sum", "NumericColumn.cumsum"),
)

#: The question forms, each with the check its answer must pass (see `relevant`).
FORMS: dict[str, str] = {
    "use": "How do I use `{a}` in Ibis?",
    "use_method": "How do I use `{m}` in Ibis?",
    "example": "Show me an example of `{a}`.",
    "returns": "What does `{a}` return?",
    "parameters": "What parameters does `{a}` take?",
    "task": "How do I {task} in Ibis?",
    "difference": "What is the difference between `{a}` and `{b}`?",
    "chain": "How do I use `{b}` on the result of `{a}`?",
}
#: Forms answered by the asked symbol's signature, which the answer must cite.
SIGNATURE_FORMS = frozenset({"returns", "parameters"})
#: Calls too common to be worth a chained question (`x.name("y")` follows anything).
UNCHAINED = frozenset({"Value.name"})


@attrs.frozen
class Question:
    """A question and the symbols (short names as the qa index shows them) it asks about."""

    text: str
    kind: str
    symbols: tuple[str, ...]


def _receiver_kind(node: ast.expr) -> str:
    """"table", "grouped" or "value": what the method is called on. Names are tables (a
    schema table, a `view()` of one, or `_` itself); a call of a table method is a table."""
    if isinstance(node, ast.Name):
        return "table"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "group_by":
            return "grouped"
        if node.func.attr in TABLE_RESULTS and _receiver_kind(node.func.value) != "value":
            return "table"
    return "value"


def _column_type(node: ast.expr, schema: Mapping[str, Mapping[str, str]]) -> str | None:
    """The schema type of `t.col` / `_.col`, when some table has that column."""
    if not isinstance(node, ast.Attribute):
        return None
    for columns in schema.values():
        if node.attr in columns:
            return str(columns[node.attr]).lstrip("!")
    return None


def call_symbol(node: ast.Call, schema: Mapping[str, Mapping[str, str]]) -> str | None:
    """The ibis symbol a call is (`ibis.row_number`, `Table.filter`, `StringValue.upper`),
    or None for calls this module does not know."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    name, receiver = func.attr, func.value
    if isinstance(receiver, ast.Name) and receiver.id == "ibis":
        return f"ibis.{name}"
    kind = _receiver_kind(receiver)
    if kind == "grouped" and name in GROUPED_SYMBOLS:
        return GROUPED_SYMBOLS[name]
    if kind in ("table", "grouped") and name in TABLE_SYMBOLS:
        return TABLE_SYMBOLS[name]
    if name == "truncate" and _column_type(receiver, schema) == "date":
        return "DateValue.truncate"
    return VALUE_SYMBOLS.get(name)


def calls(
    code: str, schema: Mapping[str, Mapping[str, str]]
) -> tuple[list[str], list[tuple[str, str]]]:
    """The symbols the code calls (in source order), and the chained ones: (a, b) where
    `b` is called on the result of `a` (`t.group_by(...).agg(...)`)."""
    tree = ibis_code.parse(code)
    if tree is None:
        return [], []
    found: list[tuple[tuple[int, int], str]] = []
    chains: list[tuple[tuple[int, int], tuple[str, str]]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        symbol = call_symbol(node, schema)
        if symbol is None:
            continue
        where = (node.func.end_lineno or 0, node.func.end_col_offset or 0)  # the method name
        found.append((where, symbol))
        receiver = node.func.value
        inner = call_symbol(receiver, schema) if isinstance(receiver, ast.Call) else None
        if inner is not None and inner != symbol and not {inner, symbol} & UNCHAINED:
            chains.append((where, (inner, symbol)))
    symbols = list(dict.fromkeys(s for _, s in sorted(found)))
    return symbols, list(dict.fromkeys(c for _, c in sorted(chains)))


def questions(code: str, schema: Mapping[str, Mapping[str, str]]) -> list[Question]:
    """Every question the pair's code grounds, without repeats, in a stable order."""
    symbols, chains = calls(code, schema)
    out: list[Question] = []
    for a in symbols:
        for kind in ("use", "example", "returns", "parameters"):
            if kind in SIGNATURE_FORMS and not signature_answers(a, kind):
                continue
            out.append(Question(FORMS[kind].format(a=a), kind, (a,)))
        if not a.startswith("ibis."):  # `ibis` is a stop word: `ibis.x` would ask for `x`
            method = a.rsplit(".", 1)[-1]
            out.append(Question(FORMS["use_method"].format(m=method), "use_method", (a,)))
        for task in TASKS.get(a, ()):
            out.append(Question(FORMS["task"].format(task=task), "task", (a,)))
        for pair in RELATED:
            if a in pair:
                out.append(Question(FORMS["difference"].format(a=pair[0], b=pair[1]),
                                    "difference", pair))
    for a, b in chains:
        out.append(Question(FORMS["chain"].format(a=a, b=b), "chain", (a, b)))
    return list({q.text: q for q in out}.values())


def _equivalents(symbol: str) -> frozenset[str]:
    for group in EQUIVALENT:
        if symbol in group:
            return group
    return frozenset({symbol})


def relevant(
    question: Question, cited: Sequence[Mapping[str, Any]], example: str | None
) -> str | None:
    """Why a verified answer does not answer `question`, or None when it does.

    `cited` and `example` are the qa result's `cited` symbols (their `symbol` qualname,
    `name` and `signature`) and its `example_symbol` (a qualname). Every asked symbol (or
    its `EQUIVALENT`) must be cited and the answer must have an example. The signature
    forms need the asked symbol's own signature to hold the answer (a return type; a
    parameter); the others need the example to be of an asked symbol.
    """
    by_name = {str(c.get("name")): c for c in cited}
    if any(not _equivalents(s) & by_name.keys() for s in question.symbols):
        return "not_cited"
    if example is None:  # a verified tool answer always has one: the record names it
        return "no_example"
    if question.kind in SIGNATURE_FORMS:
        entry = by_name.get(question.symbols[0])
        if entry is None:
            return "not_cited"
        signature = str(entry.get("signature") or "")
        if question.kind == "returns" and "->" not in signature:
            return "no_return_type"
        if question.kind == "parameters" and not _has_parameters(signature):
            return "no_parameters"
        return None
    wanted = frozenset().union(*(_equivalents(s) for s in question.symbols))
    if _short(cited, example) not in wanted and not any(
        example.endswith("." + s) for s in wanted
    ):
        return "example_of_other"
    return None


def answer_text(answer: str, extra: Mapping[str, Any]) -> str:
    """The answer as a training target: without the line that says how this machine
    retrieved it (`retrieval: bm25+graph (no embedding model installed…)`), which the qa
    task ends its answers with for the CLI reader and also returns as `retrieval_note`.
    Which retrieval ran is kept in the record's meta instead."""
    note = str(extra.get("retrieval_note") or "")
    return answer.removesuffix(f"\n{note}") if note else answer


def _short(cited: Sequence[Mapping[str, Any]], qualname: str) -> str:
    """The short name of the symbol `qualname` as the answer cites it (else qualname)."""
    for c in cited:
        if c.get("symbol") == qualname:
            return str(c.get("name") or qualname)
    return qualname


@functools.cache
def signature_answers(symbol: str, kind: str) -> bool:
    """Whether the installed ibis's signature of `symbol` can answer a `kind` question
    (a return annotation; a parameter besides `self`): asking what `StringValue.upper`
    takes only costs a qa run whose answer `relevant` then rejects. Unknown symbols are
    asked (the answer's own check decides)."""
    found = _ibis_object(symbol)
    try:
        signature = str(inspect.signature(found)) if found is not None else None
    except (TypeError, ValueError):
        signature = None
    if signature is None:
        return True
    if kind == "returns":
        return "->" in signature
    return _has_parameters(signature)


def _ibis_object(symbol: str) -> Any:
    """The ibis function or method `symbol` names (`ibis.rank`, `Table.count`,
    `GroupedTable.having`), or None."""
    import ibis
    import ibis.expr.types as ir
    import ibis.expr.types.groupby as grouped

    owner, _, name = symbol.rpartition(".")
    if owner == "ibis":
        return getattr(ibis, name, None)
    cls = getattr(ir, owner, None) or getattr(grouped, owner, None)
    return getattr(cls, name, None) if cls is not None else None


def _has_parameters(signature: str) -> bool:
    """Whether a signature (`(self, x, /, *, y=1)`) takes anything besides `self`."""
    inside = signature.partition("(")[2].rpartition(")")[0]
    params = [p.strip() for p in inside.split(",")]
    return any(p not in ("", "self", "cls", "/", "*") for p in params)


#: What a qa record's verdict adds to the qa task's own (its example ran): why the answer
#: answers the question.
RELEVANCE = (
    "cites every asked symbol; its example shows one of them (for what a symbol returns or "
    "takes: the asked symbol's signature holds it)"
)
