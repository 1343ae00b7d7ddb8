#!/usr/bin/env python
"""Search quality and cost of every strategy against the libraries users would pick instead, on
synthetic functions (no training): Branin, Hartmann-6, Rosenbrock-4 and a mixed space, all minimised.

Quality: every contestant runs ``--evals`` evaluations per function and seed; the tables give the
median over seeds of the simple regret (best value found minus the known global minimum) at 25, 50
and 100 evaluations, read off the best-so-far curve of that one run, and the median wall time of a run.
hpsearch's strategies run through ``hpsearch.run_study`` with a ``FunctionTrainer`` (one epoch per
trial, each study in its own temporary SQLite store, so their time includes the store's writes); the
peers run in memory: Optuna (TPE, CMA-ES, random, GP when torch imports), Hyperopt (TPE),
scikit-optimize (``gp_minimize``) and Nevergrad (NGOpt, OnePlusOne). A peer that is not installed or
fails to import is skipped with one line (``pip install -e ".[bench]"`` installs them all but torch).

The functions (``x`` the point, every dimension a float range unless said otherwise):

* Branin: x1 in [-5, 10], x2 in [0, 15]; minimum 0.397887 (at three points).
* Hartmann-6: x1..x6 in [0, 1]; minimum -3.32237.
* Rosenbrock-4: x1..x4 in [-5, 10]; minimum 0 at (1, 1, 1, 1).
* mixed: Hartmann-6 over x1..x4 in [0, 1], x5 an integer 0..10 standing for x5 / 10, and x6 held at
  0.6573 (its coordinate at Hartmann-6's minimum) while a choice ``shift`` of "a", "b" or "c" adds
  0.5, 0.0 or 1.0; minimum -3.315673 at x5 = 3, shift = "b" (x1..x4 near 0.2023, 0.1500, 0.4758, 0.2757;
  found with L-BFGS-B from many starts at each x5).

Cost: the wall time of one suggestion from a history of n finished trials (random points of the
Hartmann-6 space scored by it), median of ``--repeats`` timings: hpsearch's ``strategy.ask(history, n)``;
Optuna's TPE (``study.ask`` + ``tell`` on an in-memory study of n trials, a fresh sampler seed each
time, as a sequential Optuna run pays it); scikit-optimize's ``Optimizer`` (it fits its GP in ``tell``,
so the time is one ``tell`` of a new point plus the ``ask``); and the store side of a claim
(``Store.claim_snapshot`` on an SQLite study of n one-epoch trials, made by a random study).
Sizes above 200 are timed only for gp, tpe, Optuna's TPE and the store claim.

Everything runs with one BLAS thread (``threadpoolctl.threadpool_limits(1)``): on a small shared
machine two threads made scikit-optimize's GP about 5x slower, and one thread is the same for all.

    python benchmarks/synthetic.py --quick                  # 2 seeds, 50 evaluations, cost at 25 and 100 (5 minutes on 2 cores)
    python benchmarks/synthetic.py                          # 5 seeds, 100 evaluations, cost at 25..200 and 1000 (most of it skopt)
    python benchmarks/synthetic.py --only gp,skopt-gp --functions branin --seeds 0,1
    python benchmarks/synthetic.py --cost-only --cost-sizes 100,1000 --json cost.json
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

import hpsearch
from hpsearch.core.config import parse_study
from hpsearch.search.strategies import strategy_for
from hpsearch.search.strategies.gp import REFIT_GROWTH

Params = Mapping[str, Any]


@dataclass(frozen=True)
class Dim:
    """One dimension: a float or int range (``low``..``high``, both ends included) or a choice of ``values``."""

    name: str
    kind: str  # "float", "int" or "choice"
    low: float = 0.0
    high: float = 1.0
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    key: str
    label: str
    dims: tuple[Dim, ...]
    fn: Callable[[Params], float]
    minimum: float


def branin(p: Params) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H6_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                         [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])  # fmt: skip


def hartmann6(x: Sequence[float]) -> float:
    return -float(_H6_ALPHA @ np.exp(-np.sum(_H6_A * (np.asarray(x, dtype=float) - _H6_P) ** 2, axis=1)))


def rosenbrock(p: Params) -> float:
    x = [p[f"x{i}"] for i in range(1, 5)]
    return sum(100 * (b - a * a) ** 2 + (1 - a) ** 2 for a, b in itertools.pairwise(x))


SHIFTS = {"a": 0.5, "b": 0.0, "c": 1.0}


def mixed(p: Params) -> float:
    return hartmann6([p["x1"], p["x2"], p["x3"], p["x4"], p["x5"] / 10, 0.6573]) + SHIFTS[p["shift"]]


def _unit(names: Sequence[str], low: float = 0.0, high: float = 1.0) -> tuple[Dim, ...]:
    return tuple(Dim(n, "float", low, high) for n in names)


_X6 = [f"x{i}" for i in range(1, 7)]
PROBLEMS: dict[str, Problem] = {
    p.key: p
    for p in (
        Problem("branin", "Branin", (Dim("x1", "float", -5, 10), Dim("x2", "float", 0, 15)), branin, 0.397887),
        Problem("hartmann6", "Hartmann-6", _unit(_X6), lambda p: hartmann6([p[n] for n in _X6]), -3.32237),
        Problem("rosenbrock4", "Rosenbrock-4", _unit(_X6[:4], -5, 10), rosenbrock, 0.0),
        Problem(
            "mixed", "mixed", (*_unit(_X6[:4]), Dim("x5", "int", 0, 10), Dim("shift", "choice", values=tuple(SHIFTS))), mixed, -3.315673
        ),
    )
}
METRIC = "f"  # the study metric hpsearch minimises


# ---- contestants: one runner per library, each returning the values of its evaluations in order


def study_doc(problem: Problem, strategy: str, seed: int, trials: int) -> dict[str, Any]:
    """The hpsearch study of ``problem``: ``trials`` one-epoch trials minimising its value."""
    space: dict[str, Any] = {}
    for d in problem.dims:
        if d.kind == "choice":
            space[d.name] = {"values": list(d.values)}
        else:
            cast = int if d.kind == "int" else float
            space[d.name] = {"low": cast(d.low), "high": cast(d.high)}
    return {
        "name": f"{problem.key}-{strategy}-s{seed}",
        "strategy": strategy,
        "seed": seed,
        "budget": {"trials": trials, "epochs": 1},
        "space": space,
        "objective": {"metric": METRIC, "direction": "minimize"},
    }


def hpsearch_values(problem: Problem, strategy: str, seed: int, trials: int, store_path: Path) -> list[float]:
    """Run the study into ``store_path``; its trials' values in number order."""
    config = parse_study(study_doc(problem, strategy, seed, trials))
    trainer = hpsearch.FunctionTrainer(lambda params, _epoch, _seed: {METRIC: problem.fn(params)})
    hpsearch.run_study(config, str(store_path), trainer=trainer)
    with hpsearch.Store.open(str(store_path), read_only=True) as store:
        trials_ = store.trials(store.study(config.name).id)
    return [t.value for t in trials_ if t.value is not None]


def run_hpsearch(strategy: str, problem: Problem, evals: int, seed: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="hpsearch-synthetic-") as folder:
        return hpsearch_values(problem, strategy, seed, evals, Path(folder) / "study.db")


def run_optuna(sampler: str, problem: Problem, evals: int, seed: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # CMA-ES says each trial that it samples the choice at random
    samplers = {"tpe": optuna.samplers.TPESampler, "cmaes": optuna.samplers.CmaEsSampler, "random": optuna.samplers.RandomSampler}
    make = samplers.get(sampler) or optuna.samplers.GPSampler

    def objective(trial: optuna.Trial) -> float:
        params: dict[str, Any] = {}
        for d in problem.dims:
            if d.kind == "choice":
                params[d.name] = trial.suggest_categorical(d.name, list(d.values))
            elif d.kind == "int":
                params[d.name] = trial.suggest_int(d.name, int(d.low), int(d.high))
            else:
                params[d.name] = trial.suggest_float(d.name, d.low, d.high)
        return problem.fn(params)

    study = optuna.create_study(direction="minimize", sampler=make(seed=seed))
    study.optimize(objective, n_trials=evals)
    return [t.value for t in study.trials if t.value is not None]


def run_hyperopt(problem: Problem, evals: int, seed: int) -> list[float]:
    from hyperopt import Trials, fmin, hp, tpe

    space: dict[str, Any] = {}
    for d in problem.dims:
        if d.kind == "choice":
            space[d.name] = hp.choice(d.name, list(d.values))
        elif d.kind == "int":
            space[d.name] = hp.uniformint(d.name, d.low, d.high)
        else:
            space[d.name] = hp.uniform(d.name, d.low, d.high)
    trials = Trials()
    fmin(problem.fn, space, algo=tpe.suggest, max_evals=evals, trials=trials, rstate=np.random.default_rng(seed), show_progressbar=False)
    return [float(v) for v in trials.losses() if v is not None]


def skopt_dimensions(problem: Problem) -> list[Any]:
    from skopt.space import Categorical, Integer, Real

    def dimension(d: Dim) -> Any:
        if d.kind == "choice":
            return Categorical(list(d.values), name=d.name)
        return Integer(int(d.low), int(d.high), name=d.name) if d.kind == "int" else Real(d.low, d.high, name=d.name)

    return [dimension(d) for d in problem.dims]


def run_skopt(problem: Problem, evals: int, seed: int) -> list[float]:
    from skopt import gp_minimize

    names = [d.name for d in problem.dims]
    result = gp_minimize(lambda x: problem.fn(dict(zip(names, x))), skopt_dimensions(problem), n_calls=evals, random_state=seed)
    return [float(v) for v in result.func_vals]


def run_nevergrad(optimizer: str, problem: Problem, evals: int, seed: int) -> list[float]:
    import nevergrad as ng

    def parameter(d: Dim) -> Any:
        if d.kind == "choice":
            return ng.p.Choice(list(d.values))
        scalar = ng.p.Scalar(lower=d.low, upper=d.high)
        return scalar.set_integer_casting() if d.kind == "int" else scalar

    parametrization = ng.p.Dict(**{d.name: parameter(d) for d in problem.dims})
    parametrization.random_state = np.random.RandomState(seed)
    opt = ng.optimizers.registry[optimizer](parametrization=parametrization, budget=evals, num_workers=1)
    values = []
    for _ in range(evals):
        candidate = opt.ask()
        values.append(problem.fn(candidate.value))
        opt.tell(candidate, values[-1])
    return values


Runner = Callable[[Problem, int, int], list[float]]
HPSEARCH = ("random", "qmc", "tpe", "gp", "evolution", "cmaes")
#: Every contestant: its runner and the modules it needs.
CONTESTANTS: dict[str, tuple[Runner, tuple[str, ...]]] = {
    **{name: (partial(run_hpsearch, name), ()) for name in HPSEARCH},
    "optuna-tpe": (partial(run_optuna, "tpe"), ("optuna",)),
    "optuna-cmaes": (partial(run_optuna, "cmaes"), ("optuna", "cmaes")),
    "optuna-random": (partial(run_optuna, "random"), ("optuna",)),
    "optuna-gp": (partial(run_optuna, "gp"), ("optuna", "torch")),
    "hyperopt-tpe": (run_hyperopt, ("hyperopt",)),
    "skopt-gp": (run_skopt, ("skopt",)),
    "nevergrad-ngopt": (partial(run_nevergrad, "NGOpt"), ("nevergrad",)),
    "nevergrad-oneplusone": (partial(run_nevergrad, "OnePlusOne"), ("nevergrad",)),
}


def missing(modules: Sequence[str]) -> str | None:
    """Why the modules cannot be imported (None: they can)."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as err:  # not installed, or broken against this NumPy
            return f"{module} does not import ({type(err).__name__}: {err})"
    return None


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def cell(value: float | None, digits: str = ".3g") -> str:
    """A table cell: ``digits`` below 1000, whole numbers from there on."""
    return "-" if value is None else f"{value:.0f}" if abs(value) >= 1000 else format(value, digits)


def markdown(title: str, header: Sequence[str], rows: Mapping[str, Sequence[str]]) -> str:
    lines = [f"\n{title}\n", "| | " + " | ".join(header) + " |", "|---|" + "---:|" * len(header)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows.items()]
    return "\n".join(lines)


# ---- quality


def quality(contestants: Sequence[str], problems: Sequence[Problem], seeds: Sequence[int], evals: int) -> dict[str, Any]:
    """Every contestant on every problem and seed: the values of its evaluations and its wall time."""
    runs: dict[str, Any] = {}
    for name in contestants:
        runner = CONTESTANTS[name][0]
        for problem in problems:
            for seed in seeds:
                started = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the peers' chatter (experimental features, their optimisers' settings)
                    values = runner(problem, evals, seed)
                seconds = time.perf_counter() - started
                runs.setdefault(name, {}).setdefault(problem.key, []).append({"seed": seed, "values": values, "seconds": seconds})
                best = min(values) - problem.minimum if values else math.nan
                progress(f"  {name} {problem.key} seed {seed}: regret {best:.3g} after {len(values)} evaluations, {seconds:.1f} s")
    return runs


def regret(values: Sequence[float], minimum: float, budget: int) -> float | None:
    """Simple regret after ``budget`` evaluations (None when the run made fewer)."""
    return min(values[:budget]) - minimum if len(values) >= budget else None


def quality_tables(runs: Mapping[str, Any], problems: Sequence[Problem], seeds: Sequence[int], evals: int) -> str:
    budgets = sorted({b for b in (25, 50, 100) if b <= evals} | {evals})
    out = []
    for budget in budgets:
        rows = {
            name: [cell(median([regret(r["values"], p.minimum, budget) for r in per[p.key]])) for p in problems]
            for name, per in runs.items()
        }
        title = f"simple regret after {budget} evaluations, median over seeds {','.join(map(str, seeds))} (lower is better)"
        out.append(markdown(title, [f"{p.label} @{budget}" for p in problems], rows))
    rows = {name: [cell(median([r["seconds"] for r in per[p.key]]), ".1f") for p in problems] for name, per in runs.items()}
    note = "hpsearch's runs include their SQLite store's writes; the peers run in memory"
    out.append(markdown(f"wall seconds of one {evals}-evaluation run, median ({note})", [f"{p.label} s" for p in problems], rows))
    return "\n".join(out)


# ---- cost


def hartmann_history(n: int, seed: int = 0) -> tuple[list[dict[str, float]], list[float]]:
    """n random points of the Hartmann-6 space and their values."""
    points = [dict(zip(_X6, map(float, row))) for row in np.random.default_rng(seed).uniform(size=(n, 6))]
    return points, [PROBLEMS["hartmann6"].fn(p) for p in points]


def hartmann_records(n: int) -> list[hpsearch.TrialRecord]:
    """:func:`hartmann_history` as finished trials, numbered from 0."""
    points, values = hartmann_history(n)
    done = partial(hpsearch.TrialRecord, study_id=1, state=hpsearch.TrialState.COMPLETE, attempt=1, epochs=1, epochs_done=1)
    return [done(id=i, number=i, params=p, seed=i, value=v, curve=(v,)) for i, (p, v) in enumerate(zip(points, values))]


def timed(call: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``call``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def hpsearch_ask_cost(strategy: str, n: int, repeats: int) -> float:
    """The median time of one suggestion in a sequential run at ``n`` trials: the strategy asked for trial
    ``n + i`` after the first ``n + i`` trials finished, ``repeats`` times in a row, as a running study asks it
    (the instance kept, so what it keeps between asks counts as it does in a run; one ask before the timed
    ones, as the run before them made)."""
    history = hartmann_records(n + repeats)
    chosen = strategy_for(parse_study(study_doc(PROBLEMS["hartmann6"], strategy, 0, n + repeats + 1)))
    chosen.ask(history[: n - 1], n - 1)
    asked = iter(range(n, n + repeats))

    def one() -> None:
        i = next(asked)
        chosen.ask(history[:i], i)

    return timed(one, repeats)


def gp_refit_cost(n: int, repeats: int) -> float:
    """The time of a gp suggestion that refits the kernel's hyperparameters (a fresh instance's first ask)."""
    history = hartmann_records(n)
    doc = study_doc(PROBLEMS["hartmann6"], "gp", 0, n + 1)
    return timed(lambda: strategy_for(parse_study(doc)).ask(history, n), max(1, repeats // 2))


def optuna_tpe_cost(n: int, repeats: int) -> float:
    import optuna
    from optuna.distributions import FloatDistribution

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    points, values = hartmann_history(n)
    distributions: dict[str, Any] = {name: FloatDistribution(0.0, 1.0) for name in _X6}
    study = optuna.create_study(direction="minimize")
    study.add_trials([optuna.trial.create_trial(params=p, distributions=distributions, value=v) for p, v in zip(points, values)])
    seeds = iter(range(repeats))

    def one() -> None:
        study.sampler = optuna.samplers.TPESampler(seed=next(seeds))
        trial = study.ask(distributions)
        study.tell(trial, PROBLEMS["hartmann6"].fn(trial.params))

    return timed(one, repeats)


def skopt_cost(n: int, repeats: int) -> float:
    from skopt import Optimizer

    points, values = hartmann_history(n + repeats)
    rows = [[p[name] for name in _X6] for p in points]
    opt = Optimizer(skopt_dimensions(PROBLEMS["hartmann6"]), base_estimator="GP", random_state=0)
    opt.tell(rows[: n - 1], values[: n - 1])
    told = iter(range(n - 1, n - 1 + repeats))

    def one() -> None:
        i = next(told)
        opt.tell(rows[i], values[i])
        opt.ask()

    return timed(one, repeats)


def claim_cost(n: int, repeats: int) -> float:
    with tempfile.TemporaryDirectory(prefix="hpsearch-synthetic-") as folder:
        path = Path(folder) / "claim.db"
        hpsearch_values(PROBLEMS["hartmann6"], "random", 0, n, path)
        with hpsearch.Store.open(str(path)) as store:
            study_id = store.study("hartmann6-random-s0").id
            return timed(lambda: store.claim_snapshot(study_id), repeats)


LARGE = ("gp", "gp-refit", "tpe", "optuna-tpe", "store-claim")  # the rows timed at sizes above 200


def cost(contestants: Sequence[str], sizes: Sequence[int], repeats: int) -> dict[str, dict[int, float]]:
    """Seconds of one suggestion per row and history size."""
    rows: dict[str, Callable[[int, int], float]] = {name: partial(hpsearch_ask_cost, name) for name in HPSEARCH if name in contestants}
    rows |= {name: fn for name, fn in (("optuna-tpe", optuna_tpe_cost), ("skopt-gp", skopt_cost)) if name in contestants}
    if "gp" in contestants:
        rows["gp-refit"] = gp_refit_cost
    if "store-claim" in contestants:
        rows["store-claim"] = claim_cost
    out: dict[str, dict[int, float]] = {}
    for name, measure in rows.items():
        for n in sizes:
            if n > 200 and name not in LARGE:
                continue
            started = time.perf_counter()
            out.setdefault(name, {})[n] = measure(n, repeats if n <= 200 else max(1, repeats // 2))
            progress(f"  cost {name} n={n}: {out[name][n] * 1e3:.1f} ms a call ({time.perf_counter() - started:.1f} s with the set-up)")
    return out


def cost_table(seconds: Mapping[str, Mapping[int, float]], sizes: Sequence[int]) -> str:
    seconds = dict(seconds)
    if "gp" in seconds and "gp-refit" in seconds:  # gp refits every REFIT_GROWTH of growth: its mean cost per suggestion
        plain, refit = seconds["gp"], seconds["gp-refit"]
        every = {n: max(1, int(n * REFIT_GROWTH)) for n in plain}
        seconds["gp-mean"] = {n: plain[n] + (refit[n] - plain[n]) / every[n] for n in plain if n in refit}
    rows = {name: [cell(per[n] * 1e3, ".1f") if n in per else "-" for n in sizes] for name, per in seconds.items()}
    title = (
        "ms for one suggestion from a history of n Hartmann-6 trials, median of consecutive asks (gp-refit: an ask that refits "
        "the kernel, every 10% of growth; gp-mean: gp's mean over a refit interval; store-claim: the claim's read of the study)"
    )
    return markdown(title, [f"n={n}" for n in sizes], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 seeds, 50 evaluations, cost at 25 and 100 (about 5 minutes)")
    parser.add_argument("--seeds", default=None, help="seeds, comma-separated (default 0,1,2,3,4; quick 0,1)")
    parser.add_argument("--evals", type=int, default=None, help="evaluations per run (default 100; quick 50)")
    parser.add_argument("--only", default=None, help=f"contestants, comma-separated (default all: {', '.join(CONTESTANTS)}, store-claim)")
    parser.add_argument("--functions", default=None, help=f"functions, comma-separated (default all: {', '.join(PROBLEMS)})")
    parser.add_argument("--cost-sizes", default=None, help="history sizes of the cost table (default 25,50,100,200,1000; quick 25,100)")
    parser.add_argument("--repeats", type=int, default=5, help="timings per cost cell, median taken (default 5; halved above 200)")
    parser.add_argument("--quality-only", action="store_true", help="skip the cost table")
    parser.add_argument("--cost-only", action="store_true", help="skip the quality tables")
    parser.add_argument("--json", default=None, help="write every raw result (values of every run, cost seconds) to this file")
    args = parser.parse_args()
    if args.quality_only and args.cost_only:
        parser.error("--quality-only and --cost-only exclude each other")
    seeds = [int(s) for s in (args.seeds or ("0,1" if args.quick else "0,1,2,3,4")).split(",")]
    evals = args.evals or (50 if args.quick else 100)
    sizes = [int(s) for s in (args.cost_sizes or ("25,100" if args.quick else "25,50,100,200,1000")).split(",")]
    if min(sizes) < 2:
        parser.error("--cost-sizes: every size must be at least 2")
    names = [*CONTESTANTS, "store-claim"]
    chosen = args.only.split(",") if args.only else names
    keys = args.functions.split(",") if args.functions else list(PROBLEMS)
    for flag, given, known in (("--only", chosen, names), ("--functions", keys, list(PROBLEMS))):
        unknown = sorted(set(given) - set(known))
        if unknown:
            parser.error(f"{flag}: unknown {', '.join(unknown)}; expected some of {', '.join(known)}")
    contestants = []
    for name in chosen:
        why = missing(CONTESTANTS[name][1]) if name in CONTESTANTS else None
        if why:
            print(f"skipped {name}: {why}")
        else:
            contestants.append(name)
    problems = [PROBLEMS[k] for k in keys]
    raw: dict[str, Any] = {"seeds": seeds, "evals": evals, "minimum": {p.key: p.minimum for p in problems}}
    print("one BLAS thread throughout (threadpoolctl.threadpool_limits(1))")
    with threadpool_limits(1):
        if not args.cost_only:
            runners = [c for c in contestants if c in CONTESTANTS]
            raw["quality"] = quality(runners, problems, seeds, evals)
            print(quality_tables(raw["quality"], problems, seeds, evals))
        if not args.quality_only:
            raw["cost_sizes"] = sizes
            raw["cost_seconds"] = cost(contestants, sizes, args.repeats)
            print(cost_table(raw["cost_seconds"], sizes))
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))
        print(f"\nraw results: {args.json}")


if __name__ == "__main__":
    main()
