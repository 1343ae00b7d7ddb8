#!/usr/bin/env python
"""PBT against random search at the same epoch budget, on the same data.

PBT with P members x E epochs spends exactly the epochs of random search with
P trials x E epochs. Both studies use the search space of
``studies/mnist_pbt.toml`` and the same seed; the script prints each study's
best validation accuracy and the test accuracy of its best model.

    python benchmarks/pbt_vs_random.py                      # full MNIST from ../shared/data
    python benchmarks/pbt_vs_random.py --data-dir DIR --population 8 --epochs 8 --ready 2
    python benchmarks/pbt_vs_random.py --trainer keras      # both on the per-trial Keras trainer
    python benchmarks/pbt_vs_random.py --width 128          # both at one width: the cost of PBT's segments alone

Each study runs in a fresh process (neither warms the other up: imports, data, compilations).
It also prints the ratio of their wall times (each study's own, compilation included), and of the
hidden units they trained (width x epochs, summed over trials): PBT's exploit copies the better
members, which are often the wider ones, so it may train more arithmetic in the same epochs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from hpsearch import load_study, parse_study, run_study
from hpsearch.core.config import Budget, PBTConfig

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"), help="directory with mnist.npz")
    parser.add_argument("--population", type=int, default=8, help="PBT members = random trials (default 8)")
    parser.add_argument("--epochs", type=int, default=8, help="epochs per member = per random trial (default 8)")
    parser.add_argument("--ready", type=int, default=2, help="PBT ready interval in epochs (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", help="keep the two studies in this store (default: a temporary file)")
    parser.add_argument("--child", choices=["random", "pbt"], help=argparse.SUPPRESS)
    parser.add_argument(
        "--trainer", choices=["population", "keras"], default="population", help="the trainer of both studies (default: population)"
    )
    parser.add_argument(
        "--width",
        type=int,
        help="fix the hidden width of both studies (both then train the same arithmetic, and the ratio of wall"
        " times is what PBT's segments cost beyond it)",
    )
    args = parser.parse_args()

    base = load_study(REPO / "studies" / "mnist_pbt.toml")
    base = replace(base, training=replace(base.training, trainer=args.trainer))
    if args.width:
        document = {**base.document, "space": {**base.document["space"], "width": args.width}}
        document["pbt"] = {k: v for k, v in document.get("pbt", {}).items() if k != "width"}
        base = replace(parse_study(document, default_name=base.name), training=base.training)
    data = replace(base.data, data_dir=args.data_dir)
    pbt = replace(base.pbt or PBTConfig(), population=args.population, epochs=args.epochs, ready=args.ready)
    pbt_config = replace(base, name="bench_pbt", seed=args.seed, data=data, pbt=pbt, budget=Budget(trials=pbt.n_trials, epochs=pbt.epochs))
    random_config = replace(
        base,
        name="bench_random",
        strategy="random",
        seed=args.seed,
        data=data,
        pbt=None,
        budget=Budget(trials=args.population, epochs=args.epochs),
    )
    store = args.store or str(Path(tempfile.mkdtemp(prefix="hpsearch-bench-")) / "bench.db")
    if not args.child:
        print(f"store: {store}")
        print(f"budget: {args.population} x {args.epochs} = {args.population * args.epochs} epochs per strategy, {args.trainer} trainer")
    configs = {"random": random_config, "pbt": pbt_config}
    if args.child:  # one study in this fresh process (each strategy runs in its own, so that neither warms up the other)
        config = configs[args.child]
        start = time.perf_counter()
        summary = run_study(config, store)
        seconds = time.perf_counter() - start
        best, test = summary.best, summary.test
        result = {
            "seconds": seconds,
            "epochs": sum(t.epochs_done for t in summary.trials),
            "unit_epochs": sum(int(t.params["width"]) * t.epochs_done for t in summary.trials),
            "best": best.value,
            "test": test.accuracy if test else float("nan"),
            "params": ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()),
        }
        print("RESULT " + json.dumps(result), flush=True)
        return
    results = {}
    for name in configs:
        command = [sys.executable, __file__, *sys.argv[1:], "--store", store, "--child", name]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            raise SystemExit(f"{name}: failed\n{done.stderr[-3000:]}")
        results[name] = json.loads(lines[-1][7:])

    print()
    print(f"{'strategy':10} {'epochs':>6} {'unit-epochs':>11} {'best val_acc':>12} {'test acc':>9} {'seconds':>8}  best configuration")
    for name, r in results.items():
        print(f"{name:10} {r['epochs']:6d} {r['unit_epochs']:11d} {r['best']:12.4f} {r['test']:9.4f} {r['seconds']:8.1f}  {r['params']}")
    pbt, random = results["pbt"], results["random"]
    print(f"\nPBT - random, best validation accuracy: {pbt['best'] - random['best']:+.4f}")
    print(f"PBT / random, wall time: {pbt['seconds'] / random['seconds']:.2f}x")
    print(
        f"PBT / random, hidden units trained (width x epochs, summed): {pbt['unit_epochs'] / random['unit_epochs']:.2f}x; "
        f"wall time per unit-epoch: {(pbt['seconds'] / pbt['unit_epochs']) / (random['seconds'] / random['unit_epochs']):.2f}x"
    )


if __name__ == "__main__":
    main()
