"""A tiny random-weight causal LM with a BPE tokenizer, built offline.

Nothing may be downloaded here, yet the whole pipeline (load, LoRA training, hot swap,
generation in the engine loop) has to run for real in tests and CPU demos. So we build
a model of the same architecture family as the real ones (Qwen2 or Mistral), only tiny,
and train its tokenizer on Ibis/SQL text (the corpus when one is given).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator
from pathlib import Path

import attrs

from ibert_adapters.prompts import example_fields, example_target, render

SPECIAL_TOKENS = ("<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>")
#: A Qwen-style chat template, so the chat-template path is exercised by the tiny model too.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
ARCHITECTURES = ("qwen2", "mistral")


@attrs.frozen
class TinySpec:
    """Sizes of the tiny model; the defaults make a ~100k-parameter model that trains in ms."""

    architecture: str = "qwen2"
    vocab_size: int = 512
    hidden_size: int = 32
    layers: int = 2
    heads: int = 2
    kv_heads: int = 2
    intermediate_size: int = 64
    max_positions: int = 1024
    chat_template: bool = True
    seed: int = 0


_TABLES = {
    "events": ("user_id", "event_type", "amount", "ts"),
    "users": ("id", "name", "country", "signup_date"),
    "orders": ("order_id", "customer_id", "total", "status", "created_at"),
    "readings": ("sensor_id", "value", "recorded_at"),
}
_AGGS = (("sum", "SUM"), ("mean", "AVG"), ("max", "MAX"), ("min", "MIN"), ("count", "COUNT"))


def seed_text(n: int = 400, seed: int = 0) -> list[str]:
    """Lines of SQL and the matching Ibis code, enough to give a BPE tokenizer their vocabulary."""
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(n // 4):
        table, cols = rng.choice(list(_TABLES.items()))
        key, val = rng.sample(cols, 2)
        py, sql = rng.choice(_AGGS)
        lit = rng.randint(0, 1000)
        lines += [
            f"SELECT {key}, {sql}({val}) AS total FROM {table} WHERE {val} > {lit} GROUP BY {key}",
            f"expr = {table}.filter({table}.{val} > {lit}).group_by('{key}')"
            f".agg(total={table}.{val}.{py}())",
            f"expr = {table}.order_by(ibis.desc('{val}')).limit({lit % 50 + 1})",
            f"SELECT * FROM {table} ORDER BY {val} DESC LIMIT {lit % 50 + 1}",
        ]
    return lines


def corpus_text(data: Path, limit: int = 5000) -> Iterator[str]:
    """Prompts and targets of a corpus directory or JSONL file, as tokenizer training text."""
    from ibert_core.types import Example

    files = [data] if data.is_file() else sorted(data.glob("*.jsonl"))
    rows = (line for f in files for line in f.open(encoding="utf-8") if line.strip())
    for line in itertools.islice(rows, limit):
        ex = Example.from_dict(json.loads(line))
        yield render(example_fields(ex))
        yield example_target(ex)


def train_tokenizer(texts: Iterable[str], spec: TinySpec) -> object:
    """A byte-level BPE `PreTrainedTokenizerFast` trained on `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=spec.vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        pad_token="<|pad|>",
        model_max_length=spec.max_positions,
    )
    if spec.chat_template:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def model_config(spec: TinySpec, tokenizer: object) -> object:
    from transformers import MistralConfig, Qwen2Config

    if spec.architecture not in ARCHITECTURES:
        from ibert_core.errors import UnknownNameError

        raise UnknownNameError("tiny architecture", spec.architecture, ARCHITECTURES)
    cls = Qwen2Config if spec.architecture == "qwen2" else MistralConfig
    return cls(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        hidden_size=spec.hidden_size,
        intermediate_size=spec.intermediate_size,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        max_position_embeddings=spec.max_positions,
        eos_token_id=tokenizer.eos_token_id,  # type: ignore[attr-defined]
        pad_token_id=tokenizer.pad_token_id,  # type: ignore[attr-defined]
        bos_token_id=None,
        tie_word_embeddings=True,
    )


def build(out: Path, spec: TinySpec = TinySpec(), data: Path | None = None) -> Path:
    """Write a tiny random-weight model and its tokenizer to `out`; returns `out`."""
    import torch
    from transformers import AutoModelForCausalLM

    texts = seed_text(seed=spec.seed)
    if data is not None:
        texts += list(corpus_text(data))
    tokenizer = train_tokenizer(texts, spec)
    torch.manual_seed(spec.seed)
    model = AutoModelForCausalLM.from_config(model_config(spec, tokenizer))
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)  # type: ignore[attr-defined]
    return out


ENCODER_SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def build_encoder(out: Path, spec: TinySpec = TinySpec(), texts: Iterable[str] = ()) -> Path:
    """Write a tiny random-weight BERT encoder and a WordPiece tokenizer to `out`.

    The shape of all-MiniLM-L6-v2 (a BERT with an uncased WordPiece vocabulary), only
    tiny, so the embedder runs for real in tests without downloading the real one.
    """
    import torch
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(
        vocab_size=spec.vocab_size, special_tokens=list(ENCODER_SPECIAL_TOKENS),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts) or seed_text(seed=spec.seed), trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=spec.max_positions,
    )
    config = BertConfig(
        vocab_size=len(fast), hidden_size=spec.hidden_size, num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads, intermediate_size=spec.intermediate_size,
        max_position_embeddings=spec.max_positions, pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(spec.seed)
    model = BertModel(config)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    fast.save_pretrained(out)
    return out
