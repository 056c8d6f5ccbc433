"""The `documentation` task: the input file with checked docstrings added.

The tool engine writes one candidate (the whole file, docstrings inserted); a model's
candidate is any whole file, judged by the same checks. Which functions: `--function`
names one; otherwise those with no docstring or a stale one (`--overwrite`: all).
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ibert_core.engine import candidate
from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.types import Attempt, Candidate, Stage, TaskRequest, ValidationJob, Verdict
from ibert_tasks_docs.documentation.analysis import FunctionInfo, analyse, functions
from ibert_tasks_docs.documentation.checks import (
    build_expression,
    doc_params,
    docstring_problems,
    same_code,
    signature_mismatch,
    table_params,
)
from ibert_tasks_docs.documentation.insert import insert_docstrings
from ibert_tasks_docs.documentation.render import STYLES


def parse_source(text: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as err:
        raise BadInput(f"the input is not valid Python (line {err.lineno}: {err.msg})",
                       "pass a Python file or a function's source") from None


class DocumentationHandler:
    name = "documentation"

    def __init__(self, context: Any) -> None:
        self.context = context

    def targets(self, request: TaskRequest, tree: ast.Module) -> list[str]:
        names = [q for q, _ in functions(tree)]
        wanted = request.options.get("function")
        if wanted:
            matches = [q for q in names if q == wanted or q.rsplit(".", 1)[-1] == wanted]
            if not matches:
                raise UnknownNameError("function", wanted, names)
            return matches[:1]
        if request.options.get("overwrite"):
            return names
        style = _style(request)
        return list(dict.fromkeys(p.function for p in docstring_problems(request.text, style)))

    def candidates(self, request: TaskRequest, feedback: Sequence[Attempt]) -> Iterable[Candidate]:
        if feedback:
            return []
        tree = parse_source(request.text)
        style = _style(request)
        tables = request.schema.to_dict() if request.schema is not None else {}
        nodes = dict(functions(tree))
        targets = self.targets(request, tree)
        docstrings: dict[str, str] = {}
        for qualname in targets:
            info = analyse(nodes[qualname], qualname, list(tables))
            example = _example(request.text, info, tables)
            docstrings[qualname] = STYLES[style](info, example)
        documented = insert_docstrings(request.text, docstrings) if docstrings else request.text
        return [candidate(documented, "docstring-engine", functions=targets, style=style,
                          docstrings=docstrings)]

    def validate(self, request: TaskRequest, cand: Candidate) -> Verdict:
        stages: list[Stage] = []
        t0 = time.perf_counter()
        try:
            tree = ast.parse(cand.text)
        except SyntaxError as err:
            return Verdict((Stage("parse", False, f"syntax error at line {err.lineno}: "
                                  f"{err.msg}", time.perf_counter() - t0),), required=("parse",))
        original = parse_source(request.text)
        if not same_code(request.text, cand.text, (original, tree)):
            return Verdict((Stage("parse", False, "the code itself changed: only docstrings may "
                                  "be added or edited; return the input with docstrings",
                                  time.perf_counter() - t0),), required=("parse",))
        stages.append(Stage("parse", True, "parses; only docstrings differ from the input",
                            time.perf_counter() - t0))

        style = _style(request)
        targets = list(cand.extra.get("functions") or _changed(original, tree))
        t0 = time.perf_counter()
        nodes = dict(functions(tree))
        problems = []
        for qualname in targets:
            node = nodes.get(qualname)
            doc = ast.get_docstring(node) if node is not None else None
            if not doc:
                problems.append(f"{qualname}: no docstring")
                continue
            try:
                documented = doc_params(doc, style)
            except Exception as err:  # noqa: BLE001
                problems.append(f"{qualname}: docstring does not parse as {style} ({err})")
                continue
            assert node is not None
            mismatch = signature_mismatch(analyse(node, qualname).params, documented)
            if mismatch:
                problems.append(f"{qualname}: {mismatch}")
        stages.append(Stage("docstring", not problems,
                            "; ".join(problems) or f"{len(targets)} docstring(s) parse as "
                            f"{style} and match their signatures", time.perf_counter() - t0))
        required = ["parse", "docstring"]
        if problems or request.schema is None:
            return Verdict(stages, required=required)

        built = self._build_stages(cand.text, nodes, targets, request.schema.to_dict())
        stages += built
        required += [s.name for s in built]
        return Verdict(stages, required=required)

    def _build_stages(
        self, source: str, nodes: Mapping[str, Any], targets: Sequence[str],
        tables: Mapping[str, Mapping[str, str]],
    ) -> list[Stage]:
        """Build, compile and run each ibis function whose parameters are schema tables."""
        import ibis

        from ibert_core.types import Schema

        jobs: list[tuple[str, str]] = []
        t0 = time.perf_counter()
        messages = []
        for qualname in targets:
            info = analyse(nodes[qualname], qualname, list(tables))
            mapping = table_params(info.params, tables) if "." not in qualname else None
            if not mapping:
                continue
            args = {p: ibis.table(dict(tables[t]), name=t) for p, t in mapping.items()}
            try:
                expr = build_expression(source, qualname, args)
            except Exception as err:  # noqa: BLE001 - the user's code failing is the finding
                return [Stage("build", False, f"{qualname}({', '.join(mapping)}) failed: "
                              f"{type(err).__name__}: {err}", time.perf_counter() - t0)]
            if not isinstance(expr, ibis.Expr):
                continue  # not an ibis function: nothing more to run
            try:
                ibis.to_sql(expr, dialect="duckdb")
                code = ibis.decompile(expr)
            except Exception as err:  # noqa: BLE001
                return [Stage("build", False, f"{qualname} builds an expression that does not "
                              f"compile: {err}", time.perf_counter() - t0)]
            jobs.append((qualname, f"{code}\nexpr = result\n"))
            messages.append(f"{qualname} builds a {type(expr).__name__}")
        if not jobs:
            return []
        out = [Stage("build", True, "; ".join(messages), time.perf_counter() - t0)]
        t0 = time.perf_counter()
        schema = Schema.from_dict(tables)
        validator = self.context.validator("duckdb")
        verdicts = validator.validate_many([
            ValidationJob(code=code, schema=schema, stages=("parse", "build", "compile",
                                                            "execute"))
            for _, code in jobs
        ])
        failed = [(q, v) for (q, _), v in zip(jobs, verdicts, strict=True) if not v.passed]
        if failed:
            q, v = failed[0]
            out.append(Stage("execute", False, f"the expression {q} builds did not run on "
                             f"fixture data: {v.feedback}", time.perf_counter() - t0))
        else:
            out.append(Stage("execute", True, f"ran {len(jobs)} expression(s) on fixture data",
                             time.perf_counter() - t0))
        return out


def _style(request: TaskRequest) -> str:
    style = str(request.options.get("style") or "numpy")
    if style not in STYLES:
        raise UnknownNameError("docstring style", style, STYLES)
    return style


def _changed(original: ast.Module, documented: ast.Module) -> list[str]:
    """Functions whose docstring a (model) candidate added or edited."""
    before = {q: ast.get_docstring(n) for q, n in functions(original)}
    return [q for q, n in functions(documented) if ast.get_docstring(n) != before.get(q)]


def _example(
    source: str, info: FunctionInfo, tables: Mapping[str, Mapping[str, str]]
) -> str | None:
    """Doctest lines calling the function on tables of the schema, when that builds."""
    if not tables or info.is_method:
        return None
    mapping = table_params(info.params, tables)
    if not mapping:
        return None
    try:
        import ibis

        args = {p: ibis.table(dict(tables[t]), name=t) for p, t in mapping.items()}
        expr = build_expression(source, info.qualname, args)
    except Exception:  # noqa: BLE001 - no example then; the checks report build failures
        return None
    if not isinstance(expr, ibis.Expr):
        return None
    lines = [">>> import ibis"]
    for p, t in mapping.items():
        lines.append(f">>> {p} = ibis.table({json.dumps(dict(tables[t]))}, name={t!r})")
    call = ", ".join(
        p.name if p.kind == "positional" else f"{p.name}={p.name}"
        for p in info.params if p.name in mapping
    )
    lines.append(f">>> expr = {info.name}({call})")
    return "\n".join(lines)
