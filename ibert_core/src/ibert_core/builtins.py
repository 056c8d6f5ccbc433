"""Built-in plugin of ibert-core, registered through the same hooks as third-party ones.

The core reads JSON and YAML schemas itself; this plugin exposes that through the
`load_schema` hook, so callers ask one place whatever the kind.
"""

from __future__ import annotations

from pathlib import Path

from ibert_core.hookspecs import hookimpl
from ibert_core.types import Schema


@hookimpl(trylast=True)
def load_schema(kind: str, location: str) -> Schema | None:
    from ibert_core.schema import CORE_READERS, parse_inline

    if kind == "inline":
        return parse_inline(location)
    reader = CORE_READERS.get(f".{kind}")
    return reader(Path(location)) if reader else None
