#!/usr/bin/env python
"""Time and trial-epochs to a target validation accuracy on full MNIST: hpsearch against the
Optuna + Keras script users write, with the same sampler (TPE) and pruner (successive halving,
min 1 epoch, reduction factor 3), in the same space (width 32-512 log, dropout 0-0.5,
adam / sgd / rmsprop, learning rate 1e-4-1e-1 log), trials of up to 6 epochs, batch 32.

Each side runs in its own process per seed. The clock starts once the process has imported
Keras, its backend and Optuna (hpsearch: and ``hpsearch.cli``) and loaded the data; that start-up
is printed apart. The anchor builds a Keras model per trial (Flatten -> Dense(width, relu) ->
Dropout -> Dense(10, softmax)) and fits it one epoch at a time, with ``trial.report`` and
``trial.should_prune`` after each; it records every epoch's time and the running count of
trial-epochs. hpsearch runs ``hpsearch run STUDY --store DB -q`` (the population trainer,
``--population`` trials together) on a study file written to a temporary folder; the parent polls
the store every second and terminates the process (SIGTERM) once the best validation accuracy
reaches the last target or the cap of trial-epochs is recorded. Its epochs are then read from the
store in recorded order: an epoch's trial-epochs are all those recorded at or before it (a
population's epochs are recorded together). Both sides stop at the last target or the cap; a
target counts as reached only within the cap.

    python benchmarks/time_to_target.py --quick        # targets 0.95, 0.96, 20 trial-epochs, 10,000 images, one seed
    python benchmarks/time_to_target.py                # targets 0.975, 0.98, seeds 0,1,2, cap 120
    python benchmarks/time_to_target.py --population 4 --only hpsearch --json k4.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
EPOCHS = 6
SIDES = ("anchor", "hpsearch")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
STUDY_TOML = """name = "{name}"
strategy = "tpe"
seed = {seed}

[budget]
trials = {trials}
epochs = {epochs}

[data]
dataset = "mnist"
data_dir = {data_dir}
{train_size}
[training]
trainer = "population"
population = {population}

[space]
width = {{ low = 32, high = 512, log = true }}
dropout = {{ low = 0.0, high = 0.5 }}
optimizer = {optimizers}
learning_rate = {{ low = 1e-4, high = 1e-1, log = true }}

[pruning]
rule = "successive_halving"
min_epochs = 1
reduction_factor = 3
"""
#: The hpsearch side's process: the same imports and data load as the anchor's, the ready time written to a file, then the CLI.
HPSEARCH_CHILD = """import sys, time
import keras, optuna, hpsearch.cli
if keras.backend.backend() == "tensorflow":
    import tensorflow
from hpsearch.core.config import DataConfig
from hpsearch.train.keras.data import load_dataset
ready_file, data_dir, train_size, study, store = sys.argv[1:]
load_dataset(DataConfig(dataset="mnist", data_dir=data_dir, train_size=int(train_size) if train_size else None))
open(ready_file, "w").write(repr(time.time()))
sys.exit(hpsearch.cli.main(["run", study, "--store", store, "-q"]))
"""

#: One epoch as both sides report it: seconds since the clock started, trial-epochs spent by then, validation accuracy.
Point = tuple[float, int, float]


def run_anchor(data_dir: str, seed: int, train_size: int | None, stop_at: float, cap: int) -> dict[str, Any]:
    """The Optuna + Keras script (in a child process): TPE and successive halving, one ``fit`` epoch at a time."""
    import keras
    import numpy as np
    import optuna

    if keras.backend.backend() == "tensorflow":
        import tensorflow  # noqa: F401

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    d = np.load(Path(data_dir) / "mnist.npz")
    x, y = d["x_train"].astype("float32") / 255.0, d["y_train"]
    x_train, y_train, x_val, y_val = x[:50_000][:train_size], y[:50_000][:train_size], x[50_000:], y[50_000:]
    optimizers = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    ready = time.time()
    curve: list[Point] = []

    def objective(trial: optuna.Trial) -> float:
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(trial.suggest_int("width", 32, 512, log=True), activation="relu"),
                keras.layers.Dropout(trial.suggest_float("dropout", 0.0, 0.5)),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        optimizer = optimizers[trial.suggest_categorical("optimizer", list(OPTIMIZERS))]
        learning_rate = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        model.compile(optimizer=optimizer(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        value = 0.0
        for epoch in range(1, EPOCHS + 1):
            history = model.fit(x_train, y_train, epochs=epoch, initial_epoch=epoch - 1, validation_data=(x_val, y_val), verbose=0)
            value = float(history.history["val_accuracy"][-1])
            curve.append((time.time() - ready, len(curve) + 1, value))
            if value >= stop_at or len(curve) >= cap:
                trial.study.stop()
                return value
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    study.optimize(objective)
    return {"ready": ready, "curve": curve}


def _progress(store: str, name: str) -> tuple[int, float] | None:
    """Trial-epochs recorded so far and the best validation accuracy among them (None before the study is there)."""
    import hpsearch
    from hpsearch.core.errors import HpsearchError

    if not Path(store).exists():
        return None
    try:
        with hpsearch.Store.open(store, read_only=True) as opened:
            epochs = opened.epochs(opened.study(name).id, current_only=False)
    except HpsearchError:  # the store or the study is not created yet
        return None
    return len(epochs), max((e.val_accuracy or 0.0 for e in epochs), default=0.0)


def run_hpsearch(
    folder: Path, data_dir: str, seed: int, train_size: int | None, population: int, stop_at: float, cap: int
) -> dict[str, Any]:
    """``hpsearch run`` in a subprocess, terminated at the target or the cap; its epochs read back from the store."""
    import hpsearch

    name = f"time_to_target_s{seed}_k{population}"
    study, store, ready_file = folder / f"{name}.toml", folder / f"{name}.db", folder / f"{name}.ready"
    study.write_text(
        STUDY_TOML.format(
            name=name,
            seed=seed,
            trials=cap,  # every trial trains at least one epoch: the cap ends the run first
            epochs=EPOCHS,
            data_dir=json.dumps(data_dir),
            train_size="" if train_size is None else f"train_size = {train_size}\n",
            population=population,
            optimizers=json.dumps(list(OPTIMIZERS)),
        )
    )
    log = folder / f"{name}.log"
    args = [sys.executable, "-c", HPSEARCH_CHILD, str(ready_file), data_dir, str(train_size or ""), str(study), str(store)]
    started = time.time()
    with log.open("w") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        while process.poll() is None:
            time.sleep(1.0)
            progress = _progress(str(store), name)
            if progress is not None and (progress[0] >= cap or progress[1] >= stop_at):
                process.terminate()
                break
        try:
            code = process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    if code not in (0, 130) or not ready_file.exists():
        raise SystemExit(f"{name}: hpsearch run exited with {code}\n{log.read_text()[-3000:]}")
    ready = float(ready_file.read_text())
    with hpsearch.Store.open(str(store), read_only=True) as opened:
        epochs = sorted(opened.epochs(opened.study(name).id, current_only=False), key=lambda e: e.recorded_at)
    times = [e.recorded_at for e in epochs]
    curve: list[Point] = [(e.recorded_at - ready, sum(1 for t in times if t <= e.recorded_at), e.val_accuracy or 0.0) for e in epochs]
    return {"startup": ready - started, "curve": curve}


def measure_anchor(data_dir: str, seed: int, train_size: int | None, stop_at: float, cap: int) -> dict[str, Any]:
    """:func:`run_anchor` in a fresh process; its start-up (process start to ready) measured from here."""
    spec = {"data_dir": data_dir, "seed": seed, "train_size": train_size, "stop_at": stop_at, "cap": cap}
    started = time.time()
    done = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"anchor seed {seed}: failed\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][7:])
    return {"startup": result["ready"] - started, "curve": [tuple(p) for p in result["curve"]]}


def first_hit(curve: list[Point], target: float, cap: int) -> tuple[float, int] | None:
    """Seconds and trial-epochs at the first epoch whose validation accuracy reached ``target`` within the cap."""
    return next(((s, n) for s, n, acc in curve if acc >= target and n <= cap), None)


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _fmt(value: float | None, digits: str) -> str:
    return "-" if value is None else format(value, digits)


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def report(results: dict[str, dict[int, dict[str, Any]]], targets: list[float], cap: int, sides: list[str]) -> None:
    """Markdown tables: per target, the medians over seeds on each side and their ratios; then the raw per-seed rows."""
    for target in targets:
        print(f"\n### validation accuracy {target} (cap {cap} trial-epochs)\n")
        print("| side | seconds (median) | trial-epochs (median) | seeds reached |")
        print("| --- | --- | --- | --- |")
        medians: dict[str, tuple[float | None, float | None]] = {}
        for side in sides:
            hits = [first_hit(r["curve"], target, cap) for r in results[side].values()]
            medians[side] = (_median([h[0] if h else None for h in hits]), _median([h[1] if h else None for h in hits]))
            reached = sum(h is not None for h in hits)
            print(f"| {side} | {_fmt(medians[side][0], '.1f')} | {_fmt(medians[side][1], '.0f')} | {reached}/{len(hits)} |")
        if len(sides) == 2:
            (hs, he), (as_, ae) = medians["hpsearch"], medians["anchor"]
            print(f"| hpsearch / anchor | {_ratio(hs, as_)} | {_ratio(he, ae)} | |")
    print("\n### per seed\n")
    heads = " | ".join(f"s to {t} | ep to {t}" for t in targets)
    print(f"| side | seed | start-up s | {heads} | trial-epochs run | best val |")
    print("| --- " * (5 + 2 * len(targets)) + "|")
    for side in sides:
        for seed, r in results[side].items():
            cells = []
            for target in targets:
                hit = first_hit(r["curve"], target, cap)
                cells += [_fmt(hit[0] if hit else None, ".1f"), _fmt(hit[1] if hit else None, "d")]
            spent = max((n for _, n, _ in r["curve"]), default=0)
            best = max((acc for _, _, acc in r["curve"]), default=0.0)
            print(f"| {side} | {seed} | {r['startup']:.1f} | {' | '.join(cells)} | {spent} | {best:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="targets 0.95, 0.96, cap 20, 10,000 training images, seed 0 (minutes)")
    parser.add_argument("--seeds", default=None, help="seeds, comma-separated (default 0,1,2; quick 0)")
    parser.add_argument("--targets", default=None, help="validation accuracies, comma-separated (default 0.975,0.98; quick 0.95,0.96)")
    parser.add_argument("--max-trial-epochs", type=int, default=None, help="cap of trial-epochs per study (default 120; quick 20)")
    parser.add_argument("--population", type=int, default=16, help="hpsearch's [training] population (default 16)")
    parser.add_argument("--train-size", type=int, default=None, help="training images (default: all 50,000; quick 10,000)")
    parser.add_argument("--only", choices=SIDES, default=None, help="run one side only")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"directory with mnist.npz (default: {DATA_DIR})")
    parser.add_argument("--json", default=None, help="write every raw result (per-epoch curves, start-up) to this file")
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(run_anchor(**json.loads(args.child))), flush=True)
        return
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    targets = sorted(float(t) for t in (args.targets or ("0.95,0.96" if args.quick else "0.975,0.98")).split(","))
    cap = args.max_trial_epochs or (20 if args.quick else 120)
    train_size = args.train_size or (10_000 if args.quick else None)
    sides = [args.only] if args.only else list(SIDES)
    folder = Path(tempfile.mkdtemp(prefix="hpsearch-time-to-target-"))
    results: dict[str, dict[int, dict[str, Any]]] = {side: {} for side in sides}
    for seed in seeds:
        for side in sides:
            if side == "anchor":
                r = measure_anchor(args.data_dir, seed, train_size, targets[-1], cap)
            else:
                r = run_hpsearch(folder, args.data_dir, seed, train_size, args.population, targets[-1], cap)
            results[side][seed] = r
            last = r["curve"][-1] if r["curve"] else (0.0, 0, 0.0)
            print(f"  {side} seed {seed}: start-up {r['startup']:.1f} s, {last[1]} trial-epochs in {last[0]:.1f} s", flush=True)
    images = f"{train_size:,}" if train_size else "50,000"
    print(
        f"\n## time to target on MNIST ({images} training images, 10,000 validation): TPE + successive halving (min 1, factor 3), "
        f"trials of up to {EPOCHS} epochs, batch 32, seeds {','.join(map(str, seeds))}, hpsearch population {args.population}"
    )
    print("seconds from the end of imports and data load (start-up apart); trial-epochs spent up to the first epoch at the target")
    report(results, targets, cap, sides)
    print(f"\nstudy files, stores and logs: {folder}")
    if args.json:
        raw = {"targets": targets, "cap": cap, "train_size": train_size, "population": args.population, "results": results}
        Path(args.json).write_text(json.dumps(raw, indent=1))
        print(f"raw results: {args.json}")


if __name__ == "__main__":
    main()
