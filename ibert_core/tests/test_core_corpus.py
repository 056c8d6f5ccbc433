from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

from ibert_core.cli import make_cli
from ibert_core.corpus import CorpusWriter, corpus_stats, read_examples, write_atomic
from ibert_core.errors import BadInput
from ibert_core.plugins import get_plugin_manager
from ibert_core.types import Example


def ex(i: int) -> Example:
    return Example(
        id=f"e{i}",
        task="sql_to_ibis",
        input={"sql": f"select {i}"},
        target={"ibis": f"expr = {i}"},
        context={"tables": {"t": {"a": "int64"}}},
        meta={"split": "train"},
        verdict={"passed": ["parse"]},
    )


def test_resume_after_a_kill_mid_write(tmp_path):
    path = tmp_path / "train.jsonl"
    with CorpusWriter(path) as w:
        assert w.write(ex(1)) and w.write(ex(2))
    with path.open("a") as fh:  # a process killed mid-line leaves a torn record
        fh.write(json.dumps(ex(3).to_dict())[:20])
    assert [e.id for e in read_examples(path)] == ["e1", "e2"]
    with CorpusWriter(path) as w:
        assert "e1" in w
        assert not w.write(ex(2))
        assert w.write(ex(3))
    assert [e.id for e in read_examples(path)] == ["e1", "e2", "e3"]
    assert next(read_examples(path)) == ex(1)


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path):
    """A one-line corpus written by hand (or a run killed between a record and its
    newline) has no newline at the end: the record is whole, not torn."""
    path = tmp_path / "hand.jsonl"
    path.write_text(json.dumps(ex(1).to_dict()) + "\n" + json.dumps(ex(2).to_dict()))
    assert [e.id for e in read_examples(path)] == ["e1", "e2"]
    with CorpusWriter(path) as w:  # appending goes on a line of its own
        assert "e2" in w and w.write(ex(3))
    assert [e.id for e in read_examples(path)] == ["e1", "e2", "e3"]


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "d" / "val.jsonl"
    assert write_atomic(path, [ex(1), ex(2)]) == 2
    assert write_atomic(path, [ex(5)]) == 1
    assert [e.id for e in read_examples(path)] == ["e5"]
    assert [p.name for p in path.parent.iterdir()] == ["val.jsonl"]
    old = os.umask(0o022)
    try:
        write_atomic(path, [ex(6)])
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_garbage_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(ex(1).to_dict()) + "\nnot json\n")
    with pytest.raises(BadInput, match="x.jsonl:2 is not a corpus record"):
        list(read_examples(path))
    path.write_text("[1, 2]\n")
    with pytest.raises(BadInput, match="x.jsonl:1 is not a corpus record .a JSON list"):
        list(read_examples(path))


def test_stats_by_split_and_task(tmp_path):
    write_atomic(tmp_path / "train.jsonl", [ex(1), ex(2)])
    write_atomic(tmp_path / "test.jsonl", [Example(id="q", task="qa", input={}, target={})])
    assert corpus_stats(tmp_path) == {
        "total": 3,
        "by_split": {"test": {"qa": 1}, "train": {"sql_to_ibis": 2}},
    }
    out = CliRunner().invoke(
        make_cli(lambda: get_plugin_manager(False)), ["data", "stats", str(tmp_path)]
    )
    assert out.output == "3 records\n  test: 1 (qa 1)\n  train: 2 (sql_to_ibis 2)\n"
