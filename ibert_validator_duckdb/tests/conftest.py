"""Shared fixtures: one sandboxed validator (2 workers, short limits) for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ibert_core.types import Schema
from ibert_validator_duckdb.limits import Limits
from ibert_validator_duckdb.validator import DuckDBValidator

SHOP = Schema.from_dict(
    {
        "users": {"id": "!int64", "name": "string", "age": "int32", "city": "string"},
        "orders": {
            "id": "!int64",
            "user_id": "int64",
            "amount": "decimal(10, 2)",
            "ts": "timestamp",
            "status": "string",
        },
        "items": {"order_id": "!int64", "sku": "string", "qty": "int16", "price": "float64"},
    }
)

TEST_LIMITS = Limits(timeout=2.0, grace=1.5, memory_mb=1024, duckdb_memory_mb=256)


@pytest.fixture(scope="session")
def shop() -> Schema:
    return SHOP


@pytest.fixture(scope="session")
def validator() -> Iterator[DuckDBValidator]:
    with DuckDBValidator(workers=2, limits=TEST_LIMITS) as v:
        yield v
