"""Search strategies: each decides the next trial from the space, its seed and the history."""

from __future__ import annotations

from hpsearch.core.config import CMAESConfig, EvolutionConfig, GPConfig, PBTConfig, StudyConfig
from hpsearch.core.space import SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed
from hpsearch.search.strategies.cmaes import CMAESStrategy
from hpsearch.search.strategies.evolution import EvolutionStrategy
from hpsearch.search.strategies.gp import GPStrategy
from hpsearch.search.strategies.grid import GridStrategy
from hpsearch.search.strategies.pbt import PBTStrategy
from hpsearch.search.strategies.qmc import QMCStrategy
from hpsearch.search.strategies.random import RandomStrategy
from hpsearch.search.strategies.tpe import TPEStrategy

__all__ = [
    "STRATEGY_CLASSES",
    "CMAESStrategy",
    "EvolutionStrategy",
    "GPStrategy",
    "GridStrategy",
    "PBTStrategy",
    "QMCStrategy",
    "RandomStrategy",
    "Strategy",
    "Suggestion",
    "TPEStrategy",
    "derive_seed",
    "make_strategy",
    "strategy_for",
]

STRATEGY_CLASSES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (GridStrategy, RandomStrategy, TPEStrategy, GPStrategy, EvolutionStrategy, CMAESStrategy, QMCStrategy, PBTStrategy)
}


def make_strategy(
    name: str,
    space: SearchSpace,
    *,
    seed: int = 0,
    maximize: bool = True,
    pbt: PBTConfig | None = None,
    options: EvolutionConfig | CMAESConfig | GPConfig | None = None,
    builtin: bool = True,
) -> Strategy:
    """The strategy called ``name`` over ``space`` (``pbt`` configures population-based training,
    ``options`` the strategy's own table: ``[evolution]``, ``[cmaes]`` or ``[gp]``; ``builtin``: the
    space is the built-in model's, whose architecture PBT never explores)."""
    if name == "pbt":
        return PBTStrategy(space, seed=seed, maximize=maximize, pbt=pbt, builtin=builtin)
    try:
        cls = STRATEGY_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGY_CLASSES)}") from None
    if options is not None:
        return cls(space, seed=seed, maximize=maximize, options=options)  # type: ignore[call-arg]
    return cls(space, seed=seed, maximize=maximize)


def strategy_for(config: StudyConfig) -> Strategy:
    """The strategy a study runs, as its study file configures it."""
    return make_strategy(
        config.strategy,
        config.space,
        seed=config.seed,
        maximize=config.direction == "maximize",
        pbt=config.pbt,
        options=config.options,
        builtin=config.builtin_model,
    )
