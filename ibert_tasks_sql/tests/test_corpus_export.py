"""`ibert data export --format hf`: a real `datasets` DatasetDict that loads back record for
record, written atomically, with one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ibert_core.corpus import read_examples, write_atomic
from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.types import Example
from ibert_tasks_sql.corpus import export as export_mod
from ibert_tasks_sql.corpus.export import example_from_row, export, export_command

datasets = pytest.importorskip("datasets")

ROOT = Path(__file__).resolve().parents[2]


def _example(i: int, task: str, split: str) -> Example:
    """Records whose nested fields differ by task, as in a real corpus: other keys, mixed
    value types under the same key, NULLs, unicode, floats, nested lists."""
    if task == "sql_to_ibis":
        return Example(
            id=f"{split}-{i}",
            task=task,
            input={"sql": f"SELECT a FROM t WHERE b > {i}", "schema": {"t": {"a": "!int64"}}},
            target={"ibis": f"expr = t.filter(t.b > {i}).select('a')"},
            dialect="duckdb",
            backend="duckdb",
            ibis_version="12.0.0",
            context={"domain": "shop", "rows": [[1, None, 2.5], []]},
            meta={"split": split, "difficulty": i % 3, "features": ["filter", "select"]},
            provenance={"source": "template", "template": "where_basic", "seed": i},
            verdict={"passed": True, "stages": [{"name": "parse", "ok": True, "duration": 0.1}]},
        )
    return Example(
        id=f"{split}-{i}",
        task=task,
        input={"code": "expr = t.select('é ✓ \"q\"')", "prefix": "expr = t.", "weird": None},
        target={"rest": "select('a')", "difficulty": "hard", "score": 1e-300},
        dialect=None,
        meta={"split": split, "difficulty": "hard", "big": 2**62, "nested": {"x": {"y": [1]}}},
        provenance={},
        verdict={"passed": True, "score": 0.123456789012345678},
    )


def _corpus(root: Path, sizes: dict[str, int]) -> Path:
    tasks = ("sql_to_ibis", "code_completion")
    for split, size in sizes.items():
        examples = (_example(i, tasks[i % 2], split) for i in range(size))
        write_atomic(root / f"{split}.jsonl", examples)
    return root


def _loaded(out: Path) -> dict[str, list[dict[str, object]]]:
    dd = datasets.load_from_disk(str(out))
    return {name: list(dd[name]) for name in dd}


def _assert_round_trip(corpus: Path, out: Path) -> None:
    loaded = _loaded(out)
    expected_splits = [s for s in ("train", "val", "test") if (corpus / f"{s}.jsonl").exists()]
    assert sorted(loaded) == sorted(expected_splits)
    for split in expected_splits:
        originals = list(read_examples(corpus / f"{split}.jsonl"))
        rows = loaded[split]
        assert len(rows) == len(originals)
        for row, original in zip(rows, originals, strict=True):
            back = example_from_row(row)
            assert back == original
            assert back.to_dict() == original.to_dict()
            # the JSONL line itself, byte for byte after the same serialization
            assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(
                original.to_dict(), sort_keys=True
            )


def test_export_round_trips_every_record(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", {"train": 7, "val": 3, "test": 0})
    report = export(corpus, "hf", progress=False)
    out = corpus / "hf"
    assert report == {
        "format": "hf", "out": str(out), "splits": {"train": 7, "val": 3, "test": 0}, "total": 10
    }
    _assert_round_trip(corpus, out)
    dd = datasets.load_from_disk(str(out))
    assert set(dd["test"].features) == set(export_mod.COLUMNS)
    assert all(f.dtype == "string" for f in dd["train"].features.values())
    # a None scalar stays None (not the string "None"); mappings are JSON text
    row = dd["train"][1]
    assert row["dialect"] is None
    assert json.loads(row["meta"])["big"] == 2**62
    # nothing left beside OUT
    left = sorted(p.name for p in corpus.iterdir())
    assert left == ["hf", "test.jsonl", "train.jsonl", "val.jsonl"]


def test_missing_split_files_are_left_out_and_torn_tail_ignored(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", {"test": 4})
    with (corpus / "test.jsonl").open("a") as fh:
        fh.write('{"id": "torn", "task": "qa"')  # a killed build's last line
    out = tmp_path / "elsewhere" / "ds"
    report = export(corpus, "hf", out, progress=False)
    assert report["splits"] == {"test": 4}
    assert [r["id"] for r in _loaded(out)["test"]] == [f"test-{i}" for i in range(4)]
    _assert_round_trip(corpus, out)


def test_reexport_replaces_previous_dataset(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", {"train": 5, "val": 2})
    out = tmp_path / "ds"
    export(corpus, "hf", out, progress=False)
    _corpus(corpus, {"train": 3, "test": 2})  # rebuilt corpus: fewer rows, a test split
    export(corpus, "hf", out, progress=False)
    loaded = _loaded(out)
    assert {k: len(v) for k, v in loaded.items()} == {"train": 3, "val": 2, "test": 2}
    _assert_round_trip(corpus, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "ds"]


def test_failed_export_leaves_previous_dataset_intact(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", {"train": 4, "val": 2})
    out = tmp_path / "ds"
    export(corpus, "hf", out, progress=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # the next export dies on its last split, after train and val were already written
    _corpus(corpus, {"train": 9})
    good = '{"id": "x", "task": "qa", "input": {}, "target": {}}'
    (corpus / "test.jsonl").write_text(good + "\n{not json\n")
    with pytest.raises(BadInput, match=r"test.jsonl:2 is not a corpus record"):
        export(corpus, "hf", out, progress=False)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert {k: len(v) for k, v in _loaded(out).items()} == {"train": 4, "val": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "ds"]  # no temp folder left


def test_errors_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BadInput, match="does not exist; build one with: ibert data build"):
        export(tmp_path / "missing", "hf")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.jsonl").write_text("")
    with pytest.raises(BadInput, match="holds none of train.jsonl, val.jsonl, test.jsonl"):
        export(tmp_path / "empty", "hf")
    corpus = _corpus(tmp_path / "c", {"train": 2})
    with pytest.raises(UnknownNameError, match="unknown export format 'hg'; did you mean 'hf'"):
        export(corpus, "hg")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(BadInput, match="is not a dataset saved by ibert data export"):
        export(corpus, "hf", tmp_path / "busy")
    assert (tmp_path / "busy" / "keep.txt").read_text() == "mine"
    with pytest.raises(BadInput, match="is not a dataset"):
        export(corpus, "hf", corpus)  # never rename the corpus itself away
    monkeypatch.setitem(sys.modules, "datasets", None)  # `import datasets` raises ImportError
    hint = r"needs the datasets package; pip install 'ibert-tasks-sql\[hf\]'"
    with pytest.raises(BadInput, match=hint):
        export(corpus, "hf")
    assert not (corpus / "hf").exists()


def test_progress_bar_on_stderr_for_large_corpora(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(tmp_path / "c", {"train": 6, "val": 2})
    monkeypatch.setattr(export_mod, "PROGRESS_MIN_RECORDS", 5)
    monkeypatch.setattr(export_mod, "BATCH_ROWS", 4)
    result = CliRunner().invoke(export_command, [str(corpus), "--format", "hf"])
    assert result.exit_code == 0, result.output
    assert "exporting records" in result.stderr
    assert json.loads(result.stdout)["total"] == 8
    quiet = CliRunner().invoke(export_command, [str(corpus), "--format", "hf", "--quiet"])
    assert quiet.exit_code == 0 and "exporting records" not in quiet.stderr
    _assert_round_trip(corpus, corpus / "hf")


def test_cli_subprocess_exports_and_reports_errors(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c", {"train": 3, "val": 1, "test": 2})
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ibert_core", "data", "export", str(corpus), "--format", "hf"]
    done = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["splits"] == {"train": 3, "val": 1, "test": 2}
    _assert_round_trip(corpus, out)

    bad = [sys.executable, "-m", "ibert_core", "data", "export", str(corpus), "--format", "parquet"]
    failed = subprocess.run(bad, capture_output=True, text=True, cwd=ROOT)
    assert failed.returncode == 2
    assert failed.stderr.strip().count("\n") == 0
    assert "unknown export format 'parquet'" in failed.stderr

    # a killed export's scratch folder beside OUT: OUT is untouched, the next export names it
    (tmp_path / ".out.abc123.tmp").mkdir()
    again = subprocess.run([*cmd, "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0, again.stderr
    assert ".out.abc123.tmp is left from a killed export; remove it" in again.stderr
    assert "notes" not in json.loads(again.stdout)


def test_datasets_not_imported_until_an_export_runs() -> None:
    code = (
        "import sys, ibert_tasks_sql.plugin, ibert_tasks_sql.corpus.export\n"
        "from ibert_core.cli import make_cli\n"
        "make_cli().main(['data', '--help'], standalone_mode=False)\n"
        "assert 'datasets' not in sys.modules, 'datasets imported eagerly'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "export" in done.stdout
