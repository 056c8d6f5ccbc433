"""Errors raised while building, compiling or running an expression, rewritten as feedback a
model (or a person) can act on: what is wrong, where, and the closest valid name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ibert_core.errors import closest
from ibert_core.types import Schema

MAX_MESSAGE = 600
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>")
_NO_ATTR = re.compile(r"'(\w+)' object has no attribute '(\w+)'")
_NOT_FOUND = re.compile(r"Column '([^']+)' is not found in table\. Existing columns: (.*)\.")
_NAME = re.compile(r"name '(\w+)' is not defined")


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    text = _OBJECT_REPR.sub("<expr>", " ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suggest(name: str, choices: Iterable[str]) -> str:
    near = closest(name, choices)
    if not near:
        lowered = {c.lower(): c for c in choices}
        if name.lower() in lowered:
            near = [lowered[name.lower()]]
    return f"; did you mean '{near[0]}'?" if near else ""


def _tables_with(schema: Schema | None, column: str) -> list[str]:
    if schema is None:
        return []
    return [t.name for t in schema.tables if column in t.names]


def missing_column(table: str | None, name: str, columns: Sequence[str]) -> str:
    where = f" on table {table}" if table else ""
    hint = _suggest(name, columns)
    if not hint and columns:
        hint = f"; columns are: {', '.join(columns)}"
    return f"column '{name}' not found{where}{hint}"


def missing_attribute(obj: Any, name: str, schema: Schema | None = None) -> str:
    """An attribute read that failed on a live object (the sandbox guard sees the object)."""
    import ibis

    if isinstance(obj, ibis.Table):
        columns = list(obj.columns)
        table = _table_name(obj, schema)
        if not name.startswith("_") and name not in dir(type(obj)):
            return missing_column(table, name, columns)
    kind = type(obj).__name__
    methods = [m for m in dir(obj) if not m.startswith("_")]
    return f"'{kind}' has no attribute '{name}'{_suggest(name, methods)}"


def _table_name(table: Any, schema: Schema | None) -> str | None:
    try:
        name: str = table.get_name()
        return name
    except Exception:  # noqa: BLE001
        pass
    if schema is not None:
        columns = set(table.columns)
        for t in schema.tables:
            if set(t.names) == columns:
                return t.name
    return None


def _name_error(err: BaseException, env: Mapping[str, Any], schema: Schema | None) -> str:
    m = _NAME.search(str(err))
    if not m:
        return shorten(str(err))
    name = m.group(1)
    tables = list(schema.names) if schema else []
    predefined = {"ibis", "_", "s", "selectors"}
    variables = [
        k for k in env if not k.startswith("__") and k not in predefined and k not in tables
    ]
    hint = _suggest(name, tables) or _suggest(name, variables)
    if not hint:
        hint = f"; tables are: {', '.join(tables)}" if tables else "; there are no tables"
    return f"name '{name}' is not defined{hint}"


def _attribute_error(err: BaseException, env: Mapping[str, Any], schema: Schema | None) -> str:
    m = _NO_ATTR.search(str(err))
    if m and m.group(1) == "Table" and schema is not None:
        name = m.group(2)
        columns = [c for t in schema.tables for c in t.names]
        hint = _suggest(name, columns)
        owners = _tables_with(schema, hint[len("; did you mean '") : -2]) if hint else []
        where = f" (it is on table {owners[0]})" if len(owners) == 1 else ""
        return f"column '{name}' not found{hint}{where}"
    return shorten(str(err))


def _type_error(err: BaseException, env: Mapping[str, Any], schema: Schema | None) -> str:
    text = str(err)
    m = _NOT_FOUND.search(text)
    if m:
        name = m.group(1)
        columns = re.findall(r"'([^']+)'", m.group(2))
        table = None
        if schema is not None:
            table = next((t.name for t in schema.tables if list(t.names) == columns), None)
        return missing_column(table, name, columns)
    return shorten(f"{type(err).__name__}: {text}")


def _integrity_error(err: BaseException, env: Mapping[str, Any], schema: Schema | None) -> str:
    return (
        "an expression refers to a table other than the one the method is called on "
        "(IntegrityError); refer to columns through `_` (e.g. t.filter(...).select(_.col)) "
        "or through the table the method is called on"
    )


def _signature_error(err: BaseException, env: Mapping[str, Any], schema: Schema | None) -> str:
    text = str(err)
    op = text.split("(", 1)[0].strip()
    reasons = re.findall(r"`(\w+)`: (.*?)(?:\n|$)", text)
    if reasons:
        detail = "; ".join(f"argument `{k}`: {v}" for k, v in reasons[:3])
        return shorten(f"invalid arguments to {op}: {detail}")
    return shorten(f"invalid arguments to {op}: {text}")


#: Exception class name → rewriter; anything else keeps its class name and message.
TRANSLATORS: Mapping[str, Callable[[BaseException, Mapping[str, Any], Schema | None], str]] = {
    "NameError": _name_error,
    "AttributeError": _attribute_error,
    "IbisTypeError": _type_error,
    "IbisInputError": _type_error,
    "IntegrityError": _integrity_error,
    "SignatureValidationError": _signature_error,
}


def describe(
    err: BaseException, env: Mapping[str, Any] | None = None, schema: Schema | None = None
) -> str:
    """One line (or a few) saying what went wrong, with the closest valid name."""
    for cls in type(err).__mro__:
        translate = TRANSLATORS.get(cls.__name__)
        if translate is not None:
            return translate(err, env or {}, schema)
    text = str(err)
    return shorten(f"{type(err).__name__}: {text}" if text else type(err).__name__)


def describe_sql_error(err: BaseException) -> str:
    """DuckDB errors: the first lines, without the caret diagram."""
    lines = [ln for ln in str(err).splitlines() if ln.strip() and not ln.strip().startswith("^")]
    return shorten(" ".join(lines[:3]))
