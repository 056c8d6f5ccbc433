"""Task specs of this package: cheap to import (no ibis), factories import the engines."""

from __future__ import annotations

from ibert_core.registry import TaskSpec

TASKS: tuple[TaskSpec, ...] = ()
