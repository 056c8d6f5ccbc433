"""The completion engine against the real ibis: cursor analysis, types before the cursor,
members, arguments, ranking from a corpus, and checked multi-token completions."""

from __future__ import annotations

import json

import pytest

from ibert_core.errors import BadInput, UnsupportedConstruct
from ibert_core.types import Schema
from ibert_tasks_sql.editing.building import build, with_expr_assignment
from ibert_tasks_sql.editing.completion import complete
from ibert_tasks_sql.editing.cursor import analyze, cursor_offset
from ibert_tasks_sql.editing.restricted import parse_checked
from ibert_tasks_sql.editing.usage import COLUMN, Usage, count, load_usage

SCHEMA = Schema.from_dict(
    {
        "orders": {"id": "int64", "category": "string", "price": "float64", "customer_id": "int64",
                   "placed": "date"},
        "customers": {"customer_id": "int64", "name": "string"},
    }
)

#: A small hand-made usage table, so ranking tests do not depend on what ibis's tests use.
USAGE = Usage(
    bigrams={"group_by": {"agg": 10, "having": 2}, "<name>": {COLUMN: 5, "filter": 4},
             COLUMN: {"sum": 6, "mean": 3}, "_": {COLUMN: 9}},
    unigrams={"agg": 10, "having": 2, COLUMN: 20, "filter": 4, "sum": 6, "mean": 3},
)


def names(result):
    return [c.text for c in result.completions]


@pytest.mark.parametrize(
    ("prefix", "kind", "receiver", "partial"),
    [
        ("orders.", "member", "orders", ""),
        ("orders.pri", "member", "orders", "pri"),
        ('orders.group_by("category").a', "member", 'orders.group_by("category")', "a"),
        ("expr = (\n    orders.filter(_.price > 1)\n    .", "member",
         "orders.filter(_.price > 1)", ""),
        ("orders.filter(_.", "member", "_", ""),
        ("orders.group_by(", "argument", "orders.group_by", ""),
        ("orders[", "getitem", "orders", ""),
        ('orders["ca', "string", "", "ca"),
        ("ord", "name", "", "ord"),
        ("x = 1.", "name", "", ""),
    ],
)
def test_cursor_sites(prefix: str, kind: str, receiver: str, partial: str) -> None:
    site = analyze(prefix)
    assert (site.kind, site.receiver, site.partial) == (kind, receiver, partial)


def test_cursor_separates_statements_and_strings() -> None:
    site = analyze('a = orders.filter(orders.category == "x.y")\nexpr = a.')
    assert site.before.startswith("a = orders")
    assert site.receiver == "a"


def test_cursor_option_is_line_and_column() -> None:
    code = "x = orders\nexpr = x.pri + 1"
    assert code[: cursor_offset(code, "2:12")].endswith("x.pri")
    with pytest.raises(BadInput):
        cursor_offset(code, "9:0")
    with pytest.raises(BadInput):
        cursor_offset(code, "two")


def test_table_members_are_columns_then_api_with_signatures() -> None:
    result = complete("orders.", SCHEMA, USAGE, n=100, verify=False)
    assert result.receiver_type == "Table"
    by_name = {c.text: c for c in result.completions}
    assert {"id", "category", "price", "filter", "group_by", "join"} <= set(by_name)
    assert by_name["category"].kind == "column"
    assert by_name["group_by"].signature.startswith("group_by(")
    assert by_name["group_by"].doc  # one-line doc from ibis's docstring
    assert "execute" not in by_name  # leaves the lazy world: not offered


def test_grouped_table_completion_ranks_agg_first_and_builds() -> None:
    result = complete('orders.group_by("category").', SCHEMA, USAGE, n=3)
    assert result.receiver_type == "GroupedTable"
    assert names(result)[0] == "agg"
    top = result.completions[0]
    assert top.snippet.startswith("agg(") and top.checked is True
    assert result.code == 'orders.group_by("category").' + top.snippet
    assert build(result.code, SCHEMA).ok


def test_join_snippet_uses_a_shared_key_and_builds() -> None:
    result = complete("orders.jo", SCHEMA, USAGE, n=3)
    top = result.completions[0]
    assert (top.text, top.snippet, top.checked) == (
        "join", 'join(customers, "customer_id")', True)
    assert result.code == 'orders.join(customers, "customer_id")'


def test_ibis_functions_in_a_call_take_the_tables_column() -> None:
    usage = Usage(bigrams={"ibis@order_by": {"desc": 5}}, unigrams={"desc": 5})
    result = complete("orders.order_by(ibis.", SCHEMA, usage, n=1)
    # A descending order is a top-N: by a measure (`price`), not the key `id`.
    assert result.completions[0].snippet == 'desc("price")'
    assert result.code == 'orders.order_by(ibis.desc("price"))'


def test_column_members_follow_the_dtype() -> None:
    numeric = names(complete("orders.price.", SCHEMA, USAGE, n=200, verify=False))
    text = names(complete("orders.category.", SCHEMA, USAGE, n=200, verify=False))
    assert numeric[0] == "sum"
    assert "upper" in text and "upper" not in numeric
    assert "round" in numeric and "round" not in text


def test_partial_word_filters_members() -> None:
    result = complete("orders.pr", SCHEMA, USAGE, n=10)
    assert names(result)[0] == "price"
    assert all(n.lower().startswith("pr") for n in names(result))
    assert result.code == "orders.price"


def test_deferred_resolves_against_the_enclosing_table() -> None:
    cols = names(complete("orders.filter(_.", SCHEMA, USAGE, n=10, verify=False))
    # Keys (`id`, `customer_id`) come after the other columns in a filter.
    assert set(cols[:3]) == {"category", "price", "placed"}
    assert {"id", "customer_id"} <= set(cols)
    members = complete("orders.filter(_.price.", SCHEMA, USAGE, n=100, verify=False)
    assert members.receiver_type.startswith("FloatingColumn")
    joined = complete('orders.join(customers, "customer_id").filter(_.', SCHEMA, USAGE, n=10,
                      verify=False)
    assert "name" in names(joined)


def test_variables_from_earlier_statements_are_typed() -> None:
    code = 'big = orders.filter(_.price > 100)\nby_cat = big.group_by("category")\nexpr = by_cat.'
    assert names(complete(code, SCHEMA, USAGE, n=1, verify=False)) == ["agg"]


def test_arguments_offer_keywords_columns_and_closing() -> None:
    inside = complete("orders.group_by(", SCHEMA, USAGE, n=10, verify=False)
    assert '"category"' in names(inside)
    after = complete('orders.join(customers, "customer_id"', SCHEMA, USAGE, n=20)
    assert names(after)[0] == ")"
    assert ', how=' in names(after)
    assert after.code == 'orders.join(customers, "customer_id")'


def test_subscript_and_open_string_complete_column_names() -> None:
    assert names(complete("orders[", SCHEMA, USAGE, n=2)) == ['"id"]', '"category"]']
    result = complete('orders.select("ca', SCHEMA, USAGE, n=5)
    assert names(result) == ['category"']
    assert result.code == 'orders.select("category")'


def test_names_at_top_level() -> None:
    assert names(complete("cus", SCHEMA, USAGE)) == ["customers"]


def test_cursor_in_the_middle_keeps_the_rest() -> None:
    code = "expr = orders.pri.sum()"
    result = complete(code, SCHEMA, USAGE, cursor="1:17", n=1)
    assert result.code == "expr = orders.price.sum()"
    assert result.completions[0].checked


def test_cursor_inside_a_word_replaces_the_rest_of_it() -> None:
    code = 'expr = orders.group_by("category").agg(n=_.count())'
    result = complete(code, SCHEMA, USAGE, cursor="1:16", n=5)  # orders.gr|oup_by
    assert result.site.partial == "gr"
    assert names(result) == ["group_by"]
    assert result.code == code


def test_prefix_that_does_not_build_gives_a_note() -> None:
    result = complete("orders.nosuch.", SCHEMA, USAGE)
    assert not result.completions
    assert "does not build" in result.note


def test_restricted_check_rejects_escapes() -> None:
    for code in ["orders.__class__", "import os", "ibis.duckdb.connect()", "orders.execute()",
                 "'{0.__class__}'.format(orders)", "def f(): pass", "while True: pass",
                 "x = 'a' * 10**9", "ibis.read_csv('/etc/passwd')", "x = str(1) * 10**12",
                 "x = 'a'.center(10**12)", "x = str(1) * (3 * 10**9)"]:
        with pytest.raises((UnsupportedConstruct, SyntaxError)):
            parse_checked(code)
    with pytest.raises(UnsupportedConstruct, match="execute"):
        complete("orders.execute().", SCHEMA, USAGE)
    out = build("expr = orders.__class__", SCHEMA)
    assert not out.ok and out.stage == "parse"
    assert build("expr = orders.filter(orders.price * 1000 > 2**10)", SCHEMA).ok
    out = build("expr = list(range(10**9))", SCHEMA)  # no `range` among the builtins
    assert not out.ok and out.error_type == "NameError"


def test_build_reports_stage_and_line() -> None:
    out = build("x = orders\nexpr = x.nope", SCHEMA)
    assert (out.ok, out.stage, out.lineno, out.error_type) == (False, "build", 2, "AttributeError")
    assert build("expr = orders.count()", SCHEMA).sql.startswith("SELECT")
    assert with_expr_assignment("orders.count()") == "expr = orders.count()"


def test_usage_counts_follow_the_corpus(tmp_path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [{"id": str(i), "task": "sql_to_ibis",
             "input": {"sql": "SELECT o.category FROM orders AS o\nWHERE\no.price > 1"},
             "target": {"ibis": 'expr = orders.group_by("category").having(_.count() > 1)'}}
            for i in range(5)]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    usage = load_usage({"corpus": str(corpus), "cache_dir": str(tmp_path / "cache")})
    assert usage.bigrams["group_by"] == {"having": 5}
    assert "<name>" not in usage.bigrams  # the SQL's `o.price` line is not Python code
    assert usage.source.startswith("corpus")
    assert list((tmp_path / "cache" / "completion").iterdir())  # cached on disk
    ranked = complete('orders.group_by("category").', SCHEMA, usage, n=2, verify=False)
    assert names(ranked)[0] == "having"


def test_usage_mining_reads_doctests_and_skips_other_libraries() -> None:
    usage = count(['t.group_by("a").agg(n=t.b.sum())', ">>> t.filter(t.x > 1)\n",
                   "pd.DataFrame().groupby('a')"], "test")
    assert usage.bigrams["group_by"] == {"agg": 1}
    assert "groupby" not in usage.unigrams
    assert usage.score("group_by", "agg") > usage.score("group_by", "filter")
