"""Quasi-random search: trial ``n`` is point ``n`` of a scrambled Sobol sequence seeded by the study.

This is what Optuna's ``QMCSampler`` does (it too draws from SciPy's ``scipy.stats.qmc.Sobol``),
but the point's index comes from the trial number rather than from a counter kept in the study's
attributes, so the same trial gets the same point whatever the workers, the order in which trials
finish, or how often the study was resumed. Sobol points cover the cube more evenly than
independent draws: at small budgets no region is left empty by chance.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from hpsearch.core.records import TrialRecord
from hpsearch.core.space import Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed

__all__ = ["QMCStrategy", "sobol_point"]


def sobol_point(space: SearchSpace, seed: int, number: int) -> Params:
    """Point ``number`` of the scrambled Sobol sequence of ``space`` seeded by ``seed``."""
    from scipy.stats import qmc

    sobol = qmc.Sobol(d=len(space), scramble=True, seed=derive_seed(seed, 0, salt=4))
    with warnings.catch_warnings():  # SciPy warns when a prefix is not a power of two long; each point is still exact
        warnings.simplefilter("ignore")
        if number:
            sobol.fast_forward(number)
        point = sobol.random(1)[0]
    return space.from_unit(point)


class QMCStrategy(Strategy):
    """Scrambled Sobol points, in sequence order (``strategy = "qmc"``)."""

    name = "qmc"

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        return Suggestion(sobol_point(self.space, self.seed, number))
