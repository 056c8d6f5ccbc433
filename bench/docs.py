"""Benchmark of `ibert run documentation` on held-out functions of the installed ibis.

Two sets, neither seen while writing the engine:
- documented: public functions and methods of ibis modules that carry numpy docstrings;
  their docstrings are removed, regenerated, checked, and compared parameter by
  parameter with the originals;
- tests: the functions of ibis's own test modules (mostly undocumented).
Reports the share whose generated docstring passes every check (parses as numpy,
parameters exactly the signature's, code unchanged), parameter agreement with the
existing docstrings, and time per function. Writes bench/results/docs.json.

    .venv/bin/python bench/docs.py
"""

from __future__ import annotations

import ast
import json
import statistics
import time
from pathlib import Path

DOCUMENTED_MODULES = (
    "ibis/expr/api.py",
    "ibis/selectors.py",
    "ibis/expr/types/relations.py",
    "ibis/expr/types/strings.py",
    "ibis/expr/types/temporal.py",
    "ibis/expr/types/numeric.py",
    "ibis/expr/types/generic.py",
)
TEST_MODULES = (
    "ibis/backends/tests/test_generic.py",
    "ibis/backends/tests/test_aggregation.py",
    "ibis/backends/tests/test_window.py",
    "ibis/backends/tests/test_string.py",
    "ibis/tests/expr/test_table.py",
)


def _strip(source: str, node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The source with this function's docstring removed (a `pass` keeps the body valid)."""
    doc = node.body[0]
    lines = source.splitlines(keepends=True)
    assert doc.end_lineno is not None
    indent = " " * doc.col_offset
    keep = [] if len(node.body) > 1 else [f"{indent}pass\n"]
    return "".join(lines[: doc.lineno - 1] + keep + lines[doc.end_lineno:])


def main() -> None:
    import docstring_parser
    import ibis

    from ibert_core.plugins import make_context
    from ibert_core.types import Candidate, TaskRequest
    from ibert_tasks_docs.documentation.analysis import analyse, functions
    from ibert_tasks_docs.documentation.checks import doc_params
    from ibert_tasks_docs.documentation.insert import insert_docstrings
    from ibert_tasks_docs.documentation.render import numpy_style

    root = Path(ibis.__file__).parent.parent
    context = make_context()
    handler = context.handler("documentation")

    def run_set(modules: tuple[str, ...], documented: bool) -> dict[str, object]:
        passed = total = 0
        jaccard: list[float] = []
        exact_existing = 0
        typed = params_total = 0
        failures: list[dict[str, str]] = []
        times: list[float] = []
        for rel in modules:
            source = (root / rel).read_text()
            tree = ast.parse(source)
            for qualname, node in functions(tree):
                existing = ast.get_docstring(node)
                if documented and (not existing or "Parameters\n---" not in existing
                                   or qualname.split(".")[-1].startswith("_")):
                    continue
                if not documented and existing:
                    continue
                text = _strip(source, node) if documented else source
                node2 = dict(functions(ast.parse(text)))[qualname]
                t0 = time.perf_counter()
                info = analyse(node2, qualname)
                doc = numpy_style(info)
                try:
                    out = insert_docstrings(text, {qualname: doc})
                except Exception as err:  # noqa: BLE001 - e.g. a one-line body
                    failures.append({"function": f"{rel}:{qualname}", "why": str(err)})
                    total += 1
                    continue
                request = TaskRequest("documentation", text, options={"function": qualname})
                verdict = handler.validate(request, Candidate(out, extra={"functions": [qualname]}))
                times.append((time.perf_counter() - t0) * 1000)
                total += 1
                passed += verdict.passed
                if not verdict.passed and len(failures) < 10:
                    failures.append({"function": f"{rel}:{qualname}", "why": verdict.feedback})
                params_total += len(info.params)
                typed += sum(p.type != "object" for p in info.params)
                if documented and existing:
                    try:
                        old = set(doc_params(existing, "numpy"))
                    except Exception:  # noqa: BLE001
                        continue
                    new = {p.name for p in info.params}
                    exact_existing += old == new
                    union = old | new
                    jaccard.append(len(old & new) / len(union) if union else 1.0)
                    try:
                        docstring_parser.parse(existing)
                    except Exception:  # noqa: BLE001
                        pass
        result: dict[str, object] = {
            "functions": total,
            "pass_all_checks": round(passed / total, 3) if total else None,
            "params_with_a_type": round(typed / params_total, 3) if params_total else None,
            "ms_per_function": round(statistics.median(times), 2) if times else None,
            "failures": failures,
        }
        if documented:
            result["param_agreement_jaccard"] = round(statistics.mean(jaccard), 3)
            result["existing_docstrings_matching_signature"] = round(
                exact_existing / len(jaccard), 3)
        return result

    try:
        out = {
            "documented_ibis_functions": run_set(DOCUMENTED_MODULES, documented=True),
            "ibis_test_functions": run_set(TEST_MODULES, documented=False),
            "ibis_version": ibis.__version__,
        }
    finally:
        context.close()
    path = Path(__file__).parent / "results" / "docs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
