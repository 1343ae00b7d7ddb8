#!/usr/bin/env python
"""Trials per minute of the same random study with 1 and with 2 worker processes.

Every variant runs the same random study (the seed model's space, full MNIST,
``--trials`` trials of ``--epochs`` epoch) in a fresh SQLite store through
:func:`hpsearch.running.workers.run_workers`, and prints the wall time, trials per
minute and the ratio to the single-worker run. Variants differ in the number
of worker processes and in the backend threads each gets:

    python benchmarks/workers_throughput.py                  # full MNIST from ../shared/data
    python benchmarks/workers_throughput.py --trials 12 --variants 1x2 2x1 2x2

A variant ``WxT`` is W workers with T threads each. Worker start-up (importing
TensorFlow, loading the data) is part of the time, as it is for a user. A variant
``rayWxT`` runs the W workers as tasks on a local Ray instance (``--ray local``,
``--cpus-per-worker T``); the instance is started before the timing (a cluster is
there already when a lab uses one) and its start-up is printed on its own:

    python benchmarks/workers_throughput.py --trials 16 --variants 2x1 ray2x1 2x1 ray2x1   # paired runs
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from hpsearch import parse_study
from hpsearch.running.workers import Launcher, run_workers

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"), help="directory with mnist.npz")
    parser.add_argument("--trials", type=int, default=8, help="trials per variant (default 8)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial (default 1)")
    parser.add_argument("--variants", nargs="+", default=["1x2", "2x1", "2x2"], help="WORKERSxTHREADS (default: 1x2 2x1 2x2)")
    args = parser.parse_args()

    base = parse_study(
        {
            "strategy": "random",
            "seed": 0,
            "budget": {"trials": args.trials, "epochs": args.epochs},
            "data": {"dataset": "mnist", "data_dir": args.data_dir},
            "space": {
                "width": {"low": 64, "high": 256, "log": True},
                "dropout": {"low": 0.0, "high": 0.5},
                "optimizer": ["adam", "rmsprop", "nadam"],
                "learning_rate": {"low": 3e-4, "high": 3e-3},
            },
        },
        default_name="throughput",
    )
    print(f"random study: {args.trials} trials x {args.epochs} epoch(s) on full MNIST; variants {' '.join(args.variants)}")
    rows = []
    for variant in args.variants:
        on_ray = variant.startswith("ray")
        workers, threads = (int(x) for x in variant.removeprefix("ray").split("x"))
        store = Path(tempfile.mkdtemp(prefix="hpsearch-throughput-")) / "s.db"
        launcher = _ray_tasks(threads, str(store)) if on_ray else None
        start = time.perf_counter()
        summary = run_workers(replace(base, name=f"throughput-{variant}"), str(store), workers, threads=threads, launcher=launcher)
        seconds = time.perf_counter() - start
        assert summary.complete and len(summary.trials) == args.trials
        rows.append((variant, workers, threads, seconds, args.trials / seconds * 60))
        print(f"  {variant}: {seconds:6.1f} s, {rows[-1][4]:5.1f} trials/min", flush=True)

    baseline = next((r[4] for r in rows if r[1] == 1), rows[0][4])
    print()
    print(f"{'variant':8} {'workers':>7} {'threads':>7} {'seconds':>8} {'trials/min':>10} {'ratio':>6}")
    for variant, workers, threads, seconds, per_minute in rows:
        print(f"{variant:8} {workers:7d} {threads:7d} {seconds:8.1f} {per_minute:10.2f} {per_minute / baseline:6.2f}")


def _ray_tasks(cpus: int, store: str) -> Launcher:
    """Ray tasks of ``cpus`` CPUs each on the local instance, started (untimed) the first time."""
    from hpsearch.running.ray_workers import RayOptions, ray_launcher

    start = time.perf_counter()
    import ray

    fresh = not ray.is_initialized()
    launcher = ray_launcher(RayOptions("local", cpus_per_worker=cpus), f"sqlite:///{store}")
    if fresh:
        print(f"  (a local Ray instance started in {time.perf_counter() - start:.1f} s, not counted)", flush=True)
    return launcher


if __name__ == "__main__":
    main()
