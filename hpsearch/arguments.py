"""Command-line arguments: one-line errors, and option types checked against :data:`hpsearch.core.limits.LIMITS`."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from hpsearch.core.config import parse_duration
from hpsearch.core.errors import ConfigError
from hpsearch.core.limits import LIMITS

__all__ = ["EXIT_BAD_INPUT", "OneLineErrorParser", "bounded", "checkpoint_location", "duration", "values_joined_to_options"]

#: The exit status of bad input (a study file, an argument).
EXIT_BAD_INPUT = 2


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``hpsearch: error: argument --workers: '0': must be ...``, exit 2.

    ``--help`` still prints the usage; an error names the option, the value and the rule,
    and where to read more, on one line (argparse's default prints the usage block first).
    """

    def error(self, message: str) -> NoReturn:
        commands = [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]
        if commands and message.startswith(f"the following arguments are required: {commands[0].metavar}"):
            message = f"a command is required: one of {', '.join(commands[0].choices)}"
        self.exit(EXIT_BAD_INPUT, f"hpsearch: error: {message} (see {self.prog} --help)\n")


def bounded(option: str) -> Callable[[str], int | float]:
    """The argparse type of a numeric option: its text parsed and checked against ``LIMITS[option]``."""
    bound = LIMITS[option]

    def parse(text: str) -> int | float:
        try:
            value: int | float = int(text) if bound.integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {bound.rule()}") from None
        if not bound.holds(value):
            raise argparse.ArgumentTypeError(f"{text!r}: {bound.rule()}")
        return value

    parse.__name__ = option  # what argparse would name in its own messages
    return parse


def duration(option: str) -> Callable[[str], float]:
    """The argparse type of a duration option (``90s``, ``30m``, ``1h30m``), checked against ``LIMITS[option]``."""

    def parse(text: str) -> float:
        try:
            return parse_duration(option, text, limit=option)
        except ConfigError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: {err.rule}") from None

    parse.__name__ = option
    return parse


def values_joined_to_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``--timeout -5s`` as ``--timeout=-5s``, so that the option's own rule judges the value.

    argparse takes a value that starts with ``-`` (and is not a plain negative number) for an
    option and says only "expected one argument"; joined to its option, the value reaches the
    option's type, whose error names it.
    """
    takes_value: set[str] = set()
    known: set[str] = set()
    stack = [parser]
    while stack:
        p = stack.pop()
        for action in p._actions:
            known.update(action.option_strings)
            if action.option_strings and action.nargs is None and not isinstance(action, argparse._StoreConstAction):
                takes_value.update(action.option_strings)
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        token = args[i]
        if token in takes_value and i + 1 < len(args) and args[i + 1].startswith("-") and args[i + 1] not in known:
            out.append(f"{token}={args[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


def checkpoint_location(text: str) -> Path | str:
    """The argparse type of ``--checkpoint-dir``: an object store URL (``s3://bucket/prefix``) as it is, else a folder."""
    return text if "://" in text else Path(text)
