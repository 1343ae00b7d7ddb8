#!/usr/bin/env python
"""Seconds per trial-epoch: an Optuna + Keras script as users write it, hpsearch's per-trial Keras
trainer, and the population trainer at several population sizes K, on full MNIST.

Every measurement runs in a fresh process (so that peak resident memory is its own) over the
same space (width 32-256 log, dropout 0-0.5, adam / rmsprop / sgd / nadam, learning rate
1e-4-1e-2 log) and the same data, and prints: wall time of the whole study over its
trial-epochs (compilations included; the process start and imports are printed apart), best
validation accuracy, peak RSS, and the ratio to the Optuna script.

    python benchmarks/population.py --quick            # about 3 minutes on 2 cores
    python benchmarks/population.py                    # 1-epoch and 5-epoch studies, K = 1, 4, 8, 16, 32
    python benchmarks/population.py --ks 4,16 --trials 32 --epochs 1
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
SPACE = {
    "width": {"low": 32, "high": 256, "log": True},
    "dropout": {"low": 0.0, "high": 0.5},
    "optimizer": ["adam", "rmsprop", "sgd", "nadam"],
    "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_optuna(trials: int, epochs: int, data_dir: str) -> dict[str, Any]:
    """The script a user writes: Optuna TPE, a Keras model per trial, ``model.fit`` with its defaults."""
    import keras
    import numpy as np
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = np.load(Path(data_dir) / "mnist.npz")
    x, y = d["x_train"].astype("float32") / 255.0, d["y_train"]
    x_train, y_train, x_val, y_val = x[:50_000], y[:50_000], x[50_000:], y[50_000:]
    optimizers = {
        "adam": keras.optimizers.Adam,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": keras.optimizers.SGD,
        "nadam": keras.optimizers.Nadam,
    }

    def objective(trial: Any) -> float:
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(trial.suggest_int("width", 32, 256, log=True), activation="relu"),
                keras.layers.Dropout(trial.suggest_float("dropout", 0.0, 0.5)),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        optimizer = optimizers[trial.suggest_categorical("optimizer", list(optimizers))]
        learning_rate = trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
        model.compile(optimizer=optimizer(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x_train, y_train, epochs=epochs, validation_data=(x_val, y_val), verbose=0)
        return float(history.history["val_accuracy"][-1])

    start = time.perf_counter()
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=trials)
    return {"seconds": time.perf_counter() - start, "trial_epochs": trials * epochs, "best": study.best_value}


def run_hpsearch(trials: int, epochs: int, data_dir: str, trainer: str, k: int) -> dict[str, Any]:
    import hpsearch
    from hpsearch.runner import StudyRunner

    config = hpsearch.parse_study(
        {
            "strategy": "tpe",
            "seed": 0,
            "budget": {"trials": trials, "epochs": epochs},
            "data": {"dataset": "mnist", "data_dir": data_dir},
            "training": {"trainer": trainer, "population": k},
            "space": SPACE,
        },
        default_name="bench",
    )
    store = hpsearch.Store.open(Path(tempfile.mkdtemp(prefix="hpsearch-population-")) / "bench.db")
    start = time.perf_counter()
    runner = StudyRunner(config, store)
    summary = runner.run()
    seconds = time.perf_counter() - start
    out: dict[str, Any] = {"seconds": seconds, "trial_epochs": sum(t.epochs_done for t in summary.trials)}
    out["best"] = summary.best.value if summary.best else None
    out["compilations"] = len(getattr(runner.trainer, "shapes_built", [])) or None
    import tensorflow as tf

    out["device"] = ", ".join(d.device_type for d in tf.config.list_logical_devices()) or "CPU"
    return out


def child(spec: dict[str, Any]) -> None:
    started = time.perf_counter()
    import keras  # noqa: F401  (the imports are start-up, timed apart, for every kind of run)
    import tensorflow  # noqa: F401

    imports = time.perf_counter() - started
    if spec["kind"] == "optuna":
        result = run_optuna(spec["trials"], spec["epochs"], spec["data_dir"])
    else:
        result = run_hpsearch(spec["trials"], spec["epochs"], spec["data_dir"], spec["kind"], spec.get("k", 1))
    print("RESULT " + json.dumps({**result, "imports": imports, "peak_mb": _peak_mb()}), flush=True)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"{spec}: failed\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def table(title: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    base = rows[0][1]["seconds"] / rows[0][1]["trial_epochs"]
    print(f"\n{title}")
    print(
        f"{'run':<26}{'trial-epochs':>13}{'s/trial-epoch':>15}{'vs Optuna':>11}{'best val':>10}"
        f"{'peak MB':>9}{'compiles':>10}{'imports s':>11}"
    )
    for name, r in rows:
        per = r["seconds"] / r["trial_epochs"]
        best = "-" if r.get("best") is None else f"{r['best']:.4f}"
        compiles = "-" if not r.get("compilations") else str(r["compilations"])
        print(
            f"{name:<26}{r['trial_epochs']:>13}{per:>15.3f}{per / base:>10.2f}x{best:>10}"
            f"{r['peak_mb']:>9.0f}{compiles:>10}{r['imports']:>11.1f}"
        )
    devices = {r.get("device") for _, r in rows if r.get("device")}
    print(f"devices seen by TensorFlow: {', '.join(sorted(devices))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="one small 1-epoch study per run (about 3 minutes)")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"directory with mnist.npz (default: {DATA_DIR})")
    parser.add_argument("--ks", default=None, help="population sizes, comma-separated (default: 1,4,8,16,32; quick: 4,16)")
    parser.add_argument("--trials", type=int, default=None, help="trials of each population study (default 32; quick 16)")
    parser.add_argument("--baseline-trials", type=int, default=None, help="trials of the Optuna and per-trial runs (default 6; quick 3)")
    parser.add_argument("--epochs", default=None, help="epochs per trial, comma-separated studies (default: 1,5; quick: 1)")
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    ks = [int(k) for k in (args.ks or ("4,16" if args.quick else "1,4,8,16,32")).split(",")]
    trials = args.trials or (16 if args.quick else 32)
    baseline = args.baseline_trials or (3 if args.quick else 6)
    for epochs in [int(e) for e in (args.epochs or ("1" if args.quick else "1,5")).split(",")]:
        common = {"epochs": epochs, "data_dir": args.data_dir}
        rows = [("Optuna + Keras fit", measure({"kind": "optuna", "trials": baseline, **common}))]
        rows.append(("hpsearch keras trainer", measure({"kind": "keras", "trials": baseline, **common})))
        for k in ks:
            rows.append((f"hpsearch population K={k}", measure({"kind": "population", "trials": trials, "k": k, **common})))
        table(f"{epochs}-epoch trials (baselines {baseline} trials, populations {trials} trials; TPE, same space and data)", rows)


if __name__ == "__main__":
    main()
