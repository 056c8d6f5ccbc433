"""The core's task conformance suite, run for both tasks of this distribution."""

from __future__ import annotations

from ibert_core.testing import TaskConformance
from ibert_core.types import Schema, TaskRequest


class TestDocsQaConformance(TaskConformance):
    task_name = "qa"
    good_requests = (TaskRequest("qa", "how do I rename a column?"),)
    bad_candidate = "```python\nexpr = t.this is not valid code\n```"


class TestDocsDocumentationConformance(TaskConformance):
    task_name = "documentation"
    good_requests = (
        TaskRequest("documentation", "def scale(x, factor=2.0):\n    return x * factor\n"),
        TaskRequest(
            "documentation",
            "def big(orders):\n    return orders.filter(orders.amount > 10)\n",
            schema=Schema.from_dict({"orders": {"amount": "float64"}}),
        ),
    )
    bad_candidate = "def scale(x, factor=2.0):\n    return x\n"
