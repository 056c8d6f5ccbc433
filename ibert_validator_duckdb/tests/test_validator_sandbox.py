"""Hostile candidate code: every snippet gets a failing verdict that names the rule or limit,
nothing outside the sandbox changes, and the validator keeps serving afterwards."""

from __future__ import annotations

import os

import pytest

from ibert_core.types import ValidationJob
from ibert_validator_duckdb.sandbox import SandboxViolation, parse

CHAIN = (
    "a = users.select(a=users.id)\nb = users.select(b=users.id)\nc = users.select(c=users.id)\n"
    "d = users.select(d=users.id)\ne = users.select(e=users.id)\nf = users.select(f=users.id)\n"
    "g = users.select(g=users.id)\nh = users.select(h=users.id)\n"
)

# (code, what the failure message must mention); {p} is a path the snippet tries to create.
HOSTILE = [
    # imports
    ("import os\nos.system('touch {p}')\nexpr = users", "import of 'os'"),
    ("import subprocess\nexpr = users", "import of 'subprocess'"),
    ("import os\nfor _ in range(64):\n    os.fork()\nexpr = users", "import of 'os'"),
    ("from os import system\nexpr = users", "import from 'os'"),
    ("import ibis.backends.duckdb\nexpr = users", "import of 'ibis.backends.duckdb'"),
    ("from ibis import util\nexpr = users", "'.util' is not allowed"),
    ("__import__('os').system('touch {p}')", "name '__import__'"),
    ("import importlib\nexpr = users", "import of 'importlib'"),
    ("from . import x\nexpr = users", "import from"),
    ("import ibis as i\nexpr = i.__dict__['util']", "private or a dunder"),
    ("from ibis import *\nexpr = users", "star imports"),
    # `from m import x` reads past the attribute guard unless the import checks it
    ("from ibis import duckdb\nexpr = users", "'ibis.duckdb' is not available"),
    ("from ibis import examples\nexpr = users", "'.examples' is not allowed"),
    # datetime gives its value types only, not the modules it imports
    ("import datetime\nx = datetime.sys.path\nexpr = users", "'datetime.sys' is not available"),
    ("from datetime import sys\nexpr = users", "'datetime.sys' is not available"),
    ("import datetime as d\nx = d.datetime_CAPI\nexpr = users", "is not available"),
    # dunder and interpreter walks
    ("expr = ().__class__.__mro__[1].__subclasses__()", "private or a dunder"),
    ("expr = [c for c in ().__class__.__base__.__subclasses__()]", "private or a dunder"),
    ("expr = (lambda: 0).__globals__", "private or a dunder"),
    ("expr = users.__class__", "private or a dunder"),
    ("expr = type(users)", "'type' is not allowed"),
    ("expr = getattr(users, '__cl' + 'ass__')", "'getattr' is not allowed"),
    ("expr = vars(ibis)", "'vars' is not allowed"),
    ("expr = globals()", "'globals' is not allowed"),
    ("exec('import os')", "'exec' is not allowed"),
    ("expr = eval('users')", "'eval' is not allowed"),
    ("expr = compile('1', 'x', 'exec')", "'compile' is not allowed"),
    ("open('{p}', 'w').write('x')", "'open' is not allowed"),
    ("breakpoint()", "'breakpoint' is not allowed"),
    ("expr = input()", "'input' is not allowed"),
    ("expr = '{{0.__class__}}'.format(users)", "'.format' is not allowed"),
    ("g = (x for x in [1])\nexpr = g.gi_frame.f_globals", "reaches interpreter"),
    ("expr = f'{{users.__class__}}'", "private or a dunder"),
    ("expr = ibis._.__class__", "private or a dunder"),
    ("expr = users.op().__class__", "private or a dunder"),
    ("users.x = 1\nexpr = users", "assigning to attributes"),
    ("expr = s.builtins.open('{p}', 'w')", "not available"),
    ("expr = s.operator.attrgetter('x')", "not available"),
    ("expr = ibis.memtable({{'a': [1]}}).op().data.to_frame().to_csv('{p}')", "'.to_csv'"),
    ("d = ibis.memtable({{'a': [1]}}).op().data\nexpr = d.obj.columns", "may not hold"),
    # ibis I/O, backends, raw SQL
    ("expr = ibis.options.default_backend", "'.options' is not allowed"),
    ("expr = ibis.duckdb.connect()", "'.connect' is not allowed"),
    ("b = ibis.duckdb\nexpr = users", "'ibis.duckdb' is not available"),
    ("con = ibis.connect('duckdb://')\nexpr = users", "'.connect' is not allowed"),
    ("expr = ibis.read_csv('/etc/passwd')", "'.read_csv' is not allowed"),
    ("users.to_csv('{p}')\nexpr = users", "'.to_csv' is not allowed"),
    ("ibis.memtable({{'a': [1]}}).to_parquet('{p}')\nexpr = users", "'.to_parquet' is not allowed"),
    ("expr = users.execute()", "'.execute' is not allowed"),
    ("expr = ibis.get_backend()", "'.get_backend' is not allowed"),
    ("expr = users.sql(\"COPY (SELECT 1) TO '{p}'\")", "raw SQL is not allowed"),
    ("expr = con.sql(\"ATTACH '{p}' AS x\")", "raw SQL is not allowed"),
    ("expr = con", "name 'con' is not defined"),
    ("expr = ibis.util.import_module('os')", "'.util' is not allowed"),
    ("expr = ibis.udf.scalar.builtin(lambda x: x)", "'.udf' is not allowed"),
    ("expr = ibis.BaseBackend", "'.BaseBackend' is not allowed"),
    ("expr = ibis.examples", "'.examples' is not allowed"),
    ('expr = ibis.parse_sql("INSTALL httpfs", {{}})', "raw SQL is not allowed"),
    # statements outside the allow-list
    ("while True:\n    pass", "while loops are not allowed"),
    ("def f():\n    return users\nexpr = f()", "function definitions"),
    ("class A:\n    pass\nexpr = users", "class definitions"),
    ("try:\n    x = 1\nexcept Exception:\n    pass\nexpr = users", "try/except"),
    ("with open('{p}', 'w') as f:\n    pass", "with blocks"),
    ("del users\nexpr = ibis", "del is not allowed"),
    ("global users\nexpr = users", "global/nonlocal"),
    ("expr = users\nexpr = (lambda: (yield))()", "generators"),
    ("async def f():\n    pass", "async"),
    ("expr = " + "(" * 300 + "users" + ")" * 300, "syntax error"),
    # resource bombs
    ("x = [i for i in range(10 ** 10)]\nexpr = users", "limit"),  # time or memory: whichever first
    ("x = 'a' * (10 ** 10)\nexpr = users", "memory limit"),
    ("x = [0] * (10 ** 9)\nexpr = users", "memory limit"),
    ("x = 10 ** 10 ** 8\nexpr = users", "time limit"),
    ("f = lambda g: g(g)\nexpr = f(f)", "recursion limit"),
    ("x = sum(range(10 ** 12))\nexpr = users", "limit"),  # a C loop: only a kill stops it
    ("x = [[users] * 10 ** 4 for _ in range(10 ** 5)]\nexpr = users", "limit"),
    ("x = [ibis.literal(i) for i in range(10 ** 8)]\nexpr = users", "limit"),
    (
        # ~2e11 rows: no machine counts them within the 2 s limit (6 joins, 3e8, could)
        CHAIN + "expr = a.cross_join(b).cross_join(c).cross_join(d).cross_join(e)"
        ".cross_join(f).cross_join(g).cross_join(h).count()",
        "time limit",
    ),
    (CHAIN + "expr = a.cross_join(b).cross_join(c).cross_join(d)", "limit"),
    (
        CHAIN + "x = a.cross_join(b).cross_join(c).cross_join(d).cross_join(e)\n"
        "expr = x.mutate(k=ibis.literal('y').repeat(1000) + x.a.cast('string')).distinct()"
        ".count()",
        "limit",
    ),  # ~12 GB of distinct strings: DuckDB runs out of memory (it may not spill to disk)
    # DuckDB-side file access through table names
    ("expr = ibis.table({{'column0': 'string'}}, name='/etc/passwd')", "DuckDB failed"),
    ("expr = ibis.table({{'a': 'string'}}, name=\"read_csv('/etc/passwd')\")", "DuckDB failed"),
    ("expr = users.filter(users.name == \"x'); COPY users TO '{p}'; --\")", "results differ"),
]

# Hostile references: the candidate is fine, the SQL tries to leave the sandbox.
HOSTILE_SQL = [
    ("COPY users TO '{p}'", "must be a query"),
    ("ATTACH '{p}' AS x", "must be a query"),
    ("INSTALL httpfs", "must be a query"),
    ("SELECT * FROM read_csv('/etc/passwd')", "reference SQL failed"),
    ("SELECT * FROM '/etc/passwd'", "reference SQL failed"),
    ("SELECT 1; DROP TABLE users", "exactly one query"),
    ("SELECT * FROM glob('/etc/*')", "reference SQL failed"),
]


def test_there_are_at_least_fifty_snippets():
    assert len(HOSTILE) + len(HOSTILE_SQL) >= 50


@pytest.fixture(scope="module")
def hostile_run(validator, shop, tmp_path_factory):
    root = tmp_path_factory.mktemp("sandbox")
    jobs, paths = [], []
    for i, (code, _) in enumerate(HOSTILE):
        path = root / f"pwned_{i}"
        paths.append(path)
        jobs.append(
            ValidationJob(
                code=code.format(p=path),
                schema=shop,
                reference_sql="SELECT 1 AS x",
                options={"timeout": 2},
            )
        )
    for i, (sql, _) in enumerate(HOSTILE_SQL):
        path = root / f"pwned_sql_{i}"
        paths.append(path)
        jobs.append(
            ValidationJob(
                code="expr = users.count()",
                schema=shop,
                reference_sql=sql.format(p=path),
                options={"timeout": 2},
            )
        )
    restarts = validator.pool.restarts
    verdicts = validator.validate_many(jobs)
    return verdicts, paths, root, validator.pool.restarts - restarts


@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_hostile_code_fails_naming_the_rule(hostile_run, index):
    verdicts, *_ = hostile_run
    verdict = verdicts[index]
    code, needle = HOSTILE[index]
    assert not verdict.passed, code
    assert needle in verdict.failed.message, (code, verdict.failed.message)


@pytest.mark.parametrize("index", range(len(HOSTILE_SQL)))
def test_hostile_reference_fails(hostile_run, index):
    verdicts, *_ = hostile_run
    verdict = verdicts[len(HOSTILE) + index]
    sql, needle = HOSTILE_SQL[index]
    assert not verdict.passed and verdict.failed.name == "compare", sql
    assert needle in verdict.failed.message, (sql, verdict.failed.message)


def test_nothing_outside_the_sandbox_changed(hostile_run):
    _, paths, root, _ = hostile_run
    assert not any(p.exists() for p in paths)
    assert os.listdir(root) == []


def test_validator_keeps_serving(hostile_run, validator, shop):
    job = ValidationJob(
        code="expr = users.count()", schema=shop, reference_sql="SELECT count(*) FROM users"
    )
    assert all(v.passed for v in validator.validate_many([job] * 4))
    assert len(validator.pool.pids) == 2


def test_killed_workers_were_replaced(hostile_run):
    *_, restarts = hostile_run
    assert restarts >= 1  # the big-int bomb cannot be interrupted, only killed


@pytest.mark.parametrize(
    "code",
    [
        "expr = users.filter(users.age > 3).select('name')",
        "import ibis\nfrom ibis import _\nimport ibis.selectors as s\n"
        "expr = users.select(s.numeric())",
        "cols = [c for c in users.columns if c != 'id']\nexpr = users.select(*cols)",
        "expr = users.mutate(label=f'{1}-x', n=ibis.literal(2) * _.age)",
        "x = {'a': 1}\nt = users if x['a'] else users\nexpr = t.limit(3)",
    ],
)
def test_ordinary_code_passes_the_static_check(code):
    parse(code)


def test_static_check_reports_line():
    with pytest.raises(SandboxViolation) as info:
        parse("x = 1\ny = 2\nexpr = x.__class__")
    assert info.value.line == 3 and info.value.rule == "private-attribute"


def test_result_size_limit(shop):
    from ibert_validator_duckdb.limits import Limits
    from ibert_validator_duckdb.validator import DuckDBValidator

    with DuckDBValidator(workers=1, limits=Limits(timeout=5, max_rows=50)) as small:
        verdict = small.validate(
            ValidationJob(
                code="expr = users.cross_join(users.select(x=users.id))",
                schema=shop,
                stages=("parse", "build", "compile", "execute"),
            )
        )
    assert verdict.failed.name == "execute"
    assert "more than 50 rows (result-size limit)" in verdict.failed.message
