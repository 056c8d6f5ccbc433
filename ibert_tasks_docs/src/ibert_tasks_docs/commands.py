"""`ibert qa ...` and `ibert docstrings ...`: the index and the pre-commit style checks.

Top-level groups of their own (`ibert run qa` is the core's task command; `ibert qa
index` manages what it searches).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from ibert_core.errors import BadInput

#: `--docs DIR`: an existing folder, checked by click before any index is opened.
DOCS_DIR = click.Path(exists=True, file_okay=False)
STYLE_HELP = "Docstring convention."


@click.group(name="qa")
def qa_group() -> None:
    """The API index behind `ibert run qa`."""


@qa_group.command(name="index")
@click.option("--package", "packages", multiple=True, metavar="NAME",
              help="Index this installed package (default: ibis); repeatable.")
@click.option("--docs", multiple=True, metavar="DIR", type=DOCS_DIR,
              help="Also index this docs folder (md, qmd, ipynb); repeatable.")
@click.option("--rebuild", is_flag=True, help="Ignore the cache and build again.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def qa_index(packages: tuple[str, ...], docs: tuple[str, ...], rebuild: bool,
             as_json: bool) -> None:
    """Build (or load) the index and show its size and build time."""
    from ibert_tasks_docs.cache import cache_dir
    from ibert_tasks_docs.qa import dense
    from ibert_tasks_docs.qa.index import load_docs, load_package

    config = _config()
    root = cache_dir(config)
    t0 = time.perf_counter()
    sources = [load_package(p, root=root, rebuild=rebuild)[1] for p in packages or ("ibis",)]
    sources += [load_docs(Path(d), root=root, rebuild=rebuild)[1] for d in docs]
    seconds = time.perf_counter() - t0
    retrieval = "bm25+dense+graph" if dense.embedder_for(None, config) else "bm25+graph"
    total = sum(s.symbols for s in sources)
    rows: list[dict[str, Any]] = []
    for s in sources:
        size = Path(s.path).stat().st_size if Path(s.path).exists() else 0
        rows.append({"kind": s.kind, "name": s.name, "version": s.version, "symbols": s.symbols,
                     "build_seconds": s.build_seconds, "cached": s.cached, "bytes": size,
                     "path": s.path})
    summary = {"sources": rows, "symbols": total, "retrieval": retrieval,
               "load_seconds": round(seconds, 3)}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for r in rows:
        state = "cached" if r["cached"] else "built now"
        click.echo(f"{r['kind']} {r['name']} {r['version']}: {r['symbols']} symbols, "
                   f"built in {r['build_seconds']:.2f} s ({state}), "
                   f"{r['bytes'] / 1e6:.1f} MB at {r['path']}")
    note = "" if "dense" in retrieval else " (no embedding model installed)"
    click.echo(f"total {total} symbols; retrieval {retrieval}{note}; loaded in {seconds:.2f} s")


@qa_group.command(name="search")
@click.argument("question")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(min=1),
              help="How many hits.")
@click.option("--package", "packages", multiple=True, metavar="NAME",
              help="Search this installed package (default: ibis); repeatable.")
@click.option("--docs", multiple=True, metavar="DIR", type=DOCS_DIR,
              help="Also search this docs folder; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def qa_search(question: str, k: int, packages: tuple[str, ...], docs: tuple[str, ...],
              as_json: bool) -> None:
    """Show the ranked symbols for QUESTION (no example is run)."""
    from ibert_tasks_docs.qa.handler import _cited
    from ibert_tasks_docs.qa.index import open_index

    if not question.strip():
        raise BadInput("QUESTION is empty", 'ask something, e.g. ibert qa search "pivot wider"')
    index = open_index(packages or ("ibis",), docs, config=_config())
    hits = index.search(question, k=k)
    if as_json:
        click.echo(json.dumps([_cited(h) for h in hits], indent=2))
        return
    for h in hits:
        click.echo(f"{h.score:6.3f}  {h.symbol.short}{h.symbol.signature}")


@click.group(name="docstrings")
def docs_group() -> None:
    """Check or write docstrings of Python files (what `ibert run documentation` generates)."""


@docs_group.command(name="check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--style", type=click.Choice(["numpy", "google"]), default="numpy",
              show_default=True, help=STYLE_HELP)
def docs_check(paths: tuple[str, ...], style: str) -> None:
    """Exit 1 when a public function lacks a docstring or its parameters are stale."""
    from ibert_tasks_docs.documentation.checks import stale_functions

    problems = []
    for path in paths:
        source = _read_python(path)
        problems += [f"{path}:{line}: {name}: {why}"
                     for name, line, why in stale_functions(source, style)]
    for p in problems:
        click.echo(p)
    click.get_current_context().exit(1 if problems else 0)


@docs_group.command(name="write")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--function", "function", default=None, metavar="NAME",
              help="Document only this function (or Class.method); default: all of them.")
@click.option("--style", type=click.Choice(["numpy", "google"]), default="numpy",
              show_default=True, help=STYLE_HELP)
@click.option("--schema", default=None, metavar="SCHEMA",
              help="Tables the functions' parameters stand for: inline 't(a int64)' or a file.")
def docs_write(path: str, function: str | None, style: str, schema: str | None) -> None:
    """Insert checked docstrings into PATH in place, leaving every other byte as it was."""
    from ibert_core import engine
    from ibert_core.cli import current_pm, resolve_schema
    from ibert_core.plugins import make_context
    from ibert_core.types import TaskRequest

    pm = current_pm()
    text = _read_text(path)
    parsed, _ = resolve_schema(schema, None, None, pm)
    request = TaskRequest("documentation", text, schema=parsed,
                          options={"function": function, "style": style})
    context = make_context(pm, _config())
    try:
        result = engine.run(context, request)
    finally:
        context.close()
    if not result.verified or result.answer is None:
        feedback = result.verdict.feedback if result.verdict else ""
        click.echo(f"ibert: not written, the docstrings did not pass: {feedback}", err=True)
        click.get_current_context().exit(1)
    assert result.answer is not None
    if result.answer == text:
        click.echo(f"nothing to write: {path} has no function without a docstring")
        return
    Path(path).write_text(result.answer, encoding="utf-8")
    click.echo(f"wrote {path}")


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text", "pass a Python source file") from None


def _read_python(path: str) -> str:
    """The file's text, refused (exit 2) when it is not text or not Python, as a
    pre-commit hook should: the user fixes the file, the check is not broken."""
    import ast

    source = _read_text(path)
    try:
        ast.parse(source)
    except SyntaxError as err:
        raise BadInput(f"{path}:{err.lineno}: not valid Python ({err.msg})",
                       "fix the syntax first") from None
    return source


def _config() -> dict[str, Any]:
    from ibert_core.config import load_config

    return load_config({})
