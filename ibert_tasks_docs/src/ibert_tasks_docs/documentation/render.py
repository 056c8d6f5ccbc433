"""Docstrings in numpy or google style from a `FunctionInfo`, as a ready-to-insert literal."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

from ibert_tasks_docs.documentation.analysis import (
    FunctionInfo,
    Param,
    Raise,
    describe_pipeline,
    sentence_list,
)

#: Leading words taken as the verb of the summary line (`load_orders` → "Load orders.").
VERBS = frozenset({
    "add", "aggregate", "apply", "build", "calculate", "check", "clean", "collect",
    "combine", "compute", "convert", "count", "create", "decode", "delete", "describe",
    "drop", "encode", "ensure", "estimate", "extract", "fetch", "fill", "filter", "find",
    "format", "get", "group", "join", "keep", "list", "load", "make", "map", "merge",
    "normalize", "parse", "pivot", "prepare", "read", "remove", "rename", "render",
    "resolve", "run", "sample", "save", "score", "select", "sort", "split", "strip",
    "summarize", "transform", "trim", "update", "validate", "write", "rank", "dedupe",
    "deduplicate", "fit", "predict",
})


#: Name endings that describe rather than name what is returned.
PERIODIC = frozenset({"hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "annual"})


def summary(info: FunctionInfo) -> str:
    words = [w for w in re.split(r"_+|(?<=[a-z])(?=[A-Z])", info.name) if w]
    if not words:
        return "Do the work of this function."
    words = [w.lower() for w in words]
    if words[0] in ("is", "has", "can", "should"):
        return f"Whether {' '.join(words[1:]) or 'it holds'} ({words[0]})."
    if words[0] in VERBS:
        return f"{words[0].capitalize()} {' '.join(words[1:])}".strip() + "."
    noun = " ".join(words)
    if words[-1] in PERIODIC:  # `monthly` → "Return the monthly figures."
        return f"Return the {noun} figures."
    return f"Return the {noun}."


#: What a parameter passed to an ibis method is for (`n` in `.limit(n)`: rows to keep).
ARGUMENT_ROLES = {
    "limit": "Number of rows to keep.",
    "head": "Number of rows to keep.",
    "group_by": "Column to group by.",
    "order_by": "Column to sort by.",
    "select": "Column to keep.",
    "drop": "Column to drop.",
    "fill_null": "Value that replaces nulls.",
    "isin": "Values to match.",
    "truncate": "Unit to truncate to.",
    "strftime": "Format of the text.",
    "round": "Number of digits to keep.",
}


def _role(p: Param) -> str | None:
    """The parameter's role from how the body uses it, when the body says."""
    for use in p.uses:
        if use.startswith("[arg of ") and use[8:-1] in ARGUMENT_ROLES:
            return ARGUMENT_ROLES[use[8:-1]]
    for use in p.uses:
        if use.startswith("[compared in "):
            return f"Compared in `{use[13:-1]}`."
    if "[as key]" in p.uses:
        return "Name of the column to read."
    calls = [u[8:-1] for u in p.uses if u.startswith("[arg of ")]
    if calls:
        return f"Passed to {sentence_list(f'`.{c}()`' for c in calls)}."
    return None


def param_description(p: Param, info: FunctionInfo) -> str:
    words = p.name.replace("_", " ").strip()
    role = _role(p) if p.type not in ("ibis.Table", "ibis.Column", "bool") else None
    if role is not None and p.kind in ("positional", "keyword"):
        text = role
    elif p.type == "ibis.Table" or p.name in info.tables:
        text = f"Table the expression reads ({words})."
    elif p.type == "ibis.Column":
        text = f"Column expression: the {words}."
    elif p.kind == "var_positional":
        text = f"Further positional values ({words})."
    elif p.kind == "var_keyword":
        text = f"Further keyword values ({words})."
    elif p.type == "bool":
        text = f"If True, {words}."
    else:
        text = f"The {words}."
    return text


def returns_description(info: FunctionInfo) -> str:
    if info.returns in ("ibis.Table", "Table", "ir.Table"):
        return "The expression; nothing is executed until it is run on a backend."
    if info.returns in ("ibis.Scalar", "ibis.Column"):
        return "The value expression."
    return "The result."


def _raise_text(r: Raise) -> str:
    said = f' ("{r.message}")' if r.message else ""
    if r.condition:
        return f"If `{r.condition}`{said}."
    return f"Raised{said or ' on invalid input'}."


def _wrap(text: str, width: int = 80, indent: str = "") -> str:
    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def numpy_style(info: FunctionInfo, example: str | None = None) -> str:
    parts = [summary(info)]
    pipeline = describe_pipeline(info)
    if pipeline:
        parts.append(_wrap(pipeline))
    if info.params:
        lines = ["Parameters", "----------"]
        for p in info.params:
            kind = p.type
            if p.default is not None:
                kind += f", default {p.default}" if p.default != "None" else ", optional"
            lines.append(f"{p.doc_name} : {kind}")
            lines.append(f"    {param_description(p, info)}")
        parts.append("\n".join(lines))
    if info.returns:
        parts.append(f"Returns\n-------\n{info.returns}\n    {returns_description(info)}")
    if info.raises:
        lines = ["Raises", "------"]
        for r in info.raises:
            lines += [r.exception, f"    {_raise_text(r)}"]
        parts.append("\n".join(lines))
    if example:
        parts.append("Examples\n--------\n" + example)
    return "\n\n".join(parts)


def google_style(info: FunctionInfo, example: str | None = None) -> str:
    parts = [summary(info)]
    pipeline = describe_pipeline(info)
    if pipeline:
        parts.append(_wrap(pipeline))
    if info.params:
        lines = ["Args:"]
        for p in info.params:
            kind = p.type + (", optional" if p.default is not None else "")
            text = param_description(p, info)
            if p.default is not None and p.default != "None":
                text += f" Defaults to {p.default}."
            lines.append(f"    {p.doc_name} ({kind}): {text}")
        parts.append("\n".join(lines))
    if info.returns:
        parts.append(f"Returns:\n    {info.returns}: {returns_description(info)}")
    if info.raises:
        parts.append("Raises:\n" + "\n".join(
            f"    {r.exception}: {_raise_text(r)}" for r in info.raises))
    if example:
        parts.append("Examples:\n" + "\n".join(f"    {ln}" for ln in example.splitlines()))
    return "\n\n".join(parts)


STYLES: dict[str, Callable[[FunctionInfo, str | None], str]] = {
    "numpy": numpy_style,
    "google": google_style,
}


def as_literal(text: str, indent: str) -> str:
    """`text` as a triple-quoted docstring whose continuation lines sit at `indent`."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines()
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    body = "\n".join(f"{indent}{ln}" if ln.strip() else "" for ln in lines[1:])
    return f'"""{lines[0]}\n{body}\n{indent}"""'
