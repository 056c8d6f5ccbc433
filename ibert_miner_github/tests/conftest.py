"""A real git repository built in the test, cloned through a file:// URL (no network)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

MIT = """MIT License

Copyright (c) 2024 Test

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction.
"""

ANALYSIS = '''import ibis
import os


def revenue_by_region(con):
    """Revenue per region for orders over 10."""
    orders = con.table("orders")
    expr = orders.filter(orders.amount > 10).group_by("region").agg(total=orders.amount.sum())
    check = con.sql(
        "SELECT region, SUM(amount) AS total FROM orders WHERE amount > 10 GROUP BY region"
    )
    return expr


def top_customers(orders):
    """The customers with the most orders, most first."""
    return orders.group_by("customer_id").agg(n=orders.count()).order_by(ibis.desc("n"))


class Report:
    """A report over a table."""

    def rows(self):
        return self.table.count()


os.makedirs("/tmp/ibert-miner-was-executed", exist_ok=True)
'''

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Counting by kind\n"]},
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["t = 'OUTPUT'\n"]}],
            "source": [
                "import ibis\n",
                't = ibis.table({"a": "int64", "b": "string"}, name="t")\n',
            ],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 2,
            "outputs": [],
            "source": ["%%sql\n", "SELECT b, COUNT(*) AS n FROM t GROUP BY b\n"],
        },
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": 3,
            "outputs": [{"output_type": "execute_result", "data": {"text/plain": ["x"]}}],
            "source": ['expr = t.group_by("b").agg(n=t.count())\n'],
        },
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}

GUIDE = """---
title: Events
---

We set up an events table.

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


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="session")
def sample_files() -> dict[str, str]:
    """The texts the test repository holds, for parser tests."""
    return {"analysis": ANALYSIS, "notebook": json.dumps(NOTEBOOK), "guide": GUIDE}


@pytest.fixture(scope="session")
def origin_repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A repository with a LICENSE, a .py pair, a notebook, a .qmd doc, a symlink out of
    the tree, a large file and a binary file; returns its URL, path and commit."""
    base = tmp_path_factory.mktemp("origin")
    outside = base / "outside_secret.py"
    outside.write_text("password = 'hunter2'\n")
    repo = base / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "docs").mkdir()
    (repo / "LICENSE").write_text(MIT)
    (repo / "src" / "analysis.py").write_text(ANALYSIS)
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "demo.ipynb").write_text(json.dumps(NOTEBOOK, indent=1))
    (repo / "docs" / "guide.qmd").write_text(GUIDE)
    (repo / "src" / "secret.py").symlink_to(outside)
    (base / "outside_dir").mkdir()
    (base / "outside_dir" / "leak.py").write_text("import ibis\nexpr = ibis.literal(1) + 1\n")
    (repo / "docs" / "linked").symlink_to(base / "outside_dir", target_is_directory=True)
    (repo / "src" / "big.py").write_text("x = 1\n" * 40_000)  # 240 KB
    (repo / "src" / "blob.py").write_bytes(b"\x00\x01\x02binary\x00" * 100)
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "initial", cwd=repo)
    return {"url": repo.as_uri(), "path": repo, "commit": git("rev-parse", "HEAD", cwd=repo)}


@pytest.fixture(scope="session")
def mine_context():
    """One plugin context (and validator pool) for the whole session."""
    from ibert_core.plugins import make_context

    context = make_context()
    yield context
    context.close()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IBERT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "repos"
