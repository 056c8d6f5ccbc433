"""End to end in process: a git repo mined into validated records with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ibert_core.corpus import read_examples
from ibert_miner_github.limits import MineLimits
from ibert_miner_github.pipeline import run
from ibert_miner_github.sources import Source

LIMITS = MineLimits(max_file_bytes=100_000)


@pytest.fixture(scope="module")
def mined(origin_repo, mine_context, tmp_path_factory):
    import os

    out = tmp_path_factory.mktemp("mined")
    before = os.environ.get("IBERT_CACHE_DIR")
    os.environ["IBERT_CACHE_DIR"] = str(out / "cache")
    try:
        summary = run(mine_context, [Source("git", origin_repo["url"])], out / "corpus", LIMITS)
    finally:
        if before is None:
            os.environ.pop("IBERT_CACHE_DIR")
        else:
            os.environ["IBERT_CACHE_DIR"] = before
    return summary, out / "corpus", origin_repo


def _records(out: Path):
    return list(read_examples(out / "mined.jsonl"))


def test_summary_counts_files_candidates_and_skips(mined):
    summary, out, _ = mined
    assert summary == json.loads((out / "summary.json").read_text())
    assert summary["files_read"] == 3
    assert summary["files_skipped"] == {"symlink_outside_tree": 2, "too_large": 1, "binary": 1}
    per = summary["per_extractor"]
    assert per["sql_pair"]["validated"] == 1
    assert per["doc_pair"]["validated"] == 2  # the notebook and the Quarto doc
    assert per["function"]["validated"] == 1
    assert summary["kept"] == len(_records(out))


def test_sql_pair_record_with_provenance(mined, sample_files):
    _, out, origin = mined
    records = [r for r in _records(out) if r.meta["extractor"] == "sql_pair"]
    tasks = sorted(r.task for r in records)
    assert tasks == ["ibis_to_sql", "sql_to_ibis"]
    record = next(r for r in records if r.task == "sql_to_ibis")
    assert record.input["sql"].startswith("SELECT region, SUM(amount)")
    assert "orders.filter" in record.target["code"] and "con" not in record.target["code"]
    prov = record.provenance
    assert prov["repo"] == origin["url"] and prov["commit"] == origin["commit"]
    assert prov["license"] == "MIT" and prov["path"] == "src/analysis.py"
    line = sample_files["analysis"].splitlines()[prov["lines"][0] - 1]
    assert line.strip().startswith("expr = orders.filter(")
    assert record.meta["schema_inferred"] is True
    assert record.context["tables"]["orders"] == {"amount": "int64", "region": "string"}
    assert record.verdict["passed"] is True and record.verdict["stages"]["compare"] is True


def test_doc_pairs_from_notebook_and_quarto(mined):
    _, out, _ = mined
    pairs = [r for r in _records(out) if r.meta["extractor"] == "doc_pair"]
    paths = {r.provenance["path"] for r in pairs}
    assert paths == {"notebooks/demo.ipynb", "docs/guide.qmd"}
    nb = next(r for r in pairs if r.provenance["path"].endswith(".ipynb"))
    assert nb.provenance["cell"] == 3 and nb.provenance["lines"] == [1, 1]
    assert nb.meta["schema_inferred"] is False
    assert nb.context["tables"] == {"t": {"a": "int64", "b": "string"}}


def test_function_gives_completion_and_documentation(mined):
    _, out, _ = mined
    records = [r for r in _records(out) if r.meta["extractor"] == "function"]
    by_task = {r.task: r for r in records}
    assert set(by_task) == {"code_completion", "documentation"}
    completion = by_task["code_completion"]
    assert completion.input["prefix"] + completion.target["rest"] == (completion.target["code"])
    assert completion.target["rest"].startswith(".order_by(")
    doc = by_task["documentation"]
    assert doc.target["docstring"] == "The customers with the most orders, most first."
    assert "most first" not in doc.input["code"]


def test_mined_code_is_never_executed(mined):
    assert not Path("/tmp/ibert-miner-was-executed").exists()


def test_rerun_resumes_without_duplicates(mined, mine_context, monkeypatch):
    summary, out, origin = mined
    monkeypatch.setenv("IBERT_CACHE_DIR", str(out.parent / "cache"))
    before = (out / "mined.jsonl").read_text()
    again = run(mine_context, [Source("git", origin["url"])], out, LIMITS)
    assert again["kept"] == 0 and again["validated"] == 0
    assert again["already_judged"] == summary["validated"] + sum(
        n for k, n in summary["failures"].items() if not k.startswith("rewrite:")
    )
    assert (out / "mined.jsonl").read_text() == before


def test_against_an_existing_corpus_and_a_failing_repo(mined, mine_context, tmp_path, monkeypatch):
    _, out, origin = mined
    monkeypatch.setenv("IBERT_CACHE_DIR", str(out.parent / "cache"))
    sources = [Source("git", (tmp_path / "nope").as_uri()), Source("git", origin["url"])]
    summary = run(mine_context, sources, tmp_path / "new", LIMITS, against=out)
    assert summary["kept"] == 0 and summary["duplicates"] > 0
    failed, ok = summary["sources"]
    assert "git clone failed" in failed["error"] and ok["files"] == 3


USER_SCRIPT = '''import ibis
from ibis import _

con = ibis.duckdb.connect("data.ddb")
orders = con.table("orders")
customers = con.table("customers")


def big_spenders(min_total=100):
    """Customers whose total spend exceeds min_total, biggest first."""
    joined = orders.join(customers, orders.customer_id == customers.id)
    return joined.group_by(customers.name).agg(total=_.amount.sum()).filter(_.total > min_total)


shipped = orders.filter(_.status == "shipped").count()
print(shipped.execute())

sql = """
SELECT c.name, SUM(o.amount) AS total
FROM orders o JOIN customers c ON o.customer_id = c.id
GROUP BY c.name
"""
df = con.sql(sql).to_pandas()
expr = orders.join(customers, orders.customer_id == customers.id).group_by(customers.name).agg(
    total=orders.amount.sum()
)
'''


def test_a_typical_script_with_module_level_tables(tmp_path, mine_context):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "report.py").write_text(USER_SCRIPT)
    summary = run(mine_context, [Source("path", str(tmp_path / "src"))], tmp_path / "out")
    assert summary["per_extractor"]["sql_pair"]["validated"] == 1
    assert summary["per_extractor"]["function"]["validated"] == 1
    records = {(r.task, r.meta["extractor"]): r for r in _records(tmp_path / "out")}
    pair = records[("sql_to_ibis", "sql_pair")]
    code = pair.target["code"]
    assert "con" not in code and "shipped" not in code and "sql =" not in code  # only what it needs
    assert set(pair.context["tables"]) == {"orders", "customers"}
    completion = records[("code_completion", "function")]
    assert completion.target["code"].startswith("min_total = 100\n")  # a default, not a table


def test_deleting_the_records_starts_over(mined, mine_context, tmp_path, monkeypatch):
    import shutil

    summary, out, origin = mined
    monkeypatch.setenv("IBERT_CACHE_DIR", str(out.parent / "cache"))
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "mined.jsonl").unlink()
    again = run(mine_context, [Source("git", origin["url"])], copy, LIMITS)
    assert again["already_judged"] == 0 and again["kept"] == summary["kept"]
