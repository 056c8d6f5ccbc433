"""`ibert data build` / `ibert data validate` given bad input, as a user types them.

Through the console entry point (`ibert_core.cli.main`) with the installed plugins, so the
exit codes and the one-line errors are the ones a user sees. The two builds that used to
run forever go through a subprocess with a timeout, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ibert_core.testing import assert_usage_error
from ibert_core.types import Example


def _subprocess(args: list[str], env: dict[str, str] | None = None) -> Any:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IBERT_")}
    return subprocess.run(
        [sys.executable, "-m", "ibert_core", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=30,
        check=False,
    )


def test_tasks_naming_no_task_is_refused_not_built_forever(tmp_path: Path) -> None:
    done = _subprocess(["data", "build", "--out", str(tmp_path / "c"), "--n", "5", "--tasks", ","])
    assert done.returncode == 2, done
    assert done.stderr == (
        "ibert: error: --tasks names no task; choose from sql_to_ibis, ibis_to_sql, "
        "code_completion, error_resolution, documentation, qa\n"
    )


def test_only_qa_without_the_qa_task_is_refused_not_built_forever(tmp_path: Path) -> None:
    done = _subprocess(
        ["data", "build", "--out", str(tmp_path / "c"), "--n", "5", "--tasks", "qa"],
        env={"IBERT_LOAD_PLUGINS": "tasks_sql,duckdb"},
    )
    assert done.returncode == 2, done
    assert done.stderr.startswith("ibert: error: --tasks qa needs the qa task"), done.stderr
    assert "pip install ibert-tasks-docs" in done.stderr


def test_an_out_that_cannot_be_created_is_said_before_any_work(
    ibert_cli: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_usage_error(
        ibert_cli("data", "build", "--out", str(blocker / "corpus"), "--n", "5"),
        f"cannot create --out {blocker / 'corpus'}",
    )


def test_a_damaged_manifest_is_a_usage_error(ibert_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{torn")
    assert_usage_error(
        ibert_cli("data", "build", "--out", str(tmp_path), "--n", "5"),
        f"{tmp_path / 'manifest.json'} is damaged",
    )


def test_validating_an_empty_corpus_is_a_usage_error(ibert_cli: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert_usage_error(ibert_cli("data", "validate", str(empty)), f"{empty} holds no records")


def _corpus(tmp_path: Path) -> Path:
    record = Example(
        id="r1",
        task="sql_to_ibis",
        input={"sql": "SELECT a FROM t WHERE a > 1"},
        target={"code": "expr = t.filter(t.a > 1).select('a')"},
        context={"tables": {"t": {"a": "int64"}}},
    )
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps(record.to_dict()) + "\n")
    return corpus


def test_validate_shows_progress_on_a_terminal_and_only_json_on_stdout(tmp_path: Path) -> None:
    import pty

    master, slave = pty.openpty()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IBERT_")}
    args = ["data", "validate", str(_corpus(tmp_path)), "--json", "--workers", "1"]
    with subprocess.Popen(
        [sys.executable, "-m", "ibert_core", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=clean,
    ) as proc:
        os.close(slave)
        out = proc.communicate(timeout=60)[0]
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert proc.returncode == 0, err
    assert json.loads(out)["passed"] == 1
    assert b"checked records" in err and b"1/1" in err, err


def test_validate_without_a_terminal_writes_no_bar(ibert_cli: Any, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    code, out, err = ibert_cli("data", "validate", str(corpus), "--json", "--workers", "1")
    assert (code, err) == (0, "")
    assert json.loads(out)["passed"] == 1
    code, out, err = ibert_cli("data", "validate", str(corpus), "--quiet", "--workers", "1")
    assert (code, out, err) == (0, "1 passed, 0 failed, 0 skipped\n", "")
