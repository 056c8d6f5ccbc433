"""A seed query: SQL over a domain, where it came from, before any translation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ibert_core.types import Schema


def str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    """attrs converter: a bare `tuple` converter leaves mypy unable to infer the item type."""
    return tuple(items)


@attrs.frozen
class SeedQuery:
    """SQL to translate and verify, with the context every record derived from it carries.

    `source` is "template" or "generator" (augmented seeds keep their origin's and add the
    augmentation to `augmentations`); `origin` names the template or the generator rule.
    """

    sql: str
    domain: str
    schema: Mapping[str, Mapping[str, str]]
    source: str
    origin: str
    difficulty: int
    features: tuple[str, ...] = attrs.field(converter=str_tuple, factory=tuple)
    params: Mapping[str, Any] = attrs.field(factory=dict)
    augmentations: tuple[str, ...] = attrs.field(converter=str_tuple, factory=tuple)

    @property
    def schema_obj(self) -> Schema:
        return Schema.from_dict(self.schema)
