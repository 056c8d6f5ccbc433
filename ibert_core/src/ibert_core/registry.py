"""Name → spec registries filled by the `register_*` hooks.

A spec is a frozen attrs object with a name, a one-line summary and a factory; the
factory does the heavy imports, so listing what is installed stays cheap. The registry
remembers which plugin and distribution gave each entry, refuses duplicates naming both,
and answers unknown names with the closest one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ibert_core.errors import BadInput, DuplicateNameError, UnknownNameError

if TYPE_CHECKING:
    from ibert_core.types import Schema


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


@attrs.frozen
class TaskSpec:
    """A task `ibert run NAME` can perform.

    `factory(context)` returns a `TaskHandler`; `options` are extra `click.Option`s the
    task adds to `ibert run NAME`, their values arriving in `TaskRequest.options`.
    `validators` names the validators its checks use: the engine starts them before the
    task's engine generates, so their start-up overlaps generation, and a missing one is
    reported before any work is done.
    """

    name: str
    summary: str
    factory: Callable[..., Any]
    input_kind: str = "text"
    output_kind: str = "text"
    options: tuple[Any, ...] = attrs.field(converter=_tuple, factory=tuple)
    validators: tuple[str, ...] = attrs.field(converter=_tuple, factory=tuple)
    plugin: str | None = None
    distribution: str | None = None


@attrs.frozen
class ValidatorSpec:
    """A validator: which DSL it checks and on which backends. `factory(context)` → `Validator`."""

    name: str
    summary: str
    factory: Callable[..., Any]
    dsl: str = "ibis"
    backends: tuple[str, ...] = attrs.field(converter=_tuple, factory=tuple)
    plugin: str | None = None
    distribution: str | None = None


@attrs.frozen
class MinerSpec:
    """A miner of examples from a kind of source (git, path, package, notebook, docs)."""

    name: str
    summary: str
    factory: Callable[..., Any]
    source_kinds: tuple[str, ...] = attrs.field(converter=_tuple, factory=tuple)
    plugin: str | None = None
    distribution: str | None = None


@attrs.frozen
class AdapterSpec:
    """A model backend or adapter provider; `factory(context, model_id, adapter)` → backend."""

    name: str
    summary: str
    factory: Callable[..., Any]
    plugin: str | None = None
    distribution: str | None = None


@attrs.frozen
class EmbedderSpec:
    """A text embedder for dense retrieval; `factory(context)` → `Embedder`, or None when
    its model is not installed (a factory never downloads one). A model the user named
    that cannot be used is a `ModelLoadError` naming it, not None. Loading the weights
    may wait for the first `encode`: vectors cached under the embedder's `identity` then
    cost no model load at all.
    """

    name: str
    summary: str
    factory: Callable[..., Any]
    plugin: str | None = None
    distribution: str | None = None


@attrs.frozen
class SqlReaderSpec:
    """A reader of SQL dialects: `read(sql, dialect, schema)` → the DuckDB SQL that means
    what `sql` means in `dialect` (whose warehouse may read a function otherwise than
    sqlglot's transpilation does). For SQL it refuses it raises an `IbertError` saying
    what to write instead (any other exception is its bug). The validator's CLI reads a
    reference in another dialect with it, so a validator needs no task's corrections
    imported.
    """

    name: str
    summary: str
    read: Callable[[str, str | None, Schema | None], str]
    plugin: str | None = None
    distribution: str | None = None


Spec = TaskSpec | ValidatorSpec | MinerSpec | AdapterSpec | EmbedderSpec | SqlReaderSpec
S = TypeVar("S", TaskSpec, ValidatorSpec, MinerSpec, AdapterSpec, EmbedderSpec, SqlReaderSpec)


class Registry(Generic[S]):
    """Specs of one kind by name, in registration order."""

    def __init__(self, kind: str, spec_type: type[S]) -> None:
        self.kind = kind
        self.spec_type: type[S] = spec_type
        self._specs: dict[str, S] = {}

    def add(self, spec: S, plugin: str | None = None, distribution: str | None = None) -> S:
        if not isinstance(spec, self.spec_type):
            raise BadInput(
                f"{plugin or 'a plugin'} registered {spec!r} as a {self.kind}",
                f"pass a {self.spec_type.__name__}",
            )
        if not spec.name or not spec.name.replace("_", "a").replace("-", "a").isalnum():
            raise BadInput(
                f"{self.kind} name {spec.name!r} from {plugin or 'a plugin'} is not usable",
                "use letters, digits, '_' or '-'",
            )
        spec = attrs.evolve(
            spec,
            plugin=spec.plugin or plugin,
            distribution=spec.distribution or distribution,
        )
        if spec.name in self._specs:
            first = self._specs[spec.name]
            raise DuplicateNameError(self.kind, spec.name, _origin(first), _origin(spec))
        self._specs[spec.name] = spec
        return spec

    def remove(self, name: str) -> None:
        """Forget `name` (used to roll back a plugin whose registration failed half-way)."""
        self._specs.pop(name, None)

    def get(self, name: str) -> S:
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._specs) from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[S]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return list(self._specs)


def _origin(spec: Spec) -> str:
    if spec.distribution and spec.plugin:
        return f"{spec.distribution} (plugin {spec.plugin})"
    return spec.distribution or spec.plugin or "an unnamed plugin"


#: What plugins register, in the order `ibert plugins` lists them (a `Registries` field each).
KINDS = ("tasks", "validators", "miners", "adapters", "embedders", "sql_readers")

@attrs.define
class Registries:
    """The registries, filled once per plugin manager."""

    tasks: Registry[TaskSpec] = attrs.field(factory=lambda: Registry("task", TaskSpec))
    validators: Registry[ValidatorSpec] = attrs.field(
        factory=lambda: Registry("validator", ValidatorSpec)
    )
    miners: Registry[MinerSpec] = attrs.field(factory=lambda: Registry("miner", MinerSpec))
    adapters: Registry[AdapterSpec] = attrs.field(factory=lambda: Registry("adapter", AdapterSpec))
    embedders: Registry[EmbedderSpec] = attrs.field(
        factory=lambda: Registry("embedder", EmbedderSpec)
    )
    sql_readers: Registry[SqlReaderSpec] = attrs.field(
        factory=lambda: Registry("SQL reader", SqlReaderSpec)
    )

    def as_mapping(self) -> Mapping[str, Registry[Any]]:
        return {kind: getattr(self, kind) for kind in KINDS}

    def sql_reader(self, name: str | None = None) -> SqlReaderSpec | None:
        """The reader to read SQL dialects with: the one named (`sql_reader = "NAME"`,
        `IBERT_SQL_READER`; an unknown name is an error suggesting the closest), else the
        first registered, else None (callers then transpile with plain sqlglot)."""
        if name:
            return self.sql_readers.get(name)
        return next(iter(self.sql_readers), None)
