"""Hook implementations of ibert-tasks-sql; heavy imports stay inside the factories."""

from __future__ import annotations

from collections.abc import Callable

from ibert_core import hookimpl
from ibert_core.registry import TaskSpec


@hookimpl
def register_tasks(register: Callable[[TaskSpec], None]) -> None:
    from ibert_tasks_sql.editing.specs import TASKS as editing_tasks
    from ibert_tasks_sql.translation.specs import TASKS as translation_tasks

    for spec in (*translation_tasks, *editing_tasks):
        register(spec)
