"""Corpus records (`ibert_core.types.Example`) built from verified pairs, one per task."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ibert_core.types import Example, Verdict
from ibert_tasks_sql.corpus import ibis_code
from ibert_tasks_sql.corpus.normalize import dedup_key, digest, skeleton, split_of
from ibert_tasks_sql.corpus.seeds import SeedQuery

PROVENANCE_SOURCE = "ibert-tasks-sql/corpus"
LICENSE = "Apache-2.0"


def verdict_summary(verdict: Verdict) -> dict[str, Any]:
    """`verdict{stages passed}` of the corpus record: which checks ran and passed."""
    return {
        "passed": verdict.passed,
        "stages": {s.name: s.ok for s in verdict.stages},
        "required": list(verdict.required),
    }


@attrs.frozen
class Pair:
    """A SQL query and Ibis code the validator proved equal, and how it was made."""

    seed: SeedQuery
    code: str
    verdict: Verdict
    formulation: str = "translator"  # or the name of an equivalent rewrite

    @property
    def skeleton(self) -> str:
        return skeleton(self.seed.sql)

    @property
    def split(self) -> str:
        return split_of(self.skeleton)

    def meta(self, **extra: Any) -> dict[str, Any]:
        feats, anti = ibis_code.features(self.code)
        seed = self.seed
        meta: dict[str, Any] = {
            "source": seed.source,
            "origin": seed.origin,
            "domain": seed.domain,
            "difficulty": seed.difficulty,
            "features": feats,
            "anti_patterns": anti,
            "sql_features": list(seed.features),
            "augmentations": list(seed.augmentations),
            "formulation": self.formulation,
            "skeleton": self.skeleton,
            "pair": {"sql": self.seed.sql, "code": self.code},
            "split": self.split,
        }
        meta["template" if seed.source == "template" else "rule"] = seed.origin
        meta.update(extra)
        return meta


def example(
    pair: Pair,
    task: str,
    inp: Mapping[str, Any],
    target: Mapping[str, Any],
    verdict: Mapping[str, Any],
    ibis_version: str,
    dialect: str | None = "duckdb",
    engine: str = "sql_to_ibis",
    **meta: Any,
) -> Example:
    key = dedup_key(task, dialect, inp, target)
    return Example(
        id=f"{task}-{digest(key, size=16)}",
        task=task,
        dialect=dialect,
        backend="duckdb",
        ibis_version=ibis_version,
        context={"tables": {t: dict(c) for t, c in pair.seed.schema.items()}},
        input=dict(inp),
        target=dict(target),
        meta=pair.meta(dedup=key, **meta),
        provenance={
            "source": PROVENANCE_SOURCE,
            "engine": engine,
            "repo": None,
            "commit": None,
            "path": f"templates/{pair.seed.origin}"
            if pair.seed.source == "template"
            else f"generator/{pair.seed.origin}",
            "lines": None,
            "license": LICENSE,
        },
        verdict=dict(verdict),
    )
