"""`ibert data build` end to end: the real translator and validator, a few units each.

Slow-ish (each build starts a validator pool), so the corpora are small and the tasks that
need no extra validation round are used where the test is about the build, not the tasks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from ibert_core.corpus import read_examples
from ibert_core.plugins import get_plugin_manager
from ibert_tasks_sql.corpus.cli import build_command
from ibert_tasks_sql.corpus.normalize import SPLITS, dedup_key, skeleton, split_of
from ibert_tasks_sql.corpus.stats import NOTES_QA, NOTES_QA_LATER, _empty_split_notes

pytestmark = pytest.mark.slow

FAST_TASKS = "sql_to_ibis,code_completion,documentation"


def _needs_engines() -> None:
    registries = get_plugin_manager().registries
    if "sql_to_ibis" not in registries.tasks or "duckdb" not in registries.validators:
        pytest.fail("ibert-tasks-sql's sql_to_ibis and the duckdb validator must be installed")


def records(out: Path) -> list:
    return [e for split in ("train", "val", "test") for e in read_examples(out / f"{split}.jsonl")]


def run_build(out: Path, *args: str) -> dict:
    result = CliRunner().invoke(build_command, ["--out", str(out), "--quiet", *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _needs_engines()
    out = tmp_path_factory.mktemp("corpus")
    run_build(out, "--n", "30", "--seed", "7")
    return out


def test_build_writes_verified_records_of_every_task(corpus: Path) -> None:
    stats = json.loads((corpus / "stats.json").read_text())
    recs = records(corpus)
    assert stats["total"] == len(recs) == 30
    tasks = Counter(r.task for r in recs)
    assert {"sql_to_ibis", "ibis_to_sql", "code_completion", "documentation"} <= set(tasks)
    for r in recs:
        assert r.verdict["passed"] is True
        assert r.provenance["source"] == "ibert-tasks-sql/corpus" and r.provenance["license"]
        assert r.context["tables"] and r.ibis_version and r.backend == "duckdb"
        assert r.meta["split"] in ("train", "val", "test") and r.meta["difficulty"] in (1, 2, 3)
        assert r.meta["source"] in ("template", "generator")
    for r in recs:
        if r.task == "code_completion":
            assert r.input["prefix"] and r.target["rest"]
        if r.task == "error_resolution":
            assert r.input["error"] and r.input["code"] != r.target["code"]
            assert r.verdict["broken"]["passed"] is False
    from ibert_tasks_sql.corpus.semgrep_tags import NOT_INSTALLED, executable

    if executable():
        assert all("semgrep" in r.meta for r in recs)  # tagged in one batch at the end
        assert stats["by_feature"]
    else:  # installed without the 'static' extra: AST tags only, and the stats say so
        assert not any("semgrep" in r.meta for r in recs)
        assert NOT_INSTALLED in stats["notes"]
    assert stats["by_feature_ast"]
    for key in ("by_task", "by_source", "by_difficulty", "by_feature", "by_split",
                "acceptance", "rejected_by_stage"):
        assert key in stats


def test_splits_share_no_skeleton(corpus: Path) -> None:
    by_skeleton: dict[str, set[str]] = {}
    for r in records(corpus):
        by_skeleton.setdefault(r.meta["skeleton"], set()).add(r.meta["split"])
        assert split_of(r.meta["skeleton"]) == r.meta["split"]
        if r.task == "sql_to_ibis":
            assert skeleton(r.input["sql"]) == r.meta["skeleton"]
    assert all(len(splits) == 1 for splits in by_skeleton.values())
    for split in ("train", "val", "test"):
        ids = {r.id for r in read_examples(corpus / f"{split}.jsonl")}
        assert all(r.meta["split"] == split for r in read_examples(corpus / f"{split}.jsonl"))
        assert len(ids) == sum(1 for _ in read_examples(corpus / f"{split}.jsonl"))


def test_an_empty_split_is_said_in_the_notes(corpus: Path) -> None:
    """A 30-record build has a handful of skeletons: whichever split got none is named."""
    stats = json.loads((corpus / "stats.json").read_text())
    empty = {name for name, _ in SPLITS if not stats["by_split"].get(name)}
    named = {n.split()[1] for n in stats["notes"] if " split is empty: " in n}
    assert named == empty
    notes = _empty_split_notes({"train": 5, "val": 2}, {"train": {"a", "b"}, "val": {"c"}})
    assert len(notes) == 1 and notes[0].startswith("the test split is empty: this build has 3 ")
    assert _empty_split_notes({}, {}) == []


def test_no_two_records_share_an_ast(corpus: Path) -> None:
    keys = [dedup_key(r.task, r.dialect, r.input, r.target) for r in records(corpus)]
    assert len(keys) == len(set(keys))


def test_growing_n_continues_the_cut_unit(tmp_path: Path) -> None:
    _needs_engines()
    args = ("--seed", "5", "--tasks", FAST_TASKS)
    run_build(tmp_path / "grown", "--n", "7", *args)  # stops inside a unit
    grown = run_build(tmp_path / "grown", "--n", "30", *args)
    straight = run_build(tmp_path / "straight", "--n", "30", *args)
    assert {r.id for r in records(tmp_path / "grown")} == {
        r.id for r in records(tmp_path / "straight")
    }
    for key in ("total", "units", "duplicates_dropped", "duplicates_dropped_by_task", "by_task",
                "acceptance"):
        assert grown[key] == straight[key], key


def test_lost_manifest_rerun_drops_duplicates(tmp_path: Path) -> None:
    _needs_engines()
    out = tmp_path / "c"
    run_build(out, "--n", "12", "--seed", "3", "--tasks", FAST_TASKS)
    first = {r.id for r in records(out)}
    (out / "manifest.json").unlink()  # the rerun starts again at unit 0: all repeats
    stats = run_build(out, "--n", "20", "--seed", "3", "--tasks", FAST_TASKS)
    recs = records(out)
    assert len(recs) == 20 and first <= {r.id for r in recs}
    assert stats["duplicates_dropped"] >= len(first)
    by_task = stats["duplicates_dropped_by_task"]
    assert sum(by_task.values()) == stats["duplicates_dropped"]
    firsts = Counter(r.task for r in recs if r.id in first)
    assert all(by_task.get(task, 0) >= n for task, n in firsts.items())  # each one repeated
    assert len({r.meta["dedup"] for r in recs}) == 20
    # other settings in the same folder would mix two corpora: refused before any work
    result = CliRunner().invoke(build_command, ["--out", str(out), "--quiet", "--n", "30",
                                                "--seed", "4", "--tasks", FAST_TASKS])
    assert result.exit_code != 0
    assert "other settings" in str(result.exception)


def _lines(out: Path) -> int:
    total = 0
    for split in ("train", "val", "test"):
        path = out / f"{split}.jsonl"
        if path.exists():
            total += path.read_bytes().count(b"\n")
    return total


def test_killed_build_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    _needs_engines()
    args = ["--n", "24", "--seed", "11", "--tasks", FAST_TASKS, "--no-augment", "--quiet"]
    reference = tmp_path / "reference"
    run_build(reference, *args)
    expected = {r.id for r in records(reference)}
    assert len(expected) == 24

    out = tmp_path / "killed"
    script = "from ibert_tasks_sql.corpus.cli import build_command; build_command()"
    cmd = [sys.executable, "-c", script, "--out", str(out), *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while _lines(out) < 1 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the build and its validator workers, mid-run
    proc.wait()
    written = _lines(out)
    assert 1 <= written < 24, "the build should have been killed part-way"
    # a write torn by the kill: half a record at the end of a file
    with (out / "train.jsonl").open("ab") as fh:
        fh.write(b'{"id": "torn-record", "task": "sql_to')

    # resumed by two worker processes: units are pure functions of their index, so the
    # corpus is the same whatever the number of workers
    resumed = subprocess.run([*cmd, "--workers", "2"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    got = records(out)
    ids = [r.id for r in got]
    assert len(ids) == len(set(ids)) == 24
    assert set(ids) == expected


def test_validate_rechecks_records_and_names_tampered_ones(corpus: Path, tmp_path: Path) -> None:
    from ibert_tasks_sql.corpus.cli import validate_command

    lines = (corpus / "train.jsonl").read_text().splitlines()
    lines += (corpus / "val.jsonl").read_text().splitlines()
    lines += (corpus / "test.jsonl").read_text().splitlines()
    tampered = None
    out_lines = []
    for line in lines:
        data = json.loads(line)
        if tampered is None and data["task"] == "sql_to_ibis":
            # a plausible but wrong answer: the filter is dropped
            table = next(iter(data["context"]["tables"]))
            data["target"]["code"] = f"expr = {table}"
            tampered = data["id"]
        out_lines.append(json.dumps(data))
    assert tampered is not None
    (tmp_path / "all.jsonl").write_text("\n".join(out_lines) + "\n")
    result = CliRunner().invoke(validate_command, [str(tmp_path / "all.jsonl"), "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1
    assert [f["id"] for f in report["failures"]] == [tampered]
    assert report["passed"] + report["skipped"] == len(lines) - 1


def test_semgrep_rules_tag_features_and_anti_patterns() -> None:
    from ibert_tasks_sql.corpus.semgrep_tags import tag_programs

    code = (
        "import ibis\n"
        "expr = t.filter(t.a > 1).filter(t.d == ibis.literal('2020-01-01').cast('date'))"
        ".group_by('k').agg(n=t.a.count())\n"
    )
    tags = tag_programs({"x": code, "clean": "expr = t.select('a')\n"})
    if tags is None:
        pytest.skip("semgrep is not installed")
    assert {"filter", "group-by", "aggregate", "count"} <= set(tags["x"]["features"])
    assert {"literal-cast", "chained-filters"} <= set(tags["x"]["anti_patterns"])
    assert tags["clean"] == {"features": ["select"], "anti_patterns": []}


def test_a_build_cut_inside_its_first_unit_says_why_it_has_no_qa(tmp_path: Path) -> None:
    """qa answers come after a unit's pair records: a tiny build has none yet. It used to
    say qa was not registered (the cut unit's counters were not kept)."""
    _needs_engines()
    if "qa" not in get_plugin_manager().registries.tasks:
        pytest.skip("ibert-tasks-docs (the qa task) is not installed here")
    stats = run_build(tmp_path / "tiny", "--n", "2", "--seed", "3",
                      "--tasks", "sql_to_ibis,qa")
    assert stats["units"] == 0 and not stats["by_task"].get("qa")
    assert NOTES_QA_LATER in stats["notes"] and NOTES_QA not in stats["notes"]


def test_a_build_whose_units_add_nothing_stops_instead_of_running_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Units that only repeat kept records (here: the manifest lost, so unit 0 runs again)
    used to loop for ever when no more distinct records can come; a streak of empty units
    now stops the build with what is written kept."""
    _needs_engines()
    from ibert_core.errors import BadInput
    from ibert_tasks_sql.corpus import build as build_mod
    from ibert_tasks_sql.corpus.pipeline import BuildConfig

    config = BuildConfig(seed=3, tasks=("sql_to_ibis",), augment=False, validator_workers=1)
    out = tmp_path / "c"
    build_mod.build(out, 10**6, config, stop_after_units=1)
    kept = {r.id for r in records(out)}
    (out / "manifest.json").unlink()
    monkeypatch.setattr(build_mod, "BARREN_UNITS", 1)
    with pytest.raises(BadInput, match="added no record"):
        build_mod.build(out, 10**6, config, stop_after_units=5)
    assert {r.id for r in records(out)} == kept
