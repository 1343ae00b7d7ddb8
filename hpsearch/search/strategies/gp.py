"""Gaussian-process Bayesian optimisation with scikit-learn, rebuilt from the store for every ask.

* Encoding: every range in [0, 1] on its own scale (logarithmic for log ranges, so width and
  learning rate are modelled on a log scale), every choice one-hot.
* Model: a constant times an anisotropic Matérn 5/2 kernel plus white noise (training is noisy),
  its hyperparameters fitted by maximum likelihood with seeded restarts, values normalised.
* Pending trials (running, waiting, or proposed earlier in the same claim): constant liar. Each
  is added to the data at the worst value seen so far, so the next proposal moves away from it;
  a claim of 16 trials gets 16 different points.
* Acquisition: expected improvement over the best finished value, maximised over
  ``candidates`` points: uniform ones, plus small steps around the five best trials (a choice
  redrawn now and then). Candidates are realised in the space first (integers rounded, choices
  picked), so the model scores exactly the point that would be trained.
* The first ``startup_trials`` trials, and any ask with fewer finished trials than that, take
  scrambled Sobol points (as ``qmc`` does).

Optuna's ``GPSampler`` would need PyTorch; scikit-learn is already a dependency and at these
sizes (hundreds of trials, a handful of dimensions) fits in well under a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.records import TrialRecord, TrialState
from hpsearch.core.space import Choice, Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed
from hpsearch.search.strategies._generations import result_of
from hpsearch.search.strategies.qmc import sobol_point

__all__ = ["GPConfig", "GPStrategy", "encode"]


@dataclass(frozen=True)
class GPConfig(StrategyOptions):
    """Gaussian-process Bayesian optimisation (the ``[gp]`` table): ``startup_trials`` quasi-random
    trials first, then expected improvement maximised over ``candidates`` points."""

    startup_trials: int = 8
    candidates: int = 2000


def encode(space: SearchSpace, params: Params) -> np.ndarray:
    """The model's view of a point: ranges in [0, 1] on their scale, choices one-hot."""
    out: list[float] = []
    for name, dim in space.items():
        if isinstance(dim, Choice):
            out.extend(1.0 if params[name] == c else 0.0 for c in dim.choices)
        else:
            out.append(dim.to_unit(params[name]))
    return np.array(out)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.01) -> np.ndarray:
    """Expected improvement over ``best`` (higher is better) of a normal with ``mean`` and ``std``."""
    from scipy.stats import norm

    std = np.maximum(std, 1e-12)
    z = (mean - best - xi) / std
    return (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z)  # type: ignore[no-any-return]


class GPStrategy(Strategy):
    """Gaussian-process BO with expected improvement (``strategy = "gp"``)."""

    name = "gp"
    OPTIONS = GPConfig
    options: GPConfig

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        known = [t for t in history if self.space.contains(t.params)]
        done = [(t, r) for t in known if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and (r := result_of(t)) is not None]
        if number < self.options.startup_trials or len(done) < min(self.options.startup_trials, 2):
            return Suggestion(sobol_point(self.space, self.seed, number))
        sign = 1.0 if self.maximize else -1.0
        x = [encode(self.space, t.params) for t, _ in done]
        y = [sign * r for _, r in done]
        best = max(y)
        liar = min(y)
        x += [encode(self.space, t.params) for t in known if not t.state.is_finished()]
        y += [liar] * (len(x) - len(y))
        rng = np.random.default_rng([self.seed, number, 0x69])
        model = self._fit(np.array(x), np.array(y), derive_seed(self.seed, number, salt=5))
        candidates = self._candidates(rng, [t.params for t, _ in sorted(done, key=lambda d: -sign * d[1])[:5]])
        mean, std = model.predict(np.array([encode(self.space, c) for c in candidates]), return_std=True)
        scale = float(np.std(y)) or 1.0  # predict() undoes normalize_y; EI is taken on the original scale
        gain = expected_improvement(mean, std, best, xi=0.01 * scale)
        return Suggestion(candidates[int(np.argmax(gain))])

    def _fit(self, x: np.ndarray, y: np.ndarray, seed: int):  # type: ignore[no-untyped-def]
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(
            length_scale=np.full(x.shape[1], 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5
        ) + WhiteKernel(1e-2, (1e-6, 1.0))
        model = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
        return model

    def _candidates(self, rng: np.random.Generator, leaders: list[Params]) -> list[Params]:
        """Uniform points of the space and small steps around the ``leaders``, realised as params."""
        n = self.options.candidates
        local = n // 4 if leaders else 0
        points = [self.space.sample(rng) for _ in range(n - local)]
        for i in range(local):
            leader = leaders[i % len(leaders)]
            point = {}
            for name, dim in self.space.items():
                if isinstance(dim, Choice):
                    point[name] = dim.sample(rng) if rng.random() < 0.2 else leader[name]
                else:
                    point[name] = dim.from_unit(dim.to_unit(leader[name]) + rng.normal(0.0, 0.05))
            points.append(point)
        return points
