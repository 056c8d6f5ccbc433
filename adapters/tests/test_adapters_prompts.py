"""Prompt building, output cleaning, task mixing and label masking (no model weights)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ibert_adapters import data as corpus
from ibert_adapters.encoding import IGNORE, prompt_ids, target_ids, training_pair
from ibert_adapters.prompts import (
    clean_output,
    example_fields,
    example_target,
    render,
    request_fields,
    schema_text,
)
from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.types import (
    Attempt,
    Candidate,
    Example,
    Schema,
    Stage,
    TaskRequest,
    Verdict,
)

EX = Example(
    id="1",
    task="sql_to_ibis",
    dialect="postgres",
    input={"sql": "SELECT a FROM t", "note": "keep order"},
    target={"ibis": "expr = t.select('a')"},
    context={"tables": {"t": {"a": "int64", "b": "!string"}}},
)


def test_adapters_example_and_request_render_the_same_prompt() -> None:
    request = TaskRequest(
        task="sql_to_ibis",
        text="SELECT a FROM t",
        schema=Schema.from_dict({"t": {"a": "int64", "b": "!string"}}),
        dialect="postgres",
        options={"note": "keep order", "json": True, "missing": None, "n": 5},
    )
    assert render(example_fields(EX)) == render(request_fields(request))
    text = render(example_fields(EX))
    assert "t(a int64, b !string)" in text and "### Dialect: postgres" in text
    assert example_target(EX) == "expr = t.select('a')"


def test_adapters_schema_text_accepts_the_design_shape() -> None:
    nested = {"t": {"schema": {"a": "int64"}}}
    assert schema_text(nested) == "t(a int64)"


def test_adapters_refinement_prompt_carries_the_best_failed_attempt() -> None:
    def attempt(text: str, stages: list[Stage], round_no: int) -> Attempt:
        return Attempt(Candidate(text), Verdict(stages), round_no)

    far = attempt("expr = t.select('b')", [Stage("parse", True), Stage("build", True),
                                           Stage("compile", True), Stage("execute", True),
                                           Stage("compare", False, "rows differ")], 0)
    near = attempt("expr = t.selec(", [Stage("parse", False, "unexpected EOF")], 1)
    fields = request_fields(TaskRequest(task="sql_to_ibis", text="SELECT a FROM t"), (far, near))
    assert fields.previous == "expr = t.select('b')"
    assert fields.error == "compare failed: rows differ"
    prompt = render(fields)
    assert "### Previous attempt:\nexpr = t.select('b')" in prompt and "rows differ" in prompt


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("expr = t\n### Task: x", "expr = t"),
        ("\n```python\nexpr = t.limit(1)\n```\nmore", "expr = t.limit(1)"),
        ("### Answer:\nSELECT 1\n", "SELECT 1"),
        ("  a = 1\n  b = 2  ", "  a = 1\n  b = 2"),
    ],
)
def test_adapters_clean_output(raw: str, clean: str) -> None:
    assert clean_output(raw) == clean


def _ex(i: int, task: str) -> Example:
    return Example(id=str(i), task=task, input={"sql": str(i)}, target={"ibis": str(i)})


def test_adapters_mix_balances_tasks_by_weight() -> None:
    rows = [_ex(i, "a") for i in range(90)] + [_ex(i, "b") for i in range(10)]
    mixed = corpus.mix(rows, {}, seed=1)
    counts = Counter(e.task for e in mixed)
    assert counts == {"a": 50, "b": 50}
    assert len({e.id for e in mixed if e.task == "b"}) == 10  # every b used before repeats
    weighted = Counter(e.task for e in corpus.mix(rows, {"a": 3, "b": 1}, seed=1))
    assert weighted == {"a": 75, "b": 25}
    assert corpus.mix(rows, {}, seed=1) == mixed  # deterministic: resume sees the same order


def test_adapters_parse_weights_rejects_garbage() -> None:
    assert corpus.parse_weights("sql_to_ibis=2, qa=0.5") == {"sql_to_ibis": 2.0, "qa": 0.5}
    for bad in ("qa", "qa=x", "qa=-1", "=1"):
        with pytest.raises(BadInput):
            corpus.parse_weights(bad)


def test_adapters_read_split_from_dir_and_single_file(corpus_dir: Path, tmp_path: Path) -> None:
    train = corpus.read_split(corpus_dir, "train")
    assert len(train) == 48 and {e.task for e in train} == {"sql_to_ibis", "ibis_to_sql"}
    both = tmp_path / "all.jsonl"
    both.write_text("".join((corpus_dir / f).read_text() for f in ("train.jsonl", "val.jsonl")))
    assert len(corpus.read_split(both, "val")) == 9
    with pytest.raises(UnknownNameError, match="sql_to_ibsi"):
        corpus.select_tasks(train, ["sql_to_ibsi"])
    with pytest.raises(BadInput, match="not found"):
        corpus.read_split(tmp_path / "nope", "train")


def test_adapters_labels_mask_the_prompt(tiny_tokenizer) -> None:  # type: ignore[no-untyped-def]
    fields = example_fields(EX)
    ids, labels = training_pair(tiny_tokenizer, fields, example_target(EX), 512)
    prompt = prompt_ids(tiny_tokenizer, fields)
    answer = target_ids(tiny_tokenizer, example_target(EX))
    assert ids == prompt + answer
    assert labels[: len(prompt)] == [IGNORE] * len(prompt)
    assert labels[len(prompt):] == answer and answer[-1] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.decode(answer, skip_special_tokens=True) == example_target(EX)
    # the chat template opens the assistant turn, so the model answers after it
    assert tiny_tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")


def test_adapters_truncation_keeps_the_target(tiny_tokenizer) -> None:  # type: ignore[no-untyped-def]
    fields = example_fields(EX)
    ids, labels = training_pair(tiny_tokenizer, fields, example_target(EX), 40)
    assert len(ids) == len(labels) <= 40
    kept = [t for t in labels if t != IGNORE]
    assert kept == target_ids(tiny_tokenizer, example_target(EX))[: len(kept)] and kept


def test_adapters_packing_keeps_masks_per_example(tiny_tokenizer) -> None:  # type: ignore[no-untyped-def]
    rows = [EX, EX, EX]
    enc = corpus.encode(tiny_tokenizer, rows, 512)
    packed = corpus.pack(enc, 512)
    assert len(packed.input_ids) < len(enc.input_ids)
    assert packed.tokens == enc.tokens and packed.target_tokens == enc.target_tokens
    assert all(len(x) <= 512 for x in packed.input_ids)
    batch = corpus.collate(tiny_tokenizer.pad_token_id)(
        [corpus.TorchDataset(enc)[0], corpus.TorchDataset(packed)[0]]
    )
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    pad = batch["attention_mask"] == 0
    assert (batch["labels"][pad] == IGNORE).all()


def test_adapters_prompt_loss_labels_every_token(tiny_tokenizer) -> None:  # type: ignore[no-untyped-def]
    masked = corpus.encode(tiny_tokenizer, [EX], 512)
    whole = corpus.encode(tiny_tokenizer, [EX], 512, prompt_loss=True)
    assert whole.input_ids == masked.input_ids
    assert whole.labels == whole.input_ids  # the prompt carries a loss too
    assert whole.target_tokens == whole.tokens > masked.target_tokens


def test_adapters_prefix_match_and_stage_rates() -> None:
    from ibert_adapters.evaluate import prefix_match, stage_rates, stages_reached

    assert prefix_match("expr = t.select('a')", "expr  = t.select('a')") == 1.0
    assert prefix_match("expr = t.filter(", "expr = t.select('a')") == pytest.approx(9 / 20)
    assert prefix_match("x", "") == 0.0 and prefix_match("", "") == 1.0
    parsed = Verdict((Stage("parse", True), Stage("build", False, "NameError")))
    assert stages_reached(parsed) == ["parse"]
    rows = [
        {"greedy_stages": ["parse", "build"], "loop_candidates": 4,
         "loop_stage_counts": {"parse": 3, "build": 1}},
        {"greedy_stages": [], "loop_candidates": 1, "loop_stage_counts": {}},
    ]
    rates = stage_rates(rows)
    assert rates["greedy"]["parse"] == 0.5 and rates["greedy"]["compare"] == 0.0
    assert rates["loop_candidates"]["parse"] == 0.6 and rates["loop_candidates"]["build"] == 0.2
    assert rates["loop_any"]["build"] == 0.5


def test_adapters_full_training_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    from ibert_adapters.train import TrainConfig

    with pytest.raises(BadInput, match="per-task"):
        TrainConfig(model="m", data=tmp_path, out=tmp_path, full=True, per_task_adapters=True)
    with pytest.raises(BadInput, match="quantized"):
        TrainConfig(model="m", data=tmp_path, out=tmp_path, full=True, load_in_4bit=True)


def test_adapters_generation_stops_at_end_of_text_and_end_of_turn(tiny_tokenizer) -> None:  # type: ignore[no-untyped-def]
    from ibert_adapters.encoding import stop_ids

    ids = stop_ids(tiny_tokenizer)
    assert ids[0] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.convert_ids_to_tokens(ids[1:]) == ["<|im_end|>"]
