"""`ibert run code_completion` / `ibert run error_resolution` through the console entry
point: the task options reach the handlers and exit codes follow the verdict."""

from __future__ import annotations

import json

import pytest

from ibert_core.cli import main

#: Each invocation starts its own validator pool (and semgrep for the groupby fix).
pytestmark = pytest.mark.slow

SCHEMA_YAML = "orders:\n  id: int64\n  category: string\n  price: float64\n"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


def test_cli_completion_json_with_n_and_cursor(tmp_path, capsys) -> None:
    schema = tmp_path / "shop.yaml"
    schema.write_text(SCHEMA_YAML)
    code, out, _ = run(["run", "code_completion", "expr = orders.pr.sum()", "--schema",
                        str(schema), "--cursor", "1:16", "--n", "2", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["verified"]
    assert data["answer"] == "expr = orders.price.sum()"
    assert data["extra"]["completions"][0]["text"] == "price"
    assert len(data["extra"]["completions"]) <= 2


def test_cli_error_resolution_exit_codes(tmp_path, capsys) -> None:
    schema = tmp_path / "shop.yaml"
    schema.write_text(SCHEMA_YAML)
    code, out, _ = run(["run", "error_resolution", 'orders.groupby("category").count()',
                        "--schema", str(schema)], capsys)
    assert code == 0 and out.strip() == 'orders.group_by("category").count()'
    code, out, err = run(["run", "error_resolution", "orders.filter(orders.zzz > 1)",
                          "--schema", str(schema), "--error", "column zzz is missing"], capsys)
    assert code == 1 and "NOT VERIFIED" in err
