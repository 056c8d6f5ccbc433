"""What the rule tests of error resolution share (test_error_resolution_rules.py and
test_error_resolution_habits.py): the two tables their programs are written against, and
the mark for a test that needs the semgrep binary.

Not a test module (pytest collects `test_*.py` only). The tests import it relatively
(`from .error_resolution_shared import ...`): with `--import-mode=importlib` (the repo's
pyproject) this folder is not on `sys.path`, but pytest imports it as the test modules'
parent package, so the relative import finds this file beside them.
"""

from __future__ import annotations

import pytest

from ibert_core.types import Schema
from ibert_tasks_sql.editing.static_rules import find_semgrep

SCHEMA = Schema.from_dict(
    {
        "orders": {"id": "int64", "category": "string", "price": "float64", "qty": "int64",
                   "customer_id": "int64", "placed": "date"},
        "customers": {"customer_id": "int64", "name": "string", "age": "int64"},
    }
)

needs_semgrep = pytest.mark.skipif(find_semgrep() is None, reason="semgrep is not installed")
