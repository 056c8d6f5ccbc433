"""Corpus files: JSONL, one `Example` a line, written so that a killed run loses nothing.

`CorpusWriter` appends and flushes each record; reopening the same file resumes: a torn
last line (the process died mid-write) is cut off and the ids already written are known,
so a rerun skips them. `write_atomic` replaces a whole file in one rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from ibert_core.errors import BadInput
from ibert_core.types import Example


def _whole_record(raw: bytes) -> bool:
    """Whether a last line without its newline holds a whole record (a file written by
    hand, or a run killed between the record and its newline) rather than a torn one: a
    cut JSON object never parses."""
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


def read_examples(path: str | Path) -> Iterator[Example]:
    """Every complete record of a JSONL corpus file (a torn last line is ignored)."""
    path = Path(path)
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.endswith(b"\n") and not _whole_record(raw):
                return  # torn write from a killed run
            line = raw.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
                if not isinstance(data, dict):
                    raise TypeError(f"a JSON {type(data).__name__}, not an object")
                yield Example.from_dict(data)
            except (json.JSONDecodeError, TypeError) as err:
                raise BadInput(f"{path}:{number} is not a corpus record ({err})") from None


def _dumps(example: Example) -> str:
    return json.dumps(example.to_dict(), ensure_ascii=False, sort_keys=True)


def write_atomic(path: str | Path, examples: Iterable[Example]) -> int:
    """Write all `examples` to `path` at once: readers see the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for example in examples:
                fh.write(_dumps(example) + "\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class CorpusWriter:
    """Append-only, resumable writer of one JSONL file."""

    def __init__(self, path: str | Path, fsync_every: int = 100) -> None:
        self.path = Path(path)
        self.fsync_every = fsync_every
        self.ids: set[str] = set()
        self._since_sync = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_and_index()
        self._fh = self.path.open("a", encoding="utf-8")

    def _repair_and_index(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut != len(data) and _whole_record(data[cut:]):
            with self.path.open("ab") as fh:  # a whole last record: only its newline missing
                fh.write(b"\n")
        elif cut != len(data):  # cut the torn tail left by a killed run
            with self.path.open("r+b") as fh:
                fh.truncate(cut)
        self.ids = {example.id for example in read_examples(self.path)}

    def __contains__(self, example_id: object) -> bool:
        return example_id in self.ids

    def write(self, example: Example) -> bool:
        """Append `example` unless its id is already written; True when written."""
        if example.id in self.ids:
            return False
        self._fh.write(_dumps(example) + "\n")
        self._fh.flush()
        self.ids.add(example.id)
        self._since_sync += 1
        if self._since_sync >= self.fsync_every:
            os.fsync(self._fh.fileno())
            self._since_sync = 0
        return True

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()

    def __enter__(self) -> CorpusWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def corpus_stats(path: Path) -> dict[str, Any]:
    """Records per split and task in a JSONL file, or in every *.jsonl of a folder
    (the split is the record's `meta.split`, else the file stem).
    """
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise BadInput(f"{path} holds no .jsonl files", "point at a corpus built by ibert data")
    by_split: dict[str, Counter[str]] = defaultdict(Counter)
    total = 0
    for file in files:
        for example in read_examples(file):
            split = str(example.meta.get("split") or file.stem)
            by_split[split][example.task] += 1
            total += 1
    return {"total": total, "by_split": {k: dict(v) for k, v in sorted(by_split.items())}}
