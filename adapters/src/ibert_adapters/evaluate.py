"""Evaluation with the compiler in the loop: how often the model's answer is verified.

For each held-out record: the greedy answer (exact match with the target, and whether the
task's checks pass: pass@1), then the engine's own loop over the model's candidates only
(beam@5 and up to 3 refinements fed by the failing stage): the gap between the two is
what validation in the loop buys. The task's deterministic engine is switched off here,
otherwise it would answer first and hide the model.

A weak model rarely gets a whole answer right, so the figures also say how far its answers
get: the share of each validator stage passed (parse, build, ... : does it write Ibis that
parses and builds an expression, even when the result differs) and how much of the target
the greedy answer reproduces from its start.
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
    STAGES,
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


def prefix_match(answer: str, target: str) -> float:
    """The share of the target (whitespace-normalized) that the answer reproduces from its
    start: 1.0 for an exact match, partial credit for a right beginning.
    """
    a, t = " ".join(answer.split()), " ".join(target.split())
    if not t:
        return float(not a)
    n = 0
    for x, y in zip(a, t, strict=False):
        if x != y:
            break
        n += 1
    return n / len(t)


def stages_reached(verdict: Verdict) -> list[str]:
    """The stages passed before the first failure, in order."""
    return [s.name for s in verdict.stages[: verdict.score]]


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
            loop = _loop(only, request)
            rows.append({
                "id": ex.id,
                "task": ex.task,
                "answer": answer,
                "exact_match": _same(answer, example_target(ex)),
                "prefix_match": round(prefix_match(answer, example_target(ex)), 4),
                "greedy_pass@1": verdict.passed,
                "greedy_failed_stage": verdict.failed.name if verdict.failed else None,
                # an empty answer "parses" (an empty module) but says nothing learned
                "greedy_stages": stages_reached(verdict) if answer.strip() else [],
                **loop,
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


def _loop(only: Context, request: TaskRequest) -> dict[str, Any]:
    """The engine over the model's candidates: verified?, last round, why not, and how
    many of its candidates passed each stage.
    """
    try:
        result = engine.run(only, request)
    except IbertError as err:  # no candidate at all counts as a failure, said why
        return {"verified@beam+refine": False, "rounds": 0, "loop_feedback": str(err),
                "loop_candidates": 0, "loop_stage_counts": {}}
    counts: dict[str, int] = {}
    for attempt in result.attempts:
        for name in stages_reached(attempt.verdict):
            counts[name] = counts.get(name, 0) + 1
    feedback = None
    if not result.verified:
        feedback = result.verdict.feedback if result.verdict else "no verdict"
    return {
        "verified@beam+refine": result.verified,
        "rounds": max((a.round for a in result.attempts), default=0),
        "loop_feedback": feedback,
        "loop_candidates": len(result.attempts),
        "loop_stage_counts": counts,
    }


def _stage_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen = [*STAGES]
    for r in rows:
        for name in [*r.get("greedy_stages", ()), *r.get("loop_stage_counts", {})]:
            if name not in seen:
                seen.append(name)
    return seen


def stage_rates(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage: the share of greedy answers passing it, of all the loop's candidates
    passing it, and of examples where at least one loop candidate passed it.
    """
    n = len(rows)
    cands = sum(r.get("loop_candidates", 0) for r in rows)
    out: dict[str, dict[str, float]] = {"greedy": {}, "loop_candidates": {}, "loop_any": {}}
    for name in _stage_names(rows):
        out["greedy"][name] = round(
            sum(name in r.get("greedy_stages", ()) for r in rows) / n, 4) if n else 0.0
        passed = [r.get("loop_stage_counts", {}).get(name, 0) for r in rows]
        out["loop_candidates"][name] = round(sum(passed) / cands, 4) if cands else 0.0
        out["loop_any"][name] = round(sum(p > 0 for p in passed) / n, 4) if n else 0.0
    return out


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    out: dict[str, Any] = {"n": n}
    for key in GATED:
        out[key] = round(sum(bool(r[key]) for r in rows) / n, 4) if n else 0.0
    out["mean_rounds"] = round(statistics.fmean(r["rounds"] for r in rows), 3) if n else 0.0
    if n and all("prefix_match" in r for r in rows):
        out["prefix_match"] = round(statistics.fmean(r["prefix_match"] for r in rows), 4)
    out["loop_candidates"] = sum(r.get("loop_candidates", 0) for r in rows)
    out["stage_pass"] = stage_rates(rows)
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
