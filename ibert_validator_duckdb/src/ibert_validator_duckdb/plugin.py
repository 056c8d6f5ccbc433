"""Hook implementations of ibert-validator-duckdb; heavy imports stay inside the factories."""

from __future__ import annotations
