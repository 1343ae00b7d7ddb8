"""Exceptions raised by hpsearch.

Every user-facing error is one line that names the field, the value and the
rule, so that it can be printed as-is by the command line.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "DataUnavailableError",
    "HpsearchError",
    "NoResultError",
    "StoreError",
    "StudyMismatchError",
    "StudyStuckError",
    "TooManyFailuresError",
    "UnknownStudyError",
]


class HpsearchError(Exception):
    """Base class of every error hpsearch raises on purpose."""


class ConfigError(HpsearchError, ValueError):
    """A study file or argument breaks a rule.

    ``field`` is the dotted path of the offending key (``space.dropout.high``),
    ``value`` what was given and ``rule`` what must hold.
    """

    def __init__(self, field: str, value: Any, rule: str, *, source: str | None = None) -> None:
        self.field = field
        self.value = value
        self.rule = rule
        self.source = source
        super().__init__(self._format())

    def _format(self) -> str:
        where = f"{self.source if self.source.isprintable() else repr(self.source)}: " if self.source else ""  # one line
        return f"{where}{self.field} = {self.value!r}: {self.rule}"

    def with_source(self, source: str) -> ConfigError:
        return ConfigError(self.field, self.value, self.rule, source=source)


class ConfigWarning(UserWarning):
    """A study file or argument that is valid but most likely a mistake (``warnings.warn``, one line; the
    command line prints it as ``hpsearch: warning: ...`` and goes on)."""


class StudyMismatchError(ConfigError):
    """A study file names an existing study but describes a different search."""


class UnknownStudyError(ConfigError):
    """A study name that is not in the store; the message lists the studies that are."""


class StoreError(HpsearchError):
    """The store cannot be opened or used (not an hpsearch store, newer schema, ...)."""


class DataUnavailableError(HpsearchError):
    """No source of the requested dataset could be reached."""


class TooManyFailuresError(HpsearchError):
    """Several trials in a row failed, so the study was stopped."""


class StudyStuckError(HpsearchError):
    """The strategy can propose nothing more although the budget is not spent (e.g. a PBT
    population whose every member failed at the same epoch), so the study was stopped."""


class NoResultError(HpsearchError):
    """A study spent its budget and no trial succeeded (every one failed or was pruned),
    so it was stopped with the reason instead of finishing without a result."""
