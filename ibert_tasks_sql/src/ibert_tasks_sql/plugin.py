"""Hook implementations of ibert-tasks-sql; heavy imports stay inside the factories."""

from __future__ import annotations
