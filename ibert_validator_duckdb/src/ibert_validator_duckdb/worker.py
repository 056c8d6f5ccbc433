"""The worker process: runs checks one after another, inside its resource limits.

Imports ibis, duckdb and sqlglot at module level on purpose: the pool preloads this module
in its fork server, so a fresh worker starts in milliseconds instead of a second.
A worker keeps its fixture databases (one in-memory DuckDB per schema and seed) in an LRU
cache, so a check costs a build, a compile and a few small queries.
"""

from __future__ import annotations

import ast
import datetime
import importlib
import logging
import os
import resource
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import duckdb
import ibis
import ibis.expr.operations as ops
import ibis.selectors
import sqlglot  # noqa: F401  (preloaded for the fork server)

from ibert_core.types import Schema, Stage, ValidationJob, Verdict
from ibert_validator_duckdb import compare as cmp
from ibert_validator_duckdb import fixtures, isolation, reference, sandbox, wire
from ibert_validator_duckdb.feedback import describe, describe_sql_error, missing_attribute
from ibert_validator_duckdb.limits import Limits, job_timeout
from ibert_validator_duckdb.schemas import open_data, schema_from_connection

_real_connect = duckdb.connect
ALLOWED_MODULES = {"ibis": ibis, "ibis.selectors": ibis.selectors, "datetime": datetime}
IBIS_PUBLIC = frozenset(n for n in ibis.__all__ if n not in sandbox.FORBIDDEN_ATTRS)
#: Selectors defined by ibis itself (not the stdlib names the module happens to import).
SELECTORS_PUBLIC = frozenset(
    n
    for n in dir(ibis.selectors)
    if not n.startswith("_")
    and str(getattr(getattr(ibis.selectors, n), "__module__", "") or "").startswith("ibis")
)
#: Per allowed module, the attributes candidate code may read.
MODULE_PUBLIC = {
    "ibis": IBIS_PUBLIC,
    "ibis.selectors": SELECTORS_PUBLIC,
    "datetime": sandbox.DATETIME_PUBLIC,
}
PREVIEW_ROWS = 5
CACHED_ROWS = 5000  # results with more rows are not remembered


def _warm_up() -> None:
    """Compile one small query so lazy imports happen once, in the fork server."""
    t = ibis.table({"a": "int64", "b": "string", "c": "date"}, name="t")
    expr = (
        t.filter(t.a > 1)
        .join(t.view(), "a")
        .group_by("b")
        .aggregate(n=ibis._.count(), m=ibis._.a.mean())
        .mutate(r=ibis.row_number().over(order_by="n"))
        .order_by("b")
    )
    ibis.to_sql(expr, dialect="duckdb")
    # Not pandas nor pyarrow (`ibis.memtable` needs them): they double a worker's start-up
    # time and memory, and only code that builds a memtable imports them (`_late_imports`).
    # No DuckDB connection here: its threads must not exist when the fork server forks.


_warm_up()


class WallTimeout(BaseException):
    """Raised by the alarm handler; a BaseException so library code cannot swallow it."""


class StageFailed(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _refused_types() -> tuple[type, ...]:
    from ibis.backends import BaseBackend

    return (BaseBackend, duckdb.DuckDBPyConnection)


# --- worker state -------------------------------------------------------------------------


class _LRU(OrderedDict):
    def __init__(self, size: int, on_evict: Callable[[Any], None] | None = None) -> None:
        super().__init__()
        self.size = size
        self.on_evict = on_evict
        self.hits = 0

    def get_or(
        self, key: Any, make: Callable[[], Any], keep: Callable[[Any], bool] | None = None
    ) -> Any:
        if key in self:
            self.move_to_end(key)
            self.hits += 1
            return self[key]
        value = make()
        if keep is not None and not keep(value):
            return value
        self[key] = value
        while len(self) > self.size:
            _, old = self.popitem(last=False)
            if self.on_evict is not None:
                self.on_evict(old)
        return value


@attrs.define
class State:
    """Per-worker caches and the alarm bookkeeping."""

    limits: Limits
    progress: Any = None  # shared int: index of the running stage, -1 when idle
    connections: _LRU = attrs.field(init=False)
    tables: _LRU = attrs.field(init=False)
    results: _LRU = attrs.field(init=False)
    armed: bool = False
    expired: bool = False
    active: Any = None
    poisoned: bool = False  # a limit was hit: memory or state may be left over, retire

    def __attrs_post_init__(self) -> None:
        self.connections = _LRU(self.limits.cache_size, on_evict=lambda c: c[0].close())
        self.tables = _LRU(self.limits.cache_size)
        self.results = _LRU(512)

    def on_alarm(self, signum: int, frame: Any) -> None:
        if not self.armed:
            return
        self.armed = False
        self.expired = True
        if self.active is not None:
            try:
                self.active.interrupt()
            except Exception:  # noqa: BLE001
                pass
        raise WallTimeout()

    def config(self) -> dict[str, Any]:
        # No temporary directory: DuckDB never spills to disk (it would create `.tmp`).
        return {
            "threads": 1,
            "memory_limit": f"{self.limits.duckdb_memory_mb}MB",
            "temp_directory": "",
        }

    def connection(self, job: ValidationJob, seed: int | None) -> tuple[Any, Schema, Any]:
        """(connection, schema, fixture) for (schema, seed), or for the job's real data
        (fixture None). Connections are locked: no files, extensions or settings."""
        if job.data is not None:
            key: Any = ("data", job.data.kind, job.data.path)
            return self.connections.get_or(key, lambda: self._open_data(job))
        schema = job.schema
        assert schema is not None
        return self.connections.get_or((schema, seed), lambda: self._open_fixture(schema, seed))

    def _open_fixture(self, schema: Schema, seed: int | None) -> tuple[Any, Schema, Any]:
        con = _real_connect(config=self.config())
        fixture = fixtures.make_fixture(schema, seed or 0)
        fixtures.create_tables(con, schema, fixture)
        _lock(con)
        return con, schema, fixture

    def _open_data(self, job: ValidationJob) -> tuple[Any, Schema, Any]:
        assert job.data is not None
        con = open_data(job.data.kind, job.data.path, self.config())
        _lock(con)
        return con, job.schema or schema_from_connection(con), None


def _lock(con: Any) -> None:
    """No files, no extensions, no settings changes from here on."""
    for statement in (
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET enable_external_access = false",
        "SET lock_configuration = true",
    ):
        con.execute(statement)


# What importing pandas + pyarrow adds to a worker's address space (measured 1.46 GB, nearly
# all of it reserved, not used), with room to spare.
LATE_IMPORT_RESERVE = 2048 * 1024 * 1024
LATE_IMPORT_NAMES = frozenset({"memtable"})  # code using these needs pandas and pyarrow


def apply_limits(limits: Limits) -> None:
    """Process-wide limits, set once when the worker starts."""
    isolation.isolate_network()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # pyarrow and DuckDB reserve far more address space than they use, so the limit is
    # headroom on top of what the worker has mapped once everything is imported. The hard
    # limit leaves room for pandas + pyarrow, which only `_late_imports` may take.
    mem = _soft_address_limit(limits)
    hard = mem + (0 if "pyarrow" in sys.modules else LATE_IMPORT_RESERVE)
    resource.setrlimit(resource.RLIMIT_AS, (mem, hard))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file may grow
    sys.dont_write_bytecode = True
    duckdb._ibert_real_connect = _real_connect  # type: ignore[attr-defined]
    duckdb.connect = _refuse_connect


def _soft_address_limit(limits: Limits) -> int:
    """`memory_mb` of headroom above what the worker maps now."""
    return _address_space() + limits.memory_mb * 1024 * 1024


def _address_space() -> int:
    """Bytes of address space this process maps now (VmSize)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _late_imports(limits: Limits) -> None:
    """Import pandas and pyarrow for code that needs them: the soft address-space limit
    rises to the hard one for the import, then is set again above what is now mapped."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    # already imported, or no limits (a check run in-process): nothing to raise
    raise_limit = "pyarrow" not in sys.modules and hard != resource.RLIM_INFINITY
    if raise_limit:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    try:
        ibis.memtable({"a": [1]})  # imports pandas and pyarrow
    finally:
        if raise_limit:
            resource.setrlimit(resource.RLIMIT_AS, (min(_soft_address_limit(limits), hard), hard))


def _refuse_connect(*args: Any, **kwargs: Any) -> Any:
    raise sandbox.SandboxViolation("forbidden-object", "opening DuckDB connections is not allowed")


def _cpu_limit(seconds: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# --- one check ----------------------------------------------------------------------------


@attrs.define
class Run:
    job: ValidationJob
    state: State
    schema: Schema | None = None
    code: Any = None
    env: dict[str, Any] = attrs.field(factory=dict)
    expr: Any = None
    sql: str | None = None
    seeds: tuple[int | None, ...] = ()
    results: list[tuple[list[str], list[tuple[Any, ...]]]] = attrs.field(factory=list)
    artifacts: dict[str, Any] = attrs.field(factory=dict)
    code_literals: tuple[Any, ...] = ()
    literals: tuple[Any, ...] = ()
    targets: fixtures.Targets = attrs.field(factory=fixtures.Targets)  # what constants aim at
    tx: Any = None  # the connection holding this job's literal rows (rolled back after)
    memtables: tuple[Any, ...] | None = None  # the expression's InMemoryTable ops, once found
    registered: list[tuple[Any, str]] = attrs.field(factory=list)  # memtables to unregister
    read_tables: frozenset[str] | None = None  # lower-cased; None: not known, all of them


def _stage_parse(run: Run) -> str:
    try:
        tree = sandbox.parse(run.job.code)
    except SyntaxError as err:
        raise StageFailed(f"syntax error at line {err.lineno}: {err.msg}") from None
    _assign_last_expression(tree)
    run.code_literals = tuple(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, (int, float, str))
        and not isinstance(n.value, bool)
    )
    run.code = sandbox.compile_guarded(tree)
    return ""


def _assign_last_expression(tree: ast.Module) -> None:
    """Code that ends in a bare expression and never assigns `expr` gets `expr = <it>`."""
    assigned = any(
        isinstance(n, ast.Name) and n.id == "expr" and isinstance(n.ctx, ast.Store)
        for n in ast.walk(tree)
    )
    if not assigned and tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name(id="expr", ctx=ast.Store())], value=last.value), last
        )


def _tables(state: State, schema: Schema) -> dict[str, Any]:
    return state.tables.get_or(
        schema, lambda: {t.name: ibis.table(t.as_dict(), name=t.name) for t in schema.tables}
    )


def _environment(run: Run) -> dict[str, Any]:
    schema = run.schema

    def on_missing(obj: Any, name: str, err: AttributeError) -> Exception:
        return StageFailed(missing_attribute(obj, name, schema))

    guard = sandbox.make_guard(ALLOWED_MODULES, _refused_types(), MODULE_PUBLIC, on_missing)
    env: dict[str, Any] = {"__builtins__": sandbox.safe_builtins(ALLOWED_MODULES, guard)}
    env[sandbox.GUARD_NAME] = guard
    env.update(ibis=ibis, _=ibis._, s=ibis.selectors, selectors=ibis.selectors)
    if schema is not None:
        for name, table in _tables(run.state, schema).items():
            env.setdefault(name, table)
    return env


def _resolve_schema(run: Run) -> Schema | None:
    job = run.job
    if job.schema is not None or job.data is None:
        return job.schema
    _, schema, _ = run.state.connection(job, None)
    return schema


def _stage_build(run: Run) -> str:
    run.schema = _resolve_schema(run)
    env = _environment(run)
    try:
        exec(run.code, env)
    except (StageFailed, sandbox.SandboxViolation, WallTimeout, MemoryError, RecursionError):
        raise
    except Exception as err:  # noqa: BLE001
        raise StageFailed(describe(err, env, run.schema)) from None
    if "expr" not in env:
        raise StageFailed("the code must assign the final ibis expression to `expr`")
    expr = env["expr"]
    if not isinstance(expr, ibis.Expr):
        raise StageFailed(
            f"`expr` is a {type(expr).__name__}, not an ibis expression; assign a table, "
            "column or scalar expression to `expr`"
        )
    if isinstance(expr, ibis.Table):
        try:
            expr.schema()
        except Exception as err:  # noqa: BLE001
            raise StageFailed(describe(err, env, run.schema)) from None
    run.expr, run.env = expr, env
    return f"{type(expr).__name__}"


def compile_sql(expr: Any, dialect: str = "duckdb") -> str:
    """`ibis.to_sql(expr, dialect=dialect)`, the same text, from the dialect's compiler
    module itself: `ibis.to_sql` finds compilers among the names
    `ibis.backends.sql.compilers` exports, which leave out singlestoredb (ibis 12), and it
    first rebinds the expression to unbound tables (a walk of the whole graph, 0.15 ms of a
    1.7 ms compile) that sandboxed code never needs: its tables are `ibis.table`s."""
    if not dialect.isidentifier():
        raise ValueError(f"Unknown dialect {dialect}")
    try:
        module = importlib.import_module(f"ibis.backends.sql.compilers.{dialect}")
    except ModuleNotFoundError:
        raise ValueError(f"Unknown dialect {dialect}") from None
    if dialect == "pyspark" and ibis.options.pyspark is None:
        _default_pyspark_options()
    compiler = module.compiler
    out = compiler.to_sqlglot(expr)
    queries = out if isinstance(out, list) else [out]
    return ";\n".join(q.sql(dialect=compiler.dialect, pretty=True) for q in queries)


def _default_pyspark_options() -> None:
    """The pyspark compiler reads `ibis.options.pyspark.treat_nan_as_null`, an option the
    pyspark backend registers on import, which needs pyspark itself: without it every
    float column failed to compile. Its default, as the backend declares it."""

    class PySparkOptions(ibis.config.Config):
        treat_nan_as_null: bool = False

    ibis.options.pyspark = PySparkOptions()


def _stage_compile(run: Run) -> str:
    try:
        run.sql = compile_sql(run.expr)
    except Exception as err:  # noqa: BLE001
        raise StageFailed(describe(err, run.env, run.schema)) from None
    run.artifacts["sql"] = run.sql
    dialect = run.job.options.get("compile_dialect")
    if dialect == "duckdb":
        run.artifacts["dialect_sql"] = run.sql
    elif dialect:
        try:
            run.artifacts["dialect_sql"] = _compile_to(run.expr, dialect)
        except Exception as err:  # noqa: BLE001
            raise StageFailed(f"cannot compile to {dialect}: {describe(err)}") from None
    _compile_to_dialects(run)
    return ""


class _SqlglotWarnings(logging.Handler):
    """sqlglot's "X is not supported in dialect D" warnings: kept per compilation instead of
    printed on the user's terminal (a worker shares the parent's stderr)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


SQLGLOT_WARNINGS = _SqlglotWarnings()


def _capture_sqlglot_warnings() -> None:
    log = logging.getLogger("sqlglot")
    log.addHandler(SQLGLOT_WARNINGS)
    log.propagate = False


def _compile_to(expr: Any, dialect: str) -> str:
    """The expression in `dialect`; an error when sqlglot had to leave something out (it
    warns and writes SQL that does not mean the same)."""
    SQLGLOT_WARNINGS.messages.clear()
    sql = compile_sql(expr, dialect)
    if SQLGLOT_WARNINGS.messages:
        raise ValueError("; ".join(dict.fromkeys(SQLGLOT_WARNINGS.messages)))
    return sql


def _compile_to_dialects(run: Run) -> None:
    """`compile_dialects`: the expression's SQL in each of these dialects, reported per
    dialect (`dialect_sqls`, `dialect_errors`) and never failing the check, so one check
    serves a corpus record per dialect without a compile-only check for each."""
    sqls: dict[str, str] = {}
    errors: dict[str, str] = {}
    for dialect in run.job.options.get("compile_dialects") or ():
        if dialect == "duckdb":
            sqls[dialect] = run.sql or ""
            continue
        try:
            sqls[dialect] = _compile_to(run.expr, dialect)
        except Exception as err:  # noqa: BLE001
            errors[dialect] = f"cannot compile to {dialect}: {describe(err)}"
    if sqls or errors:
        run.artifacts["dialect_sqls"] = sqls
        run.artifacts["dialect_errors"] = errors


def _seeds(job: ValidationJob) -> tuple[int | None, ...]:
    if job.data is not None:
        return (None,)
    if job.schema is None:
        raise StageFailed("no schema and no data: pass a schema (or --db/--parquet) to execute")
    return fixtures.seeds_from(job.options.get("seeds"))


def _query(state: State, con: Any, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    state.active = con
    try:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description or ()]
        rows = cur.fetchmany(state.limits.max_rows + 1)
    finally:
        state.active = None
    if len(rows) > state.limits.max_rows:
        raise StageFailed(
            f"the result has more than {state.limits.max_rows} rows (result-size limit); "
            "is a join condition missing?"
        )
    return columns, rows


def _query_literals(run: Run) -> tuple[Any, ...]:
    """Constants of the reference and the candidate that fixture rows should contain; also
    notes the tables the two read (only those get literal rows: each table costs a DuckDB
    statement, and the others cannot change either result)."""
    found: list[Any] = []
    tables: set[str] = set()
    if run.job.reference_sql:
        try:
            ref = reference.prepare(run.job.reference_sql, run.job.dialect)
        except reference.BadReference:
            pass
        else:
            found.extend(ref.literals)
            tables |= ref.tables
            run.targets = ref.targets
    if run.expr is not None:
        tables |= {t.name.lower() for t in run.expr.op().find(ops.PhysicalTable)}
    run.read_tables = frozenset(tables)
    names: set[str] = set()
    if run.schema is not None:
        names = {t.name for t in run.schema.tables}
        names |= {c for t in run.schema.tables for c in t.names}
    found.extend(v for v in run.code_literals if not (isinstance(v, str) and v in names))
    return tuple(dict.fromkeys(found))[: fixtures.MAX_LITERALS]


def _add_literal_rows(run: Run, seed: int | None) -> None:
    """Seed 0 also gets rows holding the query's constants, inside a transaction that
    `run_job` rolls back, so the cached fixture stays as it was."""
    if seed is None or not run.literals or run.job.options.get("literal_rows") is False:
        return
    con, schema, fixture = run.state.connection(run.job, seed)
    rows = fixtures.literal_rows(
        schema, fixture, run.literals, seed, only=run.read_tables, targets=run.targets
    )
    if not rows:
        run.literals = ()
        return
    run.tx = con
    con.execute("BEGIN TRANSACTION")
    for statement in fixtures.insert_statements(rows):
        con.execute(statement)


def _stage_execute(run: Run) -> str:
    run.seeds = _seeds(run.job)
    assert run.sql is not None
    comparing = "compare" in run.job.stages and run.job.data is None
    run.literals = _query_literals(run) if comparing else ()  # they only help comparisons
    for n, seed in enumerate(run.seeds):
        if n == 0:
            _add_literal_rows(run, seed)
        try:
            columns, rows = _candidate_rows(run, seed)
        except duckdb.Error as err:
            if run.state.expired:
                raise WallTimeout() from None
            where = f" on fixture seed {seed}" if seed is not None else ""
            raise StageFailed(f"DuckDB failed{where}: {describe_sql_error(err)}") from None
        run.results.append((columns, cmp.normalize_rows(rows)))
        if len(run.results) == 1:
            run.artifacts["columns"] = columns
            run.artifacts["rows"] = [[_jsonable(v) for v in r] for r in rows[:PREVIEW_ROWS]]
    run.artifacts["row_counts"] = [len(r[1]) for r in run.results]
    counts = ", ".join(str(len(r[1])) for r in run.results)
    return f"{counts} row(s) on {_where(run.seeds)}"


def _literals_in(run: Run, seed: int | None) -> tuple[Any, ...]:
    """The literals (and the targets they aim at) whose rows `seed`'s data holds during this
    check (part of a result's cache key): only the first seed gets them, and only when
    rows were added."""
    if run.tx is not None and seed == run.seeds[0]:
        return (*run.literals, run.targets)
    return ()


def _candidate_rows(run: Run, seed: int | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The compiled SQL's result on `seed`, remembered like the reference's: checks of the
    same code against other references (a corpus's round trips, a model's retries against
    one question) run it once. The data is a function of the key: literal rows go only
    into seed 0, and each table's rows depend on the table, the literals and the seed."""
    job = run.job
    literals = _literals_in(run, seed)
    key = ("candidate", run.sql, job.schema, job.data, seed, literals)

    def compute() -> tuple[list[str], list[tuple[Any, ...]]]:
        con, _, _ = run.state.connection(job, seed)
        assert run.sql is not None
        _register_memtables(run, con)
        return _query(run.state, con, run.sql)

    return run.state.results.get_or(key, compute, _small)


def _register_memtables(run: Run, con: Any) -> None:
    """The expression's `ibis.memtable`s as views on `con` for this check, as ibis's DuckDB
    backend registers them (their compiled SQL names a table no fixture has). Their names
    are unique per memtable, and `run_job` unregisters them after the check."""
    if run.memtables is None:  # one walk of the expression, not one per seed
        found = run.expr.op().find(ops.InMemoryTable) if run.expr is not None else ()
        run.memtables = tuple(found)
    done = {name for c, name in run.registered if c is con}
    for op in run.memtables:
        if op.name not in done:
            con.register(op.name, op.data.to_pyarrow(op.schema))
            run.registered.append((con, op.name))
            done.add(op.name)


def _small(result: tuple[Any, ...]) -> bool:
    """Results worth remembering: a worker keeps hundreds, and memory it holds on to
    counts against the limit of every later check."""
    return len(result[1]) <= CACHED_ROWS


def _where(seeds: tuple[int | None, ...]) -> str:
    if seeds == (None,):
        return "the given data"
    return f"fixture seed(s) {', '.join(str(s) for s in seeds)}"


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _reference_rows(
    run: Run, ref: reference.Reference, seed: int | None
) -> tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]] | None]:
    job = run.job
    literals = _literals_in(run, seed)
    key = (ref.sql, job.schema, job.data, seed, literals)

    def compute() -> tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]] | None]:
        con, _, _ = run.state.connection(job, seed)
        sql = ref.keyed_sql or ref.sql
        try:
            columns, rows = _query(run.state, con, sql)
        except StageFailed as failed:  # the result-size limit
            run.artifacts["reference_error"] = failed.message
            raise StageFailed(f"the reference SQL: {failed.message}") from None
        except duckdb.Error as err:
            if run.state.expired:
                raise WallTimeout() from None
            if ref.keyed_sql:
                ref_plain = attrs.evolve(ref, keyed_sql=None, extra_keys=0)
                return _reference_rows(run, ref_plain, seed)
            where = f" on fixture seed {seed}" if seed is not None else ""
            run.artifacts["reference_error"] = describe_sql_error(err)
            raise StageFailed(
                f"the reference SQL failed{where}: {describe_sql_error(err)}; "
                "the candidate could not be compared"
            ) from None
        rows = cmp.normalize_rows(rows)
        if ref.keyed_sql and ref.extra_keys:
            n = len(columns) - ref.extra_keys
            return columns[:n], [r[:n] for r in rows], [r[n:] for r in rows]
        return columns, rows, None

    return run.state.results.get_or(key, compute, _small)


def _stage_compare(run: Run) -> str:
    job = run.job
    if job.reference_sql is None:
        raise StageFailed("no reference SQL to compare with")
    try:
        ref = reference.prepare(job.reference_sql, job.dialect or "duckdb")
    except reference.BadReference as err:
        run.artifacts["reference_error"] = str(err)
        raise StageFailed(str(err)) from None
    ordering = ref.ordering
    if job.options.get("ordered") is not None:
        ordering = attrs.evolve(ordering, ordered=bool(job.options["ordered"]))
    tolerance = float(job.options.get("float_tolerance", cmp.DEFAULT_TOLERANCE))
    names = job.options.get("column_names", "ignore")
    total = 0
    for seed, (columns, rows) in zip(run.seeds, run.results, strict=False):
        ref_columns, ref_rows, ref_keys = _reference_rows(run, ref, seed)
        total += len(ref_rows)
        if ref.unordered_lists:
            ref_rows = cmp.sort_lists(ref_rows, ref.unordered_lists)
            rows = cmp.sort_lists(rows, ref.unordered_lists)
        message = cmp.compare_results(
            ref_rows, rows, ordering, tolerance, ref_columns, columns, ref_keys
        ) or _compare_names(ref_columns, columns, names)
        if message:
            where = f" on fixture seed {seed}" if seed is not None else ""
            raise StageFailed(f"results differ{where}: {message}")
    weak = " (the reference returned no rows: a weak check)" if total == 0 else ""
    kind = "in order" if ordering.ordered else "as bags"
    return f"equal {kind} on {_where(run.seeds)}, {total} reference row(s){weak}"


def _compare_names(expected: list[str], actual: list[str], mode: str) -> str | None:
    if mode == "ignore":
        return None
    fold = (lambda s: s.lower()) if mode == "insensitive" else (lambda s: s)
    if [fold(c) for c in expected] != [fold(c) for c in actual]:
        return f"column names differ: expected {expected}, got {actual}"
    return None


STAGE_FUNCTIONS: Mapping[str, Callable[[Run], str]] = {
    "parse": _stage_parse,
    "build": _stage_build,
    "compile": _stage_compile,
    "execute": _stage_execute,
    "compare": _stage_compare,
}


def _failure(err: BaseException, run: Run, timeout: float) -> str:
    limits = run.state.limits
    if isinstance(err, WallTimeout):
        return f"wall time limit of {timeout:g} s exceeded (the sandbox stopped the check)"
    if isinstance(err, MemoryError) or "Out of Memory" in str(err):
        return (
            f"memory limit exceeded ({limits.memory_mb} MB per check, DuckDB "
            f"{limits.duckdb_memory_mb} MB); the code builds or returns too much data"
        )
    if isinstance(err, RecursionError):
        return "recursion limit exceeded; the code recurses without end"
    if isinstance(err, (StageFailed, sandbox.SandboxViolation)):
        return str(err)
    return describe(err, run.env, run.schema)


def run_job(job: ValidationJob, state: State) -> Verdict:
    """All requested stages of one job, stopping at the first failure."""
    timeout = job_timeout(state.limits, job.options)
    run = Run(job, state)
    stages: list[Stage] = []
    state.expired = False
    if any(name in job.code for name in LATE_IMPORT_NAMES):
        # Before the clocks start: importing pandas is the worker's cost, not the code's
        # (a superset of the code that needs it: a mention in a string also imports).
        _late_imports(state.limits)
    # The CPU clock is read before the limit is set: on this VM's kernel the process CPU
    # clock lags by a few ms and catches up when RLIMIT_CPU is set, so read after it a
    # check's CPU came out ~2 ms short of its wall time on an idle core (measured).
    started, cpu_started = time.perf_counter(), time.process_time()
    _cpu_limit(state.limits.cpu)
    hits = state.results.hits
    try:
        state.armed = True
        signal.setitimer(signal.ITIMER_REAL, timeout)
        for index, name in enumerate(job.stages):
            if state.progress is not None:
                state.progress.value = index
            t0 = time.perf_counter()
            try:
                message, ok = STAGE_FUNCTIONS[name](run), True
            except BaseException as err:
                if isinstance(err, (KeyboardInterrupt, SystemExit)):
                    raise
                if state.expired and not isinstance(err, StageFailed):
                    err = WallTimeout()
                if isinstance(err, (WallTimeout, MemoryError, RecursionError)):
                    state.poisoned = True
                message, ok = _failure(err, run, timeout), False
            stages.append(Stage(name, ok, message, time.perf_counter() - t0))
            if not ok:
                break
    except WallTimeout:  # fired between stages: charge it to the next one
        state.poisoned = True
        name = job.stages[min(len(stages), len(job.stages) - 1)]
        if stages and stages[-1].name == name:
            stages.pop()
        stages.append(Stage(name, False, _failure(WallTimeout(), run, timeout), 0.0))
    finally:
        state.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        if state.progress is not None:
            state.progress.value = -1
        if run.tx is not None:
            run.tx.execute("ROLLBACK")
        for con, name in run.registered:
            con.unregister(name)
    run.artifacts["seconds"] = round(time.perf_counter() - started, 6)
    run.artifacts["cpu_seconds"] = round(time.process_time() - cpu_started, 6)
    run.artifacts["results_reused"] = state.results.hits - hits
    if run.seeds:
        run.artifacts["seeds"] = [s for s in run.seeds if s is not None]
    return Verdict(tuple(stages), tuple(job.stages), run.artifacts)


def main(conn: Any, limits: Limits, progress: Any = None) -> None:
    """Serve jobs from `conn` until it closes or sends None."""
    apply_limits(limits)
    _capture_sqlglot_warnings()
    state = State(limits, progress)
    signal.signal(signal.SIGALRM, state.on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn.send_bytes(wire.encode_ready(os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, job = message
        try:
            verdict = run_job(job, state)
        except BaseException as err:
            if isinstance(err, SystemExit):
                raise
            verdict = Verdict(
                (
                    Stage(
                        job.stages[0] if job.stages else "parse",
                        False,
                        f"internal validator error: {describe(err)}",
                    ),
                ),
                tuple(job.stages),
            )
        if state.poisoned:  # the pool replaces a worker that exits
            verdict = Verdict(
                verdict.stages, verdict.required, {**verdict.artifacts, "worker_retired": True}
            )
        conn.send_bytes(wire.encode_verdict(job_id, verdict))
        if state.poisoned:
            return
