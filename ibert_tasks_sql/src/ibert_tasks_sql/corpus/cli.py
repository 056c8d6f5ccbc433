"""`ibert data build`: the verified multi-task corpus, resumable, with a progress bar."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
    from ibert_tasks_sql.corpus.build import build, load_manifest
    from ibert_tasks_sql.corpus.mined import mined_files
    from ibert_tasks_sql.corpus.pipeline import DIALECTS, BuildConfig

    chosen = _names(tasks, TASK_NAMES, "task") if tasks else TASK_NAMES
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
    load_manifest(target, config)  # other settings in this folder: refuse before any output
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
def validate_command(path: str, as_json: bool, workers: int) -> None:
    """Re-check every record of a corpus (a .jsonl file or a folder of them).

    Exit 0 when every record still passes, 1 when some fail (listed), 2 on bad input.
    """
    from ibert_core.plugins import make_context
    from ibert_tasks_sql.corpus.recheck import recheck

    context = make_context(config={"validators": {"duckdb": {"workers": workers}}})
    try:
        report = recheck(Path(path), context.validator("duckdb"))
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
