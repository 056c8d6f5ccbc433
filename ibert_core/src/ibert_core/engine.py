"""generate → validate → refine.

Candidate sources are asked in order (the task's own deterministic engine first, then a
model backend when one is configured). Every candidate goes through the task's checks;
the first verified one wins. When none is, the failed attempts go back to the sources as
feedback, for at most `MAX_REFINEMENTS` more rounds, and the best unverified candidate is
returned marked as such.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ibert_core.errors import IbertError, ModelLoadError
from ibert_core.registry import Registries
from ibert_core.types import (
    Attempt,
    Candidate,
    CandidateSource,
    Embedder,
    Provenance,
    TaskHandler,
    TaskRequest,
    TaskResult,
    Validator,
)

MAX_REFINEMENTS = 3


@attrs.define
class Context:
    """What factories receive: the registries, the resolved configuration, and shared
    instances (validators are expensive to start, so one of each per context).
    """

    registries: Registries
    config: Mapping[str, Any] = attrs.field(factory=dict)
    resolve_model: Callable[[str, str | None], str | None] | None = None
    _validators: dict[str, Validator] = attrs.field(factory=dict, alias="_validators")
    _handlers: dict[str, TaskHandler] = attrs.field(factory=dict, alias="_handlers")
    _embedders: dict[str | None, Embedder | None] = attrs.field(
        factory=dict, alias="_embedders"
    )

    def validator(self, name: str = "duckdb") -> Validator:
        """The named validator, started on first use and shared afterwards."""
        if name not in self._validators:
            spec = self.registries.validators.get(name)
            self._validators[name] = spec.factory(self)
        return self._validators[name]

    def handler(self, task: str) -> TaskHandler:
        if task not in self._handlers:
            spec = self.registries.tasks.get(task)
            self._handlers[task] = spec.factory(self)
        return self._handlers[task]

    def embedder(self) -> Embedder | None:
        """The embedder for dense retrieval, or None when no embedder's model is installed.

        `embedder = "NAME"` in the configuration (`IBERT_EMBEDDER`) picks one, and it
        finding no model is an error naming it (no other is substituted); otherwise the
        first registered embedder whose factory finds its model. Built once per context.
        """
        name = self.config.get("embedder") or None
        if name not in self._embedders:
            self._embedders[name] = self._pick_embedder(name)
        return self._embedders[name]

    def _pick_embedder(self, name: str | None) -> Embedder | None:
        if name is not None:
            found: Embedder | None = self.registries.embedders.get(str(name)).factory(self)
            if found is None:
                raise ModelLoadError(
                    f"embedder {name!r} found no model installed",
                    "install its model (e.g. pip install ibert-adapters[embeddings]) or "
                    "unset `embedder` / IBERT_EMBEDDER",
                )
            return found
        for spec in self.registries.embedders:
            found = spec.factory(self)
            if found is not None:
                return found
        return None

    def model_source(self, model: str, adapter: str | None) -> CandidateSource:
        """The backend serving `model`; an error naming it when nothing can load it."""
        backend = self.resolve_model(model, adapter) if self.resolve_model else None
        if backend is None:
            installed = self.registries.adapters.names()
            hint = (
                "install ibert-adapters to load Hugging Face models"
                if not installed
                else f"installed backends: {', '.join(installed)}"
            )
            raise ModelLoadError(f"no installed backend can load model {model!r}", hint)
        spec = self.registries.adapters.get(backend)
        source: CandidateSource = spec.factory(self, model, adapter)
        return source

    def close(self) -> None:
        for v in self._validators.values():
            v.close()
        self._validators.clear()


def model_request(handler: Any, request: TaskRequest) -> TaskRequest:
    """The request as a model sees it: a handler with `prompt_context(request)` adds text
    options (e.g. the API entries qa retrieved), which prompts show as sections, so a model
    answers from what the tool engine found instead of from memory alone."""
    extra = getattr(handler, "prompt_context", None)
    if extra is None:
        return request
    found = {k: v for k, v in dict(extra(request) or {}).items() if isinstance(v, str) and v}
    if not found:
        return request
    return attrs.evolve(request, options={**request.options, **found})


def run(context: Context, request: TaskRequest) -> TaskResult:
    """Answer `request` with the best candidate its sources produce, verified if possible."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    spec = context.registries.tasks.get(request.task)
    for name in spec.validators:
        context.validator(name)  # start them now: their start-up overlaps generation
    handler = context.handler(request.task)
    timings["load"] = time.perf_counter() - started
    # each source with the request it is asked (a model's may carry the handler's context)
    sources: list[tuple[CandidateSource, TaskRequest]] = [(handler, request)]
    if request.model:
        t0 = time.perf_counter()
        model = context.model_source(request.model, request.adapter)
        sources.append((model, model_request(handler, request)))
        timings["model_load"] = time.perf_counter() - t0

    attempts: list[Attempt] = []
    notes: list[str] = []
    seen: set[str] = set()
    t_generate = t_validate = 0.0
    for round_no in range(MAX_REFINEMENTS + 1):
        produced = False
        for source, asked in sources:
            t0 = time.perf_counter()
            try:
                batch = list(source.candidates(asked, tuple(attempts)))
            except IbertError as err:
                # A source that cannot handle the input says why; others may still answer.
                if round_no == 0:
                    notes.append(f"{source.name}: {err}")
                if len(sources) == 1 and not attempts:
                    raise
                batch = []
            t_generate += time.perf_counter() - t0
            for cand in batch:
                if cand.text in seen:
                    continue
                seen.add(cand.text)
                produced = True
                t0 = time.perf_counter()
                verdict = handler.validate(request, cand)
                t_validate += time.perf_counter() - t0
                attempts.append(Attempt(cand, verdict, round_no))
                if verdict.passed:
                    return _result(
                        request,
                        attempts[-1],
                        attempts,
                        notes,
                        timings,
                        started,
                        t_generate,
                        t_validate,
                    )
        if not produced:
            break
    if not attempts:
        raise IbertError(
            f"no candidate was produced for task {request.task!r}",
            "; ".join(notes) if notes else "configure a model with --model for this input",
        )
    best = max(attempts, key=lambda a: (a.verdict.score, -attempts.index(a)))
    return _result(request, best, attempts, notes, timings, started, t_generate, t_validate)


def _result(
    request: TaskRequest,
    chosen: Attempt,
    attempts: Sequence[Attempt],
    notes: Sequence[str],
    timings: dict[str, float],
    started: float,
    t_generate: float,
    t_validate: float,
) -> TaskResult:
    timings.update(generate=t_generate, validate=t_validate, total=time.perf_counter() - started)
    verified = chosen.verdict.passed
    all_notes = list(notes)
    if not verified:
        all_notes.append(f"NOT VERIFIED: {chosen.verdict.feedback}")
    return TaskResult(
        task=request.task,
        answer=chosen.candidate.text,
        verified=verified,
        verdict=chosen.verdict,
        provenance=attrs.evolve(chosen.candidate.provenance, round=chosen.round),
        timings={k: round(v, 6) for k, v in timings.items()},
        attempts=tuple(attempts),
        notes=tuple(all_notes),
        extra=dict(chosen.candidate.extra) | dict(chosen.verdict.artifacts),
    )


def candidate(text: str, engine: str, **extra: Any) -> Candidate:
    """A tool engine's candidate (shorthand for plugins)."""
    return Candidate(text=text, provenance=Provenance(engine=engine), extra=extra)
