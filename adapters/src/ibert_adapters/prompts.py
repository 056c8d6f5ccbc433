"""Prompt templates per task, shared by training and generation.

Training and generation must build the exact same prompt for the same input, or the
adapter learns one format and is asked another; so both go through `render`. A corpus
record (`Example`) and a user request (`TaskRequest`) are first reduced to the same
`PromptFields`, then rendered. Pure Python: no torch, so it is cheap to test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ibert_core.types import Attempt, Example, Schema, TaskRequest

#: What the model is asked to do, per task; unknown tasks get a generic instruction.
INSTRUCTIONS: Mapping[str, str] = {
    "sql_to_ibis": (
        "Translate the SQL query into Ibis Python code. Tables are free names; "
        "assign the final expression to `expr`."
    ),
    "ibis_to_sql": "Write the SQL that the Ibis code compiles to.",
    "code_completion": "Complete the Ibis code; answer with the text that follows the input.",
    "error_resolution": "Fix the Ibis code so that it runs; answer with the whole fixed code.",
    "qa": "Answer the question about Ibis, with a short runnable example.",
    "documentation": "Write a docstring for the function.",
}
GENERIC_INSTRUCTION = "Answer the request."

#: The input field holding the main text of a corpus record, per task, in order of preference.
PRIMARY_INPUT: Mapping[str, tuple[str, ...]] = {
    "sql_to_ibis": ("sql", "query"),
    "ibis_to_sql": ("ibis", "code"),
    "code_completion": ("prefix", "code"),
    "error_resolution": ("code", "broken", "ibis"),
    "qa": ("question", "text"),
    "documentation": ("code", "function", "source"),
}
#: The target field holding the answer of a corpus record, per task, in order of preference.
PRIMARY_TARGET: Mapping[str, tuple[str, ...]] = {
    "sql_to_ibis": ("ibis", "code"),
    "ibis_to_sql": ("sql",),
    "code_completion": ("completion", "suffix", "code"),
    "error_resolution": ("fixed", "code", "ibis"),
    "qa": ("answer", "text"),
    "documentation": ("docstring", "text"),
}
FALLBACK_KEYS = ("text", "code", "ibis", "sql", "answer")

#: Marks the start of the answer for tokenizers without a chat template; generation stops
#: at the next section marker.
ANSWER_MARK = "### Answer:\n"
SECTION_RE = re.compile(r"\n###\s")
FENCE_RE = re.compile(r"^```[a-zA-Z]*\n(.*?)(?:\n```.*)?$", re.S)


@attrs.frozen
class PromptFields:
    """Everything a prompt is made of, whatever it came from."""

    task: str
    text: str
    tables: str = ""
    dialect: str | None = None
    extras: tuple[tuple[str, str], ...] = ()
    previous: str | None = None
    error: str | None = None


def schema_text(tables: Mapping[str, Any] | Schema | None) -> str:
    """Tables as `name(col dtype, ...)` lines, the inline `--schema` syntax users know."""
    if tables is None:
        return ""
    if isinstance(tables, Schema):
        tables = tables.to_dict()
    lines = []
    for name, cols in tables.items():
        if isinstance(cols, Mapping) and isinstance(cols.get("schema"), Mapping):
            cols = cols["schema"]  # DESIGN.md's context{tables{name{schema}}} shape
        body = ", ".join(f"{c} {t}" for c, t in dict(cols).items())
        lines.append(f"{name}({body})")
    return "\n".join(lines)


def _pick(record: Mapping[str, Any], keys: Sequence[str]) -> tuple[str | None, str | None]:
    for key in (*keys, *FALLBACK_KEYS):
        value = record.get(key)
        if isinstance(value, str) and value.strip():
            return key, value
    strings = [(k, v) for k, v in record.items() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    return None, None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def example_fields(example: Example) -> PromptFields:
    """The prompt fields of a corpus record; its other input fields become extra sections."""
    key, text = _pick(example.input, PRIMARY_INPUT.get(example.task, ()))
    if text is None:
        text = _as_text(dict(example.input))
    extras = tuple(
        (k, _as_text(v))
        for k, v in sorted(example.input.items())
        if k != key and v not in (None, "", [], {})
    )
    return PromptFields(
        task=example.task,
        text=text,
        tables=schema_text(example.context.get("tables")),
        dialect=example.dialect,
        extras=extras,
    )


def example_target(example: Example) -> str:
    """The answer text a corpus record teaches."""
    _, text = _pick(example.target, PRIMARY_TARGET.get(example.task, ()))
    return text if text is not None else _as_text(dict(example.target))


def request_fields(request: TaskRequest, feedback: Sequence[Attempt] = ()) -> PromptFields:
    """The prompt fields of a user request; the best failed attempt becomes a refinement."""
    # Only text options (an error message, a target dialect, a style) become prompt
    # sections, as text fields of corpus inputs do; flags and counts steer the tool engines.
    extras = tuple(
        (str(k), v) for k, v in sorted(request.options.items()) if isinstance(v, str) and v
    )
    previous = error = None
    failed = [a for a in feedback if not a.verdict.passed]
    if failed:
        # Highest score first, then the latest: the attempt that got furthest is the most
        # useful one to repair, and its failing stage names what is left to fix.
        best = max(failed, key=lambda a: (a.verdict.score, a.round, feedback.index(a)))
        previous, error = best.candidate.text, best.verdict.feedback
    return PromptFields(
        task=request.task,
        text=request.text,
        tables=schema_text(request.schema),
        dialect=request.dialect,
        extras=extras,
        previous=previous,
        error=error,
    )


def render(fields: PromptFields) -> str:
    """The user-side prompt text (without the answer marker)."""
    parts = [f"### Task: {fields.task}", INSTRUCTIONS.get(fields.task, GENERIC_INSTRUCTION)]
    if fields.dialect:
        parts.append(f"### Dialect: {fields.dialect}")
    if fields.tables:
        parts.append(f"### Tables:\n{fields.tables}")
    for key, value in fields.extras:
        parts.append(f"### {key.replace('_', ' ').capitalize()}:\n{value}")
    parts.append(f"### Input:\n{fields.text}")
    if fields.previous is not None:
        parts.append(f"### Previous attempt:\n{fields.previous}")
        parts.append(f"### It failed:\n{fields.error}\nWrite a corrected answer.")
    return "\n".join(parts) + "\n"


def clean_output(text: str) -> str:
    """The answer part of a generation: up to the next section marker, fences removed."""
    text = text.split(ANSWER_MARK, 1)[-1] if ANSWER_MARK in text else text
    text = text.strip("\n")
    cut = SECTION_RE.search(text)
    if cut:
        text = text[: cut.start()]
    fenced = FENCE_RE.match(text.strip())
    if fenced:
        text = fenced.group(1)
    return text.rstrip()
