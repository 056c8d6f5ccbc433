"""The data every part of iBERT passes around, as attrs classes.

Frozen where the value is a fact (a schema, a verdict, a result) so that it can be
cached, hashed and shared across worker processes; `to_dict` gives the JSON shape
the CLI prints and the corpus stores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import attrs

from ibert_core.errors import UnknownNameError

#: The checks a candidate goes through, in order. A validator may run a prefix of
#: them (code completion stops after `compile`), never skip one in the middle.
STAGES: tuple[str, ...] = ("parse", "build", "compile", "execute", "compare")


def _tuple(value: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(value)


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value or {})


def to_jsonable(value: Any) -> Any:
    """attrs objects, tuples and mappings as plain JSON types."""
    if attrs.has(type(value)):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


# --- schemas -------------------------------------------------------------------------------


@attrs.frozen
class Column:
    """One column: its name and ibis dtype string (`int64`, `string`, `decimal(12, 2)`, ...)."""

    name: str
    dtype: str
    nullable: bool = True


@attrs.frozen(cache_hash=True)
class TableSchema:
    """A table's name and ordered columns."""

    name: str
    columns: tuple[Column, ...] = attrs.field(converter=_tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise UnknownNameError(f"column of table {self.name}", name, self.names)

    def as_dict(self) -> dict[str, str]:
        """`{column: dtype}`, the shape `ibis.table(...)` accepts (`!` marks NOT NULL)."""
        return {c.name: c.dtype if c.nullable else f"!{c.dtype}" for c in self.columns}


@attrs.frozen(cache_hash=True)
class Schema:
    """The tables a task may refer to, in declaration order.

    Its hash is cached: a schema keys every cache of a validator worker (fixture
    databases, ibis tables, results), several lookups per check.
    """

    tables: tuple[TableSchema, ...] = attrs.field(converter=_tuple, factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)

    def table(self, name: str) -> TableSchema:
        for t in self.tables:
            if t.name == name:
                return t
        lowered = {t.name.lower(): t for t in self.tables}
        if name.lower() in lowered:
            return lowered[name.lower()]
        raise UnknownNameError("table", name, self.names)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(t.name.lower() == name.lower() for t in self.tables)

    def to_dict(self) -> dict[str, dict[str, str]]:
        """`{table: {column: dtype}}`, the corpus record's `context.tables` shape."""
        return {t.name: t.as_dict() for t in self.tables}

    @classmethod
    def from_dict(cls, tables: Mapping[str, Mapping[str, str]]) -> Schema:
        out = []
        for tname, cols in tables.items():
            columns = []
            for cname, dtype in cols.items():
                dtype = str(dtype).strip()
                nullable = not dtype.startswith("!")
                columns.append(Column(str(cname), dtype.lstrip("!").strip(), nullable))
            out.append(TableSchema(str(tname), tuple(columns)))
        return cls(tuple(out))

    def merge(self, other: Schema) -> Schema:
        """Tables of both; `other` wins on a name clash."""
        mine = {t.name: t for t in self.tables}
        mine.update({t.name: t for t in other.tables})
        return Schema(tuple(mine.values()))


@attrs.frozen
class DataSource:
    """Real data to validate against instead of synthesized fixtures; opened read-only."""

    kind: str  # "db" (a DuckDB file) or "parquet" (a directory, one table per file stem)
    path: str


# --- requests, candidates, verdicts ----------------------------------------------------------


@attrs.frozen
class TaskRequest:
    """What the user asked: the task, its input text and everything that frames it."""

    task: str
    text: str
    schema: Schema | None = None
    data: DataSource | None = None
    dialect: str | None = None
    model: str | None = None
    adapter: str | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class Provenance:
    """Where a candidate or a corpus record came from.

    Candidates fill `engine`, `model`, `adapter`, `round`; corpus records add
    `source`, `repo`, `commit`, `path`, `lines` and `license`.
    """

    engine: str | None = None
    model: str | None = None
    adapter: str | None = None
    round: int = 0
    source: str | None = None
    repo: str | None = None
    commit: str | None = None
    path: str | None = None
    lines: tuple[int, int] | None = None
    license: str | None = None


@attrs.frozen
class Candidate:
    """One proposed answer (code, SQL or text) with where it came from."""

    text: str
    provenance: Provenance = attrs.field(factory=Provenance)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@attrs.frozen
class Stage:
    """One check: did it pass, what it said (written to be useful as model feedback), how long."""

    name: str
    ok: bool
    message: str = ""
    duration: float = 0.0


@attrs.frozen
class Verdict:
    """The ordered stages a candidate went through.

    `required` names the stages that must all pass for the candidate to count as verified;
    `artifacts` holds what the checks produced on the way (compiled SQL, result rows).
    """

    stages: tuple[Stage, ...] = attrs.field(converter=_tuple, factory=tuple)
    required: tuple[str, ...] = attrs.field(converter=_tuple, default=STAGES)
    artifacts: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)

    @property
    def passed(self) -> bool:
        ran = {s.name: s.ok for s in self.stages}
        return all(ran.get(name, False) for name in self.required) and all(ran.values())

    @property
    def failed(self) -> Stage | None:
        """The first stage that did not pass."""
        return next((s for s in self.stages if not s.ok), None)

    @property
    def score(self) -> int:
        """How far the candidate got: the number of stages passed before the first failure."""
        n = 0
        for s in self.stages:
            if not s.ok:
                break
            n += 1
        return n

    @property
    def feedback(self) -> str:
        """The failing stage's message, as fed back to a candidate source for refinement."""
        f = self.failed
        if f is not None:
            return f"{f.name} failed: {f.message}"
        missing = [n for n in self.required if n not in {s.name for s in self.stages}]
        return f"not checked: {', '.join(missing)}" if missing else ""

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)


@attrs.frozen
class Attempt:
    """A candidate together with the verdict the validators gave it."""

    candidate: Candidate
    verdict: Verdict
    round: int = 0


@attrs.frozen
class TaskResult:
    """What `ibert run` reports: the answer, whether it was verified, and how we know."""

    task: str
    answer: str | None
    verified: bool
    verdict: Verdict | None = None
    provenance: Provenance | None = None
    timings: Mapping[str, float] = attrs.field(factory=dict, converter=_frozen_mapping)
    attempts: tuple[Attempt, ...] = attrs.field(converter=_tuple, factory=tuple)
    notes: tuple[str, ...] = attrs.field(converter=_tuple, factory=tuple)
    extra: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        if self.verdict is not None:
            data["verdict"]["passed"] = self.verdict.passed
        return data


# --- the corpus record ----------------------------------------------------------------------


@attrs.frozen
class Example:
    """One corpus record, the JSONL line DESIGN.md describes."""

    id: str
    task: str
    input: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    target: Mapping[str, Any] = attrs.field(converter=_frozen_mapping)
    dialect: str | None = None
    backend: str | None = None
    ibis_version: str | None = None
    context: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    meta: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    provenance: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    verdict: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Example:
        names = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# --- what plugins implement -----------------------------------------------------------------


@attrs.frozen
class ValidationJob:
    """One check for a validator: Ibis code (free table names, assigns `expr`) and what to
    compare it with.

    `stages` is the prefix of `STAGES` to run; `options` carries validator settings
    (`ordered`, `float_tolerance`, `compile_dialect`, `timeout` ...).
    """

    code: str
    schema: Schema | None = None
    reference_sql: str | None = None
    dialect: str = "duckdb"
    data: DataSource | None = None
    stages: tuple[str, ...] = attrs.field(converter=_tuple, default=STAGES)
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


@runtime_checkable
class Validator(Protocol):
    """Judges candidates; built by a `ValidatorSpec.factory`.

    A validator with costly start-up (worker processes) should begin it in the factory
    without blocking, since tasks declaring it in `TaskSpec.validators` have it built
    before they generate.
    """

    def validate(self, job: ValidationJob) -> Verdict: ...

    def validate_many(self, jobs: Sequence[ValidationJob]) -> list[Verdict]: ...

    def close(self) -> None: ...


@runtime_checkable
class CandidateSource(Protocol):
    """Proposes candidates for a request; `feedback` holds the failed attempts so far.

    Deterministic tool engines usually answer only the first round (empty `feedback`);
    model backends use the failing stage messages to refine.
    """

    name: str

    def candidates(
        self, request: TaskRequest, feedback: Sequence[Attempt]
    ) -> Iterable[Candidate]: ...


@runtime_checkable
class TaskHandler(CandidateSource, Protocol):
    """A task: its deterministic engine (as a candidate source) and how to judge a candidate."""

    def validate(self, request: TaskRequest, candidate: Candidate) -> Verdict: ...


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors for dense retrieval; built by an `EmbedderSpec.factory`.

    `encode(texts)` returns a numpy float32 array with one L2-normalized row per text, so a
    dot product is the cosine (the core itself never encodes, and imports no numpy).
    `identity` names the model and everything that shapes its vectors (files, version,
    pooling): callers cache vectors under it, so two embedders with one identity must
    give the same vectors, and a changed model must change it.
    """

    identity: str

    def encode(self, texts: Sequence[str]) -> Any: ...
