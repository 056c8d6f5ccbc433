"""One tree of errors, each message telling the user what to do next.

The CLI turns any `IbertError` into one line on stderr and exit code `exit_code`;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class IbertError(Exception):
    """Base of every error iBERT reports to a user (exit code 2: bad input or usage)."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class BadInput(IbertError):
    """The user's input (a schema, a file, an option) cannot be used as given."""


class PluginLoadError(IbertError):
    """A plugin failed to import or to register; raised only in strict mode."""

    def __init__(self, distribution: str, entry_point: str, error: str) -> None:
        self.distribution = distribution
        self.entry_point = entry_point
        self.error = error
        super().__init__(
            f"plugin {entry_point!r} from {distribution} failed to load: {error}",
            "fix or uninstall it, or unset IBERT_STRICT_PLUGINS to skip broken plugins",
        )


class DuplicateNameError(IbertError):
    """Two plugins registered the same name for the same kind of thing."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        self.kind, self.name, self.first, self.second = kind, name, first, second
        super().__init__(
            f"{kind} {name!r} is registered by both {first} and {second}",
            "uninstall one of them or restrict loading with IBERT_LOAD_PLUGINS",
        )


def closest(name: str, choices: Iterable[str], n: int = 1) -> list[str]:
    """The choices nearest to `name`, best first (empty when nothing is close)."""
    return difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)


class UnknownNameError(IbertError, KeyError):
    """A task, validator, dialect, table or column that does not exist; suggests the closest."""

    def __init__(self, kind: str, name: str, choices: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.choices = sorted(choices)
        near = closest(name, self.choices)
        if near:
            hint = f"did you mean {near[0]!r}?"
        elif self.choices:
            hint = "choose one of: " + ", ".join(self.choices)
        else:
            hint = f"no {kind}s are registered; install a plugin that provides one"
        self.suggestion = near[0] if near else None
        super().__init__(f"unknown {kind} {name!r}", hint)


class UnsupportedConstruct(IbertError):
    """Input uses a construct a deterministic engine cannot translate; names it and where it is."""

    def __init__(
        self,
        construct: str,
        line: int | None = None,
        col: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.construct = construct
        self.line = line
        self.col = col
        self.detail = detail
        where = f" at line {line}, column {col}" if line is not None else ""
        message = f"cannot translate {construct}{where}"
        if detail:
            message += f" ({detail})"
        super().__init__(message, "rewrite that part, or configure a model with --model to try it")


class ValidationFailed(IbertError):
    """A candidate was produced but no check proved it; carries the verdict (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, verdict: object | None = None) -> None:
        self.verdict = verdict
        super().__init__(message)


class ModelLoadError(IbertError):
    """A configured model or adapter could not be loaded; never replaced by another one."""
