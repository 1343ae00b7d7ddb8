"""NSGA-II (Deb et al. 2002) for studies of several objectives: the evolutionary search of
:mod:`hpsearch.search.strategies.evolution` with its selection made by non-dominated sorting and crowding distance.

Everything but the ranking is evolution's, so that the two cannot drift: generation ``g`` is the ``population``
trials numbered ``g * population`` on, generation 0 drawn at random, every child of a later generation bred (two
tournaments, uniform crossover, mutation with the adaptive step) from generation ``g - 1`` and the ``elites`` best of
the generations before it, once ``g - 1`` has finished; the generation and both parents are stored with each child, as
an evolution study's lineage is.

What NSGA-II changes is what "better" means. The trials of the pool are sorted into non-dominated fronts (rank 0: the
Pareto set of the pool; rank 1: the Pareto set of what is left; ...), and within a front a trial whose neighbours along
each objective are far apart (a large crowding distance: it stands for a sparse part of the front) is preferred, so the
search spreads along the front instead of crowding one end. A trial's score is ``-rank + crowding / (2 (1 + crowding))``:
a better front always wins, and within a front the more isolated trial (the ends of a front score highest). A failure
ranks below every trial with values. The step grows when many children of a generation joined the front of everything
trained before them (no earlier trial dominates them) and shrinks when few did.

Written here rather than replayed through Optuna's ``NSGAIISampler``: Optuna's decides generations by the order trials
finish in and keeps its parents in the study's system attributes, so a resumed or shared study would not see the same
parents, and it records no lineage; this one decides from the stored history alone, as every strategy here does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hpsearch.core.objectives import crowding_distances, dominates, nondominated_ranks
from hpsearch.core.records import TrialRecord
from hpsearch.search.strategies.evolution import EvolutionConfig, EvolutionStrategy

__all__ = ["NSGA2Config", "NSGA2Strategy"]


@dataclass(frozen=True)
class NSGA2Config(EvolutionConfig):
    """NSGA-II (the ``[nsga2]`` table): the keys of ``[evolution]``, with the same defaults and bounds."""

    SEVERAL_OBJECTIVES = True


class NSGA2Strategy(EvolutionStrategy):
    """Evolutionary search ranked by non-dominated sorting and crowding distance (``strategy = "nsga2"``)."""

    name = "nsga2"
    OPTIONS = NSGA2Config
    options: NSGA2Config

    def _points(self, trials: Sequence[TrialRecord]) -> list[tuple[float, ...] | None]:
        """Each trial's values in every objective (None for a failure, or a pruned trial of a study of one)."""
        n = len(self.directions)
        return [
            t.values if t.state.is_finished() and t.values is not None and len(t.values) == n else None  # type: ignore[misc]
            for t in trials
        ]

    def _scores(self, trials: Sequence[TrialRecord]) -> list[float]:
        """``-rank + crowding / (2 (1 + crowding))`` (see the module's notes); a failure scores below every other trial."""
        points = self._points(trials)
        known = [i for i, p in enumerate(points) if p is not None]
        maximize = [d == "maximize" for d in self.directions]
        ranks = nondominated_ranks([points[i] for i in known], maximize)  # type: ignore[misc]
        out = [-float(max(ranks, default=0) + 1)] * len(trials)  # a failure: below the last front
        for rank in set(ranks):
            front = [known[k] for k, r in enumerate(ranks) if r == rank]
            for i, c in zip(front, crowding_distances([points[i] for i in front])):  # type: ignore[misc]
                out[i] = -rank + (0.5 if c == float("inf") else c / (2.0 * (1.0 + c)))
        return out

    def _successes(self, children: Sequence[TrialRecord], previous: Sequence[TrialRecord], earlier: Sequence[TrialRecord]) -> int:
        """How many finished ``children`` joined the front: no trial of the pool they were bred from dominates them."""
        maximize = [d == "maximize" for d in self.directions]
        pool = [p for p in self._points([*previous, *earlier]) if p is not None]
        return sum(1 for p in self._points(children) if p is not None and not any(dominates(q, p, maximize) for q in pool))
