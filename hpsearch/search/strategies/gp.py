"""Gaussian-process Bayesian optimisation with scikit-learn, decided from the store's history at every ask.

* Encoding: every range in [0, 1] on its own scale (logarithmic for log ranges, so width and
  learning rate are modelled on a log scale), every choice one-hot.
* Model: a constant times an anisotropic Matérn 5/2 kernel plus white noise (training is noisy),
  values normalised. The kernel's hyperparameters are fitted by maximum likelihood (L-BFGS-B from
  the defaults and one seeded random start, at most 50 iterations each) only when the finished trials
  have grown by a tenth since the last fit (:func:`refit_point`), on the first trials in number order
  up to that point (an even spread of :data:`FIT_SUBSET` of them past that); between fits the model
  conditions every trial on the hyperparameters already found, which is one Cholesky factorisation.
  The fit is a pure function of the history, memoised in the process: a resumed run or another worker
  recomputes exactly the hyperparameters an unkilled run used, so it proposes the same points.
* Pending trials (running, waiting, or proposed earlier in the same claim): constant liar. Each
  is added to the data at the worst value seen so far, so the next proposal moves away from it;
  a claim of 16 trials gets 16 different points.
* Acquisition: expected improvement over the best finished value, maximised over ``candidates``
  points (half uniform, half steps at three scales around the five best trials, a choice redrawn
  now and then), then over finer steps around the five best candidates. Candidates are snapped to
  the space first (integers to their cell, choices to their value), so the model scores exactly the
  point that would be trained.
* The first ``startup_trials`` trials, and any ask with fewer finished trials than that, take
  scrambled Sobol points (as ``qmc`` does).

Optuna's ``GPSampler`` would need PyTorch; scikit-learn is already a dependency, and with the
hyperparameters refitted only every tenth of growth a suggestion costs tens of milliseconds at
hundreds of trials (``benchmarks/synthetic.py``).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hpsearch.core.config import StrategyOptions
from hpsearch.core.records import TrialRecord, TrialState
from hpsearch.core.space import Choice, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion, derive_seed, learning_batch
from hpsearch.search.strategies._generations import result_of
from hpsearch.search.strategies.qmc import sobol_point

__all__ = ["GPConfig", "GPStrategy", "features", "refit_point"]


@dataclass(frozen=True)
class GPConfig(StrategyOptions):
    """Gaussian-process Bayesian optimisation (the ``[gp]`` table): ``startup_trials`` quasi-random
    trials first, then expected improvement maximised over ``candidates`` points."""

    SEVERAL_OBJECTIVES: ClassVar[bool] = False  # expected improvement of one value

    startup_trials: int = 8
    candidates: int = 2000


def features(space: SearchSpace, units: np.ndarray) -> np.ndarray:
    """The model's view of points given as rows of unit coordinates (snapped, :meth:`SearchSpace.snap_units`):
    a range's coordinate as it is, a choice as one column per value (one-hot)."""
    columns: list[np.ndarray] = []
    for i, dim in enumerate(space.values()):
        if isinstance(dim, Choice):
            index = np.minimum(np.floor(units[:, i] * len(dim.choices)), len(dim.choices) - 1)
            columns.extend((index == k).astype(float) for k in range(len(dim.choices)))
        else:
            columns.append(units[:, i])
    return np.column_stack(columns)


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.01) -> np.ndarray:
    """Expected improvement over ``best`` (higher is better) of a normal with ``mean`` and ``std``."""
    from scipy.stats import norm

    std = np.maximum(std, 1e-12)
    z = (mean - best - xi) / std
    return (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z)  # type: ignore[no-any-return]


#: The kernel's hyperparameters are refitted when the finished trials have grown by this fraction since the
#: last fit (at least one trial): at 100 trials every 10th proposal refits, at 1,000 every 100th.
REFIT_GROWTH = 0.1
#: The most finished trials the hyperparameters are fitted on (an even spread of them beyond that); the model
#: itself always conditions on every trial.
FIT_SUBSET = 250
#: Starts of the likelihood's maximisation besides the kernel's defaults (from random hyperparameters), and the
#: most L-BFGS iterations of each.
FIT_RESTARTS = 1
FIT_ITERATIONS = 50
#: The local search around the leaders steps at these scales (fractions of each range's width).
LOCAL_STEPS = (0.1, 0.02, 0.004)
#: Expected improvement's margin, as a fraction of the spread of the values: small, so that once the model is
#: good the proposals close in on the optimum (0.01 left a Hartmann-6 regret of 2e-3 at 100 trials; 0.001, 3e-5).
XI = 0.001
#: Then the acquisition's best few candidates are refined by steps at these finer scales.
REFINED = 5
FINE_STEPS = (0.01, 0.002, 0.0005)


def refit_point(finished: int, first: int) -> int:
    """The number of finished trials the hyperparameters are fitted on when ``finished`` trials have finished:
    the last point of the schedule ``first, first + max(1, first // 10), ...`` not beyond ``finished``."""
    point = max(first, 1)
    while (following := point + max(1, int(point * REFIT_GROWTH))) <= finished:
        point = following
    return point


class GPStrategy(Strategy):
    """Gaussian-process BO with expected improvement (``strategy = "gp"``)."""

    name = "gp"
    OPTIONS = GPConfig
    options: GPConfig

    def __init__(self, space: SearchSpace, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(space, **kwargs)
        #: Fitted kernel hyperparameters by a fingerprint of the trials they were fitted on: a memo of a pure
        #: function of the history (a fresh instance computes the same values), not state that changes proposals.
        self._fitted: dict[bytes, np.ndarray] = {}

    def batch_size(self, history: Sequence[TrialRecord]) -> int | None:
        return learning_batch(history, self.options.startup_trials)

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        known = [t for t in history if self.space.contains(t.params)]
        done = [(t, r) for t in known if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and (r := result_of(t)) is not None]
        if number < self.options.startup_trials or len(done) < min(self.options.startup_trials, 2):
            return Suggestion(sobol_point(self.space, self.seed, number))
        sign = 1.0 if self.maximize else -1.0
        pending = [t for t in known if not t.state.is_finished()]
        points = features(self.space, np.array([self.space.to_unit(t.params) for t in [*(t for t, _ in done), *pending]]))
        x, y = points[: len(done)], np.array([sign * r for _, r in done])
        theta = self._hyperparameters(x, y)
        best, liar = float(y.max()), float(y.min())
        model = self._model(theta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(points, np.concatenate([y, np.full(len(pending), liar)]))
        rng = np.random.default_rng([self.seed, number, 0x69])
        leaders = np.array([self.space.to_unit(done[i][0].params) for i in np.argsort(-y, kind="stable")[:5]])
        scale = float(np.std(y)) or 1.0  # predict() undoes normalize_y; EI is taken on the original scale

        def gains(units: np.ndarray) -> np.ndarray:
            mean, std = model.predict(features(self.space, self.space.snap_units(units)), return_std=True)
            return expected_improvement(mean, std, best, xi=XI * scale)

        candidates = self._candidates(rng, leaders)
        gain = gains(candidates)
        # then finer steps around the most promising candidates, so that the point proposed is a local maximum of
        # the acquisition to about a thousandth of each range, not just the best of the draws
        top = candidates[np.argsort(-gain, kind="stable")[:REFINED]]
        finer = self._steps(rng, top, FINE_STEPS, self.options.candidates // 4)
        pool, pool_gain = np.vstack([candidates, finer]), np.concatenate([gain, gains(finer)])
        return Suggestion(self.space.from_unit(pool[int(np.argmax(pool_gain))]))

    def _hyperparameters(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The kernel's hyperparameters (log scale), fitted by maximum likelihood on the first
        :func:`refit_point` finished trials in number order (an even spread of :data:`FIT_SUBSET` of them
        beyond that), so that they change only every :data:`REFIT_GROWTH` of growth, and depend on the
        history alone: a resumed run, or another worker, fits exactly what an unkilled one did."""
        point = refit_point(len(y), min(self.options.startup_trials, len(y)))
        rows = np.arange(point)
        if point > FIT_SUBSET:
            rows = np.unique(np.linspace(0, point - 1, FIT_SUBSET).round().astype(int))
        xs, ys = x[rows], y[rows]
        key = hashlib.sha1(np.ascontiguousarray(xs).tobytes() + np.ascontiguousarray(ys).tobytes()).digest()
        if key not in self._fitted:
            from sklearn.gaussian_process import GaussianProcessRegressor

            model = GaussianProcessRegressor(
                _kernel(x.shape[1]),
                normalize_y=True,
                optimizer=_bounded_lbfgs,
                n_restarts_optimizer=FIT_RESTARTS,
                random_state=derive_seed(self.seed, point, salt=5),
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence warnings at the bounds of the hyperparameters
                model.fit(xs, ys)
            if len(self._fitted) >= 8:
                self._fitted.pop(next(iter(self._fitted)))
            self._fitted[key] = model.kernel_.theta
        return self._fitted[key]

    def _model(self, theta: np.ndarray):  # type: ignore[no-untyped-def]
        """A Gaussian process with the kernel's hyperparameters fixed at ``theta`` (fitting it is one Cholesky factorisation)."""
        from sklearn.gaussian_process import GaussianProcessRegressor

        kernel = _kernel(len(theta) - 2).clone_with_theta(theta)
        return GaussianProcessRegressor(kernel, normalize_y=True, optimizer=None)

    def _candidates(self, rng: np.random.Generator, leaders: np.ndarray) -> np.ndarray:
        """Rows of unit coordinates: uniform points of the space, and steps of every :data:`LOCAL_STEPS` scale
        around the ``leaders`` (rows of unit coordinates)."""
        n = self.options.candidates
        local = n // 2 if len(leaders) else 0
        uniform = rng.random((n - local, len(self.space)))
        return np.vstack([uniform, self._steps(rng, leaders, LOCAL_STEPS, local)]) if local else uniform

    def _steps(self, rng: np.random.Generator, origins: np.ndarray, scales: Sequence[float], n: int) -> np.ndarray:
        """``n`` normal steps around the rows of ``origins`` (in turn), at each of ``scales`` in turn (a fraction of every
        range), within the unit cube; a choice kept, or redrawn one time in five."""
        origin = origins[np.arange(n) % len(origins)]
        step = np.array(scales)[(np.arange(n) // len(origins)) % len(scales)]
        moved = origin + rng.normal(0.0, 1.0, origin.shape) * step[:, None]
        choices = np.array([isinstance(dim, Choice) for dim in self.space.values()])
        redraw = choices & (rng.random(origin.shape) < 0.2)
        return np.clip(np.where(redraw, rng.random(origin.shape), np.where(choices, origin, moved)), 0.0, 1.0)  # type: ignore[no-any-return]


def _bounded_lbfgs(objective, theta, bounds):  # type: ignore[no-untyped-def]
    """scikit-learn's own L-BFGS-B maximisation of the likelihood, with at most :data:`FIT_ITERATIONS` iterations."""
    from scipy.optimize import minimize

    result = minimize(objective, theta, method="L-BFGS-B", jac=True, bounds=bounds, options={"maxiter": FIT_ITERATIONS})
    return result.x, result.fun


def _kernel(dims: int):  # type: ignore[no-untyped-def]
    """A constant times an anisotropic Matérn 5/2 kernel over ``dims`` coordinates, plus white noise."""
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    matern = Matern(length_scale=np.full(dims, 0.5), length_scale_bounds=(1e-2, 1e2), nu=2.5)
    return ConstantKernel(1.0, (1e-3, 1e3)) * matern + WhiteKernel(1e-2, (1e-6, 1.0))
