"""Task specs of this package: cheap to import (no ibis), factories import the engines."""

from __future__ import annotations

from typing import Any

import click

from ibert_core.registry import TaskSpec


def _qa_factory(context: Any) -> Any:
    from ibert_tasks_docs.qa.handler import QaHandler

    return QaHandler(context)


def _documentation_factory(context: Any) -> Any:
    from ibert_tasks_docs.documentation.handler import DocumentationHandler

    return DocumentationHandler(context)


QA = TaskSpec(
    name="qa",
    summary="Answer a question about the Ibis API from its installed source, with a run example.",
    factory=_qa_factory,
    validators=("duckdb",),
    input_kind="question",
    output_kind="text",
    options=(
        click.Option(
            ["--docs"],
            multiple=True,
            metavar="DIR",
            help="Also index this docs folder (md, qmd, ipynb); repeatable.",
        ),
        click.Option(
            ["--package"],
            multiple=True,
            metavar="NAME",
            help="Also index this installed package; repeatable.",
        ),
        click.Option(
            ["--top"], type=click.IntRange(min=1), default=3, show_default=True,
            help="How many symbols to show."
        ),
        click.Option(["--rebuild"], is_flag=True, help="Rebuild the cached index first."),
    ),
)

DOCUMENTATION = TaskSpec(
    name="documentation",
    summary="Write checked docstrings for the functions of a Python file or snippet.",
    factory=_documentation_factory,
    input_kind="python",
    output_kind="python",
    options=(
        click.Option(
            ["--function", "function"],
            metavar="NAME",
            default=None,
            help="Document only this function (or Class.method).",
        ),
        click.Option(
            ["--style"],
            type=click.Choice(["numpy", "google"]),
            default="numpy",
            show_default=True,
            help="Docstring convention.",
        ),
        click.Option(
            ["--overwrite"],
            is_flag=True,
            help="Replace existing docstrings too (default: only missing or stale).",
        ),
    ),
)

TASKS: tuple[TaskSpec, ...] = (QA, DOCUMENTATION)
