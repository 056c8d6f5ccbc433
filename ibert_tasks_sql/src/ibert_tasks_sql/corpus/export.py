"""`ibert data export`: a built corpus as a Hugging Face `datasets` DatasetDict on disk.

The nested fields of a record (input, target, context, meta, provenance, verdict) differ
from task to task: as Arrow structs their keys would be unioned (missing ones come back as
None) and clashing value types would not load at all. They are stored as JSON strings
instead, so every record loads back exactly as it was written; `example_from_row` turns a
row into an `Example` again.

Records are streamed into Arrow files in batches (memory stays flat for large corpora),
and the dataset is saved into a temporary folder beside OUT and renamed into place, so a
killed export leaves either the previous dataset or none at OUT, never half of one.
`datasets` is imported only when an export runs.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import attrs
import click

from ibert_core.corpus import read_examples
from ibert_core.errors import BadInput, UnknownNameError
from ibert_core.types import Example

SPLITS = ("train", "val", "test")
INSTALL_HINT = "pip install 'ibert-tasks-sql[hf]'"
BATCH_ROWS = 1000
PROGRESS_MIN_RECORDS = 5000  # smaller corpora export in a blink; no bar for them

# Example fields holding mappings: JSON strings in the dataset; the other fields are
# nullable strings (id, task, dialect, backend, ibis_version).
JSON_FIELDS = tuple(
    f.name for f in attrs.fields(Example) if str(f.type).startswith(("Mapping", "dict"))
)
COLUMNS = tuple(f.name for f in attrs.fields(Example))


def find_splits(corpus: Path) -> dict[str, Path]:
    """The split files of a corpus folder, in train/val/test order."""
    if not corpus.exists():
        raise BadInput(
            f"corpus folder {corpus} does not exist", "build one with: ibert data build --out DIR"
        )
    if not corpus.is_dir():
        raise BadInput(f"{corpus} is not a folder", "pass the folder holding train/val/test.jsonl")
    found = {name: corpus / f"{name}.jsonl" for name in SPLITS}
    found = {name: path for name, path in found.items() if path.is_file()}
    if not found:
        raise BadInput(
            f"{corpus} holds none of {', '.join(s + '.jsonl' for s in SPLITS)}",
            "point at a folder written by ibert data build",
        )
    return found


def example_to_row(example: Example) -> dict[str, str | None]:
    """One dataset row: scalar fields as they are, mappings as JSON text."""
    data = example.to_dict()
    return {
        name: json.dumps(data[name], ensure_ascii=False) if name in JSON_FIELDS else data[name]
        for name in COLUMNS
    }


def example_from_row(row: Mapping[str, Any]) -> Example:
    """The `Example` a dataset row was made from (the inverse of `example_to_row`)."""
    return Example.from_dict(
        {
            name: json.loads(row[name]) if name in JSON_FIELDS else row[name]
            for name in COLUMNS
            if name in row
        }
    )


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def _write_arrow(path: Path, split: Path, advance: Callable[[int], None]) -> int:
    """Stream the records of `split` into an Arrow IPC stream file (what datasets maps)."""
    import pyarrow as pa

    schema = pa.schema([(name, pa.string()) for name in COLUMNS])
    rows = 0
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
        batch: list[dict[str, str | None]] = []

        def flush() -> None:
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
            advance(len(batch))
            batch.clear()

        for example in read_examples(split):
            batch.append(example_to_row(example))
            rows += 1
            if len(batch) >= BATCH_ROWS:
                flush()
        if batch:
            flush()
    return rows


def _is_dataset_dir(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file()


def _check_out(out: Path, corpus: Path) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise BadInput(f"{out} exists and is a file", "choose another --out")
    if out.resolve() == corpus.resolve() or not (_is_dataset_dir(out) or not any(out.iterdir())):
        raise BadInput(
            f"{out} exists and is not a dataset saved by ibert data export",
            "choose another --out or remove that folder",
        )


def _replace_dir(new: Path, out: Path, scratch: Path) -> None:
    """Move `new` to `out`; a previous export there is swapped out, then deleted."""
    if out.exists():
        old = scratch / "previous"
        os.replace(out, old)
        os.replace(new, out)
    else:
        os.replace(new, out)


def export_hf(corpus: Path, out: Path, progress: bool = True) -> dict[str, Any]:
    """Save the corpus at `corpus` as a DatasetDict at `out`; counts per split."""
    splits = find_splits(corpus)
    _check_out(out, corpus)
    try:
        import datasets
    except ImportError:
        raise BadInput("export --format hf needs the datasets package", INSTALL_HINT) from None

    features = datasets.Features({name: datasets.Value("string") for name in COLUMNS})
    description = (
        "iBERT corpus exported by `ibert data export`; columns "
        + ", ".join(JSON_FIELDS)
        + " hold JSON text (json.loads gives the record's mapping)."
    )
    total = sum(_count_lines(path) for path in splits.values())
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # ours is the one bar; save_to_disk's would add more
    bar: AbstractContextManager[Any] = (
        click.progressbar(length=total, label="exporting records", file=sys.stderr, show_pos=True)
        if progress and total >= PROGRESS_MIN_RECORDS
        else nullcontext()
    )
    try:
        counts: dict[str, int] = {}
        parts = {}
        with bar as shown:
            advance: Callable[[int], None] = shown.update if shown is not None else _ignore
            for name, path in splits.items():
                arrow = scratch / f"{name}.arrow"
                counts[name] = _write_arrow(arrow, path, advance)
                info = datasets.DatasetInfo(description=description, features=features)
                parts[name] = datasets.Dataset.from_file(
                    str(arrow), info=info, split=datasets.NamedSplit(name)
                )
        saved = scratch / "dataset"
        # datasets writes no shard at all for an empty split (and then cannot load it): one
        empty = {name: 1 for name, count in counts.items() if count == 0}
        datasets.DatasetDict(parts).save_to_disk(str(saved), num_shards=empty or None)
        del parts  # release the memory maps of the scratch files before they go
        _replace_dir(saved, out, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if bars_were_on:
            datasets.enable_progress_bars()
    report: dict[str, Any] = {
        "format": "hf",
        "out": str(out),
        "splits": counts,
        "total": sum(counts.values()),
    }
    stale = sorted(p.name for p in out.parent.glob(f".{out.name}.*.tmp") if p.is_dir())
    if stale:  # not removed: another export to the same OUT may be running
        report["notes"] = [
            f"{out.parent / name} is left from a killed export; remove it" for name in stale
        ]
    return report


def _ignore(_: int) -> None:
    return None


EXPORTERS: dict[str, Callable[[Path, Path, bool], dict[str, Any]]] = {"hf": export_hf}


def export(
    corpus: Path, fmt: str, out: Path | None = None, progress: bool = True
) -> dict[str, Any]:
    """Export `corpus` in format `fmt` (see `EXPORTERS`) to `out` (default corpus/<fmt>)."""
    exporter = EXPORTERS.get(fmt)
    if exporter is None:
        raise UnknownNameError("export format", fmt, EXPORTERS)
    return exporter(corpus, out if out is not None else corpus / fmt, progress)


@click.command(name="export")
@click.argument("path", type=click.Path(file_okay=True, dir_okay=True))
@click.option(
    "--format",
    "fmt",
    required=True,
    metavar="FORMAT",
    help=f"Output format: {', '.join(EXPORTERS)} (a Hugging Face datasets DatasetDict).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(),
    default=None,
    help="Where to save the dataset (default PATH/<format>); replaces an earlier export.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def export_command(path: str, fmt: str, out: str | None, quiet: bool) -> None:
    """Export a corpus folder (train/val/test.jsonl) as a dataset, one split per file.

    Nested fields are JSON strings, so every record loads back exactly; the export is
    written beside OUT and renamed into place, so a killed export never leaves half a
    dataset at OUT.
    """
    report = export(Path(path), fmt, Path(out) if out else None, progress=not quiet)
    for note in report.pop("notes", ()):
        click.echo(f"note: {note}", err=True)
    click.echo(json.dumps(report, indent=2))
