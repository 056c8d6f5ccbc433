"""Hook implementations of ibert-tasks-docs; heavy imports stay inside the factories."""

from __future__ import annotations
