"""The `qa` task: answer a question about the API from the index, with an example that ran.

The tool engine's candidates are one answer text per runnable example of the best
symbols (the engine keeps the first whose example the validator executes); a model's
candidates are judged the same way, by running the code blocks they contain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ibert_core.engine import candidate
from ibert_core.types import (
    Attempt,
    Candidate,
    Schema,
    Stage,
    TaskRequest,
    ValidationJob,
    Verdict,
)
from ibert_tasks_docs.qa.examples import (
    EXAMPLE_SCHEMAS,
    RunnableExample,
    examples_for,
    generated_example,
    runnable_from_answer,
)
from ibert_tasks_docs.qa.index import ApiIndex, Hit, open_index

#: The checks an answer's example must pass: it runs; there is no reference to compare.
QA_STAGES = ("parse", "build", "compile", "execute")


class QaHandler:
    name = "qa"

    def __init__(self, context: Any) -> None:
        self.context = context
        self.config = dict(getattr(context, "config", None) or {})

    def index_for(self, request: TaskRequest) -> ApiIndex:
        opts = request.options
        packages = tuple(dict.fromkeys(("ibis", *(opts.get("package") or ()))))
        return open_index(packages, tuple(opts.get("docs") or ()), config=self.config,
                          rebuild=bool(opts.get("rebuild")), context=self.context)

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> Iterable[Candidate]:
        if feedback:
            return []  # retrieval is deterministic: a second round would repeat the first
        index = self.index_for(request)
        top = int(request.options.get("top") or 3)
        hits = index.search(request.text, k=max(top, 5))
        if not hits:
            from ibert_core.errors import BadInput

            raise BadInput(
                f"nothing in the index matches {request.text!r}",
                "rephrase with API words (e.g. 'filter', 'group_by'), or index more with "
                "--package/--docs",
            )
        shown = hits[:top]
        # each example, then (if fixture rows break it) the same on the rows it wrote
        examples = [(h, v) for h in hits for ex in _examples(h, hits) for v in ex.variants()]
        examples = examples[:8]
        cited = [_cited(h) for h in shown]
        note = retrieval_note(index.retrieval)
        base = {"cited": cited, "retrieval": index.retrieval, "retrieval_note": note,
                "sources": [s.name for s in index.sources]}
        out = [
            candidate(f"{render(shown, h, ex)}\n{note}", "qa-retrieval",
                      example_symbol=h.symbol.qualname, tables=dict(ex.tables), **base)
            for h, ex in examples
        ]
        if not out:
            out.append(candidate(f"{render(shown, None, None)}\n{note}", "qa-retrieval", **base))
        return out

    def prompt_context(self, request: TaskRequest) -> dict[str, str]:
        """The API entries retrieval found, for a model's prompt: a model then answers from
        the installed API rather than from what it remembers of some other version."""
        index = self.index_for(request)
        hits = index.search(request.text, k=int(request.options.get("top") or 3))
        if not hits:
            return {}
        return {"api_reference": "\n".join(reference_lines(hits)).strip()}

    def validate(self, request: TaskRequest, cand: Candidate) -> Verdict:
        example = runnable_from_answer(cand.text)
        if example is None:
            return Verdict(
                (Stage("parse", False, "the answer has no runnable example: add a ```python "
                       "block that builds an ibis expression and assigns it to `expr`"),),
                required=QA_STAGES,
            )
        tables = {**example.tables, **dict(cand.extra.get("tables") or {})}
        schema = _schema_for(example.code, tables, request.schema)
        data = None if tables else request.data  # our examples bring their own tables
        # one fixture seed: an example shows that the code runs, there is nothing to compare
        job = ValidationJob(code=example.code, schema=schema, data=data,
                            stages=QA_STAGES, options={"seeds": (0,)})
        verdict = self.context.validator("duckdb").validate(job)
        return Verdict(verdict.stages, required=QA_STAGES, artifacts=verdict.artifacts)


def _examples(hit: Hit, hits: Sequence[Hit]) -> list[RunnableExample]:
    """The hit's own runnable examples; else one made for it: a window constructor or
    `Value.over` (whose docstrings have none) applied to the reduction among the other
    hits, a constructor that takes nothing (`ibis.now()`) called."""
    own = examples_for(hit.symbol)
    if own:
        return own
    names = [h.symbol.qualname.rsplit(".", 1)[-1] for h in hits]
    made = generated_example(hit.symbol, names)
    return [made] if made is not None else []


def _schema_for(code: str, tables: Mapping[str, Mapping[str, str]], given: Schema | None) -> Schema:
    """The example's own tables, the user's schema, and the example datasets it names."""
    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code))
    found = {n: dict(s) for n, s in EXAMPLE_SCHEMAS.items() if n in names}
    found.update({n: dict(s) for n, s in tables.items()})
    schema = Schema.from_dict(found)
    return given.merge(schema) if given is not None else schema


def _cited(hit: Hit) -> dict[str, Any]:
    s = hit.symbol
    return {
        "symbol": s.qualname,
        "name": s.short,
        "kind": s.kind,
        "signature": s.signature,
        "score": hit.score,
        "bm25": hit.lexical,
        "dense": hit.dense,
        "neighbours": list(hit.neighbours),
        "source": f"{s.path}:{s.line}" if s.path else "",
    }


def explanation(doc: str, limit: int = 400) -> str:
    """The docstring's prose up to its first section heading, cut at a sentence."""
    prose: list[str] = []
    lines = doc.strip().splitlines()
    for i, line in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt.strip() and set(nxt.strip()) <= {"-", "="} and len(nxt.strip()) >= 3:
            break
        if line.lstrip().startswith(">>>") or line.startswith(":::"):
            break
        prose.append(line)
    text = " ".join(" ".join(prose).split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(". ", 1)[0]
    return cut + ("." if not cut.endswith(".") else "")


def display_signature(signature: str) -> str:
    """The signature as a user calls it: no `self`, annotations without string quotes."""
    text = re.sub(r"^\((self|cls)(, )?", "(", signature)
    return re.sub(r"'([^']*)'", lambda m: m.group(1) if _is_annotation(m) else m.group(0), text)


def _is_annotation(match: re.Match[str]) -> bool:
    """Quoted text right after `: ` or `-> ` is an annotation; defaults keep their quotes."""
    before = match.string[: match.start()]
    return before.endswith((": ", "-> "))


def reference_lines(hits: Sequence[Hit]) -> list[str]:
    """The numbered symbols with their signatures, what they do, and their neighbours."""
    lines: list[str] = []
    for n, h in enumerate(hits, 1):
        s = h.symbol
        if s.kind == "doc":
            lines.append(f"{n}. {s.qualname}")
        else:
            lines.append(f"{n}. {s.short}{display_signature(s.signature)}")
        if s.kind != "doc" and s.short != s.qualname:
            lines.append(f"   {s.qualname}")
        text = explanation(s.doc)
        if text:
            lines.append(f"   {text}")
        if h.neighbours:
            lines.append(f"   see also: {', '.join(h.neighbours[:4])}")
        lines.append("")
    return lines


def render(
    hits: Sequence[Hit], example_hit: Hit | None, example: RunnableExample | None
) -> str:
    """The answer a user reads: best symbols, what they do, and one example. It depends on
    the question and the installed API only; how this machine retrieved it is the separate
    `retrieval_note` line the answer ends with."""
    lines = reference_lines(hits)
    if example is not None and example_hit is not None:
        tables = "; ".join(
            f"{name}({', '.join(f'{c} {t}' for c, t in cols.items())})"
            for name, cols in example.tables.items()
        )
        where = f" on tables {tables}" if tables else ""
        lines.append(f"Example for {example_hit.symbol.short}{where}:")
        lines.append("```python")
        lines.append(example.code)
        lines.append("```")
    else:
        lines.append("No runnable example was found for these symbols.")
    return "\n".join(lines)


def retrieval_note(retrieval: str) -> str:
    """The answer's last line: which retrieval ran, and what would add dense retrieval.

    It depends on what this machine has installed, so it is also the candidate's
    `retrieval_note`: a corpus keeps the answer without it (a training target must not
    teach which packages some builder had)."""
    note = "" if "dense" in retrieval else " (no embedding model installed: BM25 + graph alone)"
    return f"retrieval: {retrieval}{note}"
