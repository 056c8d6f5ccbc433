"""Bundled examples for `make run` and the README.

`example_path(name)` gives the installed file, so the commands work from any directory:

    ibert run sql_to_ibis "$(python -m ibert_tasks_sql.examples ecommerce.sql)" \
        --schema "$(python -m ibert_tasks_sql.examples ecommerce.yaml)"
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def example_path(name: str) -> Path:
    """The bundled example file `name` (e.g. `ecommerce.sql`, `ecommerce.yaml`)."""
    path = HERE / name
    if not path.is_file():
        from ibert_core.errors import UnknownNameError

        raise UnknownNameError(
            "example", name, [p.name for p in HERE.iterdir() if p.suffix != ".py"]
        )
    return path


if __name__ == "__main__":  # python -m ibert_tasks_sql.examples NAME → the path
    import sys

    print(example_path(sys.argv[1] if len(sys.argv) > 1 else "ecommerce.sql"))
