"""The registry kind behind the search strategies and the pruning rules: name -> class and options type.

A registered class names itself (``name``) and declares, next to itself in its own module, the
options type that validates what it adds to a study file (``OPTIONS``: a
:class:`hpsearch.core.config.StrategyOptions` or :class:`hpsearch.core.config.PruningOptions`).
Registering it also hands that type to :mod:`hpsearch.core.config`, which parses study files
below this floor and so cannot look it up itself. The two registries are
:data:`hpsearch.search.strategies.STRATEGIES` and :data:`hpsearch.search.pruning.PRUNING_RULES`;
adding a strategy is its module and one line there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar

__all__ = ["Entry", "Registered", "Registry"]


class Registered(Protocol):
    """What a registry holds: a class with a name and an options type."""

    name: ClassVar[str]
    OPTIONS: ClassVar[type[Any]]


T = TypeVar("T", bound=Registered)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered name: its class and its options type."""

    name: str
    cls: type[T]
    options: type[Any]


class Registry(Generic[T]):
    """Names -> classes of one kind (``what``: "strategy", "pruning rule"), in the order registered."""

    def __init__(self, what: str, hand_to_config: Callable[[str, Any], None]) -> None:
        self.what = what
        self._hand_to_config = hand_to_config
        self._entries: dict[str, Entry[T]] = {}

    def add(self, cls: type[T]) -> type[T]:
        """Register ``cls`` under its ``name`` (usable as a class decorator); a name is registered once."""
        if cls.name in self._entries:
            raise ValueError(f"{self.what} {cls.name!r} is registered already ({self._entries[cls.name].cls.__qualname__})")
        self._entries[cls.name] = Entry(cls.name, cls, cls.OPTIONS)
        self._hand_to_config(cls.name, cls.OPTIONS)
        return cls

    def entry(self, name: str) -> Entry[T]:
        """The entry of ``name``; a ValueError naming the known ones for any other."""
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} {name!r}; expected one of {', '.join(self._entries)}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def classes(self) -> dict[str, type[T]]:
        """Name -> class, in the order registered."""
        return {name: e.cls for name, e in self._entries.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
