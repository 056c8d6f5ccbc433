"""`--standalone`: the translation as a script that runs by itself.

The plain translation reads tables as free names; the script first connects (DuckDB by
default) and binds each name: to the user's data when `--db`/`--parquet` was given, else to
an empty table created from the schema, so the script always runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ibert_core.types import DataSource, Schema
from ibert_tasks_sql.translation import pycode as py


def standalone_script(
    code: str,
    schema: Schema,
    tables: Sequence[str],
    data: DataSource | None = None,
    backend: str = "duckdb",
) -> str:
    """`code` (imports, statements, `expr = ...`) wrapped with connection and table setup."""
    imports, body = _split_imports(code)
    lines = [*list(imports), ""]
    if data is not None and data.kind == "db":
        lines.append(f"con = ibis.{backend}.connect({data.path!r}, read_only=True)")
    else:
        lines.append(f"con = ibis.{backend}.connect()")
    for name in tables:
        table = schema.table(name)
        if data is not None and data.kind == "db":
            lines.append(f"{name} = con.table({name!r})")
        elif data is not None and data.kind == "parquet":
            path = f"{data.path.rstrip('/')}/{table.name}.parquet"
            lines.append(f"{name} = con.read_parquet({path!r}, table_name={table.name!r})")
        else:
            columns = json.dumps(table.as_dict())
            lines.append(
                py.fmt_statement(
                    name, f"con.create_table({table.name!r}, schema=ibis.schema({columns}))"
                )
            )
    lines += ["", body.strip(), "", 'if __name__ == "__main__":', "    print(expr.to_pyarrow())"]
    return "\n".join(lines) + "\n"


def _split_imports(code: str) -> tuple[list[str], str]:
    lines = code.strip().splitlines()
    imports = [ln for ln in lines if ln.startswith(("import ", "from "))]
    body = "\n".join(ln for ln in lines if not ln.startswith(("import ", "from ")))
    return imports, body
