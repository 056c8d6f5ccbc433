"""Corpus records to training batches: reading, weighted task mixing, masking, packing.

Task mixing is done by materializing a deterministic weighted resample of the training
set (seeded), instead of a custom sampler: the Trainer, DDP sharding and
resume-from-checkpoint then all see an ordinary map-style dataset.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ibert_adapters.encoding import IGNORE, training_pair
from ibert_adapters.prompts import example_fields, example_target
from ibert_core.errors import BadInput
from ibert_core.types import Example

SPLIT_FILES = {"train": "train.jsonl", "val": "val.jsonl", "test": "test.jsonl"}


def read_jsonl(path: Path) -> list[Example]:
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(Example.from_dict(json.loads(line)))
            except (ValueError, TypeError) as err:
                raise BadInput(f"{path}:{n} is not a corpus record: {err}",
                               "pass a corpus written by `ibert data build`") from err
    return out


def read_split(data: Path, split: str) -> list[Example]:
    """Records of one split: `DIR/<split>.jsonl`, or a single JSONL filtered by `meta.split`
    (records without a split count as train).
    """
    if data.is_dir():
        path = data / SPLIT_FILES[split]
        return read_jsonl(path) if path.is_file() else []
    if not data.is_file():
        raise BadInput(f"corpus {str(data)!r} not found", "pass a corpus folder or a .jsonl file")
    return [e for e in read_jsonl(data) if e.meta.get("split", "train") == split]


def select_tasks(examples: Sequence[Example], tasks: Sequence[str] | None) -> list[Example]:
    if not tasks:
        return list(examples)
    present = {e.task for e in examples}
    missing = [t for t in tasks if t not in present]
    if missing:
        from ibert_core.errors import UnknownNameError

        raise UnknownNameError("task in the corpus", missing[0], present)
    return [e for e in examples if e.task in tasks]


def parse_weights(text: str | None) -> dict[str, float]:
    """`sql_to_ibis=2,qa=0.5` → {task: weight}."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        task, sep, value = part.partition("=")
        try:
            weight = float(value) if sep else None
        except ValueError:
            weight = None
        if weight is None or weight < 0 or not task.strip():
            raise BadInput(f"bad task weight {part!r}", "write TASK=WEIGHT[,TASK=WEIGHT...]")
        out[task.strip()] = weight
    return out


def mix(
    examples: Sequence[Example], weights: Mapping[str, float], seed: int = 0
) -> list[Example]:
    """A resample of `examples` as long as the input, where task t makes up a share
    proportional to `weights[t]` (default 1, i.e. tasks balanced whatever their sizes).

    Within a task, examples are taken in shuffled rounds so none repeats before all are used.
    """
    by_task: dict[str, list[Example]] = {}
    for e in examples:
        by_task.setdefault(e.task, []).append(e)
    if len(by_task) <= 1:
        return list(examples)
    rng = random.Random(seed)
    total = sum(weights.get(t, 1.0) for t in by_task)
    if total <= 0:
        raise BadInput("task weights sum to zero", "give at least one task a positive weight")
    out: list[Example] = []
    for task, rows in sorted(by_task.items()):
        want = round(len(examples) * weights.get(task, 1.0) / total)
        pool: list[Example] = []
        while len(pool) < want:
            batch = list(rows)
            rng.shuffle(batch)
            pool += batch
        out += pool[:want]
    rng.shuffle(out)
    return out


def stats(examples: Iterable[Example]) -> dict[str, Any]:
    rows = list(examples)
    return {"examples": len(rows), "tasks": dict(sorted(Counter(e.task for e in rows).items()))}


@attrs.frozen
class Encoded:
    """Tokenized examples: input ids and labels (-100 on prompts and between packed pieces)."""

    input_ids: tuple[tuple[int, ...], ...]
    labels: tuple[tuple[int, ...], ...]

    @property
    def tokens(self) -> int:
        return sum(len(x) for x in self.input_ids)

    @property
    def target_tokens(self) -> int:
        return sum(1 for row in self.labels for t in row if t != IGNORE)


def encode(
    tokenizer: Any, examples: Sequence[Example], max_length: int, prompt_loss: bool = False
) -> Encoded:
    """Token ids and labels; with `prompt_loss` the prompt tokens carry a loss too (plain
    causal-LM training on the whole text, as domain pre-training wants).
    """
    pairs = [
        training_pair(tokenizer, example_fields(e), example_target(e), max_length)
        for e in examples
    ]
    ids = tuple(tuple(p[0]) for p in pairs)
    if prompt_loss:
        return Encoded(ids, ids)
    return Encoded(ids, tuple(tuple(p[1]) for p in pairs))


def pack(encoded: Encoded, max_length: int) -> Encoded:
    """Greedy packing of whole examples into sequences of at most `max_length` tokens.

    Fewer pad tokens per batch; attention crosses example boundaries (the usual trade-off
    of simple packing), while the loss stays on each example's target tokens only.
    """
    ids: list[list[int]] = []
    labels: list[list[int]] = []
    for x, y in zip(encoded.input_ids, encoded.labels, strict=True):
        if ids and len(ids[-1]) + len(x) <= max_length:
            ids[-1] += x
            labels[-1] += y
        else:
            ids.append(list(x))
            labels.append(list(y))
    return Encoded(tuple(map(tuple, ids)), tuple(map(tuple, labels)))


class TorchDataset:
    """A map-style dataset over `Encoded` rows, as the Trainer expects."""

    def __init__(self, encoded: Encoded) -> None:
        self.encoded = encoded

    def __len__(self) -> int:
        return len(self.encoded.input_ids)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        enc = self.encoded
        return {"input_ids": list(enc.input_ids[i]), "labels": list(enc.labels[i])}


def collate(pad_id: int) -> Any:
    """A collator padding on the right: pad ids, attention 0, labels -100."""

    def _collate(rows: Sequence[Mapping[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = [r["input_ids"] + [pad_id] * (width - len(r["input_ids"])) for r in rows]
        mask = [[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows]
        labels = [r["labels"] + [IGNORE] * (width - len(r["labels"])) for r in rows]
        return {
            "input_ids": torch.tensor(ids),
            "attention_mask": torch.tensor(mask),
            "labels": torch.tensor(labels),
        }

    return _collate
