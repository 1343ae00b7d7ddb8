"""Search strategies: each decides the next trial from the space, its seed and the history."""

from __future__ import annotations

from hpsearch.space import SearchSpace
from hpsearch.strategies._base import Strategy, derive_seed
from hpsearch.strategies.grid import GridStrategy
from hpsearch.strategies.random import RandomStrategy
from hpsearch.strategies.tpe import TPEStrategy

__all__ = ["STRATEGY_CLASSES", "GridStrategy", "RandomStrategy", "Strategy", "TPEStrategy", "derive_seed", "make_strategy"]

STRATEGY_CLASSES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (GridStrategy, RandomStrategy, TPEStrategy)
}


def make_strategy(name: str, space: SearchSpace, *, seed: int = 0, maximize: bool = True) -> Strategy:
    """The strategy called ``name`` over ``space``."""
    try:
        cls = STRATEGY_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGY_CLASSES)}") from None
    return cls(space, seed=seed, maximize=maximize)
