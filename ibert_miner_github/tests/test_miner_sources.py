"""Sources: shallow clones through file:// URLs, cache reuse, repos.txt, safe walking."""

from __future__ import annotations

import pytest

from ibert_core.errors import BadInput, UnknownNameError
from ibert_miner_github.licenses import license_from_text, license_of_metadata
from ibert_miner_github.limits import MineLimits
from ibert_miner_github.sources import (
    FileItem,
    Skipped,
    Source,
    clone,
    git_tree,
    package_tree,
    parse_repos_file,
    walk_files,
)

SUFFIXES = (".py", ".ipynb", ".md", ".qmd", ".rst")


def test_clone_records_commit_and_license(origin_repo, cache):
    tree = git_tree(Source("git", origin_repo["url"]), MineLimits())
    assert tree.commit == origin_repo["commit"]
    assert tree.license == "MIT"
    assert tree.repo == origin_repo["url"]
    assert (tree.root / "src" / "analysis.py").is_file()
    assert tree.root.parent == cache


def test_clone_is_reused_from_the_cache(origin_repo, cache):
    first, _ = clone(origin_repo["url"], MineLimits())
    marker = first / "marker.txt"
    marker.write_text("kept")
    second, commit = clone(origin_repo["url"], MineLimits())
    assert second == first and marker.exists()  # not cloned again
    assert commit == origin_repo["commit"]


def test_bad_url_is_a_bad_input(tmp_path, cache):
    with pytest.raises(BadInput, match="git clone failed"):
        clone((tmp_path / "missing").as_uri(), MineLimits())


def test_walk_skips_symlinks_out_of_tree_large_and_binary_files(origin_repo, cache):
    tree = git_tree(Source("git", origin_repo["url"]), MineLimits())
    items = list(walk_files(tree, MineLimits(max_file_bytes=100_000), SUFFIXES))
    skipped = {i.path: i.reason for i in items if isinstance(i, Skipped)}
    read = {i.path for i in items if isinstance(i, FileItem)}
    assert skipped["src/secret.py"] == "symlink_outside_tree"
    assert skipped["docs/linked"] == "symlink_outside_tree"  # a directory: never entered
    assert skipped["src/big.py"] == "too_large"
    assert skipped["src/blob.py"] == "binary"
    assert read == {"src/analysis.py", "notebooks/demo.ipynb", "docs/guide.qmd"}
    assert not any("hunter2" in i.text for i in items if isinstance(i, FileItem))


def test_repo_and_file_limits_stop_reading(origin_repo, cache):
    tree = git_tree(Source("git", origin_repo["url"]), MineLimits())
    items = list(walk_files(tree, MineLimits(max_repo_bytes=1000), SUFFIXES))
    assert any(isinstance(i, Skipped) and i.reason == "repo_limit" for i in items)
    items = list(walk_files(tree, MineLimits(max_files=1), SUFFIXES))
    assert sum(isinstance(i, FileItem) for i in items) == 1


def test_sub_directories_restrict_the_walk(origin_repo, cache):
    source = Source("git", origin_repo["url"], dirs=("docs",))
    tree = git_tree(source, MineLimits())
    read = [i.path for i in walk_files(tree, MineLimits(), SUFFIXES) if isinstance(i, FileItem)]
    assert read == ["docs/guide.qmd"]


def test_repos_file_format(tmp_path):
    listing = tmp_path / "repos.txt"
    listing.write_text(
        "# seed repositories\n"
        "https://example.org/a.git|alpha|docs,examples\n"
        "\n"
        "https://example.org/b.git  # trailing comment\n"
        "https://example.org/c.git|gamma\n"
    )
    sources = parse_repos_file(listing)
    assert [(s.location, s.name, s.dirs) for s in sources] == [
        ("https://example.org/a.git", "alpha", ("docs", "examples")),
        ("https://example.org/b.git", None, ()),
        ("https://example.org/c.git", "gamma", ()),
    ]


def test_package_tree_of_ibis():
    tree = package_tree(Source("package", "ibis-framework"), MineLimits())
    assert tree.license == "Apache-2.0"
    assert tree.repo == "pypi:ibis-framework"
    assert tree.commit and tree.commit[0].isdigit()
    assert "ibis/expr/types/strings.py" in (tree.files or ())


def test_unknown_package_suggests_the_closest():
    with pytest.raises(UnknownNameError) as err:
        package_tree(Source("package", "ibis-framewrk"), MineLimits())
    assert err.value.suggestion == "ibis-framework"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apache License\nVersion 2.0, January 2004", "Apache-2.0"),
        ("Permission is hereby granted, free of charge, to any person", "MIT"),
        ("Redistribution and use in source and binary forms ... Neither the name", "BSD-3-Clause"),
        ("GNU GENERAL PUBLIC LICENSE\n Version 3, 29 June 2007", "GPL-3.0"),
        ("All rights reserved.", "unknown"),
    ],
)
def test_license_matching(text, expected):
    assert license_from_text(text) == expected


def test_license_from_metadata_classifier():
    classifiers = ["License :: OSI Approved :: MIT License"]
    assert license_of_metadata(None, None, classifiers) == "MIT"
    assert license_of_metadata("BSD-3-Clause", None, classifiers) == "BSD-3-Clause"


def test_parse_timeout_interrupts_a_runaway_parse():
    import time

    from ibert_miner_github.limits import MineTimeout, time_limit

    started = time.perf_counter()
    with pytest.raises(MineTimeout), time_limit(0.2):
        while True:
            pass
    assert time.perf_counter() - started < 2


def test_a_file_over_the_parse_timeout_is_skipped_and_the_walk_goes_on(tmp_path, mine_context):
    from ibert_miner_github.pipeline import run

    (tmp_path / "huge.py").write_text("x = (" + "1 + " * 200_000 + "1)\n")
    (tmp_path / "ok.py").write_text(
        "import ibis\nt = ibis.table({'a': 'int64'}, name='t')\nexpr = t.a.sum()\n"
    )
    summary = run(
        mine_context,
        [Source("path", str(tmp_path))],
        tmp_path / "out",
        MineLimits(parse_timeout=0.05, max_file_bytes=2_000_000),
    )
    assert (
        summary["files_skipped"].get("parse_timeout", 0)
        + summary["files_skipped"].get("parse_error", 0)
        == 1
    )
    assert summary["per_extractor"]["snippet"]["validated"] == 1


def test_clone_timeout_is_reported(origin_repo, tmp_path):
    with pytest.raises(BadInput, match="timed out"):
        clone(origin_repo["url"], MineLimits(clone_timeout=0.001), cache=tmp_path / "c")
    assert not list((tmp_path / "c").glob("*/.git"))  # no half clone left to be reused


@pytest.mark.parametrize(
    "url",
    ["ext::sh -c touch% /tmp/ibert-miner-ext-pwned", "--upload-pack=touch /tmp/ibert-miner-up"],
)
def test_urls_that_would_run_commands_are_refused(url, tmp_path):
    from pathlib import Path

    with pytest.raises(BadInput):
        clone(url, MineLimits(), cache=tmp_path)
    assert not Path("/tmp/ibert-miner-ext-pwned").exists()
    assert not Path("/tmp/ibert-miner-up").exists()


def test_an_editable_distribution_is_read_from_its_source_tree():
    import json
    from importlib import metadata
    from pathlib import Path

    dist = metadata.distribution("ibert-miner-github")
    info = json.loads(dist.read_text("direct_url.json") or "{}")
    tree = package_tree(Source("package", "ibert-miner-github"), MineLimits())
    if (info.get("dir_info") or {}).get("editable"):
        assert tree.files is None and (tree.root / "src" / "ibert_miner_github").is_dir()
    else:
        assert "ibert_miner_github/sources.py" in (tree.files or ())
    assert tree.license == "Apache-2.0" and tree.repo == "pypi:ibert-miner-github"
    assert Path(tree.root).is_dir()
