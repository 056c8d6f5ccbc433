"""Hook implementations of ibert-tasks-docs; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ibert_core import hookimpl
from ibert_core.registry import TaskSpec


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    from ibert_tasks_docs.specs import TASKS

    for spec in TASKS:
        register(spec)


@hookimpl
def register_commands(cli: Any) -> None:
    from ibert_tasks_docs.commands import docs_group, qa_group

    cli.add_command(qa_group)
    cli.add_command(docs_group)
