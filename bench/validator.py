"""Benchmark: validated (SQL, Ibis) pairs per second on this machine.

    .venv/bin/python bench/validator.py [--pairs N] [--workers 2] [--seeds 3] [--rounds 3]

Builds typical pairs (filter, group, join, window, subquery, order/limit, distinct,
semi/anti join) from a few schemas, all equivalent, each pair unique (no result caching
helps). Measures:

- the sandboxed validator (`DuckDBValidator.validate_many`, a pool of `--workers`
  processes, every pair checked on `--seeds` fixture seeds plus literal rows), after the
  pool has started (start-up is reported separately);
- the naive baseline: one process, one pair at a time, ibis `to_pandas()` on a DuckDB
  backend + the SQL through the same connection + a pandas comparison, on one fixture;
- the floor: the CPU time of the work no validator of this design can skip (ibis builds
  and compiles the candidate; DuckDB runs it and the reference on every seed), bare, in
  this process, and the pairs/s both cores would give if that were all.

Writes bench/results/validator.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import machine  # bench/machine.py: the script's own folder is on sys.path

from ibert_core.types import Schema, ValidationJob

SCHEMAS = {
    "shop": Schema.from_dict(
        {
            "users": {"id": "!int64", "name": "string", "age": "int32", "city": "string"},
            "orders": {
                "id": "!int64",
                "user_id": "int64",
                "amount": "float64",
                "ts": "timestamp",
                "status": "string",
            },
        }
    ),
    "hr": Schema.from_dict(
        {
            "departments": {"id": "!int64", "name": "string", "budget": "decimal(12, 2)"},
            "employees": {
                "id": "!int64",
                "name": "string",
                "department_id": "int64",
                "salary": "int64",
                "hired": "date",
            },
        }
    ),
    "web": Schema.from_dict(
        {
            "sessions": {"id": "!int64", "device": "string", "country": "string"},
            "events": {
                "id": "!int64",
                "session_id": "int64",
                "kind": "string",
                "value": "float64",
                "ts": "timestamp",
            },
        }
    ),
}

# schema → (parent, child, child foreign key, child numeric, child group, parent label)
SHAPES = {
    "shop": ("users", "orders", "user_id", "amount", "status", "city"),
    "hr": ("departments", "employees", "department_id", "salary", "name", "name"),
    "web": ("sessions", "events", "session_id", "value", "kind", "device"),
}

TEMPLATES = {
    "filter": (
        "SELECT * FROM {c} WHERE {n} > {k}",
        "expr = {c}.filter({c}.{n} > {k})",
    ),
    "filter_project": (
        "SELECT {g}, {n} FROM {c} WHERE {n} <= {k} AND {g} IS NOT NULL",
        "expr = {c}.filter(({c}.{n} <= {k}) & {c}.{g}.notnull()).select('{g}', '{n}')",
    ),
    "group": (
        "SELECT {g}, count(*) AS n, sum({n}) AS s FROM {c} WHERE {n} <> {k} GROUP BY {g}",
        "expr = {c}.filter({c}.{n} != {k}).group_by('{g}').aggregate(n=_.count(), s=_.{n}.sum())",
    ),
    "having": (
        "SELECT {g}, avg({n}) AS a FROM {c} GROUP BY {g} HAVING count(*) > {k2}",
        "t = {c}.group_by('{g}').aggregate(a=_.{n}.mean(), cnt=_.count())\n"
        "expr = t.filter(t.cnt > {k2}).select('{g}', 'a')",
    ),
    "order_limit": (
        "SELECT {g}, {n} FROM {c} WHERE {n} > {k} ORDER BY {n} DESC LIMIT {k2}",
        "expr = {c}.filter({c}.{n} > {k}).select('{g}', '{n}')"
        ".order_by(ibis.desc('{n}')).limit({k2})",
    ),
    "join": (
        "SELECT p.{l}, c.{n} FROM {p} p JOIN {c} c ON p.id = c.{fk} WHERE c.{n} > {k}",
        "j = {p}.join({c}, {p}.id == {c}.{fk})\nexpr = j.filter(j.{n} > {k}).select('{l}', '{n}')",
    ),
    "join_group": (
        "SELECT p.{l}, count(*) AS n, max(c.{n}) AS m FROM {p} p JOIN {c} c ON p.id = c.{fk} "
        "WHERE c.{n} >= {k} GROUP BY p.{l}",
        "j = {p}.join({c}, {p}.id == {c}.{fk}).filter(_.{n} >= {k})\n"
        "expr = j.group_by('{l}').aggregate(n=_.count(), m=_.{n}.max())",
    ),
    "window_rank": (
        "SELECT id, {g}, rank() OVER (PARTITION BY {g} ORDER BY {n}) AS r FROM {c} WHERE {n} < {k}",
        "w = ibis.window(group_by='{g}', order_by='{n}')\n"
        "expr = {c}.filter({c}.{n} < {k}).select('id', '{g}', r=ibis.rank().over(w) + 1)",
    ),
    "window_share": (
        "SELECT id, {n} - avg({n}) OVER (PARTITION BY {g}) AS d FROM {c} WHERE {n} > {k}",
        "t = {c}.filter({c}.{n} > {k})\n"
        "expr = t.select('id', d=t.{n} - t.{n}.mean().over(group_by='{g}'))",
    ),
    "in_subquery": (
        "SELECT * FROM {p} WHERE id IN (SELECT {fk} FROM {c} WHERE {n} > {k})",
        "expr = {p}.filter({p}.id.isin({c}.filter({c}.{n} > {k}).{fk}))",
    ),
    "scalar_subquery": (
        "SELECT id, {n} FROM {c} WHERE {n} > (SELECT avg({n}) FROM {c} WHERE {n} < {k})",
        "expr = {c}.filter({c}.{n} > {c}.filter({c}.{n} < {k}).{n}.mean()).select('id', '{n}')",
    ),
    "anti_join": (
        "SELECT * FROM {p} p WHERE NOT EXISTS "
        "(SELECT 1 FROM {c} c WHERE c.{fk} = p.id AND c.{n} > {k})",
        "expr = {p}.anti_join({c}.filter({c}.{n} > {k}), {p}.id == {c}.{fk})",
    ),
    "distinct": (
        "SELECT DISTINCT {g} FROM {c} WHERE {n} > {k}",
        "expr = {c}.filter({c}.{n} > {k}).select('{g}').distinct()",
    ),
    "case": (
        "SELECT id, CASE WHEN {n} > {k} THEN 'high' ELSE 'low' END AS band FROM {c}",
        "expr = {c}.select('id', band=ibis.ifelse({c}.{n} > {k}, 'high', 'low'))",
    ),
    "count_distinct": (
        "SELECT count(DISTINCT {g}) FROM {c} WHERE {n} >= {k}",
        "expr = {c}.filter({c}.{n} >= {k}).{g}.nunique()",
    ),
}

LITERALS = (0, 1, 5, 42, 100)


def make_pairs(limit: int) -> list[tuple[str, str, str, str]]:
    """(template, schema name, sql, code) for every template × schema × literal."""
    pairs = []
    for (name, (sql, code)), (sname, shape), k in itertools.product(
        TEMPLATES.items(), SHAPES.items(), LITERALS
    ):
        p, c, fk, n, g, label = shape
        fields = dict(p=p, c=c, fk=fk, n=n, g=g, l=label, k=k, k2=k % 4 + 1)
        pairs.append((name, sname, sql.format(**fields), code.format(**fields)))
    return pairs[:limit]


def run_rounds(pairs, workers: int, seeds: int, rounds: int) -> dict:
    """`rounds` runs, each with a fresh validator (no cache carries over); the median round
    by pairs/s is reported, with every round's figure: on a shared VM one short run can lose
    a core to a neighbour and halve (seen here: 200 then 108 pairs/s, back to back)."""
    runs = sorted(
        (run_validator(pairs, workers, seeds) for _ in range(max(1, rounds))),
        key=lambda r: r["pairs_per_second"],
    )
    median = dict(runs[len(runs) // 2])
    median["rounds_pairs_per_second"] = [r["pairs_per_second"] for r in runs]
    return median


def run_validator(pairs, workers: int, seeds: int) -> dict:
    from ibert_validator_duckdb.validator import DuckDBValidator

    jobs = [
        ValidationJob(code=code, schema=SCHEMAS[s], reference_sql=sql, options={"seeds": seeds})
        for _, s, sql, code in pairs
    ]
    t0 = time.perf_counter()
    validator = DuckDBValidator(workers=workers)
    # Start-up: workers fork, then build their fixture databases (one per schema and seed).
    warm = [
        ValidationJob(
            code="expr = ibis.literal(1)",
            schema=SCHEMAS[s],
            stages=("parse", "build", "compile", "execute"),
            options={"seeds": seeds},
        )
        for s in SCHEMAS
    ] * workers
    validator.validate_many(warm)
    startup = time.perf_counter() - t0
    t0 = time.perf_counter()
    verdicts = validator.validate_many(jobs)
    elapsed = time.perf_counter() - t0
    validator.close()
    failed = [
        {"template": t, "schema": s, "sql": sql, "code": code, "feedback": v.feedback}
        for (t, s, sql, code), v in zip(pairs, verdicts, strict=True)
        if not v.passed
    ]
    cpu = sum(v.artifacts.get("cpu_seconds", 0.0) for v in verdicts)
    stage_ms = {}
    for name in ("parse", "build", "compile", "execute", "compare"):
        times = [st.duration for v in verdicts for st in v.stages if st.name == name]
        stage_ms[name] = round(1000 * sum(times) / max(len(times), 1), 3)
    return {
        "workers": workers,
        "seeds": seeds,
        "pairs": len(jobs),
        "seconds": round(elapsed, 3),
        "pairs_per_second": round(len(jobs) / elapsed, 1),
        "ms_per_pair_per_worker": round(1000 * elapsed * workers / len(jobs), 2),
        "stage_ms_mean": stage_ms,
        "worker_cpu_ms_per_pair": round(1000 * cpu / len(jobs), 2),
        "pairs_per_cpu_second": round(len(jobs) / cpu, 1) if cpu else None,
        "startup_seconds": round(startup, 3),
        "passed": len(jobs) - len(failed),
        "failed": failed[:10],
    }


def refinement_jobs(pairs, per_reference: int = 4) -> list[tuple[str, str, str, str]]:
    """A refinement-like load: each reference checked against several candidates (the
    right one and near misses: another constant, `>=` for `>`, a misspelt column)."""
    out = []
    for t, s, sql, code in pairs[:: max(1, len(pairs) // 60)][:60]:
        variants = [
            code,
            code.replace("> ", ">= ", 1) if "> " in code else code + "\n",
            code.replace("(0)", "(1)").replace(" 0)", " 1)").replace(" 5)", " 6)"),
            code.replace(".filter(", ".filtr(", 1) if ".filter(" in code else code + "\n\n",
        ]
        out.extend((t, s, sql, v) for v in variants[:per_reference])
    return out


def run_baseline(pairs) -> dict:
    """One at a time, in this process: ibis to_pandas + SQL to pandas + pandas comparison."""
    import duckdb
    import ibis
    import pandas as pd

    from ibert_validator_duckdb.fixtures import create_tables, make_fixture

    backends = {}
    for name, schema in SCHEMAS.items():
        con = duckdb.connect()
        create_tables(con, schema, make_fixture(schema, 0))
        backends[name] = ibis.duckdb.from_connection(con)

    def frame_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
        if a.shape != b.shape:
            return False
        a, b = a.copy(), b.copy()
        a.columns = b.columns = range(a.shape[1])
        key = list(a.columns)
        a = a.astype(str).sort_values(key).reset_index(drop=True)
        b = b.astype(str).sort_values(key).reset_index(drop=True)
        return bool((a == b).all().all())

    equal = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    for _, s, sql, code in pairs:
        backend = backends[s]
        env = {"ibis": ibis, "_": ibis._}
        env.update({t: backend.table(t) for t in SCHEMAS[s].names})
        try:
            exec(code, env)
            got = env["expr"].to_pandas()
            if not isinstance(got, pd.DataFrame):
                got = (
                    pd.DataFrame({"v": [got]}) if not isinstance(got, pd.Series) else got.to_frame()
                )
            want = backend.con.execute(sql).df()
            equal += frame_equal(want, got)
        except Exception:  # noqa: BLE001 - the baseline just counts
            pass
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {
        "pairs": len(pairs),
        "cpu_ms_per_pair": round(1000 * cpu / len(pairs), 2),
        "pairs_per_cpu_second": round(len(pairs) / cpu, 1),
        "seconds": round(elapsed, 3),
        "pairs_per_second": round(len(pairs) / elapsed, 1),
        "ms_per_pair": round(1000 * elapsed / len(pairs), 2),
        "judged_equal": equal,
        "seeds": 1,
    }


def run_floor(pairs, seeds: int) -> dict:
    """The work any validator of this design must do per pair, timed bare in this process
    (no sandbox, no IPC, no comparison): ibis builds and compiles the candidate, DuckDB runs
    it and the reference on each seed's fixture. What both cores can do at best follows."""
    import duckdb
    import ibis

    from ibert_validator_duckdb.fixtures import create_tables, make_fixture

    cons = {}
    for name, schema in SCHEMAS.items():
        for seed in range(seeds):
            con = duckdb.connect(config={"threads": 1})
            create_tables(con, schema, make_fixture(schema, seed))
            cons[name, seed] = con
    tables = {
        name: {t.name: ibis.table(t.as_dict(), name=t.name) for t in schema.tables}
        for name, schema in SCHEMAS.items()
    }
    build = compile_ = query = 0.0
    for _, s, sql, code in pairs:
        t0 = time.process_time()
        env = {"ibis": ibis, "_": ibis._, **tables[s]}
        exec(code, env)
        t1 = time.process_time()
        compiled = ibis.to_sql(env["expr"], dialect="duckdb")
        t2 = time.process_time()
        for seed in range(seeds):
            cons[s, seed].execute(compiled).fetchall()
            cons[s, seed].execute(sql).fetchall()
        t3 = time.process_time()
        build, compile_, query = build + t1 - t0, compile_ + t2 - t1, query + t3 - t2
    per_pair = (build + compile_ + query) / len(pairs)
    return {
        "seeds": seeds,
        "build_ms": round(1000 * build / len(pairs), 3),
        "compile_ms": round(1000 * compile_ / len(pairs), 3),
        "duckdb_ms": round(1000 * query / len(pairs), 3),
        "duckdb_queries_per_pair": 2 * seeds,
        "cpu_ms_per_pair": round(1000 * per_pair, 3),
        "ceiling_pairs_per_second_2_cores": round(2 / per_pair, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="runs per setting (median kept)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "validator.json"))
    args = parser.parse_args()
    pairs = make_pairs(args.pairs)
    print(f"{len(pairs)} pairs from {len(TEMPLATES)} templates x {len(SHAPES)} schemas")
    result = {
        "command": "python bench/validator.py " + " ".join(sys.argv[1:]),
        "machine": {**machine.describe(), "load_average_at_start": os.getloadavg()},
        "validator": run_rounds(pairs, args.workers, args.seeds, args.rounds),
        "validator_1_seed": run_rounds(pairs, args.workers, 1, args.rounds),
        "validator_1_worker": run_rounds(pairs, 1, args.seeds, args.rounds),
        "validator_refinement": run_rounds(
            refinement_jobs(pairs), args.workers, args.seeds, args.rounds
        ),
        "baseline": run_baseline(pairs),
        "floor": run_floor(pairs, args.seeds),
        "floor_1_seed": run_floor(pairs, 1),
    }
    result["speedup_vs_baseline"] = round(
        result["validator"]["pairs_per_second"] / result["baseline"]["pairs_per_second"], 2
    )
    # What both cores would give if nothing else ran: CPU cost per pair, two workers.
    result["capacity_pairs_per_second_2_free_cores"] = round(
        2 * result["validator"]["pairs_per_cpu_second"], 1
    )
    result["capacity_pairs_per_second_2_free_cores_1_seed"] = round(
        2 * result["validator_1_seed"]["pairs_per_cpu_second"], 1
    )
    result["machine"]["load_average_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    summary = {
        k: (v["pairs_per_second"] if isinstance(v, dict) and "pairs_per_second" in v else v)
        for k, v in result.items()
        if k not in ("machine", "command")
    }
    print(json.dumps(summary, indent=2))
    if result["validator"]["failed"]:
        print("FAILED PAIRS:", json.dumps(result["validator"]["failed"][:5], indent=2))


if __name__ == "__main__":
    main()
