#!/usr/bin/env python
"""Several objectives at an equal budget: random, TPE (Optuna's multi-objective TPE) and NSGA-II on
``studies/mnist_pareto.toml`` (full MNIST, validation accuracy against trainable parameters), over several seeds.

Every (strategy, seed) study runs the study file's budget (48 trials of 3 epochs: 144 trial-epochs) on the population
trainer, into one store. The table is read from that store: for each strategy, the hypervolume of its Pareto set (the
area its front dominates, up to one reference point shared by every study: the worst accuracy and the largest model
on any study's Pareto front, moved a tenth of their range further), as a share of the box between that reference point
and the ideal point (the best accuracy and the smallest model on any front), per seed and the median; and the size of the front. Larger is
better: a front both more accurate and smaller. Then the hypervolume after a quarter, a half and all of the budget
(median over seeds), which shows which strategy gets there sooner.

    python benchmarks/pareto.py                                # 3 seeds x 3 strategies (the README's table)
    python benchmarks/pareto.py --seeds 0 --trials 16          # a quick look
    python benchmarks/pareto.py --from-store --store S.db      # the table again, from a store already run
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hpsearch import Store, parse_study, run_study  # noqa: E402
from hpsearch.core.objectives import hypervolume, pareto_indices, reference_point  # noqa: E402
from hpsearch.core.records import TrialRecord, TrialState  # noqa: E402
from hpsearch.core.results import is_final  # noqa: E402

STUDY = REPO / "studies" / "mnist_pareto.toml"
DATA_DIR = REPO.parent / "shared" / "data"
STRATEGIES = ("random", "tpe", "nsga2")


def document(strategy: str, seed: int, trials: int | None, data_dir: str) -> dict[str, Any]:
    """mnist_pareto.toml as ``strategy`` with ``seed`` (its [nsga2] table only for nsga2)."""
    doc = tomllib.loads(STUDY.read_text())
    if strategy != "nsga2":
        doc.pop("nsga2")
    if trials is not None:
        doc["budget"]["trials"] = trials
    return {**doc, "name": f"pareto-{strategy}-s{seed}", "strategy": strategy, "seed": seed, "data": {**doc["data"], "data_dir": data_dir}}


def done(trials: list[TrialRecord], epochs: int) -> list[tuple[float, ...]]:
    """The objective values of the final COMPLETE trials, in the order they finished."""
    ended = sorted(
        (t for t in trials if t.state is TrialState.COMPLETE and t.values and is_final(t, epochs)), key=lambda t: t.finished_at or 0
    )
    return [t.values for t in ended]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--trials", type=int, help="trials per study (default: the study file's 48)")
    parser.add_argument("--store", help="the store to run into (default: a new temporary one)")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help="where mnist.npz is")
    parser.add_argument("--from-store", action="store_true", help="only print the table of the studies in --store")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    store_path = args.store or str(Path(tempfile.mkdtemp(prefix="hpsearch-pareto-")) / "pareto.db")
    seconds: dict[str, float] = {}
    if not args.from_store:
        for seed in seeds:
            for strategy in STRATEGIES:
                config = parse_study(document(strategy, seed, args.trials, args.data_dir))
                start = time.perf_counter()
                run_study(config, store_path)
                seconds[config.name] = time.perf_counter() - start
                print(f"{config.name}: {seconds[config.name]:.0f} s", flush=True)

    with Store.open(store_path, read_only=True) as store:
        runs = {}
        for seed in seeds:
            for strategy in STRATEGIES:
                study = store.study(f"pareto-{strategy}-s{seed}")
                runs[(strategy, seed)] = done(store.trials(study.id), study.epochs)
        maximize = [o.maximize for o in study.objectives]
    # the reference point from the fronts, not from every trial: one diverged trial (accuracy 0.02) would move it so far
    # that every front covers 99% of the box and the strategies differ in the third decimal
    fronts = [points[i] for points in runs.values() for i in pareto_indices(points, maximize)]
    reference = reference_point(fronts, maximize)
    ideal = tuple((max if m else min)(p[k] for p in fronts) for k, m in enumerate(maximize))
    box = abs((ideal[0] - reference[0]) * (ideal[1] - reference[1]))

    def share(points: list[tuple[float, ...]]) -> float:
        return hypervolume(points, maximize, reference) / box

    print(f"\nstore: {store_path}")
    print(f"reference point: val_accuracy {reference[0]:.4f}, params {reference[1]:,.0f}; ideal: {ideal[0]:.4f}, {ideal[1]:,.0f}\n")
    print("| strategy | hypervolume per seed | median | front size (median) | at 1/4 budget | at 1/2 | wall s (median) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for strategy in STRATEGIES:
        per_seed = [share(runs[(strategy, seed)]) for seed in seeds]
        fronts = [len(pareto_indices(runs[(strategy, seed)], maximize)) for seed in seeds]
        partial = [
            statistics.median(share(runs[(strategy, seed)][: max(1, len(runs[(strategy, seed)]) * k // 4)]) for seed in seeds)
            for k in (1, 2)
        ]
        walls = [seconds[f"pareto-{strategy}-s{seed}"] for seed in seeds if f"pareto-{strategy}-s{seed}" in seconds]
        wall = f"{statistics.median(walls):.0f}" if walls else "-"
        print(
            f"| {strategy} | {', '.join(f'{v:.4f}' for v in per_seed)} | **{statistics.median(per_seed):.4f}** | "
            f"{statistics.median(fronts):g} | {partial[0]:.4f} | {partial[1]:.4f} | {wall} |"
        )


if __name__ == "__main__":
    main()
