"""code_completion through the core engine, the registry and the real DuckDB validator."""

from __future__ import annotations

import pytest

from ibert_core import engine
from ibert_core.errors import IbertError
from ibert_core.testing import TaskConformance
from ibert_core.types import Schema, TaskRequest

SCHEMA = Schema.from_dict({"orders": {"id": "int64", "category": "string", "price": "float64"}})


def request(text: str, **options: object) -> TaskRequest:
    return TaskRequest("code_completion", text, schema=SCHEMA, options=options)


class TestCompletionConformance(TaskConformance):
    task_name = "code_completion"
    good_requests = (request('orders.group_by("category").'), request("orders.price."))
    bad_candidate = "expr = orders.nope"


def test_answer_is_checked_code_and_json_lists_completions(context) -> None:
    result = engine.run(context, request('orders.group_by("category").', n=3))
    assert result.verified and result.provenance.engine == "type_introspection"
    assert result.answer == 'orders.group_by("category").agg(total=_.price.sum())'
    listing = result.to_dict()["extra"]["completions"]
    assert [c["text"] for c in listing][:1] == ["agg"] and len(listing) <= 3
    assert {"kind", "text", "signature", "doc", "snippet", "checked"} <= set(listing[0])
    assert result.extra["receiver_type"] == "GroupedTable"
    assert "SELECT" in result.verdict.artifacts["sql"]


def test_aggregate_snippet_counts_rows_rather_than_summing_a_key(context) -> None:
    """With no measure column, `agg` counts rows: a sum of `order_id` answers nothing."""
    keys_only = Schema.from_dict(
        {"orders": {"order_id": "int64", "customer_id": "int64", "status": "string"}}
    )
    result = engine.run(
        context,
        TaskRequest("code_completion", 'orders.group_by("status").', schema=keys_only),
    )
    assert result.verified
    assert result.answer == 'orders.group_by("status").agg(n=_.count())'


def test_cursor_option_and_closing_a_call(context) -> None:
    result = engine.run(context,
                        request('expr = orders.select("category"', cursor="1:31"))
    assert result.verified
    assert result.answer == 'expr = orders.select("category")'


def test_nothing_to_complete_is_a_user_error(context) -> None:
    with pytest.raises(IbertError, match="nothing to complete"):
        engine.run(context, request("orders.nosuch."))
