"""Feature and anti-pattern tags from semgrep rules (`rules/ibis_tags.yaml`), in one batch.

Semgrep starts slowly (seconds), so the whole corpus is tagged in one call after the records
are written: every distinct verified Ibis program goes to a temporary folder, semgrep scans it
once, and each record gets the tags of its pair's program under `meta.semgrep`. Without a
semgrep executable the records keep only the tags read off the Ibis AST (`meta.features`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path

from ibert_core.corpus import read_examples, write_atomic
from ibert_core.types import Example

NOT_INSTALLED = "semgrep is not installed: features are tagged from the Ibis AST only"


def executable() -> str | None:
    here = Path(sys.executable).parent / "semgrep"
    return str(here) if here.exists() else shutil.which("semgrep")


def rules_path() -> Path:
    return Path(str(resources.files("ibert_tasks_sql.corpus") / "rules" / "ibis_tags.yaml"))


def tag_programs(
    programs: Mapping[str, str], timeout: float = 1800.0
) -> dict[str, dict[str, list[str]]] | None:
    """`{key: {"features": [...], "anti_patterns": [...]}}`, or None without semgrep."""
    exe = executable()
    if exe is None:
        return None
    out: dict[str, dict[str, set[str]]] = {
        k: {"features": set(), "anti_patterns": set()} for k in programs
    }
    with tempfile.TemporaryDirectory(prefix="ibert-semgrep-") as tmp:
        names: dict[str, str] = {}
        for i, (key, code) in enumerate(programs.items()):
            name = f"p{i}.py"
            Path(tmp, name).write_text(code, encoding="utf-8")
            names[name] = key
        cmd = [
            exe,
            "scan",
            "--config",
            str(rules_path()),
            "--json",
            "--quiet",
            "--metrics",
            "off",
            "--disable-version-check",
            "--no-git-ignore",
            "--oss-only",
            tmp,
        ]
        env = {**os.environ, "SEMGREP_SEND_METRICS": "off"}
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if done.returncode not in (0, 1) or not done.stdout.strip():
            raise RuntimeError(f"semgrep failed ({done.returncode}): {done.stderr.strip()[:500]}")
        for result in json.loads(done.stdout).get("results", []):
            owner = names.get(Path(result["path"]).name)
            if owner is None:
                continue
            rule = result["check_id"].rsplit(".", 1)[-1]
            kind, _, tag = rule.partition("-")
            out[owner]["features" if kind == "feature" else "anti_patterns"].add(tag)
    return {k: {f: sorted(v) for f, v in d.items()} for k, d in out.items()}


def _code(ex: Example) -> str:
    """The verified Ibis program of a record: its pair's, or (mined records) its own."""
    pair_code = (ex.meta.get("pair") or {}).get("code")
    return str(pair_code or ex.target.get("code") or ex.input.get("code") or "")


def tag_corpus(folder: Path, files: tuple[str, ...]) -> str | None:
    """Add `meta.semgrep` to every record lacking it; files are rewritten atomically, streaming
    (a large corpus is never held in memory).

    Returns a note for stats.json when tagging was not possible, else None.
    """
    paths = [folder / name for name in files if (folder / name).exists()]
    programs: dict[str, str] = {}
    untagged = set()
    for path in paths:
        for ex in read_examples(path):
            if "semgrep" not in ex.meta:
                programs.setdefault(_code(ex), _code(ex))
                untagged.add(path)
    if not programs:
        return None
    try:
        tags = tag_programs(programs)
    except (RuntimeError, OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as err:
        return f"semgrep tagging failed ({err}); features are tagged from the Ibis AST only"
    if tags is None:
        return NOT_INSTALLED

    def tagged(path: Path) -> Iterator[Example]:
        for ex in read_examples(path):
            if "semgrep" not in ex.meta:
                meta = {**ex.meta, "semgrep": tags[_code(ex)]}
                ex = Example.from_dict({**ex.to_dict(), "meta": meta})
            yield ex

    for path in paths:
        if path in untagged:
            write_atomic(path, tagged(path))
            os.chmod(path, 0o644)  # write_atomic's temporary file is private (0600)
    return None
