"""qa records of the corpus: questions grounded in a pair's code, answered by the real qa task.

The question tables are checked against the installed ibis API index, and the records are
made by the real qa engine (ibert-tasks-docs) with the real DuckDB validator running each
answer's example; nothing is stubbed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from ibert_core.plugins import get_plugin_manager
from ibert_core.types import Stage, Verdict
from ibert_tasks_sql.corpus import questions
from ibert_tasks_sql.corpus.normalize import split_of
from ibert_tasks_sql.corpus.pipeline import QA_PER_UNIT, BuildConfig, UnitProcessor
from ibert_tasks_sql.corpus.records import Pair
from ibert_tasks_sql.corpus.seeds import SeedQuery

SCHEMA = {
    "orders": {
        "order_id": "!int64", "customer_id": "int64", "order_date": "date",
        "status": "string", "amount": "float64",
    },
    "events": {"event_id": "!int64", "ts": "timestamp", "name": "string"},
}

GROUPED = """import ibis
from ibis import _

expr = (
    orders.filter(_.status.isin(["shipped", "returned"]))
    .group_by("customer_id")
    .having(_.count() > 1)
    .agg(
        n=orders.order_id.count(),
        total=orders.amount.sum(),
        first=_.order_date.truncate("M").min(),
    )
    .order_by(ibis.desc("total"))
)
"""

STRINGS = """import ibis
from ibis import _

expr = events.mutate(hour=_.ts.truncate("h"), label=_.name.upper()).order_by("label")
"""


# --- which symbols a pair calls ------------------------------------------------------------


def test_calls_name_each_symbol_by_its_receiver() -> None:
    symbols, chains = questions.calls(GROUPED, SCHEMA)
    assert symbols == [
        "Table.filter", "Value.isin", "Table.group_by", "GroupedTable.having",
        "Table.count",  # `_.count()`: `_` is the table
        "Table.aggregate",  # `agg` is indexed under `aggregate`
        "Column.count", "NumericColumn.sum",
        "DateValue.truncate",  # order_date is a date column
        "Column.min", "Table.order_by", "ibis.desc",
    ]
    assert chains == [
        ("Table.filter", "Table.group_by"),
        ("Table.group_by", "GroupedTable.having"),
        ("GroupedTable.having", "Table.aggregate"),
        ("DateValue.truncate", "Column.min"),
        ("Table.aggregate", "Table.order_by"),
    ]
    symbols, _ = questions.calls(STRINGS, SCHEMA)
    assert symbols == ["Table.mutate", "TimestampValue.truncate", "StringValue.upper",
                       "Table.order_by"]
    assert questions.calls("expr = (", SCHEMA) == ([], [])


def test_questions_vary_in_form_without_repeats() -> None:
    asked = questions.questions(STRINGS, SCHEMA)
    texts = [q.text for q in asked]
    assert len(texts) == len(set(texts))
    by_text = {q.text: q for q in asked}
    assert by_text["How do I use `StringValue.upper` in Ibis?"].kind == "use"
    assert by_text["How do I use `upper` in Ibis?"].symbols == ("StringValue.upper",)
    assert by_text["How do I convert a string to uppercase in Ibis?"].kind == "task"
    assert by_text["What does `StringValue.upper` return?"].kind == "returns"
    difference = by_text["What is the difference between `StringValue.upper` and "
                         "`StringValue.lower`?"]
    assert difference.symbols == ("StringValue.upper", "StringValue.lower")
    chain = by_text["How do I use `Table.order_by` on the result of `Table.mutate`?"]
    assert chain.symbols == ("Table.mutate", "Table.order_by")
    assert {q.kind for q in asked} == set(questions.FORMS)
    # `ibis` is a stop word of the retrieval: `ibis.desc` is not also asked as bare `desc`
    grouped = {q.text for q in questions.questions(GROUPED, SCHEMA)}
    assert "How do I use `ibis.desc` in Ibis?" in grouped
    assert "How do I use `desc` in Ibis?" not in grouped
    assert not any("`agg`" in t for t in grouped)


def test_signature_questions_are_asked_only_where_the_signature_answers() -> None:
    asked = {q.text for q in questions.questions(STRINGS, SCHEMA)}
    # `upper()` takes nothing: its answer would be rejected as `no_parameters`
    assert "What parameters does `StringValue.upper` take?" not in asked
    assert "What does `StringValue.upper` return?" in asked
    assert "What parameters does `Table.mutate` take?" in asked
    grouped = {q.text for q in questions.questions(GROUPED, SCHEMA)}
    assert "What parameters does `Table.count` take?" in grouped  # `where=`
    assert "What parameters does `GroupedTable.having` take?" in grouped
    assert questions.signature_answers("ibis.row_number", "parameters") is False
    assert questions.signature_answers("NoSuch.symbol", "parameters") is True  # ask, check later


def test_every_symbol_in_the_tables_resolves_in_the_installed_ibis() -> None:
    """Else `signature_answers` would silently ask everything about it."""
    named = {
        *questions.TABLE_SYMBOLS.values(), *questions.GROUPED_SYMBOLS.values(),
        *questions.VALUE_SYMBOLS.values(), *questions.TASKS,
        *(s for pair in questions.RELATED for s in pair),
        *(s for group in questions.EQUIVALENT for s in group),
    }
    assert sorted(s for s in named if questions._ibis_object(s) is None) == []


# --- whether an answer answers ---------------------------------------------------------------


def _cited(*entries: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"name": n, "symbol": q, "signature": s} for n, q, s in entries]


FILTER = ("Table.filter", "ibis.expr.types.relations.Table.filter",
          "(self, *predicates) -> 'Table'")
LIMIT = ("Table.limit", "ibis.expr.types.relations.Table.limit", "(self, n, offset=0)")
UPPER = ("StringValue.upper", "ibis.expr.types.strings.StringValue.upper", "(self)")
COALESCE = ("Value.coalesce", "ibis.expr.types.generic.Value.coalesce",
            "(self, /, *args) -> 'Value'")


@pytest.mark.parametrize(
    ("kind", "symbols", "cited", "example", "reason"),
    [
        ("use", ("Table.filter",), [FILTER, LIMIT], FILTER[1], None),
        ("use", ("Table.filter",), [LIMIT, FILTER], FILTER[1], None),  # any rank
        ("use", ("Table.filter",), [FILTER, LIMIT], LIMIT[1], "example_of_other"),
        ("use", ("Table.filter",), [FILTER], None, "no_example"),
        ("task", ("Table.limit",), [FILTER], FILTER[1], "not_cited"),
        ("difference", ("Table.filter", "Table.limit"), [FILTER, LIMIT], LIMIT[1], None),
        ("difference", ("Table.filter", "Table.limit"), [FILTER, UPPER], FILTER[1],
         "not_cited"),
        # the same operation as a function and as a method
        ("use", ("ibis.coalesce",), [COALESCE], COALESCE[1], None),
        # the signature forms need the signature to hold the answer, not the example
        ("returns", ("Table.filter",), [LIMIT, FILTER], LIMIT[1], None),
        ("returns", ("Table.limit",), [LIMIT], LIMIT[1], "no_return_type"),
        ("parameters", ("Table.limit",), [LIMIT], FILTER[1], None),
        ("parameters", ("StringValue.upper",), [UPPER], UPPER[1], "no_parameters"),
    ],
)
def test_relevant(kind: str, symbols: tuple[str, ...], cited: list[tuple[str, str, str]],
                  example: str | None, reason: str | None) -> None:
    question = questions.Question("?", kind, symbols)
    assert questions.relevant(question, _cited(*cited), example) == reason


def test_answer_text_drops_only_the_retrieval_note() -> None:
    note = "retrieval: bm25+graph (no embedding model installed: BM25 + graph alone)"
    body = "1. Table.filter(*predicates)\n```python\nexpr = t\n```"
    assert questions.answer_text(f"{body}\n{note}", {"retrieval_note": note}) == body
    assert questions.answer_text(body, {"retrieval_note": note}) == body  # a model's answer
    assert questions.answer_text(f"{body}\n{note}", {}) == f"{body}\n{note}"


# --- against the installed qa task -------------------------------------------------------------


def _needs_qa() -> None:
    registries = get_plugin_manager().registries
    if "qa" not in registries.tasks:
        pytest.skip("ibert-tasks-docs (the qa task) is not installed")
    if "duckdb" not in registries.validators:
        pytest.fail("the duckdb validator must be installed")


def test_every_symbol_in_the_tables_is_in_the_qa_index() -> None:
    _needs_qa()
    from ibert_tasks_docs.qa.index import open_index

    index = open_index()
    named = {
        *questions.TABLE_SYMBOLS.values(), *questions.GROUPED_SYMBOLS.values(),
        *questions.VALUE_SYMBOLS.values(), *questions.TASKS,
        *(s for pair in questions.RELATED for s in pair),
        *(s for group in questions.EQUIVALENT for s in group),
    }
    assert sorted(s for s in named if not index.resolve(s)) == []


def _pair(code: str, origin: str) -> Pair:
    seed = SeedQuery(sql="SELECT 1", domain="shop", schema=SCHEMA, source="template",
                     origin=origin, difficulty=1)
    stages = tuple(Stage(n, True) for n in ("parse", "build", "compile", "execute", "compare"))
    return Pair(seed, code, Verdict(stages))


@pytest.fixture(scope="module")
def processor() -> Iterator[UnitProcessor]:
    _needs_qa()
    proc = UnitProcessor(BuildConfig(tasks=("qa",), validator_workers=1))
    yield proc
    proc.close()


@pytest.fixture(scope="module")
def made(processor: UnitProcessor) -> tuple[list[Any], Counter[str]]:
    counters: Counter[str] = Counter()
    pairs = [_pair(GROUPED, "grouped"), _pair(STRINGS, "strings"), _pair(GROUPED, "again")]
    records = [r.to_dict() for r in processor.qa_examples(pairs, counters, limit=None)]
    return records, counters


def test_a_unit_keeps_a_few_answers_drawn_by_its_key(
    processor: UnitProcessor, made: Any
) -> None:
    """A unit adds at most QA_PER_UNIT answers, the same ones for the same unit key (a
    resumed build remakes it identically), and over many units the draws reach most of
    what the pairs ground instead of the same few questions each time."""
    pairs = [_pair(GROUPED, "grouped"), _pair(STRINGS, "strings")]

    def drawn(unit: str) -> list[str]:
        got = processor.qa_examples(pairs, Counter(), unit)
        return [r.input["question"] for r in got]

    first = drawn("0:1")
    assert len(first) == QA_PER_UNIT and drawn("0:1") == first
    union = {q for i in range(60) for q in drawn(f"0:{i}")}
    everything = {r["input"]["question"] for r in made[0]}
    assert union <= everything and len(union) >= 0.8 * len(everything)


def test_qa_records_are_verified_answers_to_distinct_grounded_questions(made: Any) -> None:
    records, counters = made
    asked = {q.text: q for code in (GROUPED, STRINGS) for q in questions.questions(code, SCHEMA)}
    texts = [r["input"]["question"] for r in records]
    assert len(texts) == len(set(texts))  # the repeated pair asked nothing twice
    assert set(texts) <= set(asked)
    assert len(records) >= 30  # most grounded questions are answered
    assert sum(v for k, v in counters.items() if k.startswith("derived_rejected|qa|")) == (
        len(asked) - len(records)
    )
    forms = Counter(r["meta"]["qa"]["form"] for r in records)
    assert {"use", "use_method", "example", "returns", "parameters", "task"} <= set(forms)
    for r in records:
        assert r["task"] == "qa" and r["provenance"]["engine"] == "qa"
        assert r["verdict"]["passed"] is True and r["verdict"]["stages"]["execute"] is True
        assert r["verdict"]["relevance"] == questions.RELEVANCE
        meta = r["meta"]["qa"]
        assert meta["symbols"] == list(asked[r["input"]["question"]].symbols)
        answer = r["target"]["answer"]
        assert "```python" in answer and "expr =" in answer  # the example that ran
        # how this machine retrieved it is metadata, not part of what a model learns
        assert "retrieval:" not in answer and answer.rstrip().endswith("```")
        assert meta["retrieval"].startswith("bm25")
        shown = next(ln for ln in answer.splitlines() if ln.startswith("Example for "))
        assert meta["example_symbol"].rsplit(".", 1)[-1] in shown.split(" on tables")[0]
        if meta["form"] in ("use", "use_method", "example", "task"):  # of what was asked
            wanted = {s for s in meta["symbols"]}
            wanted |= {e for g in questions.EQUIVALENT if wanted & g for e in g}
            assert shown.split(" on tables")[0].removesuffix(":") in {
                f"Example for {s}" for s in wanted
            }, (r["input"]["question"], shown)


def test_the_aggregate_question_is_answered_where_agg_was_not(made: Any) -> None:
    records, _ = made
    about = {r["input"]["question"]: r for r in records}
    answer = about["How do I use `Table.aggregate` in Ibis?"]["target"]["answer"]
    assert "Example for Table.aggregate" in answer


def test_qa_records_of_one_example_share_a_split(made: Any) -> None:
    records, _ = made
    splits: dict[str, set[str]] = {}
    for r in records:
        meta = r["meta"]
        assert meta["split"] == split_of(meta["skeleton"])
        splits.setdefault(meta["qa"]["example_symbol"], set()).add(meta["split"])
    assert all(len(s) == 1 for s in splits.values())
    assert len(splits) > 5  # many symbols, so the splits are not all one
