"""Prompts to token ids, the same way for training and for generation.

With a chat template the prompt is one user message and the generation prompt opens the
assistant turn; without one the prompt ends with `### Answer:`. The target follows as
plain tokens and the end-of-sequence token, and only those carry a loss (labels -100 on
the prompt), so the adapter learns to answer, not to echo questions.
"""

from __future__ import annotations

from typing import Any

from ibert_adapters.prompts import ANSWER_MARK, PromptFields, render

IGNORE = -100


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def prompt_ids(tokenizer: Any, fields: PromptFields) -> list[int]:
    text = render(fields)
    if has_chat_template(tokenizer):
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=False,
        )
        return list(ids)
    return list(tokenizer(text + ANSWER_MARK, add_special_tokens=True).input_ids)


def stop_ids(tokenizer: Any) -> list[int]:
    """End of text, and the chat template's end-of-turn token (Qwen's `<|im_end|>`, Llama's
    `<|eot_id|>`): instruct models end an answer with it, and a model that did not learn to
    stop would otherwise go on with a made-up next turn."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    if has_chat_template(tokenizer):
        marker = "\u2063ibert\u2063"
        try:
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}],
                tokenize=False,
            )
        except Exception:  # noqa: BLE001 - templates that refuse this shape: no extra stop
            text = ""
        after = text.split(marker, 1)[1].lstrip() if marker in text else ""
        specials = set(tokenizer.get_added_vocab()) | set(tokenizer.all_special_tokens)
        ends = [t for t in specials if t and after.startswith(t)]
        if ends:
            end = tokenizer.convert_tokens_to_ids(max(ends, key=len))
            if isinstance(end, int) and end not in ids:
                ids.append(end)
    return ids


def target_ids(tokenizer: Any, target: str) -> list[int]:
    ids = list(tokenizer(target, add_special_tokens=False).input_ids)
    return [*ids, tokenizer.eos_token_id]


def training_pair(
    tokenizer: Any, fields: PromptFields, target: str, max_length: int
) -> tuple[list[int], list[int]]:
    """`(input_ids, labels)` for one example, labels -100 on the prompt.

    Too long: the prompt loses its start (the input and the answer marker are at its end),
    then the target its end; at least half the window stays for the prompt.
    """
    prompt = prompt_ids(tokenizer, fields)
    answer = target_ids(tokenizer, target)
    if len(prompt) + len(answer) > max_length:
        keep = max(max_length - len(answer), max_length // 2)
        prompt = prompt[-keep:]
        answer = answer[: max_length - len(prompt)]
    return prompt + answer, [IGNORE] * len(prompt) + answer
