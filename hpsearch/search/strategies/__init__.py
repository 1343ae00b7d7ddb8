"""Search strategies: each decides the next trial from the space, its seed and the history.

:data:`STRATEGIES` is the one list of them: name -> class and options type (the strategy's own
table and rules, :class:`hpsearch.core.config.StrategyOptions`, declared next to the class as
``OPTIONS``). A new strategy is a module beside these and one line in that list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpsearch.core.config import StudyConfig, register_strategy
from hpsearch.core.space import SearchSpace
from hpsearch.search.registry import Registry
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed
from hpsearch.search.strategies.cmaes import CMAESConfig, CMAESStrategy
from hpsearch.search.strategies.evolution import EvolutionConfig, EvolutionStrategy
from hpsearch.search.strategies.gp import GPConfig, GPStrategy
from hpsearch.search.strategies.grid import GridStrategy
from hpsearch.search.strategies.nsga2 import NSGA2Config, NSGA2Strategy
from hpsearch.search.strategies.pbt import PBTConfig, PBTStrategy
from hpsearch.search.strategies.qmc import QMCStrategy
from hpsearch.search.strategies.random import RandomStrategy
from hpsearch.search.strategies.tpe import TPEStrategy

__all__ = [
    "STRATEGIES",
    "STRATEGY_CLASSES",
    "CMAESConfig",
    "CMAESStrategy",
    "EvolutionConfig",
    "EvolutionStrategy",
    "GPConfig",
    "GPStrategy",
    "GridStrategy",
    "NSGA2Config",
    "NSGA2Strategy",
    "PBTConfig",
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

#: Every strategy a study may name, in the order ``hpsearch`` lists them.
STRATEGIES: Registry[Strategy] = Registry("strategy", register_strategy)
STRATEGIES.add(GridStrategy)
STRATEGIES.add(RandomStrategy)
STRATEGIES.add(TPEStrategy)
STRATEGIES.add(GPStrategy)
STRATEGIES.add(EvolutionStrategy)
STRATEGIES.add(CMAESStrategy)
STRATEGIES.add(QMCStrategy)
STRATEGIES.add(PBTStrategy)
STRATEGIES.add(NSGA2Strategy)

#: Name -> class (the registry's classes, under the name this table had before it).
STRATEGY_CLASSES: dict[str, type[Strategy]] = STRATEGIES.classes()


def make_strategy(
    name: str,
    space: SearchSpace,
    *,
    seed: int = 0,
    maximize: bool = True,
    pbt: PBTConfig | None = None,
    options: Any = None,
    builtin: bool = True,
    directions: Sequence[str] | None = None,
) -> Strategy:
    """The strategy called ``name`` over ``space`` (``options``: its own table, such as an
    :class:`EvolutionConfig`, None for its defaults; ``pbt``: a PBT study's, under its old name;
    ``builtin``: the space is the built-in model's, whose architecture PBT never explores; ``directions``:
    each objective's, for a study of several, which only a strategy whose options allow it runs)."""
    entry = STRATEGIES.entry(name)
    chosen = options if options is not None else pbt
    several: dict[str, Any] = {}
    if directions is not None and len(directions) > 1:
        if not entry.options.SEVERAL_OBJECTIVES:
            able = ", ".join(n for n in STRATEGIES if STRATEGIES.entry(n).options.SEVERAL_OBJECTIVES)
            raise ValueError(f"strategy {name!r} ranks trials by one objective; a study of several objectives runs {able}")
        several["directions"] = tuple(directions)
    return entry.cls(space, seed=seed, maximize=maximize, options=chosen, builtin=builtin, **several)  # type: ignore[call-arg]


def strategy_for(config: StudyConfig) -> Strategy:
    """The strategy a study runs, as its study file configures it."""
    return make_strategy(
        config.strategy,
        config.space,
        seed=config.seed,
        maximize=config.direction == "maximize",
        options=config.options,
        builtin=config.builtin_model,
        directions=[o.direction for o in config.objectives],
    )
