"""The `hf` backend: candidates from a Hugging Face causal LM with task LoRA adapters.

The engine asks for candidates each round; this source answers with beam search (5 beams)
or sampling, and from the second round on puts the best failed attempt and its failing
stage's message into the prompt so that the model repairs what the compiler rejected.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ibert_adapters import devices
from ibert_adapters.encoding import prompt_ids, stop_ids
from ibert_adapters.loading import (
    AdapterRef,
    LoadedModel,
    adapter_for_task,
    find_adapters,
    load_base,
)
from ibert_adapters.prompts import clean_output, request_fields
from ibert_core.engine import Context
from ibert_core.errors import BadInput
from ibert_core.types import Attempt, Candidate, Provenance, TaskRequest

DECODINGS = ("beam", "sample", "greedy")


@attrs.frozen
class Decoding:
    """How candidates are drawn: the seed's beam search (5) or sampling (T 0.7, top-p 0.95)."""

    method: str = "beam"
    n: int = 5
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95

    def __attrs_post_init__(self) -> None:
        if self.method not in DECODINGS:
            raise BadInput(f"unknown decoding {self.method!r}", f"choose one of: {DECODINGS}")

    def generate_kwargs(self) -> dict[str, Any]:
        if self.method == "greedy":
            return {"do_sample": False, "num_beams": 1, "num_return_sequences": 1}
        if self.method == "sample":
            return {
                "do_sample": True,
                "temperature": self.temperature,
                "top_p": self.top_p,
                "num_return_sequences": self.n,
            }
        return {
            "do_sample": False,
            "num_beams": self.n,
            "num_return_sequences": self.n,
            "early_stopping": True,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Decoding:
        return cls(
            method=str(config.get("decoding", "beam")),
            n=int(config.get("num_candidates", config.get("num_beams", 5))),
            max_new_tokens=int(config.get("max_new_tokens", 256)),
            temperature=float(config.get("temperature", 0.7)),
            top_p=float(config.get("top_p", 0.95)),
        )


def model_settings(context: Context) -> Mapping[str, Any]:
    """Backend settings: `context.config["model"]` when it is a table, else the flat config."""
    nested = context.config.get("model")
    return nested if isinstance(nested, Mapping) else context.config


@attrs.define
class HFSource:
    """A `CandidateSource` over one loaded base model and the adapters `--adapter` names."""

    loaded: LoadedModel
    adapter: str | None
    refs: Mapping[str, AdapterRef]
    decoding: Decoding = attrs.field(factory=Decoding)
    name: str = "hf"
    _rounds: dict[tuple[str, str], int] = attrs.field(factory=dict, alias="_rounds")

    def ref_for(self, task: str) -> AdapterRef | None:
        if self.adapter is None:
            return None
        return adapter_for_task(self.refs, task, self.adapter)

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> list[Candidate]:
        key = (request.task, request.text)
        round_no = self._rounds.get(key, 0)
        self._rounds[key] = round_no + 1
        ref = self.ref_for(request.task)
        fields = request_fields(request, feedback)
        t0 = time.perf_counter()
        texts, scores = self.generate(prompt_ids(self.loaded.tokenizer, fields), ref)
        elapsed = time.perf_counter() - t0
        prov = Provenance(
            engine=self.name, model=self.loaded.model_id, adapter=self.adapter, round=round_no
        )
        return [
            Candidate(
                text=text,
                provenance=prov,
                extra={
                    "decoding": self.decoding.method,
                    "rank": i,
                    "score": score,
                    "adapter_name": ref.name if ref else None,
                    "refined": fields.previous is not None,
                    "generate_seconds": round(elapsed, 4),
                },
            )
            for i, (text, score) in enumerate(zip(texts, scores, strict=True))
            if text.strip()
        ]

    def generate(
        self, ids: list[int], ref: AdapterRef | None, decoding: Decoding | None = None
    ) -> tuple[list[str], list[float | None]]:
        """Decoded answers (best first) and their sequence scores, with adapter `ref` on."""
        import torch

        decoding = decoding or self.decoding
        tok = self.loaded.tokenizer
        device = self.loaded.placement.device
        ids = fit_context(ids, self.loaded.model.config, decoding.max_new_tokens)
        input_ids = torch.tensor([ids], device=device)
        with self.loaded.active_model(ref) as model, torch.inference_mode():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=decoding.max_new_tokens,
                pad_token_id=tok.pad_token_id,
                eos_token_id=stop_ids(tok),
                return_dict_in_generate=True,
                output_scores=decoding.method == "beam",
                **decoding.generate_kwargs(),
            )
        new = out.sequences[:, input_ids.shape[1] :]
        texts = [clean_output(t) for t in tok.batch_decode(new, skip_special_tokens=True)]
        seq_scores = getattr(out, "sequences_scores", None)
        scores: list[float | None] = (
            [round(float(s), 4) for s in seq_scores]
            if seq_scores is not None
            else [None] * len(texts)
        )
        return texts, scores


def fit_context(ids: list[int], config: Any, max_new_tokens: int) -> list[int]:
    """The prompt's end (the input and the answer marker are there) when prompt plus answer
    would not fit the model's positions; at least 16 prompt tokens stay.
    """
    limit = getattr(config, "max_position_embeddings", None)
    if not limit or len(ids) + max_new_tokens <= limit:
        return ids
    return ids[-max(limit - max_new_tokens, 16):]


def factory(context: Context, model_id: str, adapter: str | None) -> HFSource:
    """The `hf` AdapterSpec factory: base loaded once per process, adapters attached lazily."""
    settings = model_settings(context)
    refs = find_adapters(adapter) if adapter else {}
    placement = devices.from_config(settings)
    loaded = load_base(model_id, placement)
    with loaded.lock:
        for ref in refs.values():  # now, so a bad adapter fails the run instead of a round
            loaded.attach(ref)
    return HFSource(
        loaded=loaded,
        adapter=adapter,
        refs=refs,
        decoding=Decoding.from_config(settings),
    )
