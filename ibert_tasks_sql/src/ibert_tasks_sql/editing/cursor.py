"""Where the cursor is in partial code: after `receiver.`, inside an open call, inside
`t[`, or at a bare name.

Partial code does not parse, so this is a single forward scan over the characters (strings,
comments, brackets) that records what a parser would need at the cursor: the statement
being written, the brackets still open, and the text of the expression before the dot.
"""

from __future__ import annotations

import re

import attrs

from ibert_core.errors import BadInput

_IDENT_TAIL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$|$")


@attrs.frozen
class OpenBracket:
    char: str
    pos: int  # offset in the statement text
    callee: str  # the primary expression right before it ("" when none)


@attrs.frozen
class Site:
    """What the cursor sits on.

    kind: "member" (after `receiver.`), "argument" (inside `callee(`), "getitem" (inside
    `receiver[`), "string" (inside an open string literal in a call or subscript), "name"
    (a bare identifier or nothing).
    """

    kind: str
    partial: str
    before: str  # complete statements before the current one
    statement: str  # the current statement up to the start of `partial`
    receiver: str = ""
    open: tuple[OpenBracket, ...] = ()
    quote: str = ""


def cursor_offset(code: str, cursor: str | None) -> int:
    """`LINE:COL` (1-based line, 0-based column, as editors report) → offset; end when None."""
    if not cursor:
        return len(code)
    try:
        line_s, col_s = str(cursor).split(":")
        line, col = int(line_s), int(col_s)
    except ValueError:
        raise BadInput(f"cursor {cursor!r} is not LINE:COL", "write e.g. --cursor 3:14") from None
    lines = code.splitlines(keepends=True)
    if not 1 <= line <= max(len(lines), 1):
        raise BadInput(f"cursor line {line} is outside the code ({len(lines)} lines)",
                       "count lines from 1")
    text = lines[line - 1] if lines else ""
    if not 0 <= col <= len(text.rstrip("\r\n")):
        raise BadInput(f"cursor column {col} is outside line {line}", "count columns from 0")
    return sum(len(x) for x in lines[: line - 1]) + col


@attrs.define
class Scan:
    """What one forward pass over partial code found (offsets into the scanned text): the
    cursor's site (`analyze`) and the brackets a completion must close (`completion.closers`)
    both read it, so the two agree on what is inside a string or a bracket."""

    strings: dict[int, int] = attrs.field(factory=dict)  # end → start of each string literal
    matches: dict[int, int] = attrs.field(factory=dict)  # closing → opening bracket
    stack: list[int] = attrs.field(factory=list)
    statement_start: int = 0
    open_string: tuple[int, str] | None = None  # start, quote


_PAIRS = {")": "(", "]": "[", "}": "{"}


def scan_code(text: str) -> Scan:
    """Scan partial code once, left to right: it does not parse, so strings, comments and
    brackets are tracked by hand; an unclosed string ends the scan (the cursor is in it)."""
    s = Scan()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else c
            j = i + len(quote)
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if len(quote) == 1 and text[j] == "\n":
                    break
                j += 1
            if j >= n or not text.startswith(quote, j):
                s.open_string = (i, quote)
                return s
            end = j + len(quote)
            s.strings[end - 1] = _string_start(text, i)
            i = end
            continue
        if c in "([{":
            s.stack.append(i)
        elif c in ")]}":
            if s.stack and text[s.stack[-1]] == _PAIRS[c]:
                s.matches[i] = s.stack.pop()
        elif (c == ";" or (c == "\n" and not text[:i].rstrip(" ").endswith("\\"))) and not s.stack:
            s.statement_start = i + 1
        i += 1
    return s


def _string_start(text: str, i: int) -> int:
    """Include a string prefix (f, r, b...) in the literal's span."""
    while i > 0 and text[i - 1] in "rRbBfFuU":
        i -= 1
    return i


def primary_before(text: str, end: int, scan: Scan) -> int:
    """Start offset of the dotted/called/subscripted expression ending at `end` (exclusive)."""
    i = end
    while i > 0:
        j = i - 1
        while j >= 0 and text[j] in " \t\r\n":
            j -= 1
        if j < 0:
            break
        c = text[j]
        if c in ")]" and j in scan.matches:
            i = scan.matches[j]
            continue
        if c in "\"'" and j in scan.strings:
            i = scan.strings[j]
            continue
        if c.isalnum() or c == "_":
            k = j
            while k >= 0 and (text[k].isalnum() or text[k] == "_"):
                k -= 1
            i = k + 1
            # keep walking only through a dot
            m = i - 1
            while m >= 0 and text[m] in " \t\r\n":
                m -= 1
            if m >= 0 and text[m] == ".":
                i = m
                continue
            break
        if c == ".":
            i = j
            continue
        break
    return i


def analyze(prefix: str) -> Site:
    """The completion site at the end of `prefix`."""
    scan = scan_code(prefix)
    before, statement = prefix[: scan.statement_start], prefix[scan.statement_start :]
    offset = scan.statement_start
    opens = []
    for pos in scan.stack:
        if pos < offset:
            continue
        rel = pos - offset
        start = primary_before(statement, rel, _rebase(scan, offset))
        callee = statement[start:rel].strip()
        opens.append(OpenBracket(statement[rel], rel, callee))
    if scan.open_string is not None:
        start, quote = scan.open_string
        partial = prefix[start + len(quote) :]
        body = prefix[offset:start]
        return Site("string", partial, before, body, "", tuple(opens), quote)
    partial = _IDENT_TAIL.search(statement).group(0)  # type: ignore[union-attr]
    head = statement[: len(statement) - len(partial)]
    stripped = head.rstrip(" \t\r\n")
    if stripped.endswith(".") and not _is_number_dot(stripped):
        local = _rebase(scan, offset)
        start = primary_before(stripped, len(stripped) - 1, local)
        receiver = stripped[start:-1].strip()
        if receiver:
            return Site("member", partial, before, head, receiver, tuple(opens))
    if opens and opens[-1].char == "(":
        return Site("argument", partial, before, head, opens[-1].callee, tuple(opens))
    if opens and opens[-1].char == "[" and opens[-1].callee:
        return Site("getitem", partial, before, head, opens[-1].callee, tuple(opens))
    return Site("name", partial, before, head, "", tuple(opens))


def _is_number_dot(text: str) -> bool:
    return bool(re.search(r"(?<![A-Za-z_0-9])\d+\.$", text))


def _rebase(scan: Scan, offset: int) -> Scan:
    """The scan's maps relative to the current statement."""
    return Scan(
        strings={k - offset: v - offset for k, v in scan.strings.items() if k >= offset},
        matches={k - offset: v - offset for k, v in scan.matches.items() if k >= offset},
    )
