"""What can follow a `.` on a value: ibis's own API read with `inspect`.

Signatures and one-line docs come from the installed ibis, so completions follow whatever
version the user has; per-type results are cached because a type's API never changes
within a process.
"""

from __future__ import annotations

import functools
import inspect
import types
from typing import Any

import attrs
import ibis
import ibis.expr.types as ir
from ibis.common.deferred import Deferred

from ibert_tasks_sql.editing.restricted import DENIED_ATTRIBUTES


@attrs.frozen
class Member:
    """One thing that can follow the receiver: a method, column, property or function."""

    name: str
    kind: str  # method | column | property | function | module | class | keyword | close | name
    signature: str = ""
    doc: str = ""
    dtype: str = ""


def first_line(doc: str | None) -> str:
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def signature_of(obj: Any, name: str = "") -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{name}(...)" if callable(obj) else ""
    params = [p for p in sig.parameters.values() if p.name != "self"]
    text = str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))
    return f"{name}{text}"


def type_members(cls: type) -> tuple[Member, ...]:
    """Public methods and properties of an ibis expression class (cached per class)."""
    return _type_members(cls)


@functools.lru_cache(maxsize=256)
def _type_members(cls: Any) -> tuple[Member, ...]:
    out = []
    for name in dir(cls):
        if name.startswith("_") or name in DENIED_ATTRIBUTES:
            continue
        try:
            attr = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(attr, property) or type(attr).__name__ in {"cached_property", "attribute"}:
            doc = getattr(attr, "__doc__", "") if isinstance(attr, property) else ""
            out.append(Member(name, "property", "", first_line(doc)))
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            attr = attr.__func__
        if callable(attr):
            out.append(Member(name, "method", signature_of(attr, name), first_line(attr.__doc__)))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def module_members(module: types.ModuleType) -> tuple[Member, ...]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    out = []
    for name in sorted(set(names)):
        if name.startswith("_") or name in DENIED_ATTRIBUTES:
            continue
        obj = getattr(module, name, None)
        if obj is None:
            continue
        if isinstance(obj, types.ModuleType):
            out.append(Member(name, "module", "", first_line(obj.__doc__)))
        elif inspect.isclass(obj):
            out.append(Member(name, "class", signature_of(obj, name), first_line(obj.__doc__)))
        elif callable(obj):
            out.append(Member(name, "function", signature_of(obj, name), first_line(obj.__doc__)))
    return tuple(out)


#: Classes whose members every value has; members defined below them are dtype-specific.
_GENERIC = ("Value", "Column", "Scalar", "Expr", "Immutable", "Coercible", "Abstract",
            "FixedTextJupyterMixin", "JupyterMixin", "object")


def specific_members(cls: type) -> frozenset[str]:
    """Public names defined by the dtype-specific classes in `cls`'s MRO (`upper` for
    strings, `year` for dates, `sum` for numbers); cached per class."""
    return _specific_members(cls)


@functools.lru_cache(maxsize=256)
def _specific_members(cls: Any) -> frozenset[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__name__ in _GENERIC:
            continue
        names.update(n for n in vars(klass) if not n.startswith("_"))
    return frozenset(names)


def columns_of(table: ir.Table) -> tuple[Member, ...]:
    return tuple(
        Member(name, "column", "", f"column of type {dtype}", str(dtype))
        for name, dtype in table.schema().items()
    )


def grouped_table(value: Any) -> ir.Table | None:
    """The table under a GroupedTable (its columns can still be named)."""
    table = getattr(value, "table", None)
    if table is None:
        return None
    return table.to_expr() if hasattr(table, "to_expr") else table


def members_of(value: Any) -> tuple[Member, ...]:
    """Everything valid after `value.`: columns first for tables, then the API."""
    if isinstance(value, types.ModuleType):
        return module_members(value)
    if isinstance(value, ir.Table):
        return columns_of(value) + type_members(type(value))
    if type(value).__name__ == "GroupedTable":
        table = grouped_table(value)
        cols = columns_of(table) if table is not None else ()
        return cols + type_members(type(value))
    if isinstance(value, Deferred):
        return type_members(ir.Value)
    if isinstance(value, ibis.Expr):
        return type_members(type(value))
    return type_members(type(value)) if not isinstance(value, (str, int, float)) else ()


def api_names() -> frozenset[str]:
    """Every public member name of ibis expression types and the ibis module: used to tell
    API calls from column names when mining usage."""
    return _api_names()


@functools.lru_cache(maxsize=1)
def _api_names() -> frozenset[str]:
    names: set[str] = set()
    for cls in _expr_classes():
        names.update(m.name for m in type_members(cls))
    names.update(m.name for m in module_members(ibis))
    return frozenset(names)


def _expr_classes() -> list[type]:
    out = []
    for module in (ir,):
        for name in dir(module):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, ibis.Expr):
                out.append(obj)
    from ibis.expr.types.groupby import GroupedTable

    out.append(GroupedTable)
    return out


def value_kind(value: Any) -> str:
    """A short type label used in completion output (`Table`, `IntegerColumn`, `module`...)."""
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if isinstance(value, ibis.Expr) and hasattr(value, "type") and not isinstance(value, ir.Table):
        return f"{type(value).__name__}<{value.type()}>"
    return type(value).__name__
