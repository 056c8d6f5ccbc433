"""Candidates for the six tasks, found in a file's chunks.

Each extractor looks for one pattern and yields `Candidate`s in validator form, or
`Rejected` with a reason when the pattern is there but cannot be checked:

- `sql_pair`: a `con.sql("...")` string next to Ibis code in the same function or cell;
- `doc_pair`: consecutive SQL and Python blocks in a document or notebook;
- `to_sql`: `ibis.to_sql(x)` with the code that builds `x`;
- `doctest`: `>>>` examples (in docstrings and in documents), one per displayed expression;
- `function`: a function that returns an Ibis expression built from its parameters;
- `snippet`: the last expression a cell, block or script builds;
- `snapshot`: a test's `snapshot.assert_match(to_sql(expr), "out.sql")` with the SQL file
  it names (and `decompiled.py` next to `out.sql`), as in ibis's own test suite.
"""

from __future__ import annotations

import ast
import posixpath
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence

import attrs

from ibert_miner_github.chunks import Chunk, iter_doctests
from ibert_miner_github.rewrite import NOT_EXPRESSIONS as NOT_EXPRESSIONS_CALLS
from ibert_miner_github.rewrite import (
    OUTPUT_METHODS,
    TABLE_RETURNING,
    NotRewritable,
    Rewritten,
    rewrite,
    strip_output,
)
from ibert_miner_github.schemas import _dotted

EXPRESSION_METHODS = TABLE_RETURNING | frozenset(
    [
        "sum",
        "mean",
        "count",
        "max",
        "min",
        "nunique",
        "median",
        "std",
        "var",
        "first",
        "last",
        "cumsum",
        "over",
        "isin",
        "notnull",
        "isnull",
        "between",
        "cases",
        "case",
        "substitute",
        "upper",
        "lower",
        "length",
        "contains",
    ]
)
MAX_SESSION = 60

#: Reads another file of the same tree by relative path (None when absent or unsafe).
Reader = Callable[[str], "str | None"]


@attrs.frozen
class Candidate:
    """One checkable example: validator-form code, its schema, and what it was mined from."""

    extractor: str
    kind: str  # pair, to_sql, doctest, function, snippet
    chunk: Chunk
    lines: tuple[int, int]
    rewritten: Rewritten
    original: str
    sql: str | None = None
    fields: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Rejected:
    """A pattern found but not checkable, with the reason key."""

    extractor: str
    reason: str


Found = Candidate | Rejected


# --- helpers -----------------------------------------------------------------------------------


def _parse(code: str) -> ast.Module | None:
    try:
        return ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return None


def _value(stmt: ast.stmt) -> ast.expr | None:
    if isinstance(stmt, (ast.Assign, ast.Return, ast.Expr)) and stmt.value is not None:
        return stmt.value
    if isinstance(stmt, ast.AnnAssign):
        return stmt.value
    return None


def is_expression(node: ast.AST | None) -> bool:
    """Looks like an Ibis expression: a method chain using a known Ibis method."""
    if node is None:
        return False
    node = strip_output(node) if isinstance(node, ast.expr) else node
    current = node
    while isinstance(current, (ast.Call, ast.Attribute, ast.Subscript)):
        if isinstance(current, ast.Attribute) and current.attr in EXPRESSION_METHODS:
            return True
        if isinstance(current, ast.Call) and _dotted(current.func).startswith("ibis."):
            return _dotted(current.func).split(".")[-1] not in NOT_EXPRESSIONS_CALLS
        current = current.func if isinstance(current, ast.Call) else current.value
    return False


def _sql_of(node: ast.AST, strings: Mapping[str, str]) -> str | None:
    """The SQL text of `con.sql("...")` / `.raw_sql(...)` (a literal or a name bound to one)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr not in ("sql", "raw_sql") or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value.strip().rstrip(";")
    if isinstance(arg, ast.Name) and arg.id in strings:
        return strings[arg.id].strip().rstrip(";")
    return None


def _string_literals(body: Sequence[ast.stmt]) -> dict[str, str]:
    out = {}
    for stmt in body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            out[stmt.targets[0].id] = stmt.value.value
    return out


def _sql_in(stmt: ast.stmt, strings: Mapping[str, str]) -> str | None:
    for node in ast.walk(stmt):
        sql = _sql_of(node, strings)
        if sql:
            return sql
    return None


def _context_statements(chunk: Chunk) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for text in chunk.context:
        tree = _parse(text)
        if tree is not None:
            out.extend(tree.body)
    return out


def _span(chunk: Chunk, stmt: ast.stmt, offset: int = 0) -> tuple[int, int]:
    first = chunk.start + offset + getattr(stmt, "lineno", 1) - 1
    last = chunk.start + offset + (getattr(stmt, "end_lineno", None) or stmt.lineno) - 1
    return (first, last)


def _source(chunk: Chunk, stmts: Sequence[ast.stmt], code: str) -> str:
    return "\n".join(ast.get_source_segment(code, s) or "" for s in stmts)


def _try(
    extractor: str,
    kind: str,
    chunk: Chunk,
    setup: Sequence[ast.stmt],
    target: ast.expr,
    lines: tuple[int, int],
    original: str,
    sql: str | None = None,
    params: Sequence[str] = (),
    fields: Mapping[str, str] | None = None,
) -> Found:
    defaults = literal_defaults(chunk) if params and chunk.kind == "function" else {}
    try:
        rewritten = rewrite(setup, target, params=params, sql=sql, defaults=defaults)
    except NotRewritable as err:
        return Rejected(extractor, err.reason)
    except RecursionError:
        return Rejected(extractor, "too_deep")
    return Candidate(extractor, kind, chunk, lines, rewritten, original, sql, dict(fields or {}))


# --- python code -----------------------------------------------------------------------------


def _function_parts(chunk: Chunk) -> tuple[list[ast.stmt], list[str]] | None:
    tree = _parse(chunk.code)
    if tree is None or not tree.body:
        return None
    func = tree.body[0]
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    args = func.args
    params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    params = [p for p in params if p not in ("self", "cls")]
    return body, params


def literal_defaults(chunk: Chunk) -> dict[str, ast.expr]:
    """A function's parameters with literal defaults (they are values, not tables)."""
    tree = _parse(chunk.code)
    func = tree.body[0] if tree is not None and tree.body else None
    if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return {}
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    tail = positional[len(positional) - len(args.defaults) :]
    pairs = list(zip(tail, args.defaults, strict=True))
    pairs += [
        (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None
    ]
    out = {}
    for arg, default in pairs:
        try:
            ast.literal_eval(default)
        except (ValueError, SyntaxError, TypeError):
            continue
        out[arg.arg] = default
    return out


def python_candidates(
    chunk: Chunk, session: Sequence[ast.stmt] = (), read: Reader | None = None
) -> Iterator[Found]:
    """SQL pairs, `to_sql` calls, expression-building functions and snippets in one chunk."""
    text = chunk.code
    if chunk.kind == "method" and not any(k in text for k in ("sql", "assert_match")):
        return  # methods give only pairs, to_sql calls and snapshots
    if chunk.kind in ("function", "method"):
        parts = _function_parts(chunk)
        if parts is None:
            return
        body, params = parts
        code = textwrap.dedent(chunk.code)
    else:
        tree = _parse(chunk.code)
        if tree is None:
            yield Rejected("snippet", "syntax_error")
            return
        body, params, code = list(tree.body), [], textwrap.dedent(chunk.code)
    prefix = [*_context_statements(chunk), *session]
    strings = _string_literals(body)
    sql_at = (
        {i: sql for i, s in enumerate(body) if (sql := _sql_in(s, strings))}
        if "sql" in text
        else {}
    )
    has_to_sql = "to_sql" in text
    if read is not None and ("assert_match" in text or chunk.path.endswith("decompiled.py")):
        snapshots = list(snapshot_candidates(chunk, body, params, prefix, read))
        if snapshots:
            yield from snapshots
            return
    exprs = [
        i
        for i, s in enumerate(body)
        if i not in sql_at and is_expression(_value(s)) and not (has_to_sql and _to_sql_target(s))
    ]
    used: set[int] = set()
    for i, sql in sql_at.items():
        if not exprs:
            yield Rejected("sql_pair", "no_ibis_code_near_sql")
            continue
        j = min(exprs, key=lambda k: (abs(k - i), k > i))
        used.add(j)
        setup = [s for k, s in enumerate(body[:j]) if k not in sql_at]
        target = _value(body[j])
        assert target is not None
        yield _try(
            "sql_pair",
            "pair",
            chunk,
            [*prefix, *setup],
            target,
            _span(chunk, body[j]),
            _source(chunk, [body[min(i, j)], body[max(i, j)]], code),
            sql=sql,
            params=params,
        )
    for i, stmt in enumerate(body):
        found = _to_sql_target(stmt) if has_to_sql else None
        if found is None:
            continue
        target, dialect = found
        setup = [s for k, s in enumerate(body[:i]) if k not in sql_at]
        yield _try(
            "to_sql",
            "to_sql",
            chunk,
            [*prefix, *setup],
            target,
            _span(chunk, stmt),
            _source(chunk, body[: i + 1], code),
            params=params,
            fields={"dialect": dialect},
        )
    # methods read `self` (library internals, not examples): only plain functions
    if (
        chunk.kind == "function"
        and body
        and isinstance(body[-1], ast.Return)
        and is_expression(body[-1].value)
        and not sql_at
    ):
        target = body[-1].value
        assert target is not None
        fields = {"name": chunk.name or "", "docstring": chunk.docstring or ""}
        yield _try(
            "function",
            "function",
            chunk,
            [*prefix, *body[:-1]],
            target,
            (chunk.start, chunk.end),
            code,
            params=params,
            fields=fields,
        )
    if chunk.kind in ("function", "method"):
        return
    rest = [i for i in exprs if i not in used]
    if (
        rest
        and not sql_at
        and "ibis"
        in chunk.code + "".join(chunk.context) + "".join(ast.unparse(s) for s in session[-5:])
    ):
        j = rest[-1]
        target = _value(body[j])
        assert target is not None
        yield _try(
            "snippet",
            "snippet",
            chunk,
            [*prefix, *body[:j]],
            target,
            _span(chunk, body[j]),
            _source(chunk, body[: j + 1], code),
        )


def _dialect_of_path(path: str) -> str:
    match = re.search(r"(?:^|/)backends/([a-z0-9_]+)/", path)
    return match.group(1) if match and match.group(1) not in ("tests", "sql") else "duckdb"


def _compiled(
    node: ast.AST, assigned: Mapping[str, ast.expr]
) -> tuple[ast.expr, str | None] | None:
    """`to_sql(x)`, `ibis.to_sql(x, dialect=d)`, `str(...)` of those, or a name bound to one."""
    if isinstance(node, ast.Name) and node.id in assigned:
        node = assigned[node.id]
    if not (isinstance(node, ast.Call) and node.args):
        return None
    name = _dotted(node.func).split(".")[-1]
    if name == "str":
        return _compiled(node.args[0], assigned)
    if name not in ("to_sql", "compile"):
        return None
    dialect = None
    for kw in node.keywords:
        if kw.arg == "dialect" and isinstance(kw.value, ast.Constant):
            dialect = str(kw.value.value)
    return node.args[0], dialect


def snapshot_candidates(
    chunk: Chunk,
    body: Sequence[ast.stmt],
    params: Sequence[str],
    prefix: Sequence[ast.stmt],
    read: Reader,
) -> Iterator[Found]:
    """Snapshot tests and decompiled snapshots: Ibis code with the SQL file it produced."""
    folder = posixpath.dirname(chunk.path)
    if chunk.kind == "module" and posixpath.basename(chunk.path) == "decompiled.py":
        sql = read(posixpath.join(folder, "out.sql"))
        exprs = [i for i, st in enumerate(body) if is_expression(_value(st))]
        if sql and exprs:
            j = exprs[-1]
            target = _value(body[j])
            assert target is not None
            yield _snapshot(
                chunk,
                [*prefix, *body[:j]],
                target,
                sql,
                _dialect_of_path(folder),
                _span(chunk, body[j]),
                (),
                chunk.code,
            )
        return
    if chunk.kind != "function" or "snapshot" not in params or not chunk.name:
        return
    stem = posixpath.splitext(posixpath.basename(chunk.path))[0]
    assigned: dict[str, ast.expr] = {}
    for i, stmt in enumerate(body):
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            assigned[stmt.targets[0].id] = stmt.value
        for node in ast.walk(stmt):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "assert_match"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                continue
            found = _compiled(node.args[0], assigned)
            if found is None:
                yield Rejected("snapshot", "not_sql_snapshot")
                continue
            target, dialect = found
            path = posixpath.join(folder, "snapshots", stem, chunk.name, node.args[1].value)
            sql = read(path)
            if sql is None:
                yield Rejected("snapshot", "snapshot_file_missing")
                continue
            setup = [st for st in body[:i] if not _compiled(_value(st) or ast.Pass(), {})]
            yield _snapshot(
                chunk,
                [*prefix, *setup],
                target,
                sql,
                dialect or _dialect_of_path(folder),
                _span(chunk, stmt),
                [p for p in params if p != "snapshot"],
                chunk.code,
            )


def _snapshot(
    chunk: Chunk,
    setup: Sequence[ast.stmt],
    target: ast.expr,
    sql: str,
    dialect: str,
    lines: tuple[int, int],
    params: Sequence[str],
    original: str,
) -> Found:
    sql = sql.strip().rstrip(";")
    if dialect == "duckdb":  # runnable here: compared on DuckDB like any pair
        return _try(
            "snapshot", "pair", chunk, setup, target, lines, original, sql=sql, params=params
        )
    return _try(
        "snapshot",
        "snapshot",
        chunk,
        setup,
        target,
        lines,
        original,
        params=params,
        fields={"dialect": dialect, "snapshot": sql},
    )


def _to_sql_target(stmt: ast.stmt) -> tuple[ast.expr, str] | None:
    for node in ast.walk(stmt):
        if isinstance(node, ast.Call) and _dotted(node.func) in ("ibis.to_sql",) and node.args:
            dialect = "duckdb"
            for kw in node.keywords:
                if kw.arg == "dialect" and isinstance(kw.value, ast.Constant):
                    dialect = str(kw.value.value)
            return node.args[0], dialect
    return None


# --- doctests --------------------------------------------------------------------------------

NOT_EXPRESSIONS = frozenset({"list_tables", "print", "help", "dir", "type", "len"})


def doctest_candidates(chunk: Chunk, text: str, first_line: int, limit: int = 8) -> Iterator[Found]:
    """One candidate per displayed expression of a `>>>` session (setup = what came before)."""
    setup: list[ast.stmt] = []
    made = 0
    for offset, source in iter_doctests(text):
        tree = _parse(source)
        if tree is None:
            yield Rejected("doctest", "syntax_error")
            continue
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr):
                value = stmt.value
                last = value.func if isinstance(value, ast.Call) else value
                name = last.attr if isinstance(last, ast.Attribute) else getattr(last, "id", "")
                if (
                    name in NOT_EXPRESSIONS
                    or isinstance(value, ast.Constant)
                    or (name in OUTPUT_METHODS and not is_expression(value))
                ):
                    continue
                if isinstance(value, ast.Name):
                    continue  # showing a table is not an example of an operation
                if made >= limit:
                    return
                made += 1
                line = first_line + offset
                summary = (chunk.docstring or chunk.prose or "").strip().split("\n\n")[0]
                fields = {
                    "name": chunk.name or "",
                    "summary": " ".join(summary.split()),
                    "docstring": chunk.docstring or "",
                }
                yield _try(
                    "doctest",
                    "doctest",
                    chunk,
                    list(setup),
                    value,
                    (line, line),
                    "\n".join([*(ast.unparse(s) for s in setup[-10:]), ast.unparse(value)]),
                    fields=fields,
                )
            else:
                setup.append(stmt)


# --- documents and notebooks -------------------------------------------------------------------


def _session_statements(chunk: Chunk) -> list[ast.stmt]:
    tree = _parse(chunk.code)
    if tree is None:
        return []
    return [s for s in tree.body if not isinstance(s, ast.Expr)]


def document_candidates(chunks: Sequence[Chunk]) -> Iterator[Found]:
    """Blocks and cells of one document in order: doctests, SQL/Python neighbours, snippets.

    Earlier Python blocks form the session later ones run in (a notebook defines `t`
    once and uses it in many cells), so their assignments are the setup.
    """
    session: list[ast.stmt] = []
    paired: set[int] = set()
    for k, chunk in enumerate(chunks):
        if chunk.language != "sql":
            continue
        for n in (k + 1, k - 1):
            if 0 <= n < len(chunks) and chunks[n].language == "python" and n not in paired:
                neighbour = chunks[n]
                tree = _parse(neighbour.code)
                if tree is None:
                    continue
                body = tree.body
                exprs = [i for i, s in enumerate(body) if is_expression(_value(s))]
                if not exprs:
                    continue
                paired.add(n)
                before = [
                    s for c in chunks[:n] if c.language == "python" for s in _session_statements(c)
                ]
                j = exprs[-1]
                target = _value(body[j])
                assert target is not None
                yield _try(
                    "doc_pair",
                    "pair",
                    neighbour,
                    [*before[-MAX_SESSION:], *body[:j]],
                    target,
                    _span(neighbour, body[j]),
                    neighbour.code,
                    sql=chunk.code.strip().rstrip(";"),
                )
                break
    for k, chunk in enumerate(chunks):
        if chunk.language != "python":
            continue
        if chunk.code.lstrip().startswith(">>>"):
            yield from doctest_candidates(chunk, chunk.code, chunk.start)
            continue
        if k not in paired:
            yield from python_candidates(chunk, session[-MAX_SESSION:])
        session.extend(_session_statements(chunk))


def file_candidates(chunks: Sequence[Chunk], read: Reader | None = None) -> Iterator[Found]:
    """Every candidate of one file's chunks."""
    if not chunks:
        return
    documents = [c for c in chunks if c.kind in ("block", "cell")]
    for chunk in chunks:
        if chunk.docstring and ">>>" in chunk.docstring:
            yield from doctest_candidates(
                chunk, chunk.docstring, (chunk.docstring_line or chunk.start)
            )
        if chunk.kind in ("function", "method", "module") and chunk.language == "python":
            yield from python_candidates(chunk, read=read)
    if documents:
        yield from document_candidates(documents)
