#!/usr/bin/env python
"""Deeper models in populations: a study of ``layers = [2, 3]`` trials on the population trainer against the
same trials on the per-trial Keras trainer, on full MNIST, paired.

Both runs are the same random study (the same seed, so the same trials: width 32-256 log, dropout 0-0.5,
adam / rmsprop / sgd / nadam, learning rate 1e-4-1e-2 log, 2 or 3 hidden layers), each in a fresh
process; the wall time is the study's (``StudyRunner.run``: data, compiling, training, checkpoints, the test
evaluation), the imports apart. Printed: both times, the ratio, the compilations per depth, the best
validation accuracy.

    python benchmarks/deeper.py                     # 12 trials x 1 epoch, one round (about 2 minutes)
    python benchmarks/deeper.py --trials 16 --epochs 2 --rounds 3
    python benchmarks/deeper.py --deep-tile-columns 256,512   # the population at other widths of its deep tiles
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).parent))
from population import SPACE as ONE_LAYER_SPACE  # noqa: E402
from population import run_hpsearch  # noqa: E402

SPACE = {**ONE_LAYER_SPACE, "layers": [2, 3]}


def child(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    import hpsearch  # noqa: F401  (the imports are timed apart)

    imports = time.perf_counter() - started
    if spec.get("deep_tile_columns"):
        import hpsearch.train.population.trainer as population_trainer

        population_trainer.DEEP_TILE_COLUMNS = int(spec["deep_tile_columns"])
    result = run_hpsearch(
        spec["trials"], spec["epochs"], spec["data_dir"], spec["trainer"], 16, space=SPACE, strategy="random", seed=spec["seed"]
    )
    return {
        "seconds": result["seconds"],
        "imports": imports,
        "best": result["best"],
        "depths": sorted(int(p["layers"]) for p in result["params"]),
        "compilations": {str(d): sum(1 for shape in result["shapes"] if shape[-1] == d) for d in (2, 3)},
    }


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=False, env=os.environ.copy()
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise SystemExit(f"{spec['trainer']} run failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][7:])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, default=12, help="trials of each study (default 12)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="paired rounds; medians are printed (default 1)")
    parser.add_argument(
        "--deep-tile-columns",
        default="",
        help="widths of the deep tiles to try, comma-separated: a population run each (default: the trainer's)",
    )
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"directory with mnist.npz (default: {DATA_DIR})")
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(child(json.loads(args.child))), flush=True)
        return
    variants = {"keras": ("keras", 0)} | {
        f"population{f' ({n} cols)' if n else ''}": ("population", n)
        for n in [int(v) for v in args.deep_tile_columns.split(",") if v] or [0]
    }
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for name, (trainer, columns) in variants.items():
            spec = {"trainer": trainer, "trials": args.trials, "epochs": args.epochs, "seed": r, "data_dir": args.data_dir}
            rows[name].append(measure({**spec, "deep_tile_columns": columns}))
        print(f"round {r + 1}: " + ", ".join(f"{name} {rows[name][-1]['seconds']:.1f} s" for name in rows), flush=True)
    base = statistics.median(x["seconds"] for x in rows["keras"])
    print(f"\n{args.trials} trials x {args.epochs} epochs of 2 or 3 hidden layers, full MNIST, median of {args.rounds} round(s)")
    print(f"{'trainer':<22}{'study s':>9}{'vs per-trial':>14}{'compilations (2, 3 layers)':>28}{'best val':>10}")
    for trainer, results in rows.items():
        seconds = statistics.median(x["seconds"] for x in results)
        compiles = results[-1]["compilations"]
        shown = f"{compiles['2']}, {compiles['3']}" if trainer != "keras" else "-"
        best = statistics.median(x["best"] for x in results)
        print(f"{trainer:<22}{seconds:>9.1f}{seconds / base:>13.2f}x{shown:>28}{best:>10.4f}")
    print(f"depths of the trials (last round): {rows['keras'][-1]['depths']}")


if __name__ == "__main__":
    main()
