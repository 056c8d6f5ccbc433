"""`ibert data mine`: mine sources into a corpus directory, with a progress bar and a summary.

Kept light: the pipeline (and through it ibis, sqlglot) is imported when the command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ibert_core.errors import BadInput


def _sources(
    repo: tuple[str, ...], repos: tuple[str, ...], path: tuple[str, ...], package: tuple[str, ...]
) -> list[Any]:
    from ibert_miner_github.sources import Source, parse_repos_file

    out = [Source("git", url) for url in repo]
    for file in repos:
        out.extend(parse_repos_file(file))
    out.extend(Source("path", p) for p in path)
    for name in package:
        _check_installed(name)
        out.append(Source("package", name))
    if not out:
        raise BadInput(
            "nothing to mine",
            "pass at least one of --repo URL, --repos FILE, --path DIR, --package NAME",
        )
    return out


def _check_installed(name: str) -> None:
    """An unknown --package is a typo to fix before mining, not a failed source."""
    from importlib import metadata

    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        from ibert_core.errors import closest

        installed = {d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"]}
        near = closest(name, installed)
        hint = f"did you mean {near[0]!r}?" if near else f"pip install {name}, or check the name"
        raise BadInput(f"--package {name!r} is not an installed distribution", hint) from None


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as aligned text: totals, sources, per extractor, failures, kept per task."""
    lines = [
        f"files read     {summary['files_read']}  ({summary['files_per_second']} files/s, "
        f"{summary['seconds']} s)",
        f"candidates     {summary['candidates']}",
        f"validated      {summary['validated']}",
        f"kept           {summary['kept']}  (duplicates {summary['duplicates']}, "
        f"already judged {summary['already_judged']})",
    ]
    if summary["files_skipped"]:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(summary["files_skipped"].items()))
        lines.append(f"files skipped  {skipped}")
    lines.append("")
    lines.append(f"{'source':<40} {'files':>6} {'kept':>6}  commit / error")
    for s in summary["sources"]:
        note = s.get("error") or (s.get("commit") or "")[:12]
        lines.append(f"{str(s['source'])[:40]:<40} {s['files']:>6} {s['kept']:>6}  {note}")
    lines.append("")
    lines.append(f"{'extractor':<12} {'candidates':>10} {'validated':>10}  failures")
    for name, row in summary["per_extractor"].items():
        fails = ", ".join(
            f"{k} {v}" for k, v in sorted(row["failures"].items(), key=lambda x: -x[1])
        )
        lines.append(f"{name:<12} {row['candidates']:>10} {row['validated']:>10}  {fails}")
    lines.append("")
    lines.append(
        "kept per task  " + ", ".join(f"{task} {n}" for task, n in summary["kept_per_task"].items())
    )
    return "\n".join(lines)


@click.command(name="mine")
@click.option("--repo", multiple=True, metavar="URL", help="A git repository (shallow-cloned).")
@click.option(
    "--repos",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    metavar="FILE",
    help="A list of repositories, one `url|name|dir1,dir2` a line (# comments).",
)
@click.option(
    "--path",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    metavar="DIR",
    help="A local directory tree.",
)
@click.option("--package", multiple=True, metavar="NAME", help="An installed distribution.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@click.option(
    "--against",
    type=click.Path(exists=True),
    default=None,
    help="An existing corpus (dir or .jsonl): records whose code it holds are skipped.",
)
@click.option(
    "--max-files", type=click.IntRange(min=1), default=None, help="At most N files per source."
)
@click.option(
    "--max-file-bytes",
    type=click.IntRange(min=1),
    default=512 * 1024,
    show_default=True,
    help="Skip files larger than this.",
)
@click.option(
    "--max-repo-bytes",
    type=click.IntRange(min=1),
    default=64 * 1024 * 1024,
    show_default=True,
    help="Stop reading a source after this many bytes of its files.",
)
@click.option(
    "--clone-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Seconds a git clone may take.",
)
@click.option(
    "--parse-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds parsing and extracting one file may take.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where clones are kept (default $IBERT_CACHE_DIR or ~/.cache/ibert).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Validation batch size.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def mine_command(
    repo: tuple[str, ...],
    repos: tuple[str, ...],
    path: tuple[str, ...],
    package: tuple[str, ...],
    out: str,
    against: str | None,
    max_files: int | None,
    max_file_bytes: int,
    max_repo_bytes: int,
    clone_timeout: float,
    parse_timeout: float,
    cache_dir: str | None,
    batch: int,
    as_json: bool,
) -> None:
    """Mine verified examples from git repos, local trees and installed packages.

    Writes OUT/mined.jsonl (resumable: a rerun skips what is done) and OUT/summary.json.
    """
    from ibert_core.plugins import make_context
    from ibert_miner_github.limits import MineLimits
    from ibert_miner_github.pipeline import run

    sources = _sources(repo, repos, path, package)
    limits = MineLimits(
        max_file_bytes=max_file_bytes,
        max_repo_bytes=max_repo_bytes,
        max_files=max_files,
        clone_timeout=clone_timeout,
        parse_timeout=parse_timeout,
    )
    config = {"miner": {"cache_dir": cache_dir}} if cache_dir else {}
    context = make_context(config=config)

    def bar(total: int) -> Any:
        return click.progressbar(length=total, label="mining", file=sys.stderr)

    try:
        summary = run(
            context,
            sources,
            Path(out),
            limits,
            against=Path(against) if against else None,
            batch_size=batch,
            progress=bar,
        )
    finally:
        context.close()
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
    else:
        click.echo(summary_table(summary))
    failed = [s for s in summary["sources"] if s.get("error")]
    if failed and len(failed) == len(summary["sources"]):
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise BadInput(f"no source could be mined{more}: {first['source']}: {first['error']}")
