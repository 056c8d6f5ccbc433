"""documentation: generated docstrings, their checks, and byte-exact insertion."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path
from typing import Any

import docstring_parser
import pytest

from ibert_core import engine
from ibert_core.errors import UnknownNameError, UnsupportedConstruct
from ibert_core.types import Candidate, Schema, TaskRequest
from ibert_tasks_docs.documentation.analysis import analyse, describe_pipeline, functions
from ibert_tasks_docs.documentation.checks import docstring_problems
from ibert_tasks_docs.documentation.insert import insert_docstrings

PLAIN = textwrap.dedent('''\
    import os  # a comment that must survive


    def load_config(path: str, retries: int = 3, *extra, strict=False, **options) -> dict:
        # comment right after the header
        if not path:
            raise ValueError("path must not be empty")
        if retries < 0:
            raise RuntimeError(f"bad retries {retries}")
        return {"path": path}


    class Store:
        def get(self, key, default=None):
            return key
    ''')

PIPELINE = textwrap.dedent('''\
    import ibis


    def revenue_by_region(orders, regions, min_amount=0):
        joined = orders.join(regions, orders.region_id == regions.id)
        return (
            joined.filter(joined.amount > min_amount)
            .group_by("name")
            .aggregate(revenue=joined.amount.sum())
        )
    ''')

SCHEMA = Schema.from_dict({
    "orders": {"id": "int64", "region_id": "int64", "amount": "float64"},
    "regions": {"id": "int64", "name": "string"},
})


def _doc(source: str, qualname: str) -> str:
    node = dict(functions(ast.parse(source)))[qualname]
    doc = ast.get_docstring(node)
    assert doc is not None
    return doc


def _run(context: Any, text: str, **options: Any) -> Any:
    schema = options.pop("schema", None)
    return engine.run(context, TaskRequest("documentation", text, schema=schema, options=options))


def test_docs_numpy_docstrings_cover_params_defaults_returns_and_raises(docs_context: Any) -> None:
    result = _run(docs_context, PLAIN)
    assert result.verified, result.verdict.feedback
    doc = _doc(result.answer, "load_config")
    parsed = docstring_parser.parse(doc, style=docstring_parser.DocstringStyle.NUMPYDOC)
    assert parsed.short_description == "Load config."
    assert [p.arg_name for p in parsed.params] == ["path", "retries", "*extra", "strict",
                                                   "**options"]
    types = {p.arg_name: p.type_name for p in parsed.params}
    defaults = {p.arg_name: p.default for p in parsed.params}
    assert types["path"] == "str" and (types["retries"], defaults["retries"]) == ("int", "3")
    assert (types["strict"], defaults["strict"]) == ("bool", "False")  # type from the default
    assert parsed.returns is not None and parsed.returns.type_name == "dict"
    assert [r.type_name for r in parsed.raises] == ["ValueError", "RuntimeError"]
    assert "not path" in doc and "path must not be empty" in doc
    # methods are documented too, without self
    assert "key : object" in _doc(result.answer, "Store.get")


def test_docs_google_style_parses_and_matches_the_signature(docs_context: Any) -> None:
    result = _run(docs_context, PLAIN, style="google")
    assert result.verified, result.verdict.feedback
    doc = _doc(result.answer, "load_config")
    parsed = docstring_parser.parse(doc, style=docstring_parser.DocstringStyle.GOOGLE)
    assert [p.arg_name for p in parsed.params][:2] == ["path", "retries"]
    assert "Defaults to 3." in doc and "Raises:" in doc and "ValueError:" in doc
    assert parsed.raises[0].type_name == "ValueError"


def test_docs_insertion_changes_nothing_but_docstrings() -> None:
    out = insert_docstrings(PLAIN, {"load_config": "One line.", "Store.get": "Two.\n\nLines."})
    one = '    """One line."""\n'
    two = '        """Two.\n\n        Lines.\n        """\n'
    # right under each signature, above the comment that opens the body; nothing else moves
    assert "-> dict:\n" + one + "    # comment right after" in out
    assert "default=None):\n" + two in out
    assert out.replace(one, "", 1).replace(two, "", 1) == PLAIN
    # an existing docstring is replaced where it stands
    again = insert_docstrings(out, {"load_config": "Replaced."})
    assert again == out.replace('"""One line."""', '"""Replaced."""')
    # CRLF files keep their line endings
    crlf = PLAIN.replace("\n", "\r\n")
    documented = insert_docstrings(crlf, {"load_config": "X."})
    assert documented.count("\r\n") == crlf.count("\r\n") + 1


def test_docs_one_line_bodies_are_refused_with_their_position() -> None:
    with pytest.raises(UnsupportedConstruct) as err:
        insert_docstrings("def f(x): return x\n", {"f": "Doc."})
    assert err.value.line == 1


def test_docs_wrong_docstring_fails_the_signature_check(docs_context: Any) -> None:
    handler = docs_context.handler("documentation")
    request = TaskRequest("documentation", "def area(width, height):\n    return width * height\n")
    wrong = ('def area(width, height):\n    """Area.\n\n    Parameters\n    ----------\n'
             '    width : float\n        W.\n    depth : float\n        D.\n    """\n'
             '    return width * height\n')
    verdict = handler.validate(request, Candidate(wrong))
    assert not verdict.passed
    assert verdict.failed.name == "docstring"
    assert "missing height" in verdict.failed.message and "depth" in verdict.failed.message
    right = wrong.replace("depth : float", "height : float")
    assert handler.validate(request, Candidate(right)).passed


def test_docs_a_candidate_that_changes_the_code_is_rejected(docs_context: Any) -> None:
    handler = docs_context.handler("documentation")
    request = TaskRequest("documentation", "def f(x):\n    return x\n")
    verdict = handler.validate(request, Candidate('def f(x):\n    """F."""\n    return x + 1\n'))
    assert not verdict.passed and "only docstrings" in verdict.feedback


def test_docs_ibis_function_is_described_built_and_run_on_fixtures(docs_context: Any) -> None:
    result = _run(docs_context, PIPELINE, schema=SCHEMA)
    assert result.verified, result.verdict.feedback
    names = [s.name for s in result.verdict.stages]
    assert names == ["parse", "docstring", "build", "execute"]
    doc = _doc(result.answer, "revenue_by_region")
    flat = " ".join(doc.split())
    assert "over `orders`, `regions`" in flat
    assert "joins `regions` on `orders.region_id == regions.id`" in flat
    assert "keeps rows where `joined.amount > min_amount`" in flat
    assert "groups by `'name'`" in flat and "computes `revenue=joined.amount.sum()`" in flat
    assert "orders : ibis.Table" in doc and "min_amount : int, default 0" in doc
    assert ">>> expr = revenue_by_region(orders, regions)" in doc


def test_docs_ibis_function_that_does_not_build_is_not_verified(docs_context: Any) -> None:
    broken = PIPELINE.replace("joined.amount.sum()", "joined.amountt.sum()")
    result = _run(docs_context, broken, schema=SCHEMA)
    assert not result.verified
    assert result.verdict.failed.name == "build" and "amountt" in result.verdict.failed.message


def test_docs_types_are_inferred_from_use() -> None:
    node = ast.parse(PIPELINE).body[1]
    assert isinstance(node, ast.FunctionDef)
    info = analyse(node, "revenue_by_region")
    assert {p.name: p.type for p in info.params} == {
        "orders": "ibis.Table", "regions": "ibis.Table", "min_amount": "int"}
    assert info.returns == "ibis.Table"
    assert describe_pipeline(info).startswith("Builds an Ibis expression over `orders`")


def test_docs_parameters_are_described_by_their_role_in_the_pipeline(docs_context: Any) -> None:
    """`n` in `.limit(n)` is the number of rows kept, not "The n."."""
    source = textwrap.dedent('''\
        from ibis import _


        def top_orders(orders, min_amount, key="region_id", n=5, fill=0):
            kept = orders.filter(_.amount > min_amount).fill_null(fill)
            return kept.group_by(key).agg(total=_.amount.sum()).order_by("total").limit(n)


        def monthly(orders):
            return orders.group_by("region_id").agg(n=_.count())
        ''')
    result = _run(docs_context, source)
    assert result.verified, result.verdict.feedback
    parsed = docstring_parser.parse(
        _doc(result.answer, "top_orders"), style=docstring_parser.DocstringStyle.NUMPYDOC
    )
    roles = {p.arg_name: p.description for p in parsed.params}
    assert roles == {
        "orders": "Table the expression reads (orders).",
        "min_amount": "Compared in `_.amount > min_amount`.",
        "key": "Column to group by.",
        "n": "Number of rows to keep.",
        "fill": "Value that replaces nulls.",
    }
    assert "fills nulls with `fill`" in " ".join(_doc(result.answer, "top_orders").split())
    assert _doc(result.answer, "monthly").splitlines()[0] == "Return the monthly figures."


def test_docs_function_option_picks_one_and_suggests_on_typos(docs_context: Any) -> None:
    result = _run(docs_context, PLAIN, function="get")
    assert '"""' in result.answer.split("class Store")[1]
    assert '"""' not in result.answer.split("class Store")[0]
    with pytest.raises(UnknownNameError) as err:
        _run(docs_context, PLAIN, function="load_confg")
    assert err.value.suggestion == "load_config"


def test_docs_stale_docstrings_are_found_and_checked_by_the_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ibert_tasks_docs.commands import docs_group

    stale = (
        'def f(a, b):\n    """F.\n\n    Parameters\n    ----------\n    a : int\n'
        '        A.\n    """\n'
    )
    problems = docstring_problems(stale, "numpy")
    assert [p.function for p in problems] == ["f"] and "missing b" in problems[0].message
    path = tmp_path / "m.py"
    path.write_text(stale)
    out = CliRunner().invoke(docs_group, ["check", str(path)])
    assert out.exit_code == 1 and "missing b" in out.output
    fixed = stale.replace("        A.\n", "        A.\n    b : int\n        B.\n")
    path.write_text(fixed)
    assert CliRunner().invoke(docs_group, ["check", str(path)]).exit_code == 0


def test_docs_cli_runs_the_task_and_writes_files_in_place(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ibert_core.cli import make_cli

    path = tmp_path / "mod.py"
    path.write_text(PLAIN)
    runner = CliRunner()
    shown = runner.invoke(make_cli(), ["run", "documentation", str(path), "--style", "google"])
    assert shown.exit_code == 0, shown.output
    assert "Args:" in shown.output and path.read_text() == PLAIN  # run only prints
    written = runner.invoke(make_cli(), ["docstrings", "write", str(path)])
    assert written.exit_code == 0, written.output
    text = path.read_text()
    assert '"""Load config.' in text and "# a comment that must survive" in text
    assert runner.invoke(make_cli(), ["docstrings", "check", str(path)]).exit_code == 0
