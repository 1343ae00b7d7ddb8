"""Generational evolutionary search over hyperparameters: tournament selection, uniform
crossover, mutation within the declared bounds, and elitism.

Generation ``g`` is the ``population`` trials numbered ``g * population`` on. Generation 0 is
drawn at random. A child of generation ``g >= 1`` is bred, with a generator seeded by the
study seed and its own number, from the parent pool: generation ``g - 1`` and the ``elites``
best trials of all generations before it (so a good configuration is never lost, and is not
trained again either). Generation ``g`` waits until ``g - 1`` has finished, so every child is
decided from the same finished trials: a killed run continues the same way, and several
workers share one population.

The lineage is recorded in the store when a child is proposed: its trial carries its generation,
and its suggestion a decision (stored in the table PBT's decisions use) of kind ``crossover`` (two
parents) or ``mutation`` (one), whose ``parent_trial`` is the first parent's trial number and
``second_parent`` the second's (the same for a mutation), with the first parent's and the child's
params and a reason naming what came from which and what mutated. :mod:`hpsearch.read.frames` reads
the lineage from these rows only, so an old study's lineage does not depend on today's code;
:mod:`hpsearch.running.lineage` fills them in once for a study stored before the second parent was
recorded.

This is the hyperparameter counterpart of PBT: PBT also copies weights from member to member;
here every child trains from scratch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.errors import ConfigError
from hpsearch.core.records import Decision, TrialRecord
from hpsearch.core.space import Choice, Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion
from hpsearch.search.strategies._generations import finished_generation, scores

__all__ = ["Breeding", "EvolutionConfig", "EvolutionStrategy"]


@dataclass(frozen=True)
class EvolutionConfig(StrategyOptions):
    """Generational evolutionary search (the ``[evolution]`` table).

    Generation ``g`` is the ``population`` trials numbered ``g * population`` on; generation 0 is
    drawn at random, and every child of generation ``g`` is bred from generation ``g - 1`` and the
    ``elites`` best trials of all earlier generations: two parents each won a ``tournament`` of
    that many entrants, each hyperparameter comes from the second parent with probability
    ``crossover``, and then mutates with probability ``mutation`` (a range moves by a normal step of
    ``sigma`` of its width on its own scale, a choice is redrawn).
    """

    population: int = 8
    tournament: int = 3
    elites: int = 2
    crossover: float = 0.5
    mutation: float = 0.25
    sigma: float = 0.15

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> EvolutionConfig:
        options = super().parse(table, strategy=strategy, space=space)
        if options.elites > options.population:
            raise ConfigError(
                "evolution.elites",
                options.elites,
                f"at most evolution.population ({options.population}): the elites are parents kept beside one generation, "
                "never more than it",
            )
        if options.tournament > options.population + options.elites:
            raise ConfigError(
                "evolution.tournament",
                options.tournament,
                f"a tournament draws from one generation and its elites ({options.population} + {options.elites} trials)",
            )
        return options


@dataclass(frozen=True)
class Breeding:
    """How one child was made: its two parents, which hyperparameters came from the second, which mutated."""

    first: TrialRecord
    second: TrialRecord
    crossed: tuple[str, ...]
    mutated: tuple[str, ...]
    params: Params


class EvolutionStrategy(Strategy):
    """Tournament selection, uniform crossover, mutation and elitism (``strategy = "evolution"``)."""

    name = "evolution"
    OPTIONS = EvolutionConfig
    options: EvolutionConfig

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        generation = number // self.options.population
        if generation == 0:
            return Suggestion(self.space.sample(np.random.default_rng([self.seed, number, 0xE0])), generation=0)
        decision = self.decision(history, number)
        if decision is None:
            return None
        return Suggestion(dict(decision.new_params), generation=generation, decision=decision)

    def decision(self, history: Sequence[TrialRecord], number: int) -> Decision | None:
        """How child ``number`` (of generation 1 on) is bred from ``history``: its parents, its params and
        why; None for generation 0 or while the generation before it has not finished."""
        generation = number // self.options.population
        pool = self._pool(history, generation) if generation > 0 else None
        if pool is None:
            return None
        b = self._breed(pool, number, history)
        reason = f"tournament winners #{b.first.number} and #{b.second.number}"
        reason += f"; from #{b.second.number}: {', '.join(b.crossed) or 'nothing'}; mutated: {', '.join(b.mutated) or 'nothing'}"
        return Decision(
            trial_number=number,
            member=number % self.options.population,
            generation=generation,
            at_epoch=0,
            kind="mutation" if b.first.number == b.second.number else "crossover",
            parent_trial=b.first.number,
            parent_member=None,  # an evolution trial belongs to no PBT member
            second_parent=b.second.number,
            old_params=dict(b.first.params),
            new_params=dict(b.params),
            reason=reason,
        )

    def parents(self, history: Sequence[TrialRecord]) -> dict[int, tuple[int, int]]:
        """Both parents of every child in ``history`` (trial number -> (first, second)), recomputed as they
        were chosen (the stored decisions hold them: this is for studies stored before they did)."""
        out: dict[int, tuple[int, int]] = {}
        for trial in history:
            d = self.decision(history, trial.number)
            if d is not None and d.parent_trial is not None and d.second_parent is not None:
                out[trial.number] = (d.parent_trial, d.second_parent)
        return out

    def _pool(self, history: Sequence[TrialRecord], generation: int) -> list[tuple[float, TrialRecord]] | None:
        """Generation ``generation - 1`` and the elites before it, each with its score; None until it finished."""
        size = self.options.population
        previous = finished_generation(history, generation - 1, size)
        if previous is None:
            return None
        earlier = [t for t in history if t.number < (generation - 1) * size and t.state.is_finished()]
        scored = list(zip(scores([*previous, *earlier], maximize=self.maximize), [*previous, *earlier]))
        elites = sorted(scored[len(previous) :], key=lambda st: (-st[0], st[1].number))[: self.options.elites]
        return scored[: len(previous)] + elites

    def _breed(self, pool: list[tuple[float, TrialRecord]], number: int, history: Sequence[TrialRecord]) -> Breeding:
        """Child ``number`` of ``pool``; a child equal to an earlier trial (numbered below it) mutates
        again, so that no configuration is trained twice while there are others to try."""
        o = self.options
        rng = np.random.default_rng([self.seed, number, 0xE1])

        def tournament(entrants: list[tuple[float, TrialRecord]]) -> TrialRecord:
            drawn = rng.choice(len(entrants), size=min(o.tournament, len(entrants)), replace=False)
            return min((entrants[i] for i in drawn), key=lambda st: (-st[0], st[1].number))[1]

        first = tournament(pool)
        others = [st for st in pool if st[1].number != first.number]
        second = tournament(others) if others else first
        params: Params = {}
        crossed: list[str] = []
        mutated: list[str] = []
        for name, dim in self.space.items():
            take_second = rng.random() < o.crossover
            value = second.params[name] if take_second else first.params[name]
            if take_second and value != first.params[name]:
                crossed.append(name)
            if rng.random() < o.mutation:
                if isinstance(dim, Choice):
                    value = dim.sample(rng)
                else:  # a normal step on the range's own scale, reflected at the bounds
                    u = dim.to_unit(value) + rng.normal(0.0, o.sigma)
                    u = abs(u) if u < 0 else (2.0 - u if u > 1 else u)
                    value = dim.from_unit(u)
                if value != (second.params[name] if take_second else first.params[name]):
                    mutated.append(name)
            params[name] = value
        earlier = {_key(t.params) for t in history if t.number < number}
        names = list(self.space)
        for _ in range(20):
            if _key(params) not in earlier:
                break
            name = names[int(rng.integers(len(names)))]
            dim = self.space[name]
            params[name] = (
                dim.sample(rng) if isinstance(dim, Choice) else dim.from_unit(dim.to_unit(params[name]) + rng.normal(0.0, o.sigma))
            )
            if name not in mutated:
                mutated.append(name)
        return Breeding(first, second, tuple(crossed), tuple(mutated), params)


def _key(params: Params) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(params.items()))
