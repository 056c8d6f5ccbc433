"""Bundled examples: `ibert run sql_to_ibis $(example ecommerce.sql) --schema $(example ecommerce.yaml)`.

`example_path(name)` gives the installed file, so the commands work from any directory.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def example_path(name: str) -> Path:
    """The bundled example file `name` (e.g. `ecommerce.sql`, `ecommerce.yaml`)."""
    path = HERE / name
    if not path.is_file():
        from ibert_core.errors import UnknownNameError

        raise UnknownNameError("example", name, [p.name for p in HERE.iterdir() if p.suffix != ".py"])
    return path


if __name__ == "__main__":  # python -m ibert_tasks_sql.examples NAME → the path
    import sys

    print(example_path(sys.argv[1] if len(sys.argv) > 1 else "ecommerce.sql"))
