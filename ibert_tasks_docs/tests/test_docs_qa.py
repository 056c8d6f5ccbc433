"""qa: the symbol index, its cache, retrieval quality, runnable examples, the task end to end."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ibert_core import engine
from ibert_core.types import Candidate, Schema, TaskRequest
from ibert_tasks_docs.qa import index as index_mod
from ibert_tasks_docs.qa.examples import examples_for, rewrite, runnable_from_answer
from ibert_tasks_docs.qa.index import ApiIndex, load_docs, load_package, open_index
from ibert_tasks_docs.qa.symbols import dataset_schemas, doctest_blocks, see_also
from ibert_tasks_docs.qa.tokens import query_terms, terms


def _rank(index: ApiIndex, question: str, names: tuple[str, ...], k: int = 5) -> int | None:
    wanted = {s.qualname for n in names for s in index.resolve(n)}
    assert wanted, f"labels {names} are not in the index"
    hits = index.search(question, k=k)
    return next((i + 1 for i, h in enumerate(hits) if h.symbol.qualname in wanted), None)


# --- the index ------------------------------------------------------------------------------


def test_docs_symbols_are_semantic_units_with_signature_docs_and_examples(ibis_index: Any) -> None:
    (mutate,) = ibis_index.resolve("Table.mutate")
    assert mutate.qualname == "ibis.expr.types.relations.Table.mutate"
    assert mutate.kind == "method" and "**mutations" in mutate.signature
    assert mutate.summary.startswith("Add columns")
    assert any(".mutate(" in ex for ex in mutate.examples)
    (read_parquet,) = ibis_index.resolve("ibis.read_parquet")
    assert read_parquet.qualname == "ibis.expr.api.read_parquet"  # exported name kept as alias


def test_docs_overrides_and_private_mixins_are_indexed_once(ibis_index: Any) -> None:
    # Join.filter wraps Table.filter: one symbol, the override only an alias
    (filt,) = ibis_index.resolve("Join.filter")
    assert filt.qualname.endswith("relations.Table.filter")
    # DateValue.year lives on a private mixin; users know it by the public class
    assert ibis_index.resolve("DateValue.year")
    assert not ibis_index.resolve("DateColumn.year")


def test_docs_second_names_of_a_method_are_its_aliases(ibis_index: Any) -> None:
    # `agg = aggregate` in ibis: users write `t.agg(...)`, the docstring is `aggregate`'s
    (agg,) = ibis_index.resolve("Table.agg")
    assert agg.short == "Table.aggregate"
    assert "ibis.expr.types.relations.Table.agg" in agg.aliases
    assert not ibis_index.resolve("ibis.expr.types.relations.Table.agg")[0].qualname.endswith(
        ".agg")
    (rlike,) = ibis_index.resolve("StringValue.rlike")
    assert rlike.short == "StringValue.re_search"


def test_docs_graph_links_methods_classes_and_see_also(ibis_index: Any) -> None:
    pos = ibis_index.position
    inner = pos[ibis_index.resolve("Table.inner_join")[0].qualname]
    join = pos[ibis_index.resolve("Table.join")[0].qualname]
    table = pos["ibis.expr.types.relations.Table"]
    assert join in ibis_index.graph[inner]  # "See Also: join"
    assert table in ibis_index.graph[inner]  # its class
    assert inner in ibis_index.graph[table]


def test_docs_doctest_and_see_also_parsing() -> None:
    doc = textwrap.dedent("""\
        Do it.

        See Also
        --------
        join : the general form
        Table.select, mutate

        Examples
        --------
        >>> t = ibis.memtable({"a": [1]})
        >>> t.mutate(
        ...     b=t.a + 1
        ... )
        ┏━━━┓
        """)
    assert doctest_blocks(doc) == (
        't = ibis.memtable({"a": [1]})',
        "t.mutate(\n    b=t.a + 1\n)",
    )
    assert see_also(doc)[:3] == ("join", "Table.select", "mutate")


def test_docs_tokens_split_identifiers_and_join_question_words() -> None:
    assert {"group_by", "group"} <= set(terms("group_by"))
    q = query_terms("how do I read parquet files?")
    assert "read_parquet" in q and "parquet" in q
    assert "filter" in query_terms("rows where x > 1")  # SQL word mapped to the API's
    assert "isnull" in query_terms("is it null?")  # ibis runs some names together
    assert {"fill_null", "group_concat", "truncat"} <= set(
        query_terms("fillna, string_agg and date_trunc"))  # pandas / SQL names


# --- retrieval quality ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "labels", "within"),
    [
        ("how to pivot wider?", ("Table.pivot_wider",), 1),
        ("how do I read parquet into duckdb with ibis?",
         ("ibis.read_parquet", "Backend.read_parquet"), 2),
        ("how do I compute a rolling mean?",
         ("Value.over", "ibis.trailing_window", "ibis.rows_window", "ibis.window"), 3),
        ("rename a column", ("Table.rename",), 3),
        ("remove duplicate rows", ("Table.distinct",), 3),
        ("unpivot columns into rows (melt)", ("Table.pivot_longer",), 3),
        ("extract the year from a date column", ("DateValue.year", "TimestampValue.year"), 5),
        # a graph neighbour (`StringValue.join`) used to be lent enough to overtake it
        ("join strings of a group with a separator", ("Value.group_concat",), 1),
    ],
)
def test_docs_retrieval_finds_the_answering_symbol(
    ibis_index: Any, question: str, labels: tuple[str, ...], within: int
) -> None:
    rank = _rank(ibis_index, question, labels, k=10)
    top = [h.symbol.short for h in ibis_index.search(question, k=5)]
    assert rank is not None and rank <= within, (question, top)


@pytest.mark.parametrize(
    ("question", "first"),
    [
        # each of these ranked another symbol first on the words alone
        ("How do I use `Table.agg` in Ibis?", ("Table.aggregate",)),  # not the UDF `udf.agg`
        ("How do I use `Table.select` in Ibis?", ("Table.select",)),  # not `Table.limit`
        ("What does `Table.count` return?", ("Table.count",)),  # not `value_counts`
        ("How do I use `Table.distinct` in Ibis?", ("Table.distinct",)),  # not `nunique`
        ("How do I use `Value.over` in Ibis?", ("Value.over",)),  # not `Column.nth`
        ("How do I use `ibis.rank` in Ibis?", ("ibis.rank",)),  # `ibis` is a stop word
        ("How do I use `upper` in Ibis?", ("StringValue.upper",)),  # one symbol's name
        ("When is Table.view needed?", ("Table.view",)),  # dotted without backticks
        ("Show me `t.select(...)` vs `Table.mutate()`", ("Table.mutate",)),
        # two names: both first, in the question's order
        ("What is the difference between `Table.distinct` and `Column.nunique`?",
         ("Table.distinct", "Column.nunique")),
        ("What is the difference between `Column.nunique` and `Table.distinct`?",
         ("Column.nunique", "Table.distinct")),
    ],
)
def test_docs_names_spelled_exactly_rank_first(
    ibis_index: Any, question: str, first: tuple[str, ...]
) -> None:
    hits = ibis_index.search(question, k=5)
    assert tuple(h.symbol.short for h in hits[: len(first)]) == first, [
        h.symbol.short for h in hits]


def test_docs_ambiguous_or_unknown_names_are_left_to_retrieval(ibis_index: Any) -> None:
    from ibert_tasks_docs.qa.index import named

    assert named("use `Table.select(x)` or ibis.desc, not `_.a > 1` (e.g. `t`)") == [
        "Table.select", "t", "ibis.desc"]
    # `count` is a method of several classes, `zzqx` of none: no symbol is put first
    assert ibis_index.exact("How do I use `count`?") == []
    assert ibis_index.exact("How do I use `zzqx` or `Table.zzqx`?") == []
    assert len(ibis_index.exact("How do I use `upper`?")) == 1


@pytest.mark.parametrize(
    ("question", "first", "below"),
    [
        # plumbing (`do_connect`, `reconnect`) shares the words of what users call
        ("connect to a duckdb database file", ("BaseBackend.connect", "ibis.connect"),
         ("BaseBackend.do_connect", "BaseBackend.reconnect")),
        ("list the tables in a database", ("BaseBackend.list_tables",),
         ("BaseBackend.do_connect",)),
        # a variant (`_batches`) is meant only when its word is asked for
        ("execute an expression and get a pandas DataFrame",
         ("Value.to_pandas", "BaseBackend.to_pandas", "BaseBackend.execute"),
         ("BaseBackend.to_pandas_batches", "Expr.to_pandas_batches")),
        # geospatial methods say "text" too; this question speaks no geometry
        ("replace text inside a string column", ("StringValue.replace",),
         ("GeoSpatialValue.as_text",)),
        # a grouped table's methods are meant when the question groups
        ("difference between mutate and select", ("Table.mutate", "Table.select"),
         ("GroupedTable.mutate", "GroupedTable.select")),
    ],
)
def test_docs_users_api_outranks_plumbing_variants_and_other_domains(
    ibis_index: Any, question: str, first: tuple[str, ...], below: tuple[str, ...]
) -> None:
    hits = [h.symbol.short for h in ibis_index.search(question, k=20)]
    best = min(hits.index(n) for n in first if n in hits)
    assert all(n not in hits or hits.index(n) > best for n in below), hits[:6]


def test_docs_plumbing_is_demoted_unless_asked_in_its_domain_words(ibis_index: Any) -> None:
    # a geometry question still finds the geospatial API first
    top = ibis_index.search("convert a geometry to well-known text (WKT)", k=3)
    assert top[0].symbol.short == "GeoSpatialValue.as_text"
    # a grouped question still finds the grouped table's methods
    grouped = [h.symbol.short for h in ibis_index.search("filter groups after grouping", k=5)]
    assert "GroupedTable.having" in grouped
    # and an approximate variant when approximation is asked for
    approx = ibis_index.search("approximate median of a column", k=1)
    assert approx[0].symbol.short == "Column.approx_median"


@pytest.mark.parametrize(
    ("question", "label"),
    [
        # pandas method names
        ("pandas astype on a column", "Value.cast"),
        ("fillna with 0", "Table.fill_null"),
        ("idxmax of a column", "Column.argmax"),
        ("to_datetime on a string column", "StringValue.as_timestamp"),
        # SQL functions
        ("date_trunc to the week", "DateValue.truncate"),
        ("approx_count_distinct of user ids", "Column.approx_nunique"),
        # a name run together in ibis, apart in the question
        ("check whether a value is null", "Value.isnull"),
        # plain English for what ibis names otherwise
        ("summarize sales by region", "Table.aggregate"),
        ("exclude some columns", "Table.drop"),
        ("duration between start and end", "TimestampValue.delta"),
    ],
)
def test_docs_pandas_and_sql_names_find_the_ibis_symbol(
    ibis_index: Any, question: str, label: str
) -> None:
    rank = _rank(ibis_index, question, (label,), k=3)
    assert rank is not None, [h.symbol.short for h in ibis_index.search(question, k=5)]


def test_docs_bm25_reads_example_sentences_but_not_link_targets(ibis_index: Any) -> None:
    from ibert_tasks_docs.qa.index import document_text
    from ibert_tasks_docs.qa.tokens import terms

    (isnull,) = ibis_index.resolve("Value.isnull")
    assert "qmd" in isnull.doc and "qmd" not in terms(document_text(isnull))
    assert "Value.fill_null()" in document_text(isnull)  # the link's text stays
    (intersect,) = ibis_index.resolve("Table.intersect")
    # a sentence between the examples, not the examples' code or printed tables
    text = document_text(intersect)
    assert "appears in all input tables" in text
    assert "memtable" not in text and "┃" not in text
    assert _rank(ibis_index, "rows that appear in both tables",
                 ("Table.intersect", "ibis.intersect")) == 1


def test_docs_a_method_outranks_the_expression_class_it_is_on(ibis_index: Any) -> None:
    hits = [h.symbol.short for h in ibis_index.search("length of an array column", k=5)]
    assert hits[0] == "ArrayValue.length", hits


def test_docs_nonsense_question_finds_nothing(ibis_index: Any) -> None:
    assert ibis_index.search("zzqx vvbnm", k=5) == []


# --- the cache ------------------------------------------------------------------------------


def _fake_package(root: Path, version: str, body: str) -> None:
    pkg = root / "ibertfakepkg"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text(body)
    for old in root.glob("ibertfakepkg-*.dist-info"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
    info = root / f"ibertfakepkg-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: ibertfakepkg\nVersion: {version}\n"
    )
    (info / "top_level.txt").write_text("ibertfakepkg\n")
    (info / "RECORD").write_text("ibertfakepkg/__init__.py,,\n")


def test_docs_cache_is_keyed_by_version_and_rebuilt_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    _fake_package(site, "1.0", 'def alpha(x):\n    """Alpha the x."""\n')
    importlib.invalidate_caches()

    syms, info = load_package("ibertfakepkg", root=cache)
    assert (info.version, info.cached) == ("1.0", False)
    assert [s.qualname for s in syms] == ["ibertfakepkg.alpha"]
    assert load_package("ibertfakepkg", root=cache)[1].cached  # second load: from the cache

    two = 'def alpha(x):\n    """Alpha."""\n\n\ndef beta(y):\n    """Beta."""\n'
    _fake_package(site, "2.0", two)
    sys.modules.pop("ibertfakepkg", None)
    importlib.invalidate_caches()
    syms, info = load_package("ibertfakepkg", root=cache)
    assert (info.version, info.cached) == ("2.0", False)
    assert {s.qualname for s in syms} == {"ibertfakepkg.alpha", "ibertfakepkg.beta"}
    assert len(list((cache / "qa").glob("package-ibertfakepkg-*.json"))) == 2
    sys.modules.pop("ibertfakepkg", None)


def test_docs_docs_folders_are_indexed_by_section_and_refreshed_on_edit(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "howto.qmd").write_text(
        "# Joining\n\nUse a semi join to keep matching rows.\n\n"
        "## Zebra stripes\n\nColour alternate rows like a zebra.\n\n"
        "```{python}\nexpr = t.filter(t.a > 1)\n```\n"
    )
    nb = {"cells": [{"cell_type": "markdown", "source": ["# Notebook walrus\n", "walrus facts"]},
                    {"cell_type": "code", "source": "expr = t.limit(3)"}]}
    (docs / "nb.ipynb").write_text(json.dumps(nb))
    syms, _ = load_docs(docs, root=tmp_path / "cache")
    titles = {s.signature: s for s in syms}
    assert {"Joining", "Zebra stripes", "Notebook walrus"} <= set(titles)
    assert titles["Zebra stripes"].examples == ("expr = t.filter(t.a > 1)",)
    hits = ApiIndex(syms).search("zebra stripes on alternate rows", k=1)
    assert hits[0].symbol.signature == "Zebra stripes"
    assert load_docs(docs, root=tmp_path / "cache")[1].cached
    (docs / "howto.qmd").write_text("# Joining\n\nchanged and longer text\n")
    assert not load_docs(docs, root=tmp_path / "cache")[1].cached


def test_docs_other_packages_can_be_indexed(qa_config: dict[str, Any]) -> None:
    syms, _ = load_package("attrs", root=Path(qa_config["cache_dir"]))
    assert any(s.qualname.endswith(".define") for s in syms)


# --- examples -------------------------------------------------------------------------------


def test_docs_examples_become_sandbox_code_on_fixture_tables() -> None:
    stmts = (
        "import ibis",
        "ibis.options.interactive = True",
        "t = ibis.examples.penguins.fetch()",
        "t",
        "t.mutate(next_year=t.year + 1).head()",
        "t.mutate(x=1).execute()",
    )
    (ex,) = rewrite(stmts, "mutate")
    assert "penguins" in ex.tables and ex.tables["penguins"]["year"] == "int64"
    assert ex.code.splitlines()[-2:] == [
        "t = penguins", "expr = t.mutate(next_year=t.year + 1).head()"]
    assert "options" not in ex.code and "execute" not in ex.code

    (mem,) = rewrite(('t = ibis.memtable({"s": ["a", "b"], "n": [1, 2]})', "t.s.upper()"), "upper")
    assert mem.tables == {"t": {"s": "string", "n": "int64"}}
    assert mem.code.endswith("expr = t.s.upper()")
    (dates,) = rewrite(('t = ibis.memtable({"ts": [datetime(2020, 1, 5, 8, 0, 0), None]})',
                        't.ts.truncate("M")'), "truncate")
    assert dates.tables == {"t": {"ts": "timestamp"}}
    (unbound,) = rewrite(('t = ibis.table(dict(name="string", tags="array<string>"))',
                          "t.tags.length()"), "length")
    assert unbound.tables == {"t": {"name": "string", "tags": "array<string>"}}
    # anything that is not a literal stays code (and is then judged by the validator)
    assert rewrite(("t = ibis.memtable(load())", "t.count()"), "count")[0].tables == {}


def test_docs_memtable_examples_also_come_on_their_own_rows() -> None:
    """Fixture rows first (richer: NULLs, duplicates), the docstring's own rows second,
    for when fixture rows break the example; an unbound `ibis.table` has no rows."""
    stmts = ('t = ibis.memtable({"f": [None, "-inf", "3.0"]})',
             "t = t.mutate(f=ibis._.f.cast(float))", "t.mutate(isnull=t.f.isnull())")
    (ex,) = rewrite(stmts, "isnull")
    assert ex.tables == {"t": {"f": "string"}} and "memtable" not in ex.code
    own = ex.on_own_rows
    assert own is not None and ex.variants() == [ex, own]
    assert own.tables == {}
    assert own.code.splitlines()[-3:] == [
        't = ibis.memtable({"f": [None, "-inf", "3.0"]})',
        "t = t.mutate(f=ibis._.f.cast(float))",
        "expr = t.mutate(isnull=t.f.isnull())",
    ]
    (unbound,) = rewrite(('t = ibis.table(dict(n="int64"))', "t.n.isnull()"), "isnull")
    assert unbound.on_own_rows is None and unbound.variants() == [unbound]


def test_docs_examples_fetching_through_an_alias_of_the_examples_module() -> None:
    # `Table.distinct`'s docstring imports `ibis.examples as ex`
    stmts = ("import ibis.examples as ex", "t = ex.penguins.fetch()", "t.distinct()")
    (ex,) = rewrite(stmts, "distinct")
    assert "penguins" in ex.tables and ex.code.splitlines()[-2:] == [
        "t = penguins", "expr = t.distinct()"]
    # without the import, `ex` is just some name: nothing is replaced
    (plain,) = rewrite(("t = ex.penguins.fetch()", "t.distinct()"), "distinct")
    assert plain.tables == {} and "ex.penguins.fetch()" in plain.code


@pytest.mark.parametrize("imports", [
    "from ibis import examples",  # `Table.value_counts`'s docstring
    "from ibis import examples, selectors as s",  # `Table.topk`'s
    "from ibis import examples as ex2",
])
def test_docs_examples_fetching_through_a_from_import_of_the_examples_module(
    imports: str,
) -> None:
    name = "ex2" if "ex2" in imports else "examples"
    stmts = (imports, f"t = {name}.penguins.fetch()", "t.topk(3)")
    (ex,) = rewrite(stmts, "topk")
    assert "penguins" in ex.tables and ex.code.splitlines()[-2:] == [
        "t = penguins", "expr = t.topk(3)"]


@pytest.mark.parametrize("symbol", ["Table.value_counts", "Table.topk", "Column.topk"])
def test_docs_examples_of_more_datasets_run_in_the_validator(
    ibis_index: Any, docs_context: Any, symbol: str
) -> None:
    # `from ibis import examples`, and the diamonds dataset, used to leave these with no
    # example that ran
    from ibert_core.types import ValidationJob

    (sym,) = ibis_index.resolve(symbol)
    runs = [docs_context.validator("duckdb").validate(
        ValidationJob(v.code, Schema.from_dict(v.tables),
                      stages=("parse", "build", "compile", "execute"), options={"seeds": (0,)}))
        for ex in examples_for(sym) for v in ex.variants()]
    assert any(r.passed for r in runs), [r.feedback for r in runs]


def test_docs_statements_needing_a_module_the_sandbox_lacks_are_dropped() -> None:
    # `selectors.of_type`'s docstring: the `dt.Array` statement used to be the setup of
    # every later example, so none ran
    stmts = ("import ibis", "import ibis.expr.datatypes as dt", "import ibis.selectors as s",
             't = ibis.table(dict(name="string", siblings="array<string>"))',
             "expr = t.select(s.of_type(dt.Array(dt.string)))",
             'expr = t.select(s.of_type("array<string>"))')
    examples = rewrite(stmts, "of_type")
    assert [ex.code.splitlines()[-2:] for ex in examples] == [
        ['expr = t.select(s.of_type("array<string>"))', "expr = expr"]]
    assert examples[0].tables == {"t": {"name": "string", "siblings": "array<string>"}}


def test_docs_dataset_schemas_are_read_off_printed_tables() -> None:
    doc = textwrap.dedent("""\
        >>> t = ibis.examples.fish_encounters.fetch()
        >>> t
        ┏━━━━━━━┳━━━━━━━━━┳━━━━━━━┓
        ┃ fish  ┃ station ┃ seen  ┃
        ┡━━━━━━━╇━━━━━━━━━╇━━━━━━━┩
        │ int64 │ string  │ int64 │
        ├───────┼─────────┼───────┤
        │  4842 │ Release │     1 │
        >>> t.pivot_wider(names_from="station", values_from="seen")
        """)
    datasets = dataset_schemas(doc)
    assert datasets == {"fish_encounters": {"fish": "int64", "station": "string", "seen": "int64"}}
    (ex,) = rewrite(doctest_blocks(doc), "pivot_wider", datasets)
    assert ex.tables == datasets and "t = fish_encounters" in ex.code
    # narrowed by a projection before it is shown (`Table.rename`): the shown columns
    narrowed = doc.replace("fetch()", "fetch().select(s.index[:3])")
    assert dataset_schemas(narrowed) == datasets
    assert dataset_schemas(doc.replace("fetch()", "fetch().mutate(x=1)")) == {}  # not narrowing


def test_docs_examples_keep_their_datetime_imports_and_run(
    ibis_index: Any, docs_context: Any
) -> None:
    from ibert_core.types import ValidationJob

    stmts = ("from datetime import timedelta", "import os", "t.ts.bucket(timedelta(1))")
    (ex,) = rewrite(stmts, "bucket")
    assert "from datetime import timedelta" in ex.code and "import os" not in ex.code
    (sym,) = ibis_index.resolve("Table.asof_join")  # `tolerance = timedelta(seconds=1)`
    (ex,) = examples_for(sym)
    for variant in ex.variants():
        verdict = docs_context.validator("duckdb").validate(
            ValidationJob(variant.code, Schema.from_dict(variant.tables),
                          stages=("parse", "build", "compile", "execute"), options={"seeds": (0,)}))
        assert verdict.passed, verdict.feedback


def test_docs_examples_of_a_dataset_narrowed_before_it_is_shown_run(
    ibis_index: Any, docs_context: Any
) -> None:
    from ibert_core.types import ValidationJob

    (sym,) = ibis_index.resolve("Table.rename")  # `...penguins_raw_raw.fetch().select(first3)`
    for ex in examples_for(sym):
        verdict = docs_context.validator("duckdb").validate(
            ValidationJob(ex.code, Schema.from_dict(ex.tables),
                          stages=("parse", "build", "compile", "execute"), options={"seeds": (0,)}))
        assert verdict.passed, verdict.feedback


def test_docs_sql_compiling_examples_run_the_expression_they_compile() -> None:
    (ex,) = rewrite(("t = ibis.examples.penguins.fetch()", "ibis.to_sql(t.count())"), "to_sql")
    assert ex.code.splitlines()[-2:] == ["sql = ibis.to_sql(t.count())", "expr = t.count()"]


def test_docs_answers_code_blocks_are_what_gets_run() -> None:
    ex = runnable_from_answer("Try:\n```python\nt = ibis.examples.penguins.fetch()\n"
                              "expr = t.count()\n```\n")
    assert ex is not None and ex.code.startswith("t = penguins") and "penguins" in ex.tables
    assert runnable_from_answer("no code here") is None


def test_docs_examples_of_a_real_symbol_run_in_the_validator(
    ibis_index: Any, docs_context: Any
) -> None:
    from ibert_core.types import ValidationJob

    (sym,) = ibis_index.resolve("Table.mutate")
    ex = examples_for(sym)[0]
    verdict = docs_context.validator("duckdb").validate(
        ValidationJob(ex.code, Schema.from_dict(ex.tables),
                      stages=("parse", "build", "compile", "execute")))
    assert verdict.passed, verdict.feedback


# --- the task end to end --------------------------------------------------------------------


def test_docs_qa_end_to_end_through_the_engine(ibis_index: Any, docs_context: Any) -> None:
    result = engine.run(docs_context, TaskRequest("qa", "how do I rename a column?"))
    assert result.verified, result.verdict and result.verdict.feedback
    assert result.answer and "Table.rename" in result.answer and "```python" in result.answer
    # no embedding model here: the answer's last line says so, and is also a field of its
    # own (a corpus drops that machine-dependent line from the answer it stores)
    note = result.extra["retrieval_note"]
    assert "BM25 + graph alone" in note and result.answer.endswith("\n" + note)
    assert result.answer.count("retrieval: ") == 1
    cited = result.extra["cited"]
    assert cited[0]["name"] == "Table.rename" and cited[0]["score"] > 0
    assert [s.name for s in result.verdict.stages] == ["parse", "build", "compile", "execute"]


def test_docs_qa_answers_a_named_method_with_its_own_example(
    ibis_index: Any, docs_context: Any
) -> None:
    # it used to show `Column.nunique` (the thesaurus's "distinct") and its example
    result = engine.run(docs_context, TaskRequest("qa", "How do I use `Table.distinct`?"))
    assert result.verified, result.verdict and result.verdict.feedback
    assert result.extra["cited"][0]["name"] == "Table.distinct"
    assert result.extra["example_symbol"].endswith("Table.distinct")


def test_docs_qa_example_broken_by_fixture_rows_runs_on_its_own_rows(
    ibis_index: Any, docs_context: Any
) -> None:
    # `Value.isnull`'s example casts strings to float: fixture strings ('100%') cannot be,
    # so the answer used to show another symbol's example (`Column.argmax`)
    result = engine.run(docs_context, TaskRequest("qa", "What does `Value.isnull` return?"))
    assert result.verified, result.verdict and result.verdict.feedback
    assert result.extra["example_symbol"].endswith("Value.isnull")
    assert "ibis.memtable(" in result.answer and result.extra["tables"] == {}


def test_docs_qa_answers_from_a_docs_folder_with_its_snippet_run(
    tmp_path: Path, ibis_index: Any, docs_context: Any
) -> None:
    docs = tmp_path / "guide"
    docs.mkdir()
    (docs / "howto.md").write_text(
        "# Keeping the largest orders\n\nKeep orders whose amount exceeds a threshold.\n\n"
        "```python\nbig = orders.filter(orders.amount > 100)\n```\n"
    )
    request = TaskRequest("qa", "keeping the largest orders by amount threshold",
                          schema=Schema.from_dict({"orders": {"amount": "float64"}}),
                          options={"docs": (str(docs),)})
    result = engine.run(docs_context, request)
    assert result.verified, result.verdict and result.verdict.feedback
    assert "howto.md#keeping-the-largest-orders" in result.answer
    assert "expr = big" in result.answer


def test_docs_rolling_mean_answer_shows_a_window_applied_and_run(
    ibis_index: Any, docs_context: Any
) -> None:
    result = engine.run(docs_context, TaskRequest("qa", "how do I compute a rolling mean?"))
    assert result.verified, result.verdict and result.verdict.feedback
    assert ".mean().over(w)" in result.answer and "_window(" in result.answer


@pytest.mark.parametrize(
    ("question", "symbol", "shown"),
    [
        # `Value.over` has no docstring example: shown applied to a window, not `cummin`'s
        ("How do I use `Value.over`?", "Value.over", ".over(w)"),
        # a constructor that takes nothing is shown called
        ("How do I use `ibis.now`?", "ibis.now", "expr = ibis.now()"),
        # `ibis.table(schema=dict(...), name="t")`: its own example, read from the keyword
        ("How do I use `ibis.table`?", "ibis.table", "ibis.table(schema=dict("),
    ],
)
def test_docs_qa_symbols_without_a_runnable_docstring_example_get_their_own(
    ibis_index: Any, docs_context: Any, question: str, symbol: str, shown: str
) -> None:
    result = engine.run(docs_context, TaskRequest("qa", question))
    assert result.verified, result.verdict and result.verdict.feedback
    (sym,) = ibis_index.resolve(symbol)
    assert result.extra["example_symbol"] == sym.qualname
    assert shown in result.answer


def test_docs_qa_judges_model_candidates_by_running_their_code(
    ibis_index: Any, docs_context: Any
) -> None:
    handler = docs_context.handler("qa")
    request = TaskRequest("qa", "how do I filter?", schema=Schema.from_dict({"t": {"a": "int64"}}))
    answer = "Use filter:\n```python\nexpr = t.filter(t.a > 1)\n```"
    good = handler.validate(request, Candidate(answer))
    assert good.passed, good.feedback
    bad = handler.validate(request, Candidate("```python\nexpr = t.filter(t.agee > 1)\n```"))
    assert not bad.passed and "agee" in bad.feedback
    none = handler.validate(request, Candidate("Just call filter."))
    assert not none.passed and "no runnable example" in none.feedback


def test_docs_qa_gives_a_model_the_api_entries_it_retrieved(
    ibis_index: Any, docs_context: Any
) -> None:
    handler = docs_context.handler("qa")
    request = TaskRequest("qa", "how do I rename a column?")
    context = handler.prompt_context(request)
    reference = context["api_reference"]
    assert reference.startswith("1. ") and "rename(" in reference
    assert "```" not in reference  # entries only: the model writes its own example
    asked = engine.model_request(handler, request)
    assert asked.options["api_reference"] == reference and asked.text == request.text
    assert handler.prompt_context(TaskRequest("qa", "zzqx wvvk")) == {}


def test_docs_qa_index_command_reports_size_and_build_time(
    ibis_index: Any, qa_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from ibert_tasks_docs.commands import qa_group

    monkeypatch.setenv("IBERT_CACHE_DIR", str(qa_cache))
    out = CliRunner().invoke(qa_group, ["index", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    (src,) = data["sources"]
    assert src["name"] == "ibis" and src["cached"] and src["symbols"] > 500
    assert src["bytes"] > 0 and src["build_seconds"] > 0
    assert data["retrieval"] == "bm25+graph"


def test_docs_open_index_is_reused_within_a_process(qa_config: dict[str, Any]) -> None:
    first = open_index(("ibis",), config=qa_config)
    assert open_index(("ibis",), config=qa_config) is first
    assert index_mod._LOADED
