"""Where mined code comes from: git repositories, local trees, installed distributions.

Each source resolves to a `Tree` (a root directory, the files to consider, and the
provenance every record carries: repo, commit, license). Git repositories are shallow
clones kept in a cache directory and reused; nothing here runs code from a source.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from importlib import metadata
from pathlib import Path

import attrs

from ibert_core.errors import BadInput, UnknownNameError
from ibert_miner_github.licenses import license_of_metadata, license_of_tree
from ibert_miner_github.limits import MineLimits


def _str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    """attrs converter: a bare `tuple` converter leaves mypy unable to infer the item type."""
    return tuple(items)

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ipynb_checkpoints",
        "site-packages",
        "build",
        "dist",
    }
)


@attrs.frozen
class Source:
    """One thing the user asked to mine: `kind` is git, path or package."""

    kind: str
    location: str
    name: str | None = None
    dirs: tuple[str, ...] = attrs.field(converter=_str_tuple, factory=tuple)

    @property
    def label(self) -> str:
        return self.name or self.location


@attrs.frozen
class Tree:
    """A resolved source: its root and the files to read, with their provenance."""

    source: Source
    root: Path
    repo: str
    commit: str | None
    license: str | None
    files: tuple[str, ...] | None = None  # relative paths; None: walk `root`

    def provenance(self) -> dict[str, object]:
        return {
            "source": self.source.kind,
            "repo": self.repo,
            "commit": self.commit,
            "license": self.license,
        }


@attrs.frozen
class FileItem:
    """A file that passed the safety checks, with its text."""

    path: str
    text: str


@attrs.frozen
class Skipped:
    """A file left out, and why (too_large, binary, not_utf8, symlink_outside_tree ...)."""

    path: str
    reason: str


# --- repos.txt -------------------------------------------------------------------------------


def parse_repos_file(path: str | Path) -> list[Source]:
    """`url|name|dirs` lines (name and comma-separated dirs optional), `#` comments."""
    sources = []
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        parts = [p.strip() for p in line.split("|")]
        url = parts[0]
        if not url:
            raise BadInput(f"{path}:{number} has no URL", "write lines as url|name|dir1,dir2")
        name = parts[1] if len(parts) > 1 and parts[1] else None
        dirs = tuple(d.strip() for d in parts[2].split(",") if d.strip()) if len(parts) > 2 else ()
        sources.append(Source("git", url, name, dirs))
    return sources


# --- git ---------------------------------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("IBERT_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "ibert"
    return root / "repos"


def _slug(url: str) -> str:
    tail = re.sub(r"[^A-Za-z0-9_.-]+", "_", url.rstrip("/").split("/")[-1])[:40]
    digest = hashlib.sha1(url.encode()).hexdigest()[:10]
    return f"{tail.removesuffix('.git') or 'repo'}-{digest}"


#: No hooks; only plain transports (no `ext::` commands, no remote helpers); no LFS fetches.
GIT_SAFETY: tuple[str, ...] = (
    "-c", "core.hooksPath=/dev/null",
    "-c", "protocol.allow=never",
    *(x for p in ("https", "http", "ssh", "git", "file")
      for x in ("-c", f"protocol.{p}.allow=always")),
    "-c", "core.fsmonitor=false",
)  # fmt: skip


def _check_url(url: str) -> None:
    if url.startswith("-") or "::" in url.split("/", 1)[0]:
        raise BadInput(
            f"{url!r} is not a repository URL git may clone here",
            "use an https://, ssh://, git:// or file:// URL, or a path",
        )


def _git(args: Sequence[str], timeout: float, cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    try:
        done = subprocess.run(
            ["git", *GIT_SAFETY, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BadInput(
            f"git {args[0]} timed out after {timeout:g}s", "raise --clone-timeout or skip it"
        ) from None
    except FileNotFoundError:
        raise BadInput("git is not installed", "install git to mine repositories") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise BadInput(f"git {args[0]} failed: {message}", "check the URL and that it is reachable")
    return done.stdout.strip()


def clone(url: str, limits: MineLimits, cache: Path | None = None) -> tuple[Path, str]:
    """A shallow clone of `url` in the cache (reused when present) and its HEAD commit."""
    _check_url(url)
    cache = cache or cache_dir()
    dest = cache / _slug(url)
    if not (dest / ".git").is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        if partial.exists():
            _remove_tree(partial)
        try:
            _git(
                [
                    "clone",
                    "--depth",
                    "1",
                    "--no-recurse-submodules",
                    "--quiet",
                    "--",
                    url,
                    str(partial),
                ],
                limits.clone_timeout,
            )
        except BadInput:
            _remove_tree(partial)  # a failed or timed-out clone leaves nothing behind
            raise
        partial.rename(dest)  # only complete clones are reused
    commit = _git(["rev-parse", "HEAD"], 30.0, cwd=dest)
    return dest, commit


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def git_tree(source: Source, limits: MineLimits, cache: Path | None = None) -> Tree:
    root, commit = clone(source.location, limits, cache)
    return Tree(source, root, source.location, commit, license_of_tree(root))


# --- local trees -----------------------------------------------------------------------------


def path_tree(source: Source, limits: MineLimits) -> Tree:
    root = Path(source.location).expanduser().resolve()
    if not root.is_dir():
        raise BadInput(f"{source.location} is not a directory", "pass --path an existing folder")
    commit = None
    if (root / ".git").exists():
        try:
            commit = _git(["rev-parse", "HEAD"], 30.0, cwd=root)
        except BadInput:
            commit = None
    return Tree(source, root, root.as_uri(), commit, license_of_tree(root))


# --- installed distributions -----------------------------------------------------------------


def _header(meta: metadata.PackageMetadata, name: str) -> str | None:
    """A metadata field or None, like `Message.get`, which the 3.10 `PackageMetadata`
    protocol does not declare."""
    values = meta.get_all(name)
    return values[0] if values else None


def package_tree(source: Source, limits: MineLimits) -> Tree:
    """The files an installed distribution ships (sources, tests, bundled docs)."""
    try:
        dist = metadata.distribution(source.location)
    except metadata.PackageNotFoundError:
        installed = {d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"]}
        raise UnknownNameError("installed distribution", source.location, installed) from None
    meta = dist.metadata
    license_id = license_of_metadata(
        _header(meta, "License-Expression"),
        _header(meta, "License"),
        meta.get_all("Classifier") or [],
    )
    name = meta["Name"] or source.location
    editable = _editable_root(dist)
    if editable is not None:  # `pip install -e`: the files live in the source tree
        return Tree(
            source, editable, f"pypi:{name}", dist.version, license_id or license_of_tree(editable)
        )
    files = [f for f in dist.files or () if not str(f).endswith((".pyc", ".pyo"))]
    if not files:
        raise BadInput(f"{source.location} lists no files", "reinstall it with pip")
    root = Path(str(dist.locate_file(""))).resolve()
    rel = []
    for f in files:
        path = Path(str(dist.locate_file(f))).resolve()
        try:
            rel.append(str(path.relative_to(root)))
        except ValueError:
            continue  # scripts installed outside site-packages
    return Tree(
        source,
        root,
        f"pypi:{name}",
        dist.version,
        license_id,
        tuple(sorted(rel)),
    )


def _editable_root(dist: metadata.Distribution) -> Path | None:
    import json
    from urllib.parse import unquote, urlparse

    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        return None
    url = str(info.get("url", ""))
    if not (info.get("dir_info") or {}).get("editable") or not url.startswith("file://"):
        return None
    root = Path(unquote(urlparse(url).path))
    return root if root.is_dir() else None


TREE_BUILDERS = {"git": git_tree, "path": path_tree, "package": package_tree}


# --- walking a tree safely ---------------------------------------------------------------------


def _candidates(tree: Tree) -> Iterator[str]:
    if tree.files is not None:
        yield from tree.files
        return
    for dirpath, dirnames, filenames in os.walk(tree.root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        base = Path(dirpath)
        for fname in sorted(filenames):
            yield str((base / fname).relative_to(tree.root))
        for dname in list(dirnames):  # a symlinked directory is listed but never entered
            if (base / dname).is_symlink():
                dirnames.remove(dname)
                yield str((base / dname).relative_to(tree.root))


def _wanted(rel: str, dirs: Sequence[str]) -> bool:
    """In one of the sub-directories to scan (or one of the files named), when any are given."""
    if not dirs:
        return True
    return any(rel == d.strip("/") or rel.startswith(d.strip("/") + "/") for d in dirs)


def count_paths(tree: Tree, suffixes: Sequence[str]) -> int:
    """How many files `walk_files` will look at (for a progress bar; reads nothing)."""
    n = 0
    for rel in _candidates(tree):
        if _wanted(rel, tree.source.dirs) and (
            rel.endswith(tuple(suffixes)) or (tree.root / rel).is_symlink()
        ):
            n += 1
    return n


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def walk_files(
    tree: Tree, limits: MineLimits, suffixes: Sequence[str]
) -> Iterator[FileItem | Skipped]:
    """Files of `tree` with a parsed suffix, each read or skipped for a stated reason.

    Symlinks are never followed (those pointing out of the tree are reported), files over
    the size limit and binary files are skipped, and reading stops at the per-source byte
    and file limits.
    """
    root = tree.root.resolve()
    total = 0
    count = 0
    for rel in _candidates(tree):
        if not _wanted(rel, tree.source.dirs):
            continue
        path = tree.root / rel
        if path.is_symlink():
            target = path.resolve()
            reason = "symlink_outside_tree" if not _inside(target, root) else "symlink"
            yield Skipped(rel, reason)
            continue
        if not rel.endswith(tuple(suffixes)) or not path.is_file():
            continue
        if limits.max_files is not None and count >= limits.max_files:
            yield Skipped(rel, "file_limit")
            return
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            yield Skipped(rel, "too_large")
            continue
        if total + size > limits.max_repo_bytes:
            yield Skipped(rel, "repo_limit")
            return
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            yield Skipped(rel, "binary")
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            yield Skipped(rel, "not_utf8")
            continue
        total += size
        count += 1
        yield FileItem(rel, text)
