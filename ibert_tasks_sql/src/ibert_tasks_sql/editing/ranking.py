"""Ranking signals on top of the usage counts: what analyst code does at this point.

The counts (`usage`) come from ibis's own tests and docstrings, where `t.<column>` dominates
and `select`/`mutate` start chains more often than the `filter`/`group_by` of analytic code.
Three kinds of general, explainable signals correct them:

- a pipeline prior: relation methods follow SQL's clause order (FROM, JOIN, WHERE, GROUP BY,
  aggregate, HAVING, SELECT, ORDER BY, LIMIT), mixed with the counts;
- the role of the expression being written, read from the call it sits in: a column inside
  `filter(` takes predicates (`isin`, `between`, `notnull`), inside `agg(` reductions fit for
  its dtype (a date's `min`/`max`, a key's `count`/`nunique`), at the end of a statement a
  summary; in `mutate(year=t.ts.` the keyword names the operation;
- which columns are plausible: not a `*_id`/`*key` key in a predicate, reduction or
  arithmetic (but a key in a join condition, matching the other side's name); a string
  column in `group_by`; one named by the keyword being written (`avg_price=_.` → a `price`
  column, `year=t.` → a date); not one the same call already used; the columns the chain
  just made (`agg(n=...).filter(_.` → `n`).

Each signal is a multiplier on a member's score: pure functions of the cursor's `Site`, the
receiver's value and the member, so each can be tested alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import ibis.expr.types as ir

from ibert_tasks_sql.editing.cursor import Site

#: Relation methods in the order analyst code tends to call them after each step (SQL's
#: clause order): the first is the likeliest. `<root>` is a table that starts a statement.
PIPELINE: Mapping[str, Sequence[str]] = {
    "<root>": ("filter", "mutate", "group_by", "join", "select", "order_by", "agg", "count",
               "limit", "distinct", "left_join", "aggregate"),
    "filter": ("select", "group_by", "order_by", "count", "agg", "mutate", "filter", "limit",
               "join", "distinct"),
    "mutate": ("group_by", "select", "filter", "order_by", "agg", "mutate", "limit"),
    "select": ("filter", "order_by", "distinct", "limit", "group_by", "mutate", "count",
               "agg", "join"),
    "join": ("group_by", "filter", "select", "mutate", "order_by", "agg", "join", "count"),
    "group_by": ("agg", "aggregate", "having", "mutate", "order_by", "count"),
    "agg": ("order_by", "filter", "limit", "select", "mutate", "join", "count"),
    "order_by": ("limit", "select", "head", "filter", "distinct"),
    "distinct": ("order_by", "count", "limit", "select", "filter"),
    "limit": ("select", "order_by", "count"),
}
for _join in ("inner_join", "left_join", "right_join", "outer_join"):
    PIPELINE = {**PIPELINE, _join: PIPELINE["join"]}
PIPELINE = {**PIPELINE, "aggregate": PIPELINE["agg"], "having": PIPELINE["agg"],
            "head": PIPELINE["limit"], "rename": PIPELINE["mutate"],
            "drop": PIPELINE["select"]}

#: Steps a chain rarely takes twice: once grouped, selected or limited, it is done.
ONCE = frozenset({"group_by", "agg", "aggregate", "select", "distinct", "limit", "order_by"})
#: How much a step the chain already took is damped.
AGAIN = 0.3

#: Share of the pipeline prior in a relation method's score (the rest is the counts').
PIPELINE_WEIGHT = 0.6
#: How fast the prior decays along a PIPELINE row.
PIPELINE_DECAY = 0.6

#: The role of an expression, by the call its receiver sits in.
ROLES: Mapping[str, str] = {
    **dict.fromkeys(("filter", "having", "if_else", "cases", "ifelse", "where"), "predicate"),
    **dict.fromkeys(("agg", "aggregate", "summarize"), "reduce"),
    **dict.fromkeys(("group_by",), "group"),
    **dict.fromkeys(("order_by", "desc", "asc"), "sort"),
    **dict.fromkeys(("mutate", "select"), "project"),
    **dict.fromkeys(("join", "inner_join", "left_join", "right_join", "outer_join",
                     "semi_join", "anti_join", "asof_join"), "join"),
}

#: Row predicates by the receiver's dtype family, likeliest first (`isin` on a float is odd,
#: `between` on a string too; a date is compared by a part or a range).
PREDICATES: Mapping[str, Sequence[str]] = {
    "numeric": ("between", "notnull", "isnull", "isin", "notin"),
    "temporal": ("year", "between", "notnull", "isnull", "month", "date"),
    "string": ("isin", "contains", "startswith", "like", "isnull", "notnull", "endswith",
               "length", "notin", "lower", "upper", "re_search", "ilike"),
    "key": ("isin", "notnull", "isnull", "between", "notin"),
    "other": ("isin", "notnull", "isnull", "notin"),
}
#: Reductions that mean nothing on a surrogate key.
KEY_NONSENSE = frozenset({"sum", "mean", "std", "var", "median", "quantile", "abs"})
#: Words in an alias that name a reduction (`avg_price=_.x.` → mean; `first=_.d.` → min).
REDUCTION_WORDS: Mapping[str, str] = {
    "avg": "mean", "average": "mean", "mean": "mean", "total": "sum", "sum": "sum",
    "max": "max", "maximum": "max", "highest": "max", "largest": "max", "last": "max",
    "latest": "max", "min": "min", "minimum": "min", "lowest": "min", "smallest": "min",
    "first": "min", "earliest": "min", "median": "median", "std": "std", "stddev": "std",
    "distinct": "nunique", "unique": "nunique", "nunique": "nunique", "n": "count",
    "cnt": "count", "count": "count", "num": "count",
}
#: Words in an alias that name a moment: the column is temporal.
MOMENT_WORDS = frozenset({"first", "last", "earliest", "latest", "start", "end", "since",
                          "until", "seen"})
#: Reductions by the receiver's dtype family: what a summary of such a column asks.
REDUCTIONS: Mapping[str, Sequence[str]] = {
    "numeric": ("sum", "mean", "max", "min", "count", "nunique", "median", "std"),
    "temporal": ("min", "max", "count", "nunique"),
    "string": ("nunique", "count", "value_counts", "min", "max"),
    "key": ("count", "nunique", "max", "min"),
    "other": ("count", "nunique", "min", "max"),
}
#: Summaries that end a statement (`expr = t.col.`): reductions plus the distribution.
SUMMARIES = ("value_counts", "nunique", "topk")
#: Date parts: a keyword named so (`year=t.`) names a temporal column and the method.
DATE_PARTS = frozenset({"year", "month", "day", "hour", "minute", "week", "quarter", "date",
                        "day_of_week", "epoch_seconds", "second", "dow", "weekday"})
#: Keyword names that mean a row count (`n=_.`, `orders_n=_.`, `num_users=_.`).
_COUNT_NAME = re.compile(r"^(n|cnt|count|num|rows|size)(_.*)?$|^.*_(n|cnt|count)$|^(n|num)_.*$")


def is_key(name: str) -> bool:
    """A surrogate key by its name: summing or comparing it rarely answers a question."""
    low = name.lower()
    return low == "id" or low.endswith(("_id", "key", "_key", "_pk", "_fk"))


def family(dtype: Any, name: str = "") -> str:
    """numeric / temporal / string / key / other, from an ibis dtype (and the name)."""
    if name and is_key(name):
        return "key"
    if getattr(dtype, "is_numeric", lambda: False)() and not dtype.is_boolean():
        return "numeric"
    if getattr(dtype, "is_temporal", lambda: False)():
        return "temporal"
    if getattr(dtype, "is_string", lambda: False)():
        return "string"
    return "other"


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[_\W]+", name.lower()) if t]


def names_overlap(keyword: str, column: str) -> bool:
    """Whether an alias names a column: a shared word, up to a plural (`avg_price` /
    `p_retailprice` share `price`, `nations` / `n_nationkey` share `nation`)."""
    col = column.lower()
    for t in _tokens(keyword):
        stem = t[:-1] if t.endswith("s") and not t.endswith("ss") else t
        if len(stem) >= 3 and stem in col:
            return True
    return False


def _is_plural(keyword: str) -> bool:
    last = _tokens(keyword)[-1] if _tokens(keyword) else ""
    return len(last) > 3 and last.endswith("s") and not last.endswith(("ss", "us", "is"))


@attrs.frozen
class Where:
    """Where the receiver sits: the call it is an argument of, the keyword being written
    there, what the call's arguments already say, and what came just before it."""

    call: str | None  # innermost named call (`filter`), None at the statement's top level
    keyword: str | None  # the keyword argument being written (`n` in `agg(n=_.`)
    args: str  # the call's argument text so far
    operator: str  # operator just before the receiver ("", "==", "*", "&"...)
    left: str  # the name on the left of a `==` just before the receiver
    statement: str
    compared: str = ""  # the dotted expression on the left of a comparison (`t.shipped`)

    @property
    def role(self) -> str:
        if self.call is None:
            return "top"
        if self.operator in ("+", "-", "*", "/", "%", "**"):
            return "arith"
        return ROLES.get(self.call, "other")


def where(site: Site) -> Where:
    head = site.statement[: len(site.statement) - len(site.partial)].rstrip()
    if head.endswith("."):
        head = head[:-1].rstrip()
    before = head[: len(head) - len(site.receiver)].rstrip() if head.endswith(
        site.receiver) else head
    call, args = None, ""
    for bracket in reversed(site.open):
        if bracket.char == "(" and bracket.callee:
            call = bracket.callee.rsplit(".", 1)[-1]
            args = site.statement[bracket.pos + 1:]
            break
    m = re.search(r"(==|!=|<=|>=|\*\*|[<>+\-*/%&|~])$", before)
    operator = m.group(1) if m else ""
    left = ""
    if operator == "==":
        lm = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*==$", before)
        left = lm.group(1) if lm else ""
    compared = ""
    if operator in COMPARISONS:
        cm = re.search(r"([A-Za-z_][A-Za-z0-9_.]*)\s*" + re.escape(operator) + "$", before)
        compared = cm.group(1) if cm else ""
    return Where(call, _current_keyword(args), args, operator, left, site.statement, compared)


COMPARISONS = frozenset({"==", "!=", "<", ">", "<=", ">="})
#: The `ibis` literal that compares with a column of each temporal dtype.
TEMPORAL_LITERALS: Mapping[str, str] = {"date": "date", "timestamp": "timestamp",
                                        "time": "time"}


def literal_weight(name: str, compared: Any) -> float:
    """`t.shipped >= ibis.` compares a date with a date: `ibis.date(...)` first."""
    dtype = getattr(compared, "type", lambda: None)() if isinstance(compared, ir.Value) else None
    if dtype is None or not dtype.is_temporal():
        return 1.0
    wanted = TEMPORAL_LITERALS.get(type(dtype).__name__.lower())
    return 5.0 if name == wanted else 1.0


def _current_keyword(args: str) -> str | None:
    """The keyword of the argument being written: the last `name=` at depth 0."""
    depth, start = 0, 0
    for i, c in enumerate(args):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            start = i + 1
    m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)", args[start:])
    return m.group(1) if m else None


def pipeline_prior(label: str, name: str) -> float:
    """P(name | previous step) under the pipeline prior (0 for a member not in the row)."""
    row = PIPELINE.get(label)
    if not row or name not in row:
        return 0.0
    total = sum(PIPELINE_DECAY**i for i in range(len(row)))
    return PIPELINE_DECAY ** row.index(name) / total


def steps_taken(receiver: str) -> frozenset[str]:
    """The methods the receiver's chain already called (`group_by`, `agg` in
    `t.group_by("k").agg(n=_.count()).filter(_.n > 1)`); an aggregation also selected."""
    taken = set(re.findall(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", receiver))
    if taken & {"agg", "aggregate"}:
        taken.add("select")
    return frozenset(taken)


def step_weight(name: str, taken: frozenset[str]) -> float:
    return AGAIN if name in ONCE and name in taken else 1.0


def column_weights(columns: Sequence[tuple[str, Any]], at: Where, made: Iterable[str],
                   partners: Iterable[str] = ()) -> list[float]:
    """A plausibility weight per column (name, dtype) at this point; only their ratios
    matter (the columns' share of the score is the counts')."""
    role = at.role
    made, partners = set(made), list(partners)
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", at.args))
    out = []
    for name, dtype in columns:
        fam = family(dtype, name)
        w = 1.0
        if role == "join":
            w *= 4.0 if fam == "key" else 0.5
            if at.left and _same_key(at.left, name):
                w *= 6.0
            elif any(_same_key(p, name) for p in partners):
                w *= 3.0  # the key the joined table also has (`c_nationkey`/`n_nationkey`)
        elif role in ("predicate", "reduce", "arith", "sort", "top") or (
                role == "project" and at.keyword):
            if fam == "key":
                w *= 0.25  # a new column derives from a measure or a label, not an id
            if (role in ("reduce", "arith") or at.call == "desc") and fam == "numeric":
                w *= 3.0  # sums, arithmetic and top-N orders are over measures
            if role == "predicate" and fam == "numeric":
                w *= 1.5  # a threshold on a measure (`price > 100`) is the commonest filter
        elif role == "group":
            w *= {"string": 3.0, "temporal": 1.5, "key": 1.0}.get(fam, 0.5)
        if at.keyword and role != "join" and _alias_names_column(at.keyword, name, fam):
            w *= 6.0
        if name in used and role in ("predicate", "project", "sort", "group", "arith"):
            w *= 0.3
        if name in made:
            w *= 4.0
        out.append(w)
    return out


def _alias_names_column(keyword: str, name: str, fam: str) -> bool:
    """`avg_price=_.` names a price column; `year=t.` or `first_seen=_.` a temporal one."""
    if names_overlap(keyword, name):
        return True
    return fam == "temporal" and (keyword in DATE_PARTS or bool(MOMENT_WORDS & set(
        _tokens(keyword))))


def _same_key(left: str, right: str) -> bool:
    """`c_custkey` and `o_custkey`, `customer_id` and `customer_id`: a join's two sides
    name one key, up to a table prefix."""
    strip = re.compile(r"^[a-z]{1,2}_")
    return left == right or strip.sub("", left.lower()) == strip.sub("", right.lower())


#: Share of the role's list in a column method's score (the rest is the counts'), and how
#: fast it decays along the list.
ROLE_WEIGHT = 0.6
ROLE_DECAY = 0.7


def role_members(fam: str, role: str) -> Sequence[str]:
    """What usually follows a column of family `fam` in `role`, likeliest first."""
    if role == "reduce":
        return REDUCTIONS[fam]
    if role == "top":
        return tuple(dict.fromkeys((*REDUCTIONS[fam], *SUMMARIES)))
    if role == "predicate":
        return PREDICATES[fam]
    return ()


def method_score(counts: float, name: str, value: Any, at: Where, column_name: str = "") -> float:
    """The score of method `name` on a column/scalar `value` at this point, from its score
    by the counts: mixed with the role's list (a predicate in a filter, a reduction fit for
    the dtype in an aggregation or at a statement's end), with what makes no sense damped."""
    if not isinstance(value, ir.Value) or isinstance(value, ir.Table):
        return counts
    fam = family(value.type(), column_name)
    row = role_members(fam, at.role)
    score = counts
    if row:
        prior = ROLE_DECAY ** row.index(name) if name in row else 0.0
        total = sum(ROLE_DECAY**i for i in range(len(row)))
        score = (1 - ROLE_WEIGHT) * counts + ROLE_WEIGHT * prior / total
    if fam == "key" and name in KEY_NONSENSE:
        score *= 0.1  # summing or averaging a surrogate key answers nothing
    if at.role == "predicate" and name not in row and name in REDUCTIONS["numeric"]:
        score *= 0.2  # a reduction inside a row filter compares rows to a scalar: rare
    if at.role == "project" and name in ("isin", "notin", "between"):
        score *= 0.3  # a new column is rarely a bare membership test
    return score


def alias_rank(name: str, at: Where) -> float:
    """Whether the alias being written names method `name` (`year=t.ts.year()`,
    `name_upper=t.name.upper()`, `avg_price=_.price.mean()`): 0 when not, else 1 plus a
    little per word (a later word wins: `name_upper` is about `upper`, not `name`). Such a
    method goes first whatever the counts say."""
    if not at.keyword or at.role not in ("reduce", "project", "top", "other"):
        return 0.0
    for i, t in reversed(list(enumerate(_tokens(at.keyword)))):
        if t == name or REDUCTION_WORDS.get(t) == name or (len(name) >= 4 and t.startswith(
                name)):
            return 1.0 + 0.1 * i
    return 0.0


def table_weight(name: str, at: Where, columns: Iterable[str] = ()) -> float:
    """A multiplier for `count` on `_` inside an aggregation, by the keyword's name: `n`,
    `orders_n` or a plural that names no column (`items=_.`) counts rows."""
    if name == "count" and at.role == "reduce" and at.keyword:
        if _COUNT_NAME.match(at.keyword):
            return 20.0
        if _is_plural(at.keyword) and not any(names_overlap(at.keyword, c) for c in columns):
            return 20.0
        return 0.5
    return 1.0


def made_columns(value: Any, base_columns: Iterable[str]) -> frozenset[str]:
    """Columns of a relation that no base table has: what the chain just computed."""
    if not isinstance(value, ir.Table):
        return frozenset()
    base = set(base_columns)
    return frozenset(c for c in value.columns if c not in base)


def base_columns(names: Mapping[str, Any]) -> frozenset[str]:
    """Columns of the schema's tables (not of relations bound by earlier statements)."""
    return frozenset(c for v in names.values()
                     if isinstance(v, ir.Table) and type(v.op()).__name__ == "UnboundTable"
                     for c in v.columns)
