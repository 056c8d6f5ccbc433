"""Repo-wide pytest setup.

Each distribution folder has the same name as its package (`ibert_core/src/ibert_core`).
pytest's importlib mode names a test module after its path (`ibert_core.tests.test_x`) and
would create the folder as a stand-in parent package, shadowing the installed package of the
same name. Importing the installed packages first makes pytest reuse the real ones.
"""

from __future__ import annotations

import importlib
import importlib.util

for _name in (
    "ibert_core",
    "ibert_validator_duckdb",
    "ibert_tasks_sql",
    "ibert_tasks_docs",
    "ibert_miner_github",
    "ibert_adapters",
    "ibert_example_plugin",
):
    _spec = importlib.util.find_spec(_name)
    if _spec is not None and _spec.origin is not None:  # installed (not the bare folder)
        importlib.import_module(_name)
