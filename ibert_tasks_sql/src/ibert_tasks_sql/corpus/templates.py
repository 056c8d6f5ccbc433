"""SQL templates (YAML in `templates/`): a query shape over a domain plus the parameters
that vary it. Instantiating picks one value per parameter with a seeded random generator, so
the same (template, seed) always gives the same SQL.
"""

from __future__ import annotations

import functools
import random
import string
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs
import yaml

from ibert_core.errors import BadInput
from ibert_tasks_sql.corpus.domains import domain
from ibert_tasks_sql.corpus.seeds import SeedQuery


@attrs.frozen
class Template:
    name: str
    domain: str
    difficulty: int
    features: tuple[str, ...]
    sql: str
    params: Mapping[str, tuple[Any, ...]] = attrs.field(factory=dict)
    variants: tuple[Mapping[str, Any], ...] = ()

    @property
    def placeholders(self) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(self.sql) if f}

    def combinations(self) -> int:
        n = max(1, len(self.variants))
        for values in self.params.values():
            n *= max(1, len(values))
        return n

    def instantiate(self, rng: random.Random) -> SeedQuery:
        chosen: dict[str, Any] = dict(rng.choice(self.variants)) if self.variants else {}
        for key, values in sorted(self.params.items()):
            chosen[key] = rng.choice(values)
        return SeedQuery(
            sql=self.sql.format(**chosen).strip(),
            domain=self.domain,
            schema=domain(self.domain).schema_dict(),
            source="template",
            origin=self.name,
            difficulty=self.difficulty,
            features=self.features,
            params=chosen,
        )


def parse_template(data: Mapping[str, Any], where: str) -> Template:
    try:
        template = Template(
            name=str(data["name"]),
            domain=str(data["domain"]),
            difficulty=int(data["difficulty"]),
            features=tuple(data.get("features", ())),
            sql=str(data["sql"]),
            params={k: tuple(v) for k, v in (data.get("params") or {}).items()},
            variants=tuple(data.get("variants", ())),
        )
    except KeyError as err:
        raise BadInput(
            f"template in {where} lacks {err}", "give name, domain, difficulty, sql"
        ) from None
    given = set(template.params) | {k for v in template.variants for k in v}
    if template.placeholders - given:
        missing = ", ".join(sorted(template.placeholders - given))
        raise BadInput(f"template {template.name} ({where}) has no values for {missing}")
    domain(template.domain)  # an unknown domain fails here, naming the closest
    return template


@functools.cache
def templates() -> tuple[Template, ...]:
    """Every bundled template, in file then declaration order."""
    out: list[Template] = []
    folder = resources.files("ibert_tasks_sql.corpus") / "templates"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            for item in yaml.safe_load(entry.read_text(encoding="utf-8")) or ():
                out.append(parse_template(item, entry.name))
    names = [t.name for t in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise BadInput(f"duplicate template names: {', '.join(sorted(dupes))}")
    return tuple(out)
