"""Task specs of this package: cheap to import (no ibis), factories import the engines."""

from __future__ import annotations

from typing import Any

import click

from ibert_core.registry import TaskSpec


def _completion_factory(context: Any) -> Any:
    from ibert_tasks_sql.editing.handlers import CompletionHandler

    return CompletionHandler(context)


def _resolution_factory(context: Any) -> Any:
    from ibert_tasks_sql.editing.handlers import ResolutionHandler

    return ResolutionHandler(context)


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        name="code_completion",
        summary="Complete partial Ibis code at the cursor with members valid for its type.",
        factory=_completion_factory,
        validators=("duckdb",),
        input_kind="ibis",
        output_kind="ibis",
        options=(
            click.Option(
                ["--cursor"],
                metavar="LINE:COL",
                default=None,
                help="Cursor position (line from 1, column from 0); default: the end.",
            ),
            click.Option(
                ["--n"],
                type=click.IntRange(1, 100),
                default=5,
                show_default=True,
                help="How many completions to list.",
            ),
        ),
    ),
    TaskSpec(
        name="error_resolution",
        summary="Fix broken Ibis code: run it, classify the error, apply fix rules, re-run.",
        factory=_resolution_factory,
        validators=("duckdb",),
        input_kind="ibis",
        output_kind="ibis",
        options=(
            click.Option(
                ["--error"],
                metavar="TEXT",
                default=None,
                help="The error message the code produced, if you have it.",
            ),
            click.Option(
                ["--sql"],
                metavar="SQL",
                default=None,
                help="SQL the fixed code must match (checked by executing both).",
            ),
        ),
    ),
)
