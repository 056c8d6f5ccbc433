"""`--package ibis-framework`: doctest examples of the installed ibis, validated offline."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from ibert_core.corpus import read_examples
from ibert_miner_github.pipeline import run
from ibert_miner_github.sources import Source

FILE = "ibis/expr/types/strings.py"


def test_ibis_docstring_examples_become_qa_and_completion(mine_context, tmp_path):
    source = Source("package", "ibis-framework", dirs=(FILE,))
    summary = run(mine_context, [source], tmp_path)
    assert summary["files_read"] == 1
    doctests = summary["per_extractor"]["doctest"]
    assert doctests["candidates"] >= 20
    assert doctests["validated"] >= doctests["candidates"] // 2
    records = list(read_examples(tmp_path / "mined.jsonl"))
    tasks = {r.task for r in records}
    assert {"qa", "code_completion", "documentation"} <= tasks
    text = Path(str(metadata.distribution("ibis-framework").locate_file(FILE))).read_text()
    lines = text.splitlines()
    for record in records:
        prov = record.provenance
        assert prov["repo"] == "pypi:ibis-framework" and prov["path"] == FILE
        assert prov["license"] == "Apache-2.0"
        assert prov["commit"] == metadata.version("ibis-framework")
        if record.task == "qa":
            assert lines[prov["lines"][0] - 1].lstrip().startswith(">>>")
            assert record.input["question"].startswith("How do I use `")
            assert record.verdict["passed"] and record.verdict["stages"]["execute"]
