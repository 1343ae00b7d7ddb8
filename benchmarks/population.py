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
    python benchmarks/population.py --gpu              # the device section: K = 1 up to 1024 in a few minutes
    python benchmarks/population.py --gpu --layers 1,2,3   # the same for each depth
    python benchmarks/population.py --gpu --model convnet  # your own model: the convnet example's trials together

``--backend tensorflow,jax`` measures on each Keras backend in turn (JAX: ``pip install -e ".[jax]"``).
The device section (``--gpu``) times the population engine alone on whatever device the backend
sees (a GPU when there is one, with no flag), at K = 16, 64, 256, 1024 members drawn from the
space, doubling K only while the projected time stays inside ``--gpu-seconds``, and prints
seconds per model-epoch against one default Keras ``fit`` epoch of the seed model on the same
device.
"""

from __future__ import annotations

import argparse
import json
import os
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


def run_hpsearch(
    trials: int,
    epochs: int,
    data_dir: str,
    trainer: str,
    k: int,
    tile: int | None = None,
    *,
    space: dict[str, Any] = SPACE,
    strategy: str = "tpe",
    seed: int = 0,
) -> dict[str, Any]:
    """One study through the runner in this process, timed from the runner's start to its end (data, compiling,
    training, checkpoints, the test evaluation); the trials' params and the population shapes built come back too."""
    import hpsearch
    from hpsearch.running.loop import StudyRunner

    config = hpsearch.parse_study(
        {
            "strategy": strategy,
            "seed": seed,
            "budget": {"trials": trials, "epochs": epochs},
            "data": {"dataset": "mnist", "data_dir": data_dir},
            "training": {"trainer": trainer, "population": k, **({} if tile is None else {"tile_columns": tile})},
            "space": space,
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
    out["shapes"] = [list(shape) for shape in getattr(runner.trainer, "shapes_built", [])]
    out["params"] = [t.params for t in summary.trials]
    out["tile"] = getattr(runner.trainer, "tile_columns", None)
    from hpsearch.train.population.backend import devices

    out["device"] = devices()
    return out


def run_device(data_dir: str, ks: list[int], budget: float, layers: int = 1) -> dict[str, Any]:
    """Seconds per model-epoch of the population engine at each K (second epoch, after compiling)
    against one default ``fit`` epoch of the seed model (``layers`` hidden layers for both), on the device
    the Keras backend places them on."""
    import keras
    import numpy as np
    from keras import ops

    from hpsearch.train.population.backend import devices
    from hpsearch.train.population.engine import Member, Population, epoch_order

    d = np.load(Path(data_dir) / "mnist.npz")
    x = d["x_train"][:50_000].reshape(50_000, -1).astype("float32") / 255.0
    y = d["y_train"][:50_000].astype("int32")
    model = keras.Sequential(
        [
            keras.Input((784,)),
            *[layer for _ in range(layers) for layer in (keras.layers.Dense(128, activation="relu"), keras.layers.Dropout(0.2))],
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)  # the first epoch traces and compiles
    started = time.perf_counter()
    model.fit(x, y, epochs=1, verbose=0)
    fit_epoch = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    xt, yt = ops.convert_to_tensor(x), ops.convert_to_tensor(y)
    spent = 0.0
    rng = np.random.default_rng(0)
    optimizers = tuple(SPACE["optimizer"])
    for k in ks:
        if rows and spent + rows[-1]["epoch_s"] * 3 * k / rows[-1]["k"] > budget:
            break  # the next size would not finish inside the budget
        widths = np.exp(rng.uniform(np.log(32), np.log(256), k)).round().astype(int).tolist()
        population = Population(optimizers, columns=sum(widths), slots=k, depth=layers)
        population.arrange(widths)
        for i, width in enumerate(widths):
            lr = float(np.exp(rng.uniform(np.log(1e-4), np.log(1e-2))))
            population.set_member(i, Member(width, float(rng.uniform(0, 0.5)), lr, seed=i), optimizer=optimizers[i % 4])
        started = time.perf_counter()
        population.train_epoch(xt, yt, epoch_order(0, 1, len(x)), 32)
        compile_s = time.perf_counter() - started
        started = time.perf_counter()
        population.train_epoch(xt, yt, epoch_order(0, 2, len(x)), 32)
        epoch_s = time.perf_counter() - started
        spent += compile_s + epoch_s
        rows.append({"k": k, "columns": sum(widths), "first_epoch_s": compile_s, "epoch_s": epoch_s})
        del population
    device = f"{devices()}, Keras backend {keras.backend.backend()}, {layers} hidden layer(s)"
    return {"fit_epoch_s": fit_epoch, "rows": rows, "device": device}


def run_device_convnet(data_dir: str, ks: list[int], budget: float) -> dict[str, Any]:
    """Seconds per model-epoch of K trials of the convnet example (``studies/convnet.py``) trained together by the
    branch trainer (each its own Keras model, one compiled step: ``[training] trainer = "population"``), at each K,
    against one default ``fit`` epoch of one of them, on the device the Keras backend (TensorFlow) places them on.
    Both validate on the 10,000 validation images every epoch; the second epoch is timed."""
    import keras
    import numpy as np

    os.environ.setdefault("HPSEARCH_DATA_DIR", data_dir)
    sys.path.insert(0, str(REPO / "studies"))
    import convnet

    from hpsearch.core.config import TrainingConfig
    from hpsearch.train.keras.branches import BranchTrainer
    from hpsearch.train.population.backend import devices
    from hpsearch.train.trainer import EpochResult, TrainJob

    (x, y), validation, _test = convnet.load_mnist()
    seed_params = {"filters": 16, "kernel_size": 3, "dropout": 0.25, "learning_rate": 1e-3}
    model = convnet.build(seed_params)
    model.fit(x, y, epochs=1, batch_size=32, validation_data=validation, verbose=0)  # the first epoch traces
    started = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=32, validation_data=validation, verbose=0)
    fit_epoch = time.perf_counter() - started
    del model
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    spent = 0.0
    for k in ks:
        if rows and spent + rows[-1]["epoch_s"] * 3 * k / rows[-1]["k"] > budget:
            break  # the next size would not finish inside the budget
        params = [
            {
                "filters": int(rng.integers(8, 33)),
                "kernel_size": int(rng.choice([3, 5])),
                "dropout": float(rng.uniform(0, 0.5)),
                "learning_rate": 1e-3,
            }
            for _ in range(k)
        ]
        seconds: dict[int, float] = {}

        def on_epoch(job: TrainJob, result: EpochResult, seconds: dict[int, float] = seconds, k: int = k) -> bool:
            seconds[result.epoch] = result.seconds * k  # each member's share of the pass, times the members
            return True

        trainer = BranchTrainer(None, TrainingConfig(population=k), model=convnet.build, loader=convnet.load_mnist)
        started = time.perf_counter()
        trainer.train([TrainJob(i, p, epochs=2, seed=i) for i, p in enumerate(params)], on_epoch)
        spent += time.perf_counter() - started
        rows.append({"k": k, "columns": sum(p["filters"] for p in params), "first_epoch_s": seconds[1], "epoch_s": seconds[2]})
        keras.backend.clear_session()
    device = f"{devices()}, Keras backend {keras.backend.backend()}, the convnet example (filters 8-32, kernel 3 or 5)"
    return {"fit_epoch_s": fit_epoch, "rows": rows, "device": device, "model": "convnet"}


def device_table(r: dict[str, Any]) -> None:
    convnet = r.get("model") == "convnet"
    what = "the branch trainer, with validation" if convnet else "the population engine alone"
    print(f"\ndevice section on {r['device']}: {what}, members drawn from the space, second epoch timed")
    seed = "the convnet (filters 16, kernel 3), with validation" if convnet else "the seed model (width 128, adam)"
    print(f"one default Keras fit epoch of {seed}: {r['fit_epoch_s']:.3f} s")
    print(f"{'K':>6}{'filters' if convnet else 'columns':>9}{'first epoch s':>15}{'epoch s':>9}{'s/model-epoch':>15}{'vs one fit':>12}")
    for row in r["rows"]:
        per = row["epoch_s"] / row["k"]
        print(
            f"{row['k']:>6}{row['columns']:>9}{row['first_epoch_s']:>15.2f}{row['epoch_s']:>9.2f}"
            f"{per:>15.4f}{r['fit_epoch_s'] / per:>11.{0 if r['fit_epoch_s'] / per >= 10 else 2}f}x"
        )


def child(spec: dict[str, Any]) -> None:
    started = time.perf_counter()
    import keras  # (the imports are start-up, timed apart, for every kind of run)

    if keras.backend.backend() == "tensorflow":
        import tensorflow  # noqa: F401

    imports = time.perf_counter() - started
    if spec["kind"] == "device" and spec.get("model") == "convnet":
        result = run_device_convnet(spec["data_dir"], spec["ks"], spec["budget"])
    elif spec["kind"] == "device":
        result = run_device(spec["data_dir"], spec["ks"], spec["budget"], spec.get("layers", 1))
    elif spec["kind"] == "optuna":
        result = run_optuna(spec["trials"], spec["epochs"], spec["data_dir"])
    else:
        result = run_hpsearch(spec["trials"], spec["epochs"], spec["data_dir"], spec["kind"], spec.get("k", 1), spec.get("tile"))
    print("RESULT " + json.dumps({**result, "imports": imports, "peak_mb": _peak_mb()}), flush=True)


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "KERAS_BACKEND": spec.get("backend", "tensorflow")}
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=False, env=env)
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
    print(f"devices the Keras backend computed on: {', '.join(sorted(devices))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="one small 1-epoch study per run (about 3 minutes)")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"directory with mnist.npz (default: {DATA_DIR})")
    parser.add_argument("--ks", default=None, help="population sizes, comma-separated (default: 1,4,8,16,32; quick: 4,16)")
    parser.add_argument("--trials", type=int, default=None, help="trials of each population study (default 32; quick 16)")
    parser.add_argument("--baseline-trials", type=int, default=None, help="trials of the Optuna and per-trial runs (default 6; quick 3)")
    parser.add_argument("--epochs", default=None, help="epochs per trial, comma-separated studies (default: 1,5; quick: 1)")
    parser.add_argument(
        "--tiles",
        default="auto",
        help="most hidden columns of one population, comma-separated values to compare: a number, 0 (one population per claim)"
        " or auto (the machine's default; the default)",
    )
    parser.add_argument("--gpu", action="store_true", help="run the device section only (K up to 1024 on a GPU)")
    parser.add_argument("--gpu-seconds", type=float, default=180.0, help="time the device section may spend (default 180)")
    parser.add_argument("--layers", default="1", help="device section: hidden layers of the models, comma-separated (default 1)")
    parser.add_argument(
        "--model", default="builtin", help="device section: builtin (the population engine), convnet (the branch trainer), or both"
    )
    parser.add_argument(
        "--backend", default="tensorflow", help="Keras backends to measure on, comma-separated: tensorflow, jax (default tensorflow)"
    )
    args = parser.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    backends = args.backend.split(",")
    if args.gpu:
        ks = [int(k) for k in (args.ks or "1,16,64,256,1024").split(",")]
        models = ["builtin", "convnet"] if args.model == "both" else [args.model]
        for backend in backends:
            spec = {"kind": "device", "data_dir": args.data_dir, "ks": ks, "budget": args.gpu_seconds, "backend": backend}
            if "builtin" in models:
                for layers in (int(n) for n in args.layers.split(",")):
                    device_table(measure({**spec, "layers": layers}))
            if "convnet" in models:
                device_table(measure({**spec, "model": "convnet", "ks": [int(k) for k in (args.ks or "1,4,16,64").split(",")]}))
        return
    ks = [int(k) for k in (args.ks or ("4,16" if args.quick else "1,4,8,16,32")).split(",")]
    trials = args.trials or (16 if args.quick else 32)
    baseline = args.baseline_trials or (3 if args.quick else 6)
    for backend, epochs in [(b, int(e)) for b in backends for e in (args.epochs or ("1" if args.quick else "1,5")).split(",")]:
        common = {"epochs": epochs, "data_dir": args.data_dir, "backend": backend}
        rows = [("Optuna + Keras fit", measure({"kind": "optuna", "trials": baseline, **common}))]
        rows.append(("hpsearch keras trainer", measure({"kind": "keras", "trials": baseline, **common})))
        tiles = [None if t == "auto" else int(t) for t in args.tiles.split(",")]
        for k in ks:
            for tile in tiles:
                r = measure({"kind": "population", "trials": trials, "k": k, "tile": tile, **common})
                rows.append((f"population K={k}, tile {r['tile'] or '-'}", r))
        table(
            f"{epochs}-epoch trials on {backend} (baselines {baseline} trials, populations {trials} trials; TPE, same space and data)", rows
        )


if __name__ == "__main__":
    main()
