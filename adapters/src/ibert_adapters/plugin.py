"""Hook implementations of ibert-adapters; heavy imports stay inside the factories."""

from __future__ import annotations
