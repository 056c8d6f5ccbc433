"""Semantic chunks of a source file: what the extractors look at.

A Python file becomes its functions, classes and methods (each with the imports and
module-level names it uses) plus its runs of module-level statements; a notebook becomes
its cells (outputs ignored); a Markdown/Quarto/reST document becomes its fenced code
blocks, each with the prose just before it. Parsing never runs the code.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs


def _str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    """attrs converter: a bare `tuple` converter leaves mypy unable to infer the item type."""
    return tuple(items)


@attrs.frozen
class Chunk:
    """One unit of code with where it is (1-based inclusive line span) and what frames it.

    `kind`: function, method, class, module, cell, block. `language`: python or sql.
    `context` holds the source of the imports and module-level assignments the code uses.
    """

    path: str
    kind: str
    code: str
    start: int
    end: int
    language: str = "python"
    name: str | None = None
    docstring: str | None = None
    docstring_line: int | None = None
    prose: str = ""
    context: tuple[str, ...] = attrs.field(converter=_str_tuple, factory=tuple)
    cell: int | None = None


# --- python ----------------------------------------------------------------------------------


class Lines:
    """A source split once, for cutting node segments (`ast.get_source_segment` re-splits
    the whole file on every call, quadratic on big modules)."""

    def __init__(self, source: str) -> None:
        self.lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n|$)", source)

    def segment(self, node: Any, padded: bool = False) -> str:
        start, end = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        col, end_col = node.col_offset, node.end_col_offset or 0
        if start == end:
            return self.lines[start].encode()[col:end_col].decode(errors="replace")
        first = self.lines[start].encode()[col:].decode(errors="replace")
        if padded:
            first = " " * len(self.lines[start].encode()[:col].decode(errors="replace")) + first
        last = self.lines[end].encode()[:end_col].decode(errors="replace")
        return first + "".join(self.lines[start + 1 : end]) + last


IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _names_used(code: str) -> set[str]:
    """Identifiers in the code (a superset of the names it reads; walking the AST of every
    chunk was the slowest part of mining a big package)."""
    return set(IDENTIFIER.findall(code))


Context = list[tuple[set[str], str, int]]


def _module_context(tree: ast.Module, source: Lines) -> Context:
    """Module-level imports and simple assignments: the names each binds, its text, its line."""
    out = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in stmt.names}
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        else:
            continue
        text = source.segment(stmt)
        if len(text) <= 2000:
            out.append((bound, text, stmt.lineno))
    return out


def _context_for(code: str, module_ctx: Context, span: tuple[int, int] = (0, 0)) -> tuple[str, ...]:
    """The imports and assignments outside `span` (the chunk itself) whose names it uses."""
    used = _names_used(code)
    return tuple(
        text
        for bound, text, line in module_ctx
        if bound & used and text and not span[0] <= line <= span[1]
    )


def _def_chunk(
    path: str, node: ast.AST, source: Lines, kind: str, name: str, ctx: Context
) -> Chunk:
    assert isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    start = node.lineno  # the segment starts at `def`/`class`; decorators are context
    doc = ast.get_docstring(node, clean=True)
    doc_line = None
    if doc is not None and node.body and isinstance(node.body[0], ast.Expr):
        doc_line = node.body[0].lineno
    code = source.segment(node, padded=True)
    return Chunk(
        path=path,
        kind=kind,
        code=code,
        start=start,
        end=node.end_lineno or node.lineno,
        name=name,
        docstring=doc,
        docstring_line=doc_line,
        context=_context_for(code, ctx) if kind != "class" else (),
    )


#: Sources at least this big are first parsed in a throwaway process on Python < 3.11: its
#: parser has no depth guard and a deep enough expression (`1 + 1 + ...` 150,000 times,
#: as a generated or hostile file may hold) crashes the interpreter instead of raising
#: RecursionError. Anything smaller has too few tokens to nest that deep.
PROBE_BYTES = 256 * 1024


def _parses_without_crashing(path: str, source: str) -> None:
    """Raise RecursionError when parsing `source` would crash this interpreter."""
    if sys.version_info >= (3, 11) or len(source) < PROBE_BYTES:
        return
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import ast, sys; ast.parse(sys.stdin.read())"],
        input=source, text=True, capture_output=True, check=False,
    )
    if probe.returncode < 0:  # killed by a signal: the parser overflowed the C stack
        raise RecursionError(f"{path}: nested too deeply for this Python's parser")


def parse_python(path: str, source: str) -> list[Chunk]:
    """Functions, classes, methods, and runs of other module-level statements."""
    _parses_without_crashing(path, source)
    tree = ast.parse(source, filename=path)
    lines = Lines(source)
    ctx = _module_context(tree, lines)
    chunks: list[Chunk] = []
    run: list[ast.stmt] = []

    def flush() -> None:
        body = [s for s in run if not isinstance(s, (ast.Import, ast.ImportFrom))]
        if body:
            first, last = run[0], run[-1]
            segment = "".join(lines.lines[first.lineno - 1 : (last.end_lineno or last.lineno)])
            chunks.append(
                Chunk(
                    path,
                    "module",
                    segment,
                    first.lineno,
                    last.end_lineno or last.lineno,
                    name="<module>",
                    context=_context_for(
                        segment, ctx, (first.lineno, last.end_lineno or last.lineno)
                    ),
                )
            )
        run.clear()

    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            flush()
            chunks.append(_def_chunk(path, stmt, lines, "function", stmt.name, ctx))
        elif isinstance(stmt, ast.ClassDef):
            flush()
            chunks.append(_def_chunk(path, stmt, lines, "class", stmt.name, ctx))
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    qual = f"{stmt.name}.{item.name}"
                    chunks.append(_def_chunk(path, item, lines, "method", qual, ctx))
        else:
            run.append(stmt)
    flush()
    if tree.body:
        doc = ast.get_docstring(tree, clean=True)
        if doc and ">>>" in doc:
            chunks.append(
                Chunk(
                    path,
                    "module_doc",
                    "",
                    1,
                    tree.body[0].end_lineno or 1,
                    name="<module>",
                    docstring=doc,
                    docstring_line=1,
                )
            )
    return chunks


# --- notebooks -------------------------------------------------------------------------------


def _cell_text(cell: Mapping[str, object]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


SQL_MAGICS = ("%%sql", "%sql")


def parse_notebook(path: str, source: str) -> list[Chunk]:
    """Code cells with the markdown just before them; `%%sql` cells become SQL chunks.

    Line spans of notebook chunks count lines within their cell (`cell` is its index).
    """
    data = json.loads(source)
    cells = data.get("cells", []) if isinstance(data, dict) else []
    chunks: list[Chunk] = []
    prose = ""
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        text = _cell_text(cell)
        if cell.get("cell_type") == "markdown":
            prose = text
            for block in parse_markdown(path, text):
                chunks.append(attrs.evolve(block, cell=index))  # lines within the cell
            continue
        if cell.get("cell_type") != "code" or not text.strip():
            continue
        language = "python"
        stripped = text.lstrip()
        if stripped.startswith(SQL_MAGICS):
            language = "sql"
            text = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        else:  # other magics and shell escapes are not Python
            text = "\n".join(
                "" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()
            )
        chunks.append(
            Chunk(
                path,
                "cell",
                text,
                1,
                max(1, len(text.splitlines())),
                language=language,
                prose=prose.strip()[-1000:],
                cell=index,
            )
        )
        prose = ""
    return chunks


# --- markdown, quarto, rst -------------------------------------------------------------------

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
LANGUAGES: Mapping[str, str] = {
    "python": "python",
    "py": "python",
    "python3": "python",
    "pycon": "python",
    "ipython": "python",
    "ipython3": "python",
    "sql": "sql",
    "duckdb": "sql",
    "postgresql": "sql",
}


def _language(info: str) -> str | None:
    word = info.strip().strip("{}").split()[0].split(",")[0].strip("{}.") if info.strip() else ""
    return LANGUAGES.get(word.lower())


def parse_markdown(path: str, source: str) -> list[Chunk]:
    """Fenced code blocks in Python or SQL, each with the prose since the previous block."""
    lines = source.splitlines()
    chunks: list[Chunk] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            prose.append(lines[i])
            i += 1
            continue
        fence = match["fence"]
        language = _language(match["info"])
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        body = lines[i + 1 : j]
        if language and body:
            code = _dedent(body, len(match["indent"]))
            chunks.append(
                Chunk(
                    path,
                    "block",
                    code,
                    i + 2,
                    j,
                    language=language,
                    prose="\n".join(prose).strip()[-1000:],
                )
            )
        prose = []
        i = j + 1
    return chunks


def _dedent(body: Sequence[str], indent: int) -> str:
    out = [line[indent:] if line[:indent].strip() == "" else line for line in body]
    # Quarto cell options (#| echo: false) are not code
    return "\n".join(line for line in out if not line.startswith("#|"))


RST_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\.\s+(?:code-block|code|sourcecode|ipython)::\s*(?P<lang>\w*)\s*$"
)


def parse_rst(path: str, source: str) -> list[Chunk]:
    """`.. code-block:: LANG` (and `code`, `ipython`) directives with the prose before them."""
    lines = source.splitlines()
    chunks: list[Chunk] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        match = RST_DIRECTIVE.match(lines[i])
        if not match:
            prose.append(lines[i])
            i += 1
            continue
        base = len(match["indent"])
        j = i + 1
        while j < len(lines) and (
            not lines[j].strip() or (lines[j].strip().startswith(":") and j == i + 1)
        ):
            j += 1
        start = j
        while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
            j += 1
        body = [line for line in lines[start:j]]
        while body and not body[-1].strip():
            body.pop()
        language = LANGUAGES.get((match["lang"] or "python").lower())
        if language and body:
            width = min(_indent(line) for line in body if line.strip())
            chunks.append(
                Chunk(
                    path,
                    "block",
                    "\n".join(line[width:] for line in body),
                    start + 1,
                    start + len(body),
                    language=language,
                    prose="\n".join(prose).strip()[-1000:],
                )
            )
        prose = []
        i = j
    return chunks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


PARSERS: Mapping[str, Callable[[str, str], list[Chunk]]] = {
    ".py": parse_python,
    ".ipynb": parse_notebook,
    ".md": parse_markdown,
    ".qmd": parse_markdown,
    ".rst": parse_rst,
}


def parse_file(path: str, text: str) -> list[Chunk]:
    """The chunks of one file, by its suffix (empty for suffixes we do not read)."""
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    parser = PARSERS.get(suffix)
    return parser(path, text) if parser else []


def iter_doctests(docstring: str) -> Iterator[tuple[int, str]]:
    """(line offset in the docstring, source) of each `>>>` example, continuations joined."""
    import doctest

    parser = doctest.DocTestParser()
    try:
        examples = parser.get_examples(docstring)
    except ValueError:
        return
    for example in examples:
        yield example.lineno, example.source
