"""Benchmark of `ibert run code_completion` and `ibert run error_resolution`.

Completion: held-out Ibis snippets (written for this benchmark against a TPC-H schema; the
ranking counts are mined from the installed ibis package, so none of these snippets was
seen) are cut at random member-access points (`receiver.|`); the engine must predict the
member that really follows. Reports top-1 / top-5 accuracy overall and by kind (column
vs method) and the warm latency per request, with and without building the shown
completions (the answer a user sees is always built).

Error resolution: the same snippets mutated with operators mirroring the mistakes people
make (pandas names, Python `and`/`or`, quoted numbers, misspelled columns and tables,
pre-aggregation table references, old Ibis names); a mutant counts as fixed when the
fixed code passes the DuckDB validator against the ORIGINAL snippet's compiled SQL
(parse → build → compile → execute → compare on synthesized fixtures). Reports the fix
rate per mistake type and overall.

A second completion set (WEB_SNIPPETS over WEB_SCHEMA_DICT, web analytics) was written
before the ranking was tuned on the first and is never used for tuning: it measures how
the ranking generalizes.

    .venv/bin/python bench/completion.py [--quick] [--completion-only]

Writes bench/results/completion.json.
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

SCHEMA_DICT = {
    "customer": {"c_custkey": "int64", "c_name": "string", "c_nationkey": "int64",
                 "c_acctbal": "float64", "c_mktsegment": "string"},
    "orders": {"o_orderkey": "int64", "o_custkey": "int64", "o_orderstatus": "string",
               "o_totalprice": "float64", "o_orderdate": "date", "o_orderpriority": "string"},
    "lineitem": {"l_orderkey": "int64", "l_partkey": "int64", "l_quantity": "int64",
                 "l_extendedprice": "float64", "l_discount": "float64", "l_tax": "float64",
                 "l_returnflag": "string", "l_shipdate": "date", "l_shipmode": "string"},
    "nation": {"n_nationkey": "int64", "n_name": "string", "n_regionkey": "int64"},
    "region": {"r_regionkey": "int64", "r_name": "string"},
    "part": {"p_partkey": "int64", "p_name": "string", "p_brand": "string", "p_type": "string",
             "p_size": "int64", "p_retailprice": "float64"},
}

#: Held-out snippets: each builds against SCHEMA_DICT (checked before use).
SNIPPETS: tuple[str, ...] = (
    'expr = orders.filter(orders.o_totalprice > 1000).select("o_orderkey", "o_totalprice")',
    'expr = orders.group_by("o_orderstatus").agg(n=_.count(), total=_.o_totalprice.sum())',
    'expr = lineitem.filter(_.l_discount > 0.05).group_by("l_returnflag")'
    '.agg(qty=_.l_quantity.sum())',
    "expr = customer.order_by(ibis.desc(customer.c_acctbal)).limit(10)",
    'expr = customer.join(nation, customer.c_nationkey == nation.n_nationkey)'
    '.group_by("n_name").agg(customers=_.c_custkey.count())',
    "expr = part.filter(part.p_size.between(10, 20)).select(part.p_name, part.p_retailprice)",
    'expr = lineitem.mutate(revenue=lineitem.l_extendedprice * (1 - lineitem.l_discount))'
    '.group_by("l_shipmode").agg(revenue=_.revenue.sum())',
    "expr = orders.filter(orders.o_orderdate.year() == 1995).count()",
    'expr = part.filter(part.p_name.contains("green")).select("p_partkey", "p_brand")',
    "expr = customer.c_acctbal.mean()",
    'expr = orders.filter((orders.o_orderstatus == "F") & (orders.o_totalprice > 500))'
    '.order_by(orders.o_orderdate)',
    'expr = lineitem.group_by(["l_returnflag", "l_shipmode"]).agg(avg_price='
    "_.l_extendedprice.mean(), max_disc=_.l_discount.max())",
    'expr = nation.join(region, nation.n_regionkey == region.r_regionkey)'
    '.select("n_name", "r_name").order_by("n_name")',
    "expr = part.p_brand.nunique()",
    'expr = customer.filter(customer.c_mktsegment.isin(["BUILDING", "MACHINERY"]))'
    ".select(customer.c_name, customer.c_acctbal)",
    "expr = orders.mutate(year=orders.o_orderdate.year()).group_by(\"year\")"
    ".agg(total=_.o_totalprice.sum()).order_by(\"year\")",
    "expr = lineitem.filter(lineitem.l_shipdate >= ibis.date(1994, 1, 1))"
    ".agg(revenue=(_.l_extendedprice * _.l_discount).sum())",
    'expr = part.group_by("p_type").agg(n=_.count()).filter(_.n > 2).order_by(ibis.desc("n"))',
    "expr = customer.mutate(name_upper=customer.c_name.upper()).select(\"c_custkey\", "
    "\"name_upper\")",
    'expr = orders.select("o_orderkey", "o_orderpriority").distinct()',
    "expr = lineitem.select(lineitem.l_orderkey, lineitem.l_quantity)"
    ".filter(lineitem.l_quantity < 10)",
    "expr = customer.filter(customer.c_acctbal.notnull()).c_acctbal.max()",
    'expr = orders.group_by("o_custkey").agg(orders_n=_.count()).order_by(ibis.desc("orders_n"))'
    ".limit(5)",
    "expr = part.mutate(price_band=ibis.cases((part.p_retailprice > 1500, \"high\"), "
    "else_=\"low\")).group_by(\"price_band\").agg(n=_.count())",
    'expr = lineitem.group_by("l_orderkey").agg(items=_.count(), qty=_.l_quantity.sum())'
    ".filter(_.qty > 100)",
    "expr = orders.filter(orders.o_orderpriority.startswith(\"1\")).select(\"o_orderkey\")",
    "expr = customer.join(orders, customer.c_custkey == orders.o_custkey)"
    ".group_by(\"c_mktsegment\").agg(revenue=_.o_totalprice.sum())",
    "expr = nation.filter(nation.n_name.length() > 6).n_name.lower()",
    "expr = part.order_by([part.p_size, ibis.desc(part.p_retailprice)]).select(\"p_partkey\", "
    "\"p_size\")",
    "expr = lineitem.mutate(net=lineitem.l_extendedprice - lineitem.l_discount)"
    ".select(\"l_orderkey\", \"net\")",
    'expr = orders.filter(orders.o_totalprice.isnull() | (orders.o_totalprice < 10))'
    ".select(\"o_orderkey\")",
    "expr = customer.c_mktsegment.value_counts()",
    'expr = region.join(nation, region.r_regionkey == nation.n_regionkey)'
    '.group_by("r_name").agg(nations=_.n_nationkey.count())',
    "expr = part.filter(part.p_type.endswith(\"BRASS\")).p_retailprice.min()",
    "expr = orders.mutate(month=orders.o_orderdate.month()).filter(_.month == 12)"
    ".select(\"o_orderkey\", \"month\")",
    'expr = lineitem.filter(lineitem.l_returnflag == "R").group_by("l_shipmode")'
    ".agg(avg_qty=_.l_quantity.mean()).order_by(\"l_shipmode\")",
    "expr = customer.select(customer.c_custkey, rounded=customer.c_acctbal.round(0))",
    "expr = orders.o_totalprice.sum()",
    "expr = part.select(\"p_brand\", \"p_size\").filter(_.p_size > 40).order_by(\"p_brand\")",
    'expr = lineitem.group_by("l_partkey").agg(revenue=(_.l_extendedprice * (1 - _.l_discount))'
    ".sum()).order_by(ibis.desc(\"revenue\")).limit(3)",
    "expr = customer.filter(customer.c_name.like(\"Customer%\")).count()",
    'expr = orders.join(lineitem, orders.o_orderkey == lineitem.l_orderkey)'
    '.filter(_.l_quantity > 30).select("o_orderkey", "l_quantity")',
    "expr = nation.mutate(code=nation.n_name.substr(0, 3)).select(\"n_nationkey\", \"code\")",
    'expr = part.group_by("p_brand").agg(avg_price=_.p_retailprice.mean(), '
    "n=_.p_partkey.count()).filter(_.n >= 2)",
    "expr = orders.filter(orders.o_orderstatus != \"O\").o_custkey.nunique()",
    "expr = lineitem.mutate(taxed=lineitem.l_extendedprice * (1 + lineitem.l_tax))"
    ".taxed.sum()",
    "expr = customer.order_by(customer.c_name).select(\"c_name\", \"c_mktsegment\").limit(20)",
    "expr = part.mutate(big=part.p_size > 25).group_by(\"big\").agg(n=_.count())",
    'expr = orders.group_by("o_orderpriority").agg(first=_.o_orderdate.min(), '
    "last=_.o_orderdate.max())",
    "expr = lineitem.filter(lineitem.l_shipmode.isin([\"AIR\", \"MAIL\"]))"
    ".group_by(\"l_shipmode\").agg(n=_.count())",
    "expr = lineitem.filter((lineitem.l_quantity > 5) & (lineitem.l_discount < 0.1))"
    ".select(\"l_orderkey\")",
    'expr = customer.filter((customer.c_acctbal < 0) | (customer.c_mktsegment == "AUTOMOBILE"))'
    ".count()",
    "expr = part.filter((part.p_size > 10) & (part.p_retailprice < 1000))"
    ".order_by(part.p_retailprice).limit(5)",
    "expr = orders.filter((orders.o_totalprice > 100) & orders.o_orderdate.notnull())"
    ".group_by(\"o_orderpriority\").agg(n=_.count())",
    "expr = lineitem.mutate(kind=ibis.cases((lineitem.l_quantity > 40, \"bulk\"), "
    "(lineitem.l_quantity > 10, \"medium\"), else_=\"small\")).select(\"l_orderkey\", \"kind\")",
    "expr = customer.select(\"c_nationkey\").distinct().order_by(\"c_nationkey\")",
    "expr = nation.filter((nation.n_regionkey == 1) | (nation.n_regionkey == 3))"
    ".select(\"n_name\")",
    "expr = orders.filter(orders.o_orderpriority.isnull()).count()",
    'expr = part.group_by("p_size").agg(total=_.p_retailprice.sum())'
    ".filter(_.total > 2000).order_by(\"p_size\")",
    "expr = lineitem.filter((lineitem.l_tax > 0.02) & (lineitem.l_returnflag != \"N\"))"
    ".l_extendedprice.mean()",
)


#: A second held-out set, written before any ranking change and never used to tune it:
#: typical analyst code over a web-analytics schema (not TPC-H: other names, timestamps,
#: `_id` keys, several statements per snippet).
WEB_SCHEMA_DICT = {
    "users": {"user_id": "int64", "email": "string", "country": "string", "plan": "string",
              "signup_ts": "timestamp", "age": "int32"},
    "sessions": {"session_id": "int64", "user_id": "int64", "started_at": "timestamp",
                 "duration_s": "float64", "device": "string", "browser": "string",
                 "referrer": "string"},
    "events": {"event_id": "int64", "session_id": "int64", "user_id": "int64",
               "event_type": "string", "ts": "timestamp", "page": "string",
               "revenue": "float64"},
    "purchases": {"purchase_id": "int64", "user_id": "int64", "amount": "float64",
                  "currency": "string", "purchased_at": "timestamp", "coupon": "string"},
}

WEB_SNIPPETS: tuple[str, ...] = (
    'expr = events.filter(events.event_type == "click").group_by("page")'
    '.agg(clicks=_.count()).order_by(ibis.desc("clicks")).limit(10)',
    'expr = sessions.group_by("device").agg(avg_duration=_.duration_s.mean())',
    'expr = users.filter(users.country == "DE").count()',
    'expr = purchases.group_by("user_id").agg(spend=_.amount.sum())'
    '.order_by(ibis.desc("spend")).limit(20)',
    'expr = events.mutate(day=events.ts.date()).group_by("day")'
    '.agg(events=_.count(), users=_.user_id.nunique())',
    'expr = sessions.filter(sessions.duration_s > 60).group_by("browser").agg(n=_.count())',
    'expr = users.group_by("plan").agg(users=_.count(), avg_age=_.age.mean())',
    'expr = purchases.filter(purchases.coupon.notnull()).amount.sum()',
    'expr = events.filter(_.event_type.isin(["purchase", "add_to_cart"]))'
    '.group_by(["event_type", "page"]).agg(n=_.count())',
    'expr = users.join(purchases, "user_id").group_by("country")'
    '.agg(revenue=_.amount.sum()).order_by(ibis.desc("revenue"))',
    'expr = sessions.mutate(hour=sessions.started_at.hour()).group_by("hour")'
    '.agg(sessions=_.count()).order_by("hour")',
    'expr = events.filter(events.page.startswith("/blog")).select("user_id", "page", "ts")',
    'expr = users.filter(users.email.endswith("@gmail.com")).select("user_id", "email")',
    'expr = purchases.filter(purchases.currency == "EUR").group_by("user_id")'
    '.agg(n=_.count(), total=_.amount.sum()).filter(_.n > 1)',
    'expr = sessions.referrer.value_counts()',
    'expr = events.filter(events.revenue > 0).agg(revenue=_.revenue.sum(), '
    'buyers=_.user_id.nunique())',
    'expr = users.mutate(signup_month=users.signup_ts.truncate("M"))'
    '.group_by("signup_month").agg(signups=_.count())',
    'expr = sessions.join(users, "user_id").filter(_.plan == "pro")'
    '.group_by("device").agg(avg_duration=_.duration_s.mean())',
    'expr = events.select("session_id", "event_type").distinct().count()',
    'expr = purchases.order_by(ibis.desc(purchases.amount)).limit(5)',
    'expr = users.filter((users.age >= 18) & (users.age < 30)).group_by("country")'
    '.agg(n=_.count())',
    'clicks = events.filter(events.event_type == "click")\n'
    'expr = clicks.group_by("session_id").agg(clicks=_.count())',
    'big = purchases.filter(purchases.amount > 100)\n'
    'expr = big.group_by("currency").agg(n=_.count(), avg_amount=_.amount.mean())',
    'expr = sessions.filter(sessions.browser.isin(["chrome", "firefox"]))'
    '.duration_s.mean()',
    'expr = events.group_by("user_id").agg(first_seen=_.ts.min(), last_seen=_.ts.max())',
    'expr = users.filter(users.plan.isnull()).count()',
    'expr = purchases.mutate(year=purchases.purchased_at.year())'
    '.group_by("year").agg(revenue=_.amount.sum()).order_by("year")',
    'expr = sessions.filter(sessions.started_at >= ibis.timestamp("2024-01-01"))'
    '.group_by("referrer").agg(n=_.count()).order_by(ibis.desc("n"))',
    'expr = events.filter(events.user_id.notnull()).user_id.nunique()',
    'expr = users.select("user_id", "country", "plan").filter(_.country != "US")',
    'expr = purchases.group_by(["user_id", "currency"]).agg(total=_.amount.sum())'
    '.filter(_.total > 500)',
    'expr = sessions.mutate(long=sessions.duration_s > 300).group_by("long")'
    '.agg(n=_.count())',
    'expr = events.filter(events.page.contains("pricing")).group_by("user_id")'
    '.agg(views=_.count()).order_by(ibis.desc("views"))',
    'expr = users.order_by(users.signup_ts).select("user_id", "signup_ts").limit(100)',
    'expr = purchases.amount.max()',
    'expr = sessions.group_by(["device", "browser"]).agg(n=_.count(), '
    'median_duration=_.duration_s.median())',
    'expr = events.join(sessions, "session_id").group_by("device")'
    '.agg(events=_.count()).order_by(ibis.desc("events"))',
    'expr = users.mutate(domain=users.email.split("@")[1]).group_by("domain")'
    '.agg(n=_.count())',
    'expr = purchases.filter(purchases.amount.between(10, 50)).count()',
    'expr = events.filter((events.event_type == "purchase") & (events.revenue > 100))'
    '.select("user_id", "revenue")',
    'expr = sessions.filter(sessions.referrer.notnull()).group_by("referrer")'
    '.agg(avg_duration=_.duration_s.mean(), n=_.count()).filter(_.n > 10)',
    'expr = users.country.nunique()',
    'expr = purchases.join(users, "user_id").filter(_.country == "FR")'
    '.agg(revenue=_.amount.sum())',
    'daily = events.mutate(day=events.ts.date())\n'
    'expr = daily.group_by(["day", "event_type"]).agg(n=_.count()).order_by("day")',
    'expr = sessions.mutate(minutes=sessions.duration_s / 60)'
    '.select("session_id", "minutes")',
    'expr = events.filter(events.ts.year() == 2024).group_by("page")'
    '.agg(users=_.user_id.nunique()).order_by(ibis.desc("users")).limit(5)',
)

# --- completion -------------------------------------------------------------------------------


def cut_points(code: str) -> list[tuple[int, str]]:
    """(offset just after the dot, the member that follows) for every `x.member`."""
    tree = ast.parse(code)
    data = code.encode()
    starts = [0]
    for i, b in enumerate(data):
        if b == 10:
            starts.append(i + 1)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            end = starts[node.end_lineno - 1] + node.end_col_offset
            cut = end - len(node.attr)
            if data[cut - 1 : cut] == b".":
                out.append((len(data[:cut].decode()), node.attr))
    return sorted(out)


def bench_completion(schema, usage, per_snippet: int, seed: int,
                     snippets: tuple[str, ...] = SNIPPETS) -> dict:
    from ibert_tasks_sql.editing.completion import bind_statements, complete

    rng = random.Random(seed)
    cases = []
    for code in snippets:
        points = cut_points(code)
        for offset, target in rng.sample(points, min(per_snippet, len(points))):
            cases.append((code[:offset], target))
    # Warm up: imports, API tables, usage; not counted.
    complete(f"{schema.names[0]}.", schema, usage)
    hits1 = hits5 = 0
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    latencies, latencies_unchecked = [], []
    misses = []
    for prefix, target in cases:
        bind_statements.cache_clear()
        t0 = time.perf_counter()
        result = complete(prefix, schema, usage, n=5, verify=True)
        latencies.append(time.perf_counter() - t0)
        bind_statements.cache_clear()
        t0 = time.perf_counter()
        complete(prefix, schema, usage, n=5, verify=False)
        latencies_unchecked.append(time.perf_counter() - t0)
        texts = [c.text for c in result.completions]
        kinds = {c.text: c.kind for c in result.completions}
        kind = "column" if any(target in t.columns for t in _tables(schema)) else "method"
        by_kind[kind][2] += 1
        if texts[:1] == [target]:
            hits1 += 1
            by_kind[kind][0] += 1
        if target in texts:
            hits5 += 1
            by_kind[kind][1] += 1
        elif len(misses) < 15:
            misses.append({"prefix": prefix[-60:], "target": target, "top5": texts,
                           "kinds": [kinds[t] for t in texts]})
    n = len(cases)
    return {
        "requests": n,
        "snippets": len(snippets),
        "top1": round(hits1 / n, 4),
        "top5": round(hits5 / n, 4),
        "by_kind": {k: {"requests": v[2], "top1": round(v[0] / v[2], 4),
                        "top5": round(v[1] / v[2], 4)} for k, v in sorted(by_kind.items())},
        "latency_ms_checked": _latency(latencies),
        "latency_ms_unchecked": _latency(latencies_unchecked),
        "usage_source": usage.source,
        "sample_misses": misses,
    }


def _tables(schema):
    from ibert_tasks_sql.editing.building import unbound_tables

    return list(unbound_tables(schema).values())


def _latency(values: list[float]) -> dict:
    ms = sorted(v * 1000 for v in values)
    return {"mean": round(statistics.mean(ms), 2), "p50": round(ms[len(ms) // 2], 2),
            "p95": round(ms[int(len(ms) * 0.95)], 2), "max": round(ms[-1], 2)}


# --- error resolution ------------------------------------------------------------------------

Mutator = Callable[[str, random.Random], str | None]


def _replace_once(code: str, old: str, new: str) -> str | None:
    return code.replace(old, new, 1) if old in code else None


def m_groupby(code, rng):
    return _replace_once(code, ".group_by(", ".groupby(")


def m_sort_values(code, rng):
    return _replace_once(code, ".order_by(", ".sort_values(")


def m_old_sort_by(code, rng):
    return _replace_once(code, ".order_by(", ".sort_by(")


def m_distinct(code, rng):
    return _replace_once(code, ".distinct()", ".drop_duplicates()")


def m_isnull(code, rng):
    return _replace_once(code, ".isnull()", ".isna()") or _replace_once(
        code, ".notnull()", ".notna()")


def m_cases(code, rng):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "cases" and isinstance(node.func.value, ast.Name)):
            whens = "".join(f".when({ast.unparse(a.elts[0])}, {ast.unparse(a.elts[1])})"
                            for a in node.args)
            default = next((k.value for k in node.keywords if k.arg == "else_"), None)
            tail = f".else_({ast.unparse(default)})" if default is not None else ""
            return _splice(code, node, f"ibis.case(){whens}{tail}.end()")
    return None


def m_bool_ops(code, rng):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            op = "and" if isinstance(node.op, ast.BitAnd) else "or"
            return _splice(code, node, f"{ast.unparse(node.left)} {op} "
                                       f"{ast.unparse(node.right)}")
    return None


def m_quoted_number(code, rng):
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for comp in node.comparators:
                if (isinstance(comp, ast.Constant) and isinstance(comp.value, (int, float))
                        and not isinstance(comp.value, bool)):
                    return _splice(code, comp, f'"{comp.value}"')
    return None


def _typo(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(name))
    ops = [name[:i] + name[i + 1:], name[:i] + name[i] + name[i:],
           name[:i - 1] + name[i] + name[i - 1] + name[i + 1:]]
    out = rng.choice(ops)
    return out if out != name else name + "s"


def m_column_typo(code, rng):
    tree = ast.parse(code)
    columns = {c for t in SCHEMA_DICT.values() for c in t}
    nodes = [n for n in ast.walk(tree)
             if (isinstance(n, ast.Attribute) and n.attr in columns)
             or (isinstance(n, ast.Constant) and n.value in columns)]
    if not nodes:
        return None
    node = rng.choice(nodes)
    if isinstance(node, ast.Attribute):
        return _splice(code, node, f"{ast.unparse(node.value)}.{_typo(node.attr, rng)}")
    return _splice(code, node, f'"{_typo(node.value, rng)}"')


def m_table_typo(code, rng):
    tree = ast.parse(code)
    names = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in SCHEMA_DICT]
    if not names:
        return None
    target = rng.choice(names).id
    return _rename_name(code, target, _typo(target, rng))


def _rename_name(code: str, old: str, new: str) -> str:
    tree = ast.parse(code)
    edits = [(n.col_offset, n.end_col_offset) for n in ast.walk(tree)
             if isinstance(n, ast.Name) and n.id == old and n.lineno == 1]
    out = code
    for start, end in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    return out


def m_pre_agg_table(code, rng):
    """`....agg(total=...).filter(_.total > x)` → `.filter(t.total > x)`."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "_"):
            root = code.split("=", 1)[1].strip().split(".", 1)[0]
            defined = {k.arg for c in ast.walk(tree) if isinstance(c, ast.Call)
                       for k in c.keywords}
            if node.attr in defined and root in SCHEMA_DICT:
                return _splice(code, node, f"{root}.{node.attr}")
    return None


def m_loc(code, rng):
    """`t.filter(cond)` → pandas `t.loc[cond]` (single-predicate filters only)."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "filter" and len(node.args) == 1 and not node.keywords):
            return _splice(code, node, f"{ast.unparse(node.func.value)}"
                                       f".loc[{ast.unparse(node.args[0])}]")
    return None


def m_agg_dict(code, rng):
    """`agg(x=_.col.sum())` → pandas `agg({"col": "sum"})` (when every metric has that form)."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "agg" and node.keywords and not node.args):
            pairs = []
            for k in node.keywords:
                v = k.value
                if not (isinstance(v, ast.Call) and not v.args and isinstance(v.func, ast.Attribute)
                        and isinstance(v.func.value, ast.Attribute)
                        and isinstance(v.func.value.value, ast.Name)
                        and v.func.value.value.id == "_"):
                    break
                pairs.append(f'"{v.func.value.attr}": "{v.func.attr}"')
            else:
                if len({p.split(":")[0] for p in pairs}) == len(pairs):
                    start = ast.unparse(node.func.value)
                    return _splice(code, node, f"{start}.agg({{{', '.join(pairs)}}})")
    return None


def m_len(code, rng):
    if code.endswith(".count()") and code.startswith("expr = "):
        body = code[len("expr = "):-len(".count()")]
        return f"expr = len({body})"
    return None


MUTATORS: dict[str, Mutator] = {
    "pandas groupby": m_groupby,
    "pandas sort_values": m_sort_values,
    "pandas drop_duplicates": m_distinct,
    "pandas isna/notna": m_isnull,
    "pandas len(t)": m_len,
    "pandas .loc[cond]": m_loc,
    "pandas agg({col: fn})": m_agg_dict,
    "python and/or": m_bool_ops,
    "quoted number": m_quoted_number,
    "misspelled column": m_column_typo,
    "misspelled table": m_table_typo,
    "pre-aggregation table column": m_pre_agg_table,
    "old ibis.case()": m_cases,
    "old sort_by": m_old_sort_by,
}


def _splice(code: str, node: ast.AST, text: str) -> str:
    data = code.encode()
    starts = [0] + [i + 1 for i, b in enumerate(data) if b == 10]
    s = starts[node.lineno - 1] + node.col_offset
    e = starts[node.end_lineno - 1] + node.end_col_offset
    return (data[:s] + text.encode() + data[e:]).decode()


def bench_fix(schema, context, seed: int, typo_variants: int) -> dict:
    import ibis

    from ibert_core.types import ValidationJob
    from ibert_tasks_sql.editing.building import build
    from ibert_tasks_sql.editing.resolution import resolve_many

    rng = random.Random(seed)
    mutants = []  # (kind, original, mutated, reference sql)
    for code in SNIPPETS:
        ref = build(code, schema)
        assert ref.ok, (code, ref.message)
        sql = str(ibis.to_sql(ref.expr, dialect="duckdb"))
        for kind, mutate in MUTATORS.items():
            repeats = typo_variants if "misspelled" in kind else 1
            for _ in range(repeats):
                bad = mutate(code, rng)
                if bad is None or bad == code:
                    continue
                if build(bad, schema).ok:
                    continue  # not a failing mutant (still valid Ibis): not a fix task
                mutants.append((kind, code, bad, sql))
    t0 = time.perf_counter()
    fixed = resolve_many([m[2] for m in mutants], schema)
    t_fix = time.perf_counter() - t0
    validator = context.validator("duckdb")
    jobs = [ValidationJob(r.code, schema, reference_sql=m[3]) for r, m in
            zip(fixed, mutants, strict=True)]
    t0 = time.perf_counter()
    verdicts = validator.validate_many(jobs)
    t_validate = time.perf_counter() - t0
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    failures = []
    for (kind, _orig, bad, _sql), res, verdict in zip(mutants, fixed, verdicts, strict=True):
        per[kind][1] += 1
        if verdict.passed:
            per[kind][0] += 1
        elif len(failures) < 15:
            failures.append({"kind": kind, "mutant": bad, "fixed": res.code,
                             "feedback": verdict.feedback[:200]})
    total_ok = sum(v[0] for v in per.values())
    return {
        "mutants": len(mutants),
        "fixed_and_equivalent": total_ok,
        "fix_rate": round(total_ok / len(mutants), 4),
        "by_mistake": {k: {"mutants": v[1], "fixed": v[0], "rate": round(v[0] / v[1], 4)}
                       for k, v in sorted(per.items())},
        "seconds_fixing": round(t_fix, 2),
        "seconds_validating": round(t_validate, 2),
        "sample_failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer cuts and mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--completion-only", action="store_true",
                        help="skip error resolution (its last figures are kept in the JSON)")
    args = parser.parse_args()

    from ibert_core.plugins import make_context
    from ibert_core.types import Schema
    from ibert_tasks_sql.editing.usage import load_usage

    schema = Schema.from_dict(SCHEMA_DICT)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        usage = load_usage({"cache_dir": cache})
        mine_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_usage({"cache_dir": cache})
        cached_s = time.perf_counter() - t0
    per_snippet = 2 if args.quick else 4
    completion = bench_completion(schema, usage, per_snippet, args.seed)
    completion["usage_mining_seconds_cold"] = round(mine_s, 2)
    completion["usage_loading_seconds_cached"] = round(cached_s, 3)
    heldout = bench_completion(Schema.from_dict(WEB_SCHEMA_DICT), usage, per_snippet,
                               args.seed, WEB_SNIPPETS)
    path = Path(__file__).parent / "results" / "completion.json"
    if args.completion_only:
        fix = json.loads(path.read_text()).get("error_resolution", {}) if path.exists() else {}
    else:
        context = make_context()
        try:
            fix = bench_fix(schema, context, args.seed, 1 if args.quick else 3)
        finally:
            context.close()
    import ibis

    out = {
        "benchmark": "completion",
        "command": ".venv/bin/python bench/completion.py",
        "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                    "ibis": ibis.__version__},
        "completion": completion,
        "completion_heldout_web": heldout,
        "error_resolution": fix,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    keys = ("requests", "top1", "top5", "by_kind", "latency_ms_checked", "latency_ms_unchecked")
    print(json.dumps({"completion": {k: completion[k] for k in keys},
                      "completion_heldout_web": {k: heldout[k] for k in keys},
                      "error_resolution": {k: fix.get(k) for k in
                                           ("mutants", "fix_rate", "by_mistake")}}, indent=2))

if __name__ == "__main__":
    main()
