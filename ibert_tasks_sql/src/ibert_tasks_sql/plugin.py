"""Hook implementations of ibert-tasks-sql; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ibert_core import hookimpl
from ibert_core.registry import TaskSpec

if TYPE_CHECKING:
    import click


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    from ibert_tasks_sql.editing.specs import TASKS as editing_tasks
    from ibert_tasks_sql.translation.specs import TASKS as translation_tasks

    for spec in (*translation_tasks, *editing_tasks):
        register(spec)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ibert_core.cli import data_commands
    from ibert_tasks_sql.corpus.cli import build_command, validate_command
    from ibert_tasks_sql.corpus.export import export_command

    data_commands(cli).add_command(build_command)
    data_commands(cli).add_command(validate_command)
    data_commands(cli).add_command(export_command)
