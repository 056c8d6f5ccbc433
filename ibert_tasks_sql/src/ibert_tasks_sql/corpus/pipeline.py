"""One work unit: a seed query → verified pairs → records for every requested task.

A unit is a pure function of (build seed, unit index): the same unit always yields the same
records, which is what makes a killed build resumable and a parallel build reproducible.
A unit is a generator (`UnitProcessor.steps`) that yields its validation jobs a phase at a
time and receives their verdicts; `process_many` keeps several units in flight, so the
builder translates and derives while the validator's workers check (`checking.Checker`, which
also runs each distinct check only once). The phases of a unit:

1. the seed and its SQL augmentations, each translated and checked against its SQL;
2. equivalent Ibis formulations of every verified pair, each checked again;
3. per verified pair: compiling to each dialect, and running mutated (broken) code;
4. each dialect's SQL, transpiled back to DuckDB by sqlglot, checked against the code.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, TypeVar

import attrs
import sqlglot
from sqlglot.errors import ErrorLevel

from ibert_core.errors import IbertError
from ibert_core.types import Example, TaskRequest, ValidationJob, Verdict
from ibert_tasks_sql.corpus import completion, docstrings, ibis_code, mutations, questions
from ibert_tasks_sql.corpus.augment import augment
from ibert_tasks_sql.corpus.checking import Checked, Checker
from ibert_tasks_sql.corpus.generator import generate
from ibert_tasks_sql.corpus.normalize import digest, parsed_sql, split_of
from ibert_tasks_sql.corpus.records import Pair, example, verdict_summary
from ibert_tasks_sql.corpus.seeds import SeedQuery, str_tuple
from ibert_tasks_sql.corpus.sqlcheck import EmptyTables
from ibert_tasks_sql.corpus.templates import templates

ALL_TASKS = (
    "sql_to_ibis",
    "ibis_to_sql",
    "code_completion",
    "error_resolution",
    "documentation",
    "qa",
)
DIALECTS = ("duckdb", "postgres", "bigquery", "snowflake")
COMPILE_STAGES = ("parse", "build", "compile")
#: fixture seeds for the dialect round trip (the pair itself was checked on all of them)
ROUNDTRIP_SEEDS = 1
#: units in flight in one builder process: enough queued checks to keep the workers busy
DEPTH = 4

#: a unit's (or phase's) steps: yields validation jobs, receives their `Checked`, returns T
T = TypeVar("T")
Steps = Generator[list[ValidationJob], Checked, T]


@attrs.frozen
class BuildConfig:
    """What determines a build's content (a rerun must use the same)."""

    seed: int = 0
    tasks: tuple[str, ...] = attrs.field(converter=str_tuple, default=ALL_TASKS)
    dialects: tuple[str, ...] = attrs.field(converter=str_tuple, default=DIALECTS)
    template_share: float = 0.5
    augment: bool = True
    cuts_per_pair: int = 2
    mutations_per_pair: int = 2
    validator_workers: int = 2
    depth: int = DEPTH  # units in flight per builder process (speed only, not content)

    def identity(self) -> dict[str, Any]:
        data = attrs.asdict(self)
        data.pop("validator_workers")
        data.pop("depth")
        return data


@attrs.define
class UnitResult:
    index: int
    records: list[dict[str, Any]]
    counters: Counter[str]


def pick_seed(config: BuildConfig, rng: random.Random) -> SeedQuery:
    if rng.random() < config.template_share:
        return rng.choice(templates()).instantiate(rng)
    return generate(rng)


#: qa records one unit may add (see `UnitProcessor.qa_examples`).
QA_PER_UNIT = 3


class UnitProcessor:
    """Turns unit indices into records; owns a context (translator + validator) for its process."""

    def __init__(self, config: BuildConfig, context: Any | None = None) -> None:
        import ibis

        from ibert_core.plugins import make_context

        self.config = config
        self._own_context = context is None
        self.context = context or make_context(
            config={"validators": {"duckdb": {"workers": config.validator_workers}}}
        )
        self.handler = self.context.handler("sql_to_ibis")
        self.validator = self.context.validator("duckdb")
        self.checker = Checker(self.validator)
        self.ibis_version = ibis.__version__
        self.empty = EmptyTables()
        tasks = self.context.registries.tasks
        self.qa = "qa" in config.tasks and "qa" in tasks
        self._qa_cache: dict[str, Any] = {}

    def close(self) -> None:
        self.checker.close()
        if self._own_context:
            self.context.close()

    def check(
        self, counters: Counter[str], kinds: Sequence[str], jobs: list[ValidationJob]
    ) -> Generator[list[ValidationJob], Checked, list[Verdict]]:
        """Yields `jobs` for checking; counts per kind the checks run (with the validator's
        own seconds) and those answered from memory."""
        if not jobs:
            return []
        checked = yield jobs
        for kind, verdict, cached in zip(kinds, checked.verdicts, checked.cached, strict=True):
            if cached:
                counters[f"cached|{kind}"] += 1
                continue
            counters[f"jobs|{kind}"] += 1
            for name in ("seconds", "cpu_seconds"):
                value = float(verdict.artifacts.get(name) or 0.0)
                counters[f"job_{name}|{kind}"] += value  # type: ignore[assignment]
        return checked.verdicts

    # --- phase 1 -------------------------------------------------------------------------

    def translate(self, seed: SeedQuery, counters: Counter[str]) -> str | None:
        error = self.empty.error(seed.sql, seed.schema)
        if error is not None:
            counters["rejected|sql_bind"] += 1
            return None
        request = TaskRequest("sql_to_ibis", seed.sql, schema=seed.schema_obj, dialect="duckdb")
        try:
            cands = list(self.handler.candidates(request, ()))
        except IbertError:
            counters["rejected|translate"] += 1
            return None
        if not cands:
            counters["rejected|translate"] += 1
            return None
        return str(cands[0].text)

    def pairs(self, seeds: Sequence[SeedQuery], counters: Counter[str]) -> Steps[list[Pair]]:
        todo = []
        for seed in seeds:
            kind = (
                "augment|" + seed.augmentations[-1].split("(")[0]
                if seed.augmentations
                else f"{seed.source}|{seed.origin}"
            )
            counters[f"attempted|{kind}"] += 1
            with timed(counters, "translate"):
                code = self.translate(seed, counters)
            if code is not None:
                todo.append((seed, code, kind))
        verdicts = yield from self.check(
            counters,
            ["pair"] * len(todo),
            [
                ValidationJob(code, s.schema_obj, reference_sql=s.sql, options=self.pair_options())
                for s, code, _ in todo
            ],
        )
        out = []
        for (seed, code, kind), verdict in zip(todo, verdicts, strict=False):
            if verdict.passed:
                counters[f"accepted|{kind}"] += 1
                out.append(Pair(seed, code, verdict))
            else:
                failed = verdict.failed
                counters[f"rejected|{failed.name if failed else 'unverified'}"] += 1
        return out

    # --- phase 2 -------------------------------------------------------------------------

    def formulations(self, pairs: Sequence[Pair], counters: Counter[str]) -> Steps[list[Pair]]:
        todo = []
        with timed(counters, "formulations"):
            for pair in pairs:
                for name, code in ibis_code.formulations(pair.code, pair.seed.schema).items():
                    todo.append((pair, name, code))
        verdicts = yield from self.check(
            counters,
            ["formulation"] * len(todo),
            [
                ValidationJob(
                    code, p.seed.schema_obj, reference_sql=p.seed.sql, options=self.pair_options()
                )
                for p, _, code in todo
            ],
        )
        out = []
        for (pair, name, code), verdict in zip(todo, verdicts, strict=False):
            counters[f"attempted|formulation|{name}"] += 1
            if verdict.passed:
                counters[f"accepted|formulation|{name}"] += 1
                out.append(Pair(pair.seed, code, verdict, name))
            else:
                failed = verdict.failed
                counters[f"derived_rejected|formulation|{failed.name if failed else name}"] += 1
        return out

    # --- phase 3 and 4 -----------------------------------------------------------------------

    def executed_tasks(
        self, pairs: Sequence[Pair], rng: random.Random, counters: Counter[str]
    ) -> Steps[list[Example]]:
        """ibis_to_sql and error_resolution: both need the validator, so one batch each phase."""
        tasks = set(self.config.tasks)
        compile_jobs = [
            (p, d)
            for p in pairs
            for d in self.other_dialects()
            if _compiled_in(p.verdict, d) is None  # else the pair's own check compiled it
        ]
        broken_jobs: list[tuple[Pair, str, str]] = []
        if "error_resolution" in tasks:
            with timed(counters, "mutate"):
                for pair in pairs:
                    for name, broken in mutations.mutate(
                        pair.code, pair.seed.schema, rng, self.config.mutations_per_pair
                    ):
                        broken_jobs.append((pair, name, broken))
        jobs = [
            ValidationJob(
                p.code, p.seed.schema_obj, stages=COMPILE_STAGES, options={"compile_dialect": d}
            )
            for p, d in compile_jobs
        ] + [
            ValidationJob(b, p.seed.schema_obj, reference_sql=p.seed.sql) for p, _, b in broken_jobs
        ]
        kinds = ["compile"] * len(compile_jobs) + ["broken"] * len(broken_jobs)
        verdicts = yield from self.check(counters, kinds, jobs)
        with timed(counters, "derive_executed"):
            out = self.error_resolution(broken_jobs, verdicts[len(compile_jobs) :], counters)
        if "ibis_to_sql" in tasks:
            by_job = {
                (id(p), d): v
                for (p, d), v in zip(compile_jobs, verdicts[: len(compile_jobs)], strict=True)
            }
            dialect_sql = []
            for pair in pairs:
                for dialect in self.other_dialects():
                    verdict = by_job.get((id(pair), dialect))
                    if verdict is None:
                        counters["inline|compile"] += 1
                        sql = _compiled_in(pair.verdict, dialect)
                    else:
                        sql = verdict.artifacts.get("dialect_sql") if verdict.passed else None
                    dialect_sql.append((pair, dialect, sql or None))
            out = (yield from self.ibis_to_sql(pairs, dialect_sql, counters)) + out
        return out

    def other_dialects(self) -> tuple[str, ...]:
        """The ibis_to_sql dialects that need their own compilation (duckdb's comes free)."""
        if "ibis_to_sql" not in self.config.tasks:
            return ()
        return tuple(d for d in self.config.dialects if d != "duckdb")

    def pair_options(self) -> dict[str, Any]:
        """Options of the pair and formulation checks: the validator may compile the code to
        the other dialects in the same check (`compile_dialects`, reported per dialect, never
        failing the check); without that, each dialect is a compile-only check of its own."""
        dialects = self.other_dialects()
        return {"compile_dialects": dialects} if dialects else {}

    def ibis_to_sql(
        self,
        pairs: Sequence[Pair],
        dialect_sql: Sequence[tuple[Pair, str, str | None]],
        counters: Counter[str],
    ) -> Steps[list[Example]]:
        with timed(counters, "transpile"):
            out, roundtrip = self._compiled(pairs, dialect_sql, counters)
        verdicts = yield from self.check(
            counters,
            ["roundtrip"] * len(roundtrip),
            [
                ValidationJob(
                    p.code,
                    p.seed.schema_obj,
                    reference_sql=back,
                    options={"seeds": ROUNDTRIP_SEEDS},
                )
                for p, _, _, back in roundtrip
            ],
        )
        with timed(counters, "derive_executed"):
            out += self._roundtripped(roundtrip, verdicts, counters)
        return out

    def _compiled(
        self,
        pairs: Sequence[Pair],
        dialect_sql: Sequence[tuple[Pair, str, str | None]],
        counters: Counter[str],
    ) -> tuple[list[Example], list[tuple[Pair, str, str, str]]]:
        """duckdb records from the pairs' own checks, and the other dialects' SQL to run back."""
        out = []
        if "duckdb" in self.config.dialects:
            # the pair's own check compiled the code to this very SQL and executed it
            for pair in pairs:
                sql = pair.verdict.artifacts.get("sql")
                if not sql:
                    counters["derived_rejected|ibis_to_sql|compile_duckdb"] += 1
                    continue
                summary = verdict_summary(pair.verdict)
                summary["check"] = "the compiled duckdb SQL executed and matched the source SQL"
                out.append(self._ibis_to_sql_record(pair, "duckdb", sql, summary))
        roundtrip = []
        for pair, dialect, sql in dialect_sql:
            if not sql:
                counters[f"derived_rejected|ibis_to_sql|compile_{dialect}"] += 1
                continue
            try:  # what sqlglot.transpile does, on the tree the dedup key reuses
                back = parsed_sql(sql, dialect).sql(
                    dialect="duckdb", unsupported_level=ErrorLevel.RAISE
                )
            except sqlglot.errors.SqlglotError:
                counters[f"derived_rejected|ibis_to_sql|transpile_{dialect}"] += 1
                continue
            roundtrip.append((pair, dialect, sql, back))
        return out, roundtrip

    def _ibis_to_sql_record(
        self, pair: Pair, dialect: str, sql: str, summary: dict[str, Any]
    ) -> Example:
        return example(
            pair,
            "ibis_to_sql",
            {"code": pair.code},
            {"sql": sql},
            summary,
            self.ibis_version,
            dialect=dialect,
            engine="ibis.to_sql",
        )

    def _roundtripped(
        self,
        roundtrip: Sequence[tuple[Pair, str, str, str]],
        verdicts: Sequence[Verdict],
        counters: Counter[str],
    ) -> list[Example]:
        out = []
        for (pair, dialect, sql, _back), verdict in zip(roundtrip, verdicts, strict=False):
            if not verdict.passed:
                counters[f"derived_rejected|ibis_to_sql|execute_{dialect}"] += 1
                continue
            summary = verdict_summary(verdict)
            summary["check"] = (
                f"{dialect} SQL transpiled to duckdb by sqlglot and executed "
                f"against the code on {ROUNDTRIP_SEEDS} fixture seed(s)"
            )
            out.append(self._ibis_to_sql_record(pair, dialect, sql, summary))
        return out

    def error_resolution(
        self,
        broken_jobs: Sequence[tuple[Pair, str, str]],
        verdicts: Sequence[Verdict],
        counters: Counter[str],
    ) -> list[Example]:
        out = []
        for (pair, name, broken), verdict in zip(broken_jobs, verdicts, strict=False):
            failed = verdict.failed
            if verdict.passed or failed is None or failed.name == "compare":
                # still correct, or wrong only in its results: no error message to learn from
                counters[f"derived_rejected|error_resolution|{name}"] += 1
                continue
            summary = {
                "broken": verdict_summary(verdict),
                "fixed": verdict_summary(pair.verdict),
                "passed": True,
            }
            out.append(
                example(
                    pair,
                    "error_resolution",
                    {"code": broken, "error": failed.message, "stage": failed.name},
                    {"code": pair.code},
                    summary,
                    self.ibis_version,
                    mutation=name,
                )
            )
        return out

    # --- tasks without further execution -------------------------------------------------------

    def sql_to_ibis(self, pair: Pair) -> Example:
        return example(
            pair,
            "sql_to_ibis",
            {"sql": pair.seed.sql},
            {"code": pair.code},
            verdict_summary(pair.verdict),
            self.ibis_version,
        )

    def code_completion(self, pair: Pair, rng: random.Random) -> list[Example]:
        out = []
        for prefix, rest, kind in completion.split(pair.code, rng, self.config.cuts_per_pair):
            out.append(
                example(
                    pair,
                    "code_completion",
                    {"prefix": prefix},
                    {"rest": rest},
                    verdict_summary(pair.verdict),
                    self.ibis_version,
                    dialect=None,
                    cut=kind,
                )
            )
        return out

    def documentation(self, pair: Pair, counters: Counter[str]) -> Example | None:
        params = ibis_code.table_names_used(pair.code, pair.seed.schema)
        columns = list(pair.verdict.artifacts.get("columns") or ())
        name = docstrings.function_name(pair.seed.origin, params)
        try:
            used = docstrings.columns_used(
                pair.code, {t: dict(pair.seed.schema[t]) for t in params}
            )
            doc = docstrings.docstring(pair.seed.sql, params, used, columns)
            bare = docstrings.wrap(pair.code, name, params, None)
            documented = docstrings.wrap(pair.code, name, params, doc)
        except (SyntaxError, sqlglot.errors.SqlglotError):
            counters["derived_rejected|documentation|build"] += 1
            return None
        problem = docstrings.check(documented, params, columns)
        if problem is not None:
            counters["derived_rejected|documentation|check"] += 1
            return None
        summary = verdict_summary(pair.verdict)
        summary["docstring_check"] = "parses; documents exactly the parameters and result columns"
        return example(
            pair,
            "documentation",
            {"code": bare},
            {"docstring": doc, "code": documented},
            summary,
            self.ibis_version,
            dialect=None,
            engine="corpus.docstrings",
        )

    def qa_examples(
        self,
        pairs: Sequence[Pair],
        counters: Counter[str],
        unit: str = "",
        limit: int | None = QA_PER_UNIT,
    ) -> list[Example]:
        """qa records for the questions the pairs' code grounds (`questions.questions`),
        each answered by the qa task itself and kept only when its answer is verified and
        answers what was asked (`questions.relevant`).

        An answer depends on its question alone: each question is asked once per unit (its
        pairs call much the same API) and run once per process (`_qa_answer`); the record's
        split follows the symbol its example shows, not the pair's skeleton, so the
        questions about one symbol, which share most of their answer, land in one split.
        A unit keeps at most `limit` records, its questions taken in an order drawn from the
        `unit` key: its pairs ground 20-30 questions, asked again by most other units, and
        a small build would otherwise be mostly answers; across units, the draw covers them."""
        out: list[Example] = []
        grounded: dict[str, tuple[Pair, Any]] = {}
        for p in pairs:
            for q in questions.questions(p.code, p.seed.schema):
                grounded.setdefault(q.text, (p, q))
        for text in sorted(grounded, key=lambda t: digest(unit, t)):
            if limit is not None and len(out) >= limit:
                break
            pair, question = grounded[text]
            result = self._qa_answer(question.text)
            if result is None or not result.verified or not result.answer:
                counters["derived_rejected|qa|unverified"] += 1
                continue
            shown = result.extra.get("example_symbol")
            reason = questions.relevant(question, result.extra.get("cited") or (), shown)
            if reason is not None:
                counters[f"derived_rejected|qa|{reason}"] += 1
                continue
            assert result.verdict is not None
            summary = verdict_summary(result.verdict)
            summary["relevance"] = questions.RELEVANCE
            group = digest("qa", shown)
            out.append(
                example(
                    pair,
                    "qa",
                    {"question": question.text},
                    {"answer": questions.answer_text(result.answer, result.extra)},
                    summary,
                    self.ibis_version,
                    dialect=None,
                    engine="qa",
                    qa={"form": question.kind, "symbols": list(question.symbols),
                        "example_symbol": shown, "retrieval": result.extra.get("retrieval")},
                    skeleton=group,
                    split=split_of(group),
                )
            )
        return out

    def _qa_answer(self, question: str) -> Any:
        """The qa task's `TaskResult` for `question` (None when it cannot answer), run once."""
        from ibert_core import engine

        if question not in self._qa_cache:
            try:
                result = engine.run(self.context, TaskRequest("qa", question))
            except IbertError:
                result = None
            self._qa_cache[question] = result
        return self._qa_cache[question]

    # --- the unit ------------------------------------------------------------------------------

    def steps(self, index: int) -> Steps[UnitResult]:
        """Unit `index`: yields its validation batches, returns its records."""
        rng = random.Random(f"{self.config.seed}:{index}")
        counters: Counter[str] = Counter()
        if self.qa:
            counters["qa_registered"] += 1
        with timed(counters, "generate"):
            seed = pick_seed(self.config, rng)
            seeds = [seed, *(augment(seed, rng) if self.config.augment else [])]
        pairs = yield from self.pairs(seeds, counters)
        if pairs and self.config.augment:
            pairs += yield from self.formulations(pairs, counters)
        tasks = set(self.config.tasks)
        records: list[Example] = []
        for pair in pairs:
            with timed(counters, "derive"):
                if "sql_to_ibis" in tasks:
                    records.append(self.sql_to_ibis(pair))
                if "code_completion" in tasks:
                    records.extend(self.code_completion(pair, rng))
                if "documentation" in tasks:
                    doc = self.documentation(pair, counters)
                    if doc is not None:
                        records.append(doc)
        if pairs:
            records.extend((yield from self.executed_tasks(pairs, rng, counters)))
        if self.qa:  # last: a build cut short keeps the pair tasks, not a run of answers
            with timed(counters, "qa"):
                records.extend(self.qa_examples(pairs, counters, f"{self.config.seed}:{index}"))
        with timed(counters, "records"):
            for r in records:
                counters[f"records|{r.task}"] += 1
            data = [r.to_dict() for r in records]
        return UnitResult(index, data, counters)

    def process(self, index: int) -> UnitResult:
        """Unit `index`, its checks run one batch at a time."""
        return run_steps(self.steps(index), self.checker.check)

    def process_many(
        self, indices: Iterable[int], depth: int | None = None
    ) -> Iterator[UnitResult]:
        """Units `indices` in order, up to `depth` in flight: while the validator's workers
        check the batches of some, this process generates and derives the others."""
        depth = max(1, depth or self.config.depth)
        pending = iter(indices)
        active: deque[_Running] = deque()
        exhausted = False
        while True:
            while not exhausted and len(active) < depth:
                index = next(pending, None)
                if index is None:
                    exhausted = True
                    break
                run = _Running(index, self.steps(index))
                self._advance(run, None)
                active.append(run)
            if not active:
                return
            for run in active:
                if run.future is not None and run.future.done():
                    checked = run.future.result()
                    self._advance(run, checked)
            while active and active[0].result is not None:
                result = active.popleft().result
                assert result is not None
                yield result
            waiting = [r.future for r in active if r.future is not None]
            full = exhausted or len(active) >= depth
            if full and waiting and not any(f.done() for f in waiting):
                wait(waiting, return_when=FIRST_COMPLETED)

    def _advance(self, run: _Running, checked: Checked | None) -> None:
        """Run a unit's own work up to its next batch (handed to the checker) or its end."""
        run.future = None
        try:
            jobs = next(run.steps) if checked is None else run.steps.send(checked)
        except StopIteration as done:
            run.result = done.value
            return
        run.future = self.checker.submit(jobs)


def run_steps(steps: Steps[T], check: Callable[[list[ValidationJob]], Checked]) -> T:
    """Drive `steps` to its end, answering each batch with `check` (no overlap)."""
    try:
        jobs = next(steps)
        while True:
            jobs = steps.send(check(jobs))
    except StopIteration as done:
        result: T = done.value
        return result


def _compiled_in(verdict: Verdict, dialect: str) -> str | None:
    """The code's SQL in `dialect` when the pair's check compiled it there, else None;
    "" when that compilation failed (the dialect then gets no record)."""
    if verdict.artifacts.get("dialect_errors", {}).get(dialect):
        return ""
    sql = (verdict.artifacts.get("dialect_sqls") or {}).get(dialect)
    return str(sql) if sql else None


@attrs.define
class _Running:
    index: int
    steps: Steps[UnitResult]
    future: Future[Checked] | None = None
    result: UnitResult | None = None


@contextlib.contextmanager
def timed(counters: Counter[str], phase: str) -> Iterator[None]:
    """Adds the block's wall seconds to `seconds|phase` and this thread's CPU seconds to
    `cpu|phase` (summed over units). Never around a `yield`: a suspended unit's clock would
    run on while other units work."""
    started, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        counters[f"seconds|{phase}"] += time.perf_counter() - started  # type: ignore[assignment]
        counters[f"cpu|{phase}"] += time.thread_time() - cpu  # type: ignore[assignment]
