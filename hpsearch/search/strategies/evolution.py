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

The mutation step adapts to success, in the manner of the 1/5th success rule, one generation at a
time and from the history alone. Generation 1 steps ``sigma`` (a share of a range's width, on its own
scale); each later generation takes the step of the one before, times a factor set by the share of
that generation's finished children that beat the best trial of the pool they were bred from (a new
best of the study; a failure beats nothing, and anything beats a pool of failures): below
``SUCCESS_TARGET`` the step shrinks (by ``exp(-SHRINK)`` when no child did), above it it grows (by
``exp(GROW)`` when every child did), within ``STEP_BOUNDS``. A success is counted against the pool's
best rather than against a child's own parent because a tournament winner is often an ordinary
trial, and children beat such parents about as often whatever the step. The step is recomputed from
the trials every time (:meth:`EvolutionStrategy.step`), so a resumed study or another worker uses the
same one, and every decision's reason names it.

This is the hyperparameter counterpart of PBT: PBT also copies weights from member to member;
here every child trains from scratch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.errors import ConfigError
from hpsearch.core.records import Decision, TrialRecord
from hpsearch.core.space import Choice, Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion
from hpsearch.search.strategies._generations import finished_generation, result_of, scores

__all__ = ["Breeding", "EvolutionConfig", "EvolutionStrategy"]

#: The share of a generation's children that set a new best at which the step stays as it is.
SUCCESS_TARGET = 0.1
#: The most the step's logarithm moves after one generation: down by SHRINK when no child set a new best,
#: up by GROW when every child did (in proportion to the distance from SUCCESS_TARGET in between).
SHRINK = 0.5
GROW = 1.0
#: The step stays within these shares of a range's width: below the first a trained model's result moves
#: less than its noise, and a normal step of the second, reflected at the ends, is as good as a fresh draw.
STEP_BOUNDS = (0.01, 1.0)


@dataclass(frozen=True)
class EvolutionConfig(StrategyOptions):
    """Generational evolutionary search (the ``[evolution]`` table).

    Generation ``g`` is the ``population`` trials numbered ``g * population`` on; generation 0 is
    drawn at random, and every child of generation ``g`` is bred from generation ``g - 1`` and the
    ``elites`` best trials of all earlier generations: two parents each won a ``tournament`` of
    that many entrants, each hyperparameter comes from the second parent with probability
    ``crossover``, and then mutates with probability ``mutation`` (at least one, unless it is 0: a range moves by
    a normal step, a choice is redrawn). The step is ``sigma`` of a range's width on its own scale in
    generation 1; each later one shrinks it when few children of the generation before set a new best
    and grows it when many did (a success rule, :meth:`EvolutionStrategy.step`).
    """

    LINEAGE: ClassVar[bool] = True
    SEVERAL_OBJECTIVES: ClassVar[bool] = False  # tournaments by one value; nsga2 is its several-objective form

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
                f"{strategy}.elites",
                options.elites,
                f"at most {strategy}.population ({options.population}): the elites are parents kept beside one generation, "
                "never more than it",
            )
        if options.tournament > options.population + options.elites:
            raise ConfigError(
                f"{strategy}.tournament",
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
        step = self.step(history, generation)
        b = self._breed(pool, number, history, step)
        reason = f"tournament winners #{b.first.number} and #{b.second.number}"
        reason += f"; from #{b.second.number}: {', '.join(b.crossed) or 'nothing'}; mutated: {', '.join(b.mutated) or 'nothing'}"
        reason += f"; step {step:.3g}"
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

    def step(self, history: Sequence[TrialRecord], generation: int) -> float:
        """The mutation step of ``generation`` (1 on), as a share of a range's width on its own scale:
        ``sigma`` for generation 1, then for each generation ``e`` before ``generation`` the step of ``e``
        times a factor set by the share of ``e``'s finished children that beat the best of ``e``'s pool
        (``SUCCESS_TARGET``, ``SHRINK``, ``GROW``), kept within ``STEP_BOUNDS``."""
        o = self.options
        size = o.population
        by_generation: dict[int, list[TrialRecord]] = {}
        for t in history:
            if t.number < generation * size:
                by_generation.setdefault(t.number // size, []).append(t)
        low, high = (math.log(b) for b in STEP_BOUNDS)
        log_step = math.log(o.sigma)
        for e in range(1, generation):
            previous = by_generation.get(e - 1, [])
            children = [t for t in by_generation.get(e, []) if t.state.is_finished()]
            if children and len(previous) == size and all(t.state.is_finished() for t in previous):  # as _pool(history, e)
                earlier = [t for g in range(e - 1) for t in by_generation.get(g, [])] if o.elites > 0 else []
                rate = self._successes(children, previous, earlier) / len(children)
                if rate < SUCCESS_TARGET:
                    log_step -= SHRINK * (SUCCESS_TARGET - rate) / SUCCESS_TARGET
                else:
                    log_step += GROW * (rate - SUCCESS_TARGET) / (1.0 - SUCCESS_TARGET)
                log_step = min(max(log_step, low), high)
        return math.exp(log_step)

    def _successes(self, children: Sequence[TrialRecord], previous: Sequence[TrialRecord], earlier: Sequence[TrialRecord]) -> int:
        """How many finished ``children`` set a new best: beat the best result of the pool they were bred from (generation
        ``previous`` and the ``earlier`` ones, whose best stands for the elites; a failure beats nothing, and anything beats
        a pool of failures)."""
        sign = 1.0 if self.maximize else -1.0
        pool = [sign * r for t in [*previous, *earlier] if t.state.is_finished() and (r := result_of(t)) is not None]
        bar = max(pool, default=None)
        return sum(1 for r in (result_of(c) for c in children) if r is not None and (bar is None or sign * r > bar))

    def _scores(self, trials: Sequence[TrialRecord]) -> list[float]:
        """Each trial's score for selection, higher better (:func:`scores`: its result, a failure below every success)."""
        return scores(trials, maximize=self.maximize)

    def _pool(self, history: Sequence[TrialRecord], generation: int) -> list[tuple[float, TrialRecord]] | None:
        """Generation ``generation - 1`` and the elites before it, each with its score; None until it finished."""
        size = self.options.population
        previous = finished_generation(history, generation - 1, size)
        if previous is None:
            return None
        earlier = [t for t in history if t.number < (generation - 1) * size and t.state.is_finished()]
        scored = list(zip(self._scores([*previous, *earlier]), [*previous, *earlier]))
        elites = sorted(scored[len(previous) :], key=lambda st: (-st[0], st[1].number))[: self.options.elites]
        return scored[: len(previous)] + elites

    def _tournament(self, entrants: list[tuple[float, TrialRecord]], rng: np.random.Generator) -> TrialRecord:
        """The best of ``tournament`` entrants drawn without replacement. A child's generator draws its two
        tournaments first, as every version did: recomputed parents of a study stored before its lineage
        was (:mod:`hpsearch.running.lineage`) are the parents it had."""
        drawn = rng.choice(len(entrants), size=min(self.options.tournament, len(entrants)), replace=False)
        return min((entrants[i] for i in drawn), key=lambda st: (-st[0], st[1].number))[1]

    def _breed(self, pool: list[tuple[float, TrialRecord]], number: int, history: Sequence[TrialRecord], step: float) -> Breeding:
        """Child ``number`` of ``pool``, ranges mutated by normal steps of ``step``; a child equal to an
        earlier trial (numbered below it) mutates again, so that no configuration is trained twice while
        there are others to try."""
        o = self.options
        rng = np.random.default_rng([self.seed, number, 0xE1])
        first = self._tournament(pool, rng)
        others = [st for st in pool if st[1].number != first.number]
        second = self._tournament(others, rng) if others else first
        names = list(self.space)
        take_second = rng.random(len(names)) < o.crossover
        mutate = rng.random(len(names)) < o.mutation
        movable = [i for i, name in enumerate(names) if _movable(self.space[name])]
        if o.mutation > 0 and movable and not mutate[movable].any():  # at least one hyperparameter mutates
            mutate[movable[int(rng.integers(len(movable)))]] = True
        params: Params = {}
        crossed: list[str] = []
        mutated: list[str] = []
        for i, (name, dim) in enumerate(self.space.items()):
            # in a conditional space a parent may not have the dimension: the child takes the other's, if either has it
            source, other = (second, first) if take_second[i] else (first, second)
            inherited = source.params.get(name, other.params.get(name))
            if inherited is None:
                continue  # neither parent has it: the child draws it if its other values make it exist
            if inherited != first.params.get(name):
                crossed.append(name)
            value = _mutated(dim, inherited, step, rng) if mutate[i] else inherited
            if value != inherited:
                mutated.append(name)
            params[name] = value
        params = self.space.completed(params, rng)  # a space without conditions: unchanged, and no draw taken
        earlier = {_key(t.params) for t in history if t.number < number}
        for _ in range(20):
            if _key(params) not in earlier:
                break
            name = names[int(rng.integers(len(names)))]
            if name not in params:
                continue  # does not exist for this child
            params[name] = _mutated(self.space[name], params[name], max(step, o.sigma), rng)
            params = self.space.completed(params, rng)
            if name not in mutated:
                mutated.append(name)
        return Breeding(first, second, tuple(crossed), tuple(mutated), params)


def _movable(dim: Any) -> bool:
    """Whether mutating ``dim`` can change its value (a choice of one value, or a range of one, cannot)."""
    return len(dim.choices) > 1 if isinstance(dim, Choice) else dim.low < dim.high


def _mutated(dim: Any, value: Any, step: float, rng: np.random.Generator) -> Any:
    """``value`` mutated: a choice redrawn, a range moved by a normal step of ``step`` of its width on its
    own scale, reflected at its ends."""
    if isinstance(dim, Choice):
        return dim.sample(rng)
    u = dim.to_unit(value) + rng.normal(0.0, step)
    u = abs(u) if u < 0 else (2.0 - u if u > 1 else u)
    return dim.from_unit(u)


def _key(params: Params) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(params.items()))
