"""Evaluation with the compiler in the loop: how often the model's answer is verified.

For each held-out record: the greedy answer (exact match with the target, and whether the
task's checks pass: pass@1), then the engine's own loop over the model's candidates only
(beam@5 and up to 3 refinements fed by the failing stage): the gap between the two is
what validation in the loop buys. The task's deterministic engine is switched off here,
otherwise it would answer first and hide the model.
"""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ibert_adapters.backend import Decoding, HFSource
from ibert_adapters.encoding import prompt_ids
from ibert_adapters.prompts import example_fields, example_target
from ibert_core import engine
from ibert_core.engine import Context
from ibert_core.errors import BadInput, IbertError
from ibert_core.registry import Registries
from ibert_core.types import (
    Attempt,
    Candidate,
    Example,
    Provenance,
    Schema,
    TaskRequest,
    Verdict,
)

#: Metrics where higher is better, checked by `--gate`.
GATED = ("exact_match", "greedy_pass@1", "verified@beam+refine")


@attrs.define
class ModelOnly:
    """A task handler whose own engine proposes nothing; its checks still judge."""

    inner: Any
    name: str = "model-only"

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> list[Candidate]:
        return []

    def validate(self, request: TaskRequest, candidate: Candidate) -> Verdict:
        verdict: Verdict = self.inner.validate(request, candidate)
        return verdict


def _model_only_factory(inner_factory: Any, context: Context) -> ModelOnly:
    return ModelOnly(inner_factory(context))


def model_only_context(context: Context, settings: Mapping[str, Any]) -> Context:
    """A context whose tasks have their deterministic engines switched off; `settings`
    override the configuration (the decoding under test).
    """
    regs = Registries()
    for spec in context.registries.tasks:
        regs.tasks.add(
            attrs.evolve(spec, factory=functools.partial(_model_only_factory, spec.factory)),
            plugin=spec.plugin,
            distribution=spec.distribution,
        )
    for v in context.registries.validators:
        regs.validators.add(v)
    for a in context.registries.adapters:
        regs.adapters.add(a)
    config = {**context.config, **settings}
    return Context(registries=regs, config=config, resolve_model=context.resolve_model)


def request_for(example: Example, model: str, adapter: str | None) -> TaskRequest:
    fields = example_fields(example)
    tables = example.context.get("tables") or {}
    tables = {
        name: (cols["schema"] if isinstance(cols, Mapping) and "schema" in cols else cols)
        for name, cols in tables.items()
    }
    return TaskRequest(
        task=example.task,
        text=fields.text,
        schema=Schema.from_dict(tables) if tables else None,
        dialect=example.dialect,
        model=model,
        adapter=adapter,
        options=dict(fields.extras),
    )


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def evaluate(
    context: Context,
    model: str,
    adapter: str | None,
    examples: Sequence[Example],
    decoding: Decoding | None = None,
) -> dict[str, Any]:
    """Per-task and overall metrics of `model` (+ `adapter`) on `examples`."""
    decoding = decoding or Decoding()
    only = model_only_context(context, {
        "decoding": decoding.method,
        "num_candidates": decoding.n,
        "max_new_tokens": decoding.max_new_tokens,
        "temperature": decoding.temperature,
        "top_p": decoding.top_p,
    })
    source = only.model_source(model, adapter)
    if not isinstance(source, HFSource):
        raise BadInput(f"model {model!r} is not served by the hf backend", "use an HF model")
    greedy = attrs.evolve(decoding, method="greedy", n=1)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    try:
        for ex in examples:
            if ex.task not in context.registries.tasks:
                skipped.setdefault(ex.task, "no installed task plugin provides it")
                continue
            request = request_for(ex, model, adapter)
            handler = only.handler(ex.task)
            t0 = time.perf_counter()
            ids = prompt_ids(source.loaded.tokenizer, example_fields(ex))
            texts, _ = source.generate(ids, source.ref_for(ex.task), greedy)
            greedy_s = time.perf_counter() - t0
            answer = texts[0] if texts else ""
            prov = Provenance(engine="hf", model=model, adapter=adapter, round=0)
            verdict = handler.validate(request, Candidate(answer, prov))
            t0 = time.perf_counter()
            loop_ok, rounds, stage = _loop(only, request)
            rows.append({
                "id": ex.id,
                "task": ex.task,
                "exact_match": _same(answer, example_target(ex)),
                "greedy_pass@1": verdict.passed,
                "greedy_failed_stage": verdict.failed.name if verdict.failed else None,
                "verified@beam+refine": loop_ok,
                "rounds": rounds,
                "loop_feedback": stage,
                "greedy_seconds": round(greedy_s, 4),
                "loop_seconds": round(time.perf_counter() - t0, 4),
            })
    finally:
        only.close()
    if not rows:
        raise BadInput(
            "nothing to evaluate",
            "; ".join(f"{t}: {why}" for t, why in skipped.items()) or "the split is empty",
        )
    return {
        "model": model,
        "adapter": adapter,
        "decoding": attrs.asdict(decoding),
        "overall": summarize(rows),
        "tasks": {t: summarize([r for r in rows if r["task"] == t])
                  for t in sorted({r["task"] for r in rows})},
        "skipped_tasks": skipped,
        "examples": rows,
    }


def _loop(only: Context, request: TaskRequest) -> tuple[bool, int, str | None]:
    """The engine over the model's candidates: verified?, last round, why not."""
    try:
        result = engine.run(only, request)
    except IbertError as err:  # no candidate at all counts as a failure, said why
        return False, 0, str(err)
    rounds = max((a.round for a in result.attempts), default=0)
    if result.verified:
        return True, rounds, None
    return False, rounds, result.verdict.feedback if result.verdict else "no verdict"


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    out: dict[str, Any] = {"n": n}
    for key in GATED:
        out[key] = round(sum(bool(r[key]) for r in rows) / n, 4) if n else 0.0
    out["mean_rounds"] = round(statistics.fmean(r["rounds"] for r in rows), 3) if n else 0.0
    for key in ("greedy_seconds", "loop_seconds"):
        out[f"median_{key}"] = round(statistics.median(r[key] for r in rows), 4) if n else 0.0
    return out


def gate(
    results: Mapping[str, Any], baseline: Mapping[str, Any], tolerance: float
) -> list[str]:
    """The metrics that fell more than `tolerance` below the baseline (empty: passed)."""
    failures = []
    for scope in ("overall", *sorted(baseline.get("tasks", {}))):
        base = baseline["overall"] if scope == "overall" else baseline["tasks"][scope]
        now = results["overall"] if scope == "overall" else results.get("tasks", {}).get(scope)
        if now is None:
            failures.append(f"{scope}: missing from the results")
            continue
        for key in GATED:
            if key in base and now.get(key, 0.0) < base[key] - tolerance:
                failures.append(f"{scope} {key}: {now.get(key, 0.0)} < {base[key]} - {tolerance}")
    return failures
