"""Hook implementations of ibert-miner-github; heavy imports stay inside the factories."""

from __future__ import annotations
