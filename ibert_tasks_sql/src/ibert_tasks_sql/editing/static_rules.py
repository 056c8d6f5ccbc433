"""Static fix rules: the semgrep rules shipped in `rules/`, run in one semgrep call per batch.

Semgrep costs seconds to start, so a batch of programs is written to one temporary
directory and scanned at once (`--metrics off`, offline). Programs that contain none of a
rule's keywords are not scanned at all. When semgrep is not installed the static rules
are skipped with a note; the dynamic rules, driven by ibis's own errors, still apply.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import yaml

from ibert_tasks_sql.editing.edits import Change, Edit, changes_from

RULES_PACKAGE = "ibert_tasks_sql.editing.rules"


@attrs.frozen
class Finding:
    rule: str
    message: str
    edit: Edit | None


@functools.lru_cache(maxsize=1)
def rule_files() -> tuple[Path, ...]:
    root = resources.files(RULES_PACKAGE)
    return tuple(Path(str(p)) for p in root.iterdir() if str(p).endswith((".yaml", ".yml")))


@functools.lru_cache(maxsize=1)
def rule_keywords() -> Mapping[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for path in rule_files():
        for rule in yaml.safe_load(path.read_text())["rules"]:
            out[rule["id"]] = tuple(rule.get("metadata", {}).get("keywords", ()))
    return out


def may_match(code: str) -> bool:
    """Whether any rule's keywords occur in `code` (else semgrep cannot find anything)."""
    return any(
        not words or any(w in code for w in words) for words in rule_keywords().values()
    )


def find_semgrep(config: Mapping[str, Any] | None = None) -> str | None:
    """`config["semgrep"]`, `$IBERT_SEMGREP`, the one next to this Python, or on PATH."""
    config = config or {}
    explicit = config.get("semgrep") or os.environ.get("IBERT_SEMGREP")
    if explicit:
        return str(explicit) if Path(str(explicit)).exists() else None
    sibling = Path(sys.executable).parent / "semgrep"
    if sibling.exists():
        return str(sibling)
    return shutil.which("semgrep")


class SemgrepUnavailable(RuntimeError):
    pass


def scan(codes: Sequence[str], config: Mapping[str, Any] | None = None,
         timeout: float = 120.0) -> list[list[Finding]]:
    """Findings per program, in input order; one semgrep process for the whole batch."""
    results: list[list[Finding]] = [[] for _ in codes]
    todo = [i for i, c in enumerate(codes) if may_match(c)]
    if not todo:
        return results
    exe = find_semgrep(config)
    if exe is None:
        raise SemgrepUnavailable(
            "semgrep is not installed; `pip install semgrep` to enable the static fix rules"
        )
    with tempfile.TemporaryDirectory(prefix="ibert-semgrep-") as tmp:
        for i in todo:
            Path(tmp, f"snippet_{i}.py").write_text(codes[i], encoding="utf-8")
        cmd = [exe, "scan", "--metrics", "off", "--json", "--quiet", "--disable-version-check",
               "--no-git-ignore", "--oss-only"]
        for path in rule_files():
            cmd += ["--config", str(path)]
        cmd.append(tmp)
        env = dict(os.environ, SEMGREP_SEND_METRICS="off", SEMGREP_ENABLE_VERSION_CHECK="0")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=tmp, check=False)
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            raise SemgrepUnavailable(
                f"semgrep failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
            ) from None
    for item in report.get("results", []):
        index = int(Path(item["path"]).stem.split("_")[1])
        fix = item.get("extra", {}).get("fix")
        edit = Edit(item["start"]["offset"], item["end"]["offset"], fix) if fix is not None \
            else None
        rule = item["check_id"].rsplit(".", 1)[-1]
        results[index].append(Finding(rule, item["extra"].get("message", ""), edit))
    return results


def static_changes(code: str, findings: Sequence[Finding]) -> tuple[list[Edit], list[Change]]:
    """The autofix edits of `findings` and the change records describing them."""
    edits, changes = [], []
    for f in findings:
        if f.edit is None:
            continue
        edits.append(f.edit)
        changes.extend(changes_from(code, [f.edit], f.rule, f.message, engine="semgrep"))
    return edits, changes
