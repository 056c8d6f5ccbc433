"""Sections of a docs folder (Markdown, Quarto, notebooks) as indexable units.

One unit per heading: a how-to page answers a question in one section, and its code
blocks become the section's examples.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

from ibert_tasks_docs.qa.symbols import Symbol

SUFFIXES = (".md", ".qmd", ".ipynb")
_HEADING = re.compile(r"^(#{1,4})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^```\s*\{?\s*(python|py)?[^\n`]*\}?\s*$")


def doc_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def fingerprint(root: Path) -> str:
    """Changes whenever a docs file is added, removed or edited (the docs' "version")."""
    h = hashlib.sha256()
    for p in doc_files(root):
        st = p.stat()
        h.update(f"{p.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def extract_docs(root: Path) -> list[Symbol]:
    out: list[Symbol] = []
    for path in doc_files(root):
        rel = path.relative_to(root).as_posix()
        text = _notebook_markdown(path) if path.suffix == ".ipynb" else _read(path)
        for title, line, body, code in _sections(text):
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "top"
            out.append(
                Symbol(
                    qualname=f"{rel}#{slug}",
                    kind="doc",
                    module=rel,
                    signature=title,
                    doc=body.strip(),
                    examples=tuple(code),
                    path=str(path),
                    line=line,
                )
            )
    return out


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _notebook_markdown(path: Path) -> str:
    """A notebook as Markdown: markdown cells as they are, code cells fenced."""
    try:
        nb = json.loads(_read(path))
    except ValueError:
        return ""
    parts = []
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        parts.append(f"```python\n{src}\n```" if cell.get("cell_type") == "code" else src)
    return "\n\n".join(parts)


def _sections(text: str) -> Iterator[tuple[str, int, str, list[str]]]:
    """`(heading, line, prose+code text, python code blocks)` per heading."""
    title, start, body, code = "", 1, [], []
    block: list[str] | None = None
    is_python = False
    for lineno, line in enumerate(text.splitlines(), 1):
        if block is not None:
            if line.strip().startswith("```"):
                if is_python and block:
                    code.append("\n".join(block))
                body.append("\n".join(block))
                block = None
            else:
                block.append(line)
            continue
        fence = _FENCE.match(line.strip())
        if line.strip().startswith("```"):
            block, is_python = [], bool(fence and fence.group(1))
            continue
        heading = _HEADING.match(line)
        if heading:
            if body or code:
                yield title, start, "\n".join(body), code
            title, start, body, code = heading.group(2), lineno, [], []
            continue
        body.append(line)
    if body or code:
        yield title, start, "\n".join(body), code
