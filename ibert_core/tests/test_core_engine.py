"""The generate → validate → refine loop, with small real plugins registered in-test."""

from __future__ import annotations

from typing import ClassVar

import pytest

from ibert_core import engine, hookimpl
from ibert_core.errors import IbertError, ModelLoadError
from ibert_core.plugins import make_context
from ibert_core.registry import AdapterSpec, TaskSpec, ValidatorSpec
from ibert_core.testing import register_plugin
from ibert_core.types import Stage, TaskRequest, Verdict


def check_sum(request, cand):
    """A real check: the candidate must be the sum of the '+'-separated integers."""
    try:
        value = int(cand.text)
    except ValueError:
        return Verdict(
            [Stage("parse", False, f"{cand.text!r} is not an integer")],
            required=("parse", "compare"),
        )
    want = sum(int(x) for x in request.text.split("+"))
    ok = value == want
    return Verdict(
        [
            Stage("parse", True),
            Stage("compare", ok, "" if ok else f"got {value}, off by {value - want}"),
        ],
        required=("parse", "compare"),
    )


EVENTS: list[str] = []


class Probe:
    def validate(self, job):
        return Verdict([])

    def validate_many(self, jobs):
        return [self.validate(j) for j in jobs]

    def close(self):
        EVENTS.append("validator closed")


class OffByOne:
    """A tool engine that is wrong first and corrects itself from the feedback."""

    name = "adder.tool"

    def __init__(self):
        self.seen_feedback = []

    def candidates(self, request, feedback):
        EVENTS.append("generate")
        self.seen_feedback.append([a.verdict.feedback for a in feedback])
        total = sum(int(x) for x in request.text.split("+"))
        if not feedback:
            return [engine.candidate("nan", self.name), engine.candidate(str(total + 1), self.name)]
        if request.options.get("stubborn"):
            return [engine.candidate(str(total + 1), self.name)]  # repeats: deduplicated
        return [engine.candidate(str(total), self.name)]

    validate = staticmethod(check_sum)


class ModelOnly:
    name = "model.only"

    def candidates(self, request, feedback):
        return []

    validate = staticmethod(check_sum)


class Hinted(ModelOnly):
    """A handler whose retrieval a model should see (as qa's API entries)."""

    name = "hinted"
    asked: ClassVar[list] = []

    def prompt_context(self, request):
        return {"hint": f"the terms are {request.text.split('+')}", "count": 2, "empty": ""}

    def validate(self, request, cand):
        Hinted.asked.append(dict(request.options))
        return check_sum(request, cand)


class ListBackend:
    name = "list-backend"
    seen: ClassVar[list] = []

    def __init__(self, model_id, adapter):
        self.model_id, self.adapter = model_id, adapter

    def candidates(self, request, feedback):
        ListBackend.seen.append(dict(request.options))
        total = sum(int(x) for x in request.text.split("+"))
        return [engine.candidate(str(total), "model")]


class Plugin:
    handler = OffByOne()

    @staticmethod
    @hookimpl
    def register_tasks(register):
        register(TaskSpec(name="add", summary="Add.", factory=lambda c: Plugin.handler))
        register(
            TaskSpec(
                name="add_checked",
                summary="Add.",
                factory=lambda c: Plugin.handler,
                validators=("order_probe",),
            )
        )
        register(TaskSpec(name="add_model", summary="Add.", factory=lambda c: ModelOnly()))
        register(TaskSpec(name="add_hinted", summary="Add.", factory=lambda c: Hinted()))

    @staticmethod
    @hookimpl
    def register_validators(register):
        def factory(context):
            EVENTS.append("validator started")
            return Probe()

        register(
            ValidatorSpec(name="order_probe", summary="Records when it starts.", factory=factory)
        )

    @staticmethod
    @hookimpl
    def register_adapters(register):
        register(
            AdapterSpec(
                name="lists",
                summary="Answers from a list.",
                factory=lambda c, m, a: ListBackend(m, a),
            )
        )

    @staticmethod
    @hookimpl
    def resolve_model(model_id, adapter):
        return "lists" if model_id.startswith("list:") else None


@pytest.fixture
def context(plugin_manager):
    Plugin.handler = OffByOne()
    with register_plugin(plugin_manager, Plugin, name="adder"):
        yield make_context(plugin_manager)


def test_refines_with_the_failing_stage_message(context):
    result = engine.run(context, TaskRequest("add", "2+3"))
    assert result.verified and result.answer == "5"
    assert result.provenance.engine == "adder.tool" and result.provenance.round == 1
    assert Plugin.handler.seen_feedback[1] == [
        "parse failed: 'nan' is not an integer",
        "compare failed: got 6, off by 1",
    ]
    assert [a.round for a in result.attempts] == [0, 0, 1]
    assert set(result.timings) >= {"generate", "validate", "total"}


def test_best_unverified_is_marked(context):
    result = engine.run(context, TaskRequest("add", "2+3", options={"stubborn": True}))
    assert not result.verified
    assert result.answer == "6"  # got further (parse passed) than 'nan'
    assert result.notes[-1] == "NOT VERIFIED: compare failed: got 6, off by 1"
    assert len(result.attempts) == 2  # the repeated candidate was not re-validated
    assert result.to_dict()["verdict"]["passed"] is False


def test_model_candidates_join_when_a_model_is_named(context):
    result = engine.run(context, TaskRequest("add_model", "1+1", model="list:tiny"))
    assert result.verified and result.answer == "2"
    assert result.provenance.engine == "model"


def test_model_sees_the_handlers_prompt_context(context):
    ListBackend.seen.clear()
    Hinted.asked.clear()
    request = TaskRequest("add_hinted", "1+2", model="list:tiny", options={"style": "terse"})
    result = engine.run(context, request)
    assert result.verified and result.answer == "3"
    # text entries join the model's request (non-text and empty ones do not) ...
    assert ListBackend.seen == [{"style": "terse", "hint": "the terms are ['1', '2']"}]
    # ... while the handler judges the user's own request
    assert Hinted.asked == [{"style": "terse"}]


def test_handlers_without_prompt_context_ask_models_the_request_itself(context):
    ListBackend.seen.clear()
    engine.run(context, TaskRequest("add_model", "1+1", model="list:tiny", options={"k": "v"}))
    assert ListBackend.seen == [{"k": "v"}]


def test_unknown_model_is_an_error_naming_it(context):
    with pytest.raises(ModelLoadError, match="no installed backend can load model 'hub/x'"):
        engine.run(context, TaskRequest("add", "1+1", model="hub/x"))


def test_no_candidates_at_all_is_an_error(context):
    with pytest.raises(IbertError, match="no candidate was produced for task 'add_model'"):
        engine.run(context, TaskRequest("add_model", "1+1"))


def test_verdict_properties():
    v = Verdict([Stage("parse", True), Stage("build", True), Stage("compile", False, "boom")])
    assert (v.passed, v.score, v.failed.name, v.feedback) == (
        False,
        2,
        "compile",
        "compile failed: boom",
    )
    partial = Verdict([Stage("parse", True)], required=("parse", "build"))
    assert not partial.passed and partial.feedback == "not checked: build"
    assert Verdict([Stage("parse", True)], required=("parse",)).passed


def test_declared_validators_start_before_generation(context):
    EVENTS.clear()
    engine.run(context, TaskRequest("add_checked", "1+2"))
    assert EVENTS[:2] == ["validator started", "generate"]
    engine.run(context, TaskRequest("add_checked", "1+2"))
    assert EVENTS.count("validator started") == 1  # shared within the context
    context.close()
    assert EVENTS[-1] == "validator closed"
