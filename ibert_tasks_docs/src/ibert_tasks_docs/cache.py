"""Where built indexes live between runs: `$IBERT_CACHE_DIR`, else `~/.cache/ibert`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def cache_dir(config: dict[str, Any] | None = None) -> Path:
    configured = (config or {}).get("cache_dir") or os.environ.get("IBERT_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ibert"


def read_json(path: Path) -> Any | None:
    """The cached object, or None when absent or unreadable (a torn write is a miss)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: Any) -> None:
    """Write atomically, so a reader never sees half an index."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
