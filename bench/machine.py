"""What machine a benchmark ran on, with a speed gauge to put figures from two machines side
by side.

The sessions that measure these benchmarks do not always get the same virtual machine: the
naive validator baseline ran at 26 ms a pair on one and 11.7 ms on another, two weeks
apart. `gauge_ms` is the best of three runs of a fixed single-core workload (sqlglot parses
and prints a set of analytical queries, the kind of work the translator and ibis do), so a
figure can be scaled by the ratio of two gauges before it is compared with another.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

QUERIES = (
    "SELECT a, sum(b) AS s FROM t WHERE c > 5 AND d LIKE 'x%' GROUP BY a HAVING count(*) > 2 "
    "ORDER BY s DESC LIMIT 10",
    "WITH w AS (SELECT id, rank() OVER (PARTITION BY g ORDER BY v) AS r FROM e) "
    "SELECT * FROM w JOIN u ON u.id = w.id WHERE r <= 3",
    "SELECT x, CASE WHEN y IS NULL THEN 0 ELSE y END AS z FROM s "
    "WHERE EXISTS (SELECT 1 FROM q WHERE q.k = s.k) UNION ALL SELECT 1, 2",
)
ROUNDS = 40


def gauge_ms() -> float:
    """Milliseconds for the fixed workload, best of three (a neighbour can only slow it)."""
    import sqlglot

    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            for sql in QUERIES:
                sqlglot.parse_one(sql).sql(pretty=True)
        best = min(best, time.perf_counter() - t0)
    return round(1000 * best, 1)


def describe() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gauge_ms": gauge_ms(),
    }
