"""`ibert data build`: the verified multi-task corpus, resumable, with a progress bar."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ibert_core.errors import BadInput, UnknownNameError

TASK_NAMES = (
    "sql_to_ibis",
    "ibis_to_sql",
    "code_completion",
    "error_resolution",
    "documentation",
    "qa",
)


def _names(values: tuple[str, ...], choices: tuple[str, ...], kind: str) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if name not in choices:
                raise UnknownNameError(kind, name, choices)
            if name not in out:
                out.append(name)
    return tuple(out)


@click.command(name="build")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for train/val/test.jsonl, stats.json and the manifest.",
)
@click.option(
    "--n",
    "n",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of verified records to write (all tasks together).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of every random choice.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Builder processes, each with its own validator. 1 is fastest on 2 cores: its"
    " 2 validator workers check some units while it generates the next ones.",
)
@click.option(
    "--tasks",
    "tasks",
    multiple=True,
    metavar="TASK[,TASK]",
    help=f"Tasks to derive (default all: {', '.join(TASK_NAMES)}).",
)
@click.option(
    "--dialects",
    "dialects",
    multiple=True,
    metavar="D[,D]",
    help="Target dialects of ibis_to_sql (default duckdb,postgres,bigquery,snowflake).",
)
@click.option("--no-augment", is_flag=True, help="Only seed queries, no augmentation.")
@click.option(
    "--mined",
    "mined",
    multiple=True,
    metavar="DIR",
    help="Merge DIR/mined.jsonl (from `ibert data mine --out DIR`) after the generated records;"
    " repeatable.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def build_command(
    out: str,
    n: int,
    seed: int,
    workers: int,
    tasks: tuple[str, ...],
    dialects: tuple[str, ...],
    no_augment: bool,
    mined: tuple[str, ...],
    quiet: bool,
) -> None:
    """Build a verified multi-task corpus from templates and generated SQL.

    Every record passed the validator. Killed and rerun with the same arguments, the build
    resumes where it stopped, without losing or duplicating records. Mined records (--mined)
    join the split their miner chose, unless their SQL skeleton fixes another one; records
    the corpus already holds, or of tasks not in --tasks, are skipped.
    """
    from ibert_tasks_sql.corpus.build import build
    from ibert_tasks_sql.corpus.mined import mined_files
    from ibert_tasks_sql.corpus.pipeline import DIALECTS, BuildConfig

    chosen = _names(tasks, TASK_NAMES, "task") if tasks else TASK_NAMES
    _check_tasks(chosen)
    import sqlglot

    known = tuple(sorted(d for d in sqlglot.Dialect.classes if d))
    chosen_dialects = _names(dialects, known, "dialect") if dialects else DIALECTS
    if "ibis_to_sql" in chosen and len(chosen_dialects) < 1:
        raise BadInput("--dialects is empty", "name at least one dialect")
    config = BuildConfig(
        seed=seed,
        tasks=chosen,
        dialects=chosen_dialects,
        augment=not no_augment,
        validator_workers=2 if workers == 1 else 1,
    )
    mined_paths = mined_files(mined)
    target = Path(out)
    _check_out(target, config)  # refuse before any output
    if quiet:
        stats = build(target, n, config, workers, mined=mined_paths)
    else:
        with click.progressbar(
            length=n, label="verified records", file=sys.stderr, show_pos=True, show_eta=True
        ) as bar:
            stats = build(target, n, config, workers, progress=bar.update, mined=mined_paths)
    for note in stats["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(
        json.dumps(
            {
                **{k: stats[k] for k in ("total", "by_split", "by_task", "records_per_second")},
                **(
                    {"mined": {k: v for k, v in stats["mined"].items() if k != "dirs"}}
                    if mined_paths
                    else {}
                ),
            },
            indent=2,
        )
    )


def _check_tasks(chosen: tuple[str, ...]) -> None:
    """A build whose tasks can make no record would run forever: refuse it up front."""
    if not chosen:
        raise BadInput("--tasks names no task", f"choose from {', '.join(TASK_NAMES)}")
    if set(chosen) <= {"qa"}:
        from ibert_core.cli import current_pm

        if "qa" not in current_pm().registries.tasks:
            raise BadInput(
                "--tasks qa needs the qa task, which no installed plugin registers",
                "pip install ibert-tasks-docs, or add other --tasks",
            )


def _check_out(target: Path, config: Any) -> None:
    """--out must be a folder we can write, and hold no corpus of other settings."""
    from ibert_tasks_sql.corpus.build import load_manifest

    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BadInput(
            f"cannot create --out {target} ({err.strerror or err})", "choose a folder you can write"
        ) from None
    try:
        load_manifest(target, config)
    except (ValueError, UnicodeDecodeError) as err:  # json's errors are ValueErrors
        raise BadInput(
            f"{target / 'manifest.json'} is damaged ({err})",
            "choose a new --out (or delete that folder to build from scratch)",
        ) from None


def _count_records(path: Path) -> int:
    """Lines of a corpus file or folder of *.jsonl: the length of the progress bar."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    total = 0
    for file in files:
        with file.open("rb") as fh:
            total += sum(1 for line in fh if line.strip())
    return total


@click.command(name="validate")
@click.argument("path", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON.")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="Validator worker processes.",
)
@click.option("--quiet", is_flag=True, help="No progress bar (shown on a terminal only).")
def validate_command(path: str, as_json: bool, workers: int, quiet: bool) -> None:
    """Re-check every record of a corpus (a .jsonl file or a folder of them).

    Exit 0 when every record still passes, 1 when some fail (listed), 2 on bad input
    (including a corpus with no records).
    """
    from ibert_core.plugins import make_context
    from ibert_tasks_sql.corpus.recheck import recheck

    corpus = Path(path)
    total = _count_records(corpus)
    if not total:
        raise BadInput(f"{path} holds no records", "point at a corpus built by ibert data build")
    context = make_context(config={"validators": {"duckdb": {"workers": workers}}})
    try:
        if quiet or not sys.stderr.isatty():  # a bar's label alone would only clutter logs
            report = recheck(corpus, context.validator("duckdb"))
        else:
            with click.progressbar(
                length=total, label="checked records", file=sys.stderr, show_pos=True
            ) as bar:
                report = recheck(corpus, context.validator("duckdb"), progress=bar.update)
                bar.update(total - bar.pos)  # skipped records are not reported as they go
    finally:
        context.close()
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(
            f"{report['passed']} passed, {report['failed']} failed, {report['skipped']} skipped"
        )
        for f in report["failures"]:
            click.echo(f"FAILED {f['id']} ({f['task']}): {f['reason']}")
        for note in report["notes"]:
            click.echo(f"note: {note}", err=True)
    click.get_current_context().exit(1 if report["failed"] else 0)
