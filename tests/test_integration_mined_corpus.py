"""`ibert data build --mined DIR`: records of the real miner merged into a generated corpus.

One tiny tree is mined for real (`ibert data mine --path`); a second mined folder is written
by hand from the generated corpus, to hold a duplicate of a generated record and a record
whose skeleton the generated corpus already placed in another split.

A cross-distribution test (ibert-miner-github and ibert-tasks-sql), so it lives in tests/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import sqlglot
from click.testing import CliRunner
from sqlglot import exp

from ibert_core.corpus import read_examples
from ibert_core.types import Example
from ibert_tasks_sql.corpus.cli import build_command
from ibert_tasks_sql.corpus.normalize import skeleton, split_of

pytestmark = pytest.mark.slow

TASKS = "sql_to_ibis,code_completion,documentation"  # ibis_to_sql is left out on purpose
ARGS = ("--n", "20", "--seed", "5", "--tasks", TASKS, "--no-augment", "--quiet")

GUIDE = """We set up an events table.

```{python}
import ibis
events = ibis.table({"user_id": "int64", "kind": "string"}, name="events")
```

In SQL, counting events per kind is:

```sql
SELECT kind, COUNT(*) AS n FROM events GROUP BY kind
```

and in Ibis:

```{python}
expr = events.group_by("kind").agg(n=events.count())
```
"""

UTIL = '''import ibis


def busy_users(events):
    """Users with more than two events, the busiest first."""
    counts = events.group_by("user_id").agg(n=events.count())
    return counts.filter(counts.n > 2).order_by(ibis.desc("n"))
'''


def records(out: Path) -> list[Example]:
    return [e for s in ("train", "val", "test") for e in read_examples(out / f"{s}.jsonl")]


def lines(out: Path) -> int:
    return sum((out / f"{s}.jsonl").read_bytes().count(b"\n") for s in ("train", "val", "test"))


def build(out: Path, *mined: Path) -> dict:
    args = [a for m in mined for a in ("--mined", str(m))]
    result = CliRunner().invoke(
        build_command, ["--out", str(out), *ARGS, *args], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "stats.json").read_text())


def mine(tree: Path, out: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ibert_core", "data", "mine", "--path", str(tree),
         "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "IBERT_CACHE_DIR": str(out.parent / "cache")},
        check=False,
    )
    assert done.returncode == 0, done.stderr


def renamed(sql: str) -> str:
    """The same query shape (skeleton) under other names."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(
        lambda n: exp.to_identifier(n.name + "_m") if isinstance(n, exp.Identifier) else n
    )
    return tree.sql("duckdb")


def hand_mined(generated: Example, folder: Path) -> tuple[Example, Example]:
    """A verbatim copy of a generated record, and a renamed one sent to another split."""
    other = next(s for s in ("train", "val", "test") if s != generated.meta["split"])
    base = {
        "dialect": "duckdb",
        "backend": "duckdb",
        "context": dict(generated.context),
        "provenance": {"repo": "file:///hand", "commit": "0" * 40, "path": "q.py",
                       "lines": [1, 3], "license": "MIT"},
        "verdict": dict(generated.verdict),
    }
    copy = Example(id="mined-copy", task="sql_to_ibis", input=dict(generated.input),
                   target=dict(generated.target),
                   meta={"source": "mined", "split": other}, **base)
    moved = Example(id="mined-moved", task="sql_to_ibis",
                    input={"sql": renamed(generated.input["sql"])},
                    target=dict(generated.target),
                    meta={"source": "mined", "split": other}, **base)
    folder.mkdir()
    (folder / "mined.jsonl").write_text(
        "".join(json.dumps(e.to_dict()) + "\n" for e in (copy, moved))
    )
    return copy, moved


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("mined")
    tree = base / "tree"
    (tree / "docs").mkdir(parents=True)
    (tree / "docs" / "guide.qmd").write_text(GUIDE)
    (tree / "util.py").write_text(UTIL)
    m1 = base / "m1"
    mine(tree, m1)
    out = base / "corpus"
    first = build(out, m1)
    generated = next(
        e for e in records(out) if e.task == "sql_to_ibis" and e.meta["source"] != "mined"
    )
    copy, moved = hand_mined(generated, base / "m2")
    second = build(out, m1, base / "m2")
    after_second = lines(out)
    third = build(out, m1, base / "m2")
    return {"out": out, "m1": m1, "first": first, "second": second, "third": third,
            "after_second": after_second, "generated": generated, "copy": copy, "moved": moved}


def test_mined_records_join_the_corpus_with_their_provenance(merged: dict) -> None:
    out, m1 = merged["out"], merged["m1"]
    mined = list(read_examples(m1 / "mined.jsonl"))
    assert {e.task for e in mined} >= {"sql_to_ibis", "ibis_to_sql"}  # the real miner's pair
    in_corpus = {e.id: e for e in records(out) if e.meta.get("source") == "mined"}
    for e in mined:
        if e.task == "ibis_to_sql":  # not among --tasks
            assert e.id not in in_corpus
            continue
        got = in_corpus[e.id]
        assert got.provenance == e.provenance and got.input == e.input
        sql = e.input.get("sql")
        # the miner's file split, unless a SQL skeleton decides (as for generated records)
        want = split_of(skeleton(sql)) if sql else e.meta["split"]
        assert got.meta["split"] == want
        assert e.id in {x.id for x in read_examples(out / f"{want}.jsonl")}
    first = merged["first"]
    expected = sum(e.task != "ibis_to_sql" for e in mined)
    assert first["mined"]["merged"] == first["mined"]["new"] == expected
    assert first["mined"]["skipped_by_task"] == sum(e.task == "ibis_to_sql" for e in mined) > 0
    assert first["by_source"]["mined"] == expected
    # --n counts generated records only
    assert first["total"] == 20 + expected


def test_duplicate_of_a_generated_record_is_skipped(merged: dict) -> None:
    recs = records(merged["out"])
    ids = {e.id for e in recs}
    assert merged["copy"].id not in ids and merged["generated"].id in ids
    assert merged["second"]["mined"]["duplicates"] == 1
    assert len({e.meta["dedup"] for e in recs}) == len(recs)


def test_a_skeleton_never_straddles_splits(merged: dict) -> None:
    recs = {e.id: e for e in records(merged["out"])}
    moved, generated = recs[merged["moved"].id], merged["generated"]
    assert moved.meta["skeleton"] == generated.meta["skeleton"]
    assert moved.meta["split"] == generated.meta["split"] != moved.meta["mined_split"]
    assert merged["second"]["mined"]["split_moved"] >= 1
    where: dict[str, set[str]] = defaultdict(set)
    for e in recs.values():
        if e.meta.get("skeleton"):
            where[str(e.meta["skeleton"])].add(str(e.meta["split"]))
    assert all(len(s) == 1 for s in where.values())


def test_rerun_adds_nothing_twice(merged: dict) -> None:
    second, third = merged["second"], merged["third"]
    assert lines(merged["out"]) == merged["after_second"] == third["total"] == second["total"]
    assert third["mined"]["new"] == 0
    assert third["mined"]["merged"] == second["mined"]["merged"]
    assert third["mined"]["duplicates"] == second["mined"]["duplicates"]
    assert third["by_source"] == second["by_source"]


def test_missing_mined_folder_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for bad in (tmp_path / "nope", tmp_path / "empty"):
        done = subprocess.run(
            [sys.executable, "-m", "ibert_core", "data", "build", "--out", str(tmp_path / "c"),
             "--mined", str(bad)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1 and str(bad) in done.stderr
    assert not (tmp_path / "c").exists()


def test_validate_rechecks_the_merged_corpus(merged: dict) -> None:
    from ibert_tasks_sql.corpus.cli import validate_command

    result = CliRunner().invoke(validate_command, [str(merged["out"]), "--json"],
                                catch_exceptions=False)
    report = json.loads(result.stdout)
    # the merge trusts the miner's verdict; the hand-written renamed record was never verified
    # (its names are not in the schema), and the recheck catches exactly that one
    assert [f["id"] for f in report["failures"]] == [merged["moved"].id], report["failures"]
    assert result.exit_code == 1
    mined = [e for e in records(merged["out"]) if e.meta.get("source") == "mined"]
    # the mined completion runs without a reference SQL; mined documentation is skipped
    assert any(e.task == "code_completion" for e in mined)
    assert report["by_task"]["code_completion"]["passed"] >= 1
    assert any("mined documentation" in n for n in report["notes"])
