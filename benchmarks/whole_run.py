#!/usr/bin/env python
"""A whole short study, start to exit, as a user runs it: ``hpsearch run STUDY`` against the Optuna + Keras
script users write, on full MNIST, side by side.

The study: 24 random trials of one epoch over the space of ``benchmarks/population.py`` (width 32-256 log,
dropout 0-0.5, adam / rmsprop / sgd / nadam, learning rate 1e-4-1e-2 log), on the population trainer.
The script: Optuna's TPE, one Keras model per trial, ``model.fit`` with its defaults, the same space and
split (``population.py``'s ``run_optuna``).

Each round runs, in fresh processes, one after the other: the Optuna script, then ``hpsearch run`` with an
empty cache folder (``cold``: the dataset is read and prepared, and cached), then ``hpsearch run`` again with
that cache (``warm``: what every study after the first gets). It prints the wall time of each, the ratio to
the script, and where hpsearch's time goes, read from its store: start-up (process start to the first trial
claimed: Python, imports, the store), training (first trial claimed to last trial ended: the data, compiling,
the epochs, checkpoints) and finish (last trial ended to exit: the test evaluation of the best model, the
summary); and, apart, what ``import keras`` alone costs on the backend (a floor no study can go under).

    python benchmarks/whole_run.py                 # 1 round, about 3 minutes on 2 cores
    python benchmarks/whole_run.py --rounds 3      # medians over 3 paired rounds
    python benchmarks/whole_run.py --backend jax   # hpsearch on Keras's JAX backend (the script on TensorFlow)

The script's time is quoted twice: its whole process, and from its first trial (imports and data loading
excluded, as the earlier figure was taken); the ratio is against the whole process, and against the second
too in brackets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
STUDY = """\
name = "whole_run"
strategy = "random"
seed = {seed}
[budget]
trials = {trials}
epochs = 1
[data]
dataset = "mnist"
data_dir = "{data_dir}"
[space]
width = {{ low = 32, high = 256, log = true }}
dropout = {{ low = 0.0, high = 0.5 }}
optimizer = ["adam", "rmsprop", "sgd", "nadam"]
learning_rate = {{ low = 1e-4, high = 1e-2, log = true }}
"""


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.time()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.time() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, done


def run_hpsearch(folder: Path, trials: int, seed: int, data_dir: str, env: dict[str, str]) -> dict[str, Any]:
    """``hpsearch run`` in a fresh process: its wall time and the phases read from its store."""
    study = folder / "whole_run.toml"
    study.write_text(STUDY.format(seed=seed, trials=trials, data_dir=data_dir))
    store = folder / f"run-{time.time_ns()}.db"
    started = time.time()
    seconds, _ = _timed([sys.executable, "-m", "hpsearch", "run", str(study), "--store", str(store), "-q"], env)
    import hpsearch

    with hpsearch.Store.open(store, read_only=True) as opened:
        record = opened.study("whole_run")
        rows = opened.trials(record.id, with_curves=False)
        first = min(t.started_at for t in rows if t.started_at is not None)
        last = max(t.finished_at for t in rows if t.finished_at is not None)
        best = max(t.value for t in rows if t.value is not None)
    return {
        "seconds": seconds,
        "start_up": first - started,
        "training": last - first,
        "finish": started + seconds - last,
        "trials": len(rows),
        "best": best,
    }


def run_script(trials: int, data_dir: str, env: dict[str, str]) -> dict[str, Any]:
    """The Optuna + Keras script (``population.py``'s) in a fresh process: whole and from its first trial."""
    spec = {"kind": "optuna", "trials": trials, "epochs": 1, "data_dir": data_dir}
    script_env = {**env, "KERAS_BACKEND": "tensorflow"}
    seconds, done = _timed([sys.executable, str(REPO / "benchmarks" / "population.py"), "--child", json.dumps(spec)], script_env)
    result = json.loads([line for line in done.stdout.splitlines() if line.startswith("RESULT ")][-1][7:])
    return {"seconds": seconds, "trials_only": result["seconds"], "best": result["best"]}


def import_floor(env: dict[str, str]) -> float:
    seconds, _ = _timed([sys.executable, "-c", "import keras; keras.ops.convert_to_tensor(1.0)"], env)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="paired rounds; medians are printed (default 1)")
    parser.add_argument("--trials", type=int, default=24, help="one-epoch trials of each run (default 24)")
    parser.add_argument("--backend", default="tensorflow", choices=["tensorflow", "jax"], help="Keras backend of hpsearch's runs")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"directory with mnist.npz (default: {DATA_DIR})")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    args = parser.parse_args()
    if not (Path(args.data_dir) / "mnist.npz").is_file():
        raise SystemExit(f"no mnist.npz in {args.data_dir}: pass --data-dir")
    env = {**os.environ, "KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="hpsearch-whole-run-") as tmp:
            folder = Path(tmp)
            cached_env = {**env, "HPSEARCH_CACHE_DIR": str(folder / "cache")}
            script = run_script(args.trials, args.data_dir, env)
            cold = run_hpsearch(folder, args.trials, r, args.data_dir, cached_env)
            warm = run_hpsearch(folder, args.trials, r, args.data_dir, cached_env)
            floor = import_floor(env)
        rounds.append({"script": script, "cold": cold, "warm": warm, "import_keras": floor})
        print(
            f"round {r + 1}: script {script['seconds']:.1f} s, hpsearch cold {cold['seconds']:.1f} s, warm {warm['seconds']:.1f} s",
            flush=True,
        )

    def med(path: tuple[str, str]) -> float:
        return statistics.median(x[path[0]][path[1]] for x in rounds)

    script_whole, script_trials = med(("script", "seconds")), med(("script", "trials_only"))
    print(f"\n{args.trials} one-epoch trials on full MNIST; median of {len(rounds)} round(s); hpsearch on {args.backend}")
    print(f"{'run':<34}{'wall s':>8}{'vs script':>22}{'start-up':>10}{'training':>10}{'finish':>8}{'best val':>10}")
    print(f"{'Optuna + Keras script':<34}{script_whole:>8.1f}{'1.00x':>22}{'':>28}{med(('script', 'best')):>10.4f}")
    print(f"{'  from its first trial':<34}{script_trials:>8.1f}")
    for kind in ("cold", "warm"):
        wall = med((kind, "seconds"))
        ratio = f"{wall / script_whole:.3f}x ({wall / script_trials:.3f}x)"
        print(
            f"{'hpsearch run, ' + kind + ' cache':<34}{wall:>8.1f}{ratio:>22}{med((kind, 'start_up')):>10.1f}"
            f"{med((kind, 'training')):>10.1f}{med((kind, 'finish')):>8.1f}{med((kind, 'best')):>10.4f}"
        )
    print(f"import keras alone ({args.backend}): {statistics.median(x['import_keras'] for x in rounds):.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": args.backend, "trials": args.trials, "rounds": rounds}, indent=2))


if __name__ == "__main__":
    main()
