"""The error-resolution engine: run, classify, fix, re-run — at most `MAX_ROUNDS` rounds.

A round applies the static (semgrep) autofixes found for the code, re-builds, then applies
the first dynamic rule matching the error that remains, and re-builds again. Static rules
for a whole batch of programs run in one semgrep call per round.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ibert_core.types import Schema
from ibert_tasks_sql.editing import static_rules
from ibert_tasks_sql.editing.building import Outcome, build
from ibert_tasks_sql.editing.edits import Change, apply_edits, changes_from, unified_diff
from ibert_tasks_sql.editing.fix_rules import (
    PRIVATE_ATTRIBUTE,
    SEQUENCE_REPEAT,
    FixContext,
    advice,
    dynamic_fix,
)
from ibert_tasks_sql.editing.operator_rules import fix_sql_null_and_c_operators
from ibert_tasks_sql.editing.silent_rules import fix_assignment_in_call, fix_sql_operators, lint

MAX_ROUNDS = 3


@attrs.frozen
class Resolution:
    """The fixed code, every change with its rule and reason, and the final build outcome."""

    original: str
    code: str
    changes: tuple[Change, ...]
    outcome: Outcome
    rounds: int
    notes: tuple[str, ...] = ()
    hint: str | None = None  # what the user should do when no rule could fix the error

    @property
    def fixed(self) -> bool:
        return self.outcome.ok

    @property
    def diff(self) -> str:
        return unified_diff(self.original, self.code)

    def to_extra(self) -> dict[str, Any]:
        return {
            "changes": [c.to_dict() for c in self.changes],
            "diff": self.diff,
            "rounds": self.rounds,
            "builds": self.outcome.ok,
            "error": self.outcome.message,
        }


@attrs.define
class _State:
    original: str
    code: str
    outcome: Outcome
    error: str | None
    changes: list[Change] = attrs.field(factory=list)
    notes: list[str] = attrs.field(factory=list)
    hint: str | None = None
    rounds: int = 0
    static_pending: bool = True
    stuck: bool = False


def _failing(s: _State, force: bool) -> bool:
    return not s.stuck and (not s.outcome.ok or s.error is not None
                            or (force and s.rounds == 0))


def resolve_many(
    codes: Sequence[str],
    schema: Schema | None,
    errors: Sequence[str | None] | None = None,
    dialect: str = "duckdb",
    max_rounds: int = MAX_ROUNDS,
    config: Mapping[str, Any] | None = None,
    force: bool = False,
) -> list[Resolution]:
    """Fix each program; `errors` are messages the user saw (used when the code builds
    here but failed elsewhere); `force` applies the rules even to code that builds (when a
    later check, e.g. comparing with SQL, failed)."""
    errors = list(errors) if errors is not None else [None] * len(codes)
    states = [
        _State(code, code, build(code, schema, dialect), err)
        for code, err in zip(codes, errors, strict=True)
    ]
    for s in states:
        _lint(s, schema)
    for _ in range(max_rounds):
        active = [s for s in states if _failing(s, force)]
        if not active:
            break
        _static_round(active, schema, dialect, config)
        for s in active:
            s.rounds += 1
            _lint(s, schema)
            if s.outcome.ok and not (force or s.error):
                continue
            message = s.outcome.message if not s.outcome.ok else (s.error or "")
            if not message:
                continue
            _dynamic_step(s, message, schema, dialect)
            s.error = None
            _lint(s, schema)
    return [
        Resolution(s.original, s.code, tuple(s.changes), s.outcome, s.rounds, tuple(s.notes),
                   s.hint)
        for s in states
    ]


def resolve(code: str, schema: Schema | None, error: str | None = None,
            dialect: str = "duckdb", config: Mapping[str, Any] | None = None,
            force: bool = False) -> Resolution:
    return resolve_many([code], schema, [error], dialect, config=config, force=force)[0]


def _lint(s: _State, schema: Schema | None) -> None:
    """Code that builds but surely means something else gets a message the rules act on."""
    if not s.outcome.ok or s.error is not None:
        return
    try:
        ctx = FixContext.make(s.code, "", schema, dict(s.outcome.names))
    except SyntaxError:
        return
    s.error = lint(ctx)


def _static_round(states: Sequence[_State], schema: Schema | None, dialect: str,
                  config: Mapping[str, Any] | None) -> None:
    pending = [s for s in states if s.static_pending]
    if not pending:
        return
    try:
        found = static_rules.scan([s.code for s in pending], config)
    except (static_rules.SemgrepUnavailable, OSError) as err:
        for s in pending:
            s.static_pending = False
            s.notes.append(f"static rules skipped: {err}")
        return
    for s, findings in zip(pending, found, strict=True):
        edits, _ = static_rules.static_changes(s.code, findings)
        if not edits:
            s.static_pending = False
            continue
        new_code, applied = apply_edits(s.code, edits)
        by_edit = {(f.edit.start, f.edit.end, f.edit.text): f for f in findings if f.edit}
        for e in applied:
            f = by_edit[(e.start, e.end, e.text)]
            s.changes.extend(changes_from(s.code, [e], f.rule, f.message, engine="semgrep"))
        # Overlapping fixes wait for the next round's scan.
        s.static_pending = len(applied) < len(edits)
        s.code = new_code
        s.outcome = build(new_code, schema, dialect)


ASSIGNMENT_REASON = ("`=` inside a call is an assignment in Python (a keyword argument); "
                     "comparison is `==`")


SQL_OPERATORS_REASON = ("SQL's AND/OR/NOT, <> and IS [NOT] NULL (and C's ||/&&) are Python's "
                        "and/or/not, != and .isnull()/.notnull()")


def _dynamic_step(s: _State, message: str, schema: Schema | None, dialect: str) -> None:
    equals = fix_assignment_in_call(s.code, s.outcome.error)
    if equals is not None:
        new_code, applied = apply_edits(s.code, [equals])
        s.changes.extend(changes_from(s.code, applied, "sql-equals", ASSIGNMENT_REASON))
        s.code = new_code
        s.outcome = build(new_code, schema, dialect)
        return
    sql_words = (fix_sql_operators(s.code) or fix_sql_null_and_c_operators(s.code)
                 if s.outcome.error_type == "SyntaxError" else None)
    if sql_words is not None:
        s.changes.append(Change("sql-operators", SQL_OPERATORS_REASON, s.code, sql_words, 1,
                                "dynamic"))
        s.code = sql_words
        s.outcome = build(sql_words, schema, dialect)
        return
    if s.outcome.error_type == "SyntaxError" or (
            s.outcome.error_type == "UnsupportedConstruct"
            and not (PRIVATE_ATTRIBUTE.search(message) or SEQUENCE_REPEAT.search(message))):
        s.notes.append(f"cannot fix code that does not parse: {s.outcome.message}")
        s.stuck = True
        return
    names = dict(s.outcome.names) if s.outcome.names else {}
    if not names or not any(k for k in names if not k.startswith("__")):
        from ibert_tasks_sql.editing.building import base_namespace

        names = base_namespace(schema)
    try:
        ctx = FixContext.make(s.code, message, schema, names)
    except SyntaxError:
        return
    found = dynamic_fix(ctx)
    if found is None:
        hint = advice(ctx)
        s.notes.append(f"no rule fixes: {message}" + (f"; {hint}" if hint else ""))
        s.hint = hint or s.hint
        s.stuck = not s.static_pending
        return
    rule, edits = found
    new_code, applied = apply_edits(s.code, edits)
    s.changes.extend(changes_from(s.code, applied, rule.name, rule.reason))
    s.code = new_code
    s.outcome = build(new_code, schema, dialect)
