"""A study's objectives, and the rules of several: dominance, the Pareto set, non-dominated ranks, crowding
distance and hypervolume, in one place.

A study has one objective (a metric and a direction) or several. With several, no trial is "the best": the
result is the **Pareto set**, the trials no other trial dominates (at least as good in every objective and
better in one). Every reader, strategy and the runner asks these functions, so the rule cannot drift.

These are written here rather than taken from Optuna: Optuna's versions are private (``optuna.study._multi_objective``,
``optuna._hypervolume``) and work on its own trial objects; these take plain values, which is what the store holds.
The fronts are small (tens of trials), so the plain quadratic sort and the exact slicing hypervolume are enough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Objective",
    "crowding_distances",
    "dominates",
    "hypervolume",
    "nondominated_ranks",
    "pareto_indices",
    "reference_point",
]

Point = Sequence[float]


@dataclass(frozen=True)
class Objective:
    """One objective of a study: the ``metric`` a trial reports at its last epoch, and whether to maximize it."""

    metric: str
    direction: str

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` in this objective."""
        return a > b if self.maximize else a < b


def _minimized(point: Point, maximize: Sequence[bool]) -> tuple[float, ...]:
    """``point`` with every objective turned into one to minimize."""
    return tuple(-v if m else v for v, m in zip(point, maximize, strict=True))


def dominates(a: Point, b: Point, maximize: Sequence[bool]) -> bool:
    """Whether ``a`` dominates ``b``: at least as good in every objective and strictly better in one."""
    x, y = _minimized(a, maximize), _minimized(b, maximize)
    return all(u <= v for u, v in zip(x, y)) and any(u < v for u, v in zip(x, y))


def pareto_indices(points: Sequence[Point], maximize: Sequence[bool]) -> list[int]:
    """The indices of ``points`` no other point dominates, in their order (equal points all stay)."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p, maximize) for j, q in enumerate(points) if j != i)]


def nondominated_ranks(points: Sequence[Point], maximize: Sequence[bool]) -> list[int]:
    """Each point's non-dominated front (NSGA-II's rank): 0 for the Pareto set, 1 for the set of what is left, ..."""
    ranks = [-1] * len(points)
    left = list(range(len(points)))
    rank = 0
    while left:
        front = [left[i] for i in pareto_indices([points[k] for k in left], maximize)]
        for k in front:
            ranks[k] = rank
        left = [k for k in left if ranks[k] < 0]
        rank += 1
    return ranks


def crowding_distances(points: Sequence[Point]) -> list[float]:
    """NSGA-II's crowding distance of each point among ``points`` (one front): for every objective, the gap between
    its two neighbours as a share of the front's range, summed; the ends of each objective are infinitely far."""
    n = len(points)
    distance = [0.0] * n
    if n == 0:
        return distance
    for k in range(len(points[0])):
        order = sorted(range(n), key=lambda i: (points[i][k], i))
        low, high = points[order[0]][k], points[order[-1]][k]
        distance[order[0]] = distance[order[-1]] = float("inf")
        if high == low:
            continue
        for before, here, after in zip(order, order[1:], order[2:]):
            distance[here] += (points[after][k] - points[before][k]) / (high - low)
    return distance


def reference_point(points: Sequence[Point], maximize: Sequence[bool]) -> tuple[float, ...]:
    """A reference point for :func:`hypervolume` from ``points`` (every trial of the studies compared): in each objective,
    the worst value seen, moved a tenth of the range further (as Optuna's hypervolume plot picks one), so that every
    Pareto point adds a volume."""
    out = []
    for k, m in enumerate(maximize):
        values = [p[k] for p in points]
        low, high = min(values), max(values)
        margin = 0.1 * (high - low) or 0.1 * abs(high) or 0.1
        out.append(low - margin if m else high + margin)
    return tuple(out)


def hypervolume(points: Sequence[Point], maximize: Sequence[bool], reference: Point) -> float:
    """The volume that ``points`` dominate up to ``reference`` (a point worse than them in every objective): the
    larger, the better the front. Points not better than the reference in every objective add nothing."""
    ref = _minimized(reference, maximize)
    inside = [q for q in (_minimized(p, maximize) for p in points) if all(u < r for u, r in zip(q, ref))]
    front = [inside[i] for i in pareto_indices(inside, [False] * len(ref))]
    return _volume(sorted(set(front)), ref)


def _volume(points: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    """The exact volume dominated by ``points`` (all minimized, all inside ``ref``), sliced along the last objective."""
    if not points:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in points)
    by_last = sorted(points, key=lambda p: p[-1])
    total = 0.0
    for i, p in enumerate(by_last):
        top = by_last[i + 1][-1] if i + 1 < len(by_last) else ref[-1]
        if top > p[-1]:
            below = [q[:-1] for q in by_last[: i + 1]]
            total += (top - p[-1]) * _volume(below, ref[:-1])
    return total
