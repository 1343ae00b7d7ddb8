#!/usr/bin/env python
"""Which strategy finds the best model per unit of compute: every strategy and pruning rule on
full MNIST, the space of ``studies/mnist_tpe.toml``, about the same budget of trial-epochs, over
several seeds.

For every (strategy, seed) a study runs through ``hpsearch run`` in its own process, on the
population trainer (8 trials trained together), into one store; the table is then read from
that store: median over seeds of the best validation accuracy, the test accuracy of that best
model, the wall time, the trial-epochs spent, and the trial-epochs and seconds it took to first
reach the target validation accuracy (``-`` where a seed never reached it; the medians are over
the seeds that did, with their count). ``hpsearch compare NAME... --store STORE`` draws the same
studies as plots afterwards.

The trials of the pruned studies (successive halving and Hyperband, up to 9 epochs a trial) are
set so that they spend about the budget; PBT's population trains the budget in 3-epoch segments.

    python benchmarks/strategies.py --quick        # one seed, 20 trial-epochs each, target 0.97 (a few minutes)
    python benchmarks/strategies.py                # 3 seeds, about 96 trial-epochs each, target 0.98
    python benchmarks/strategies.py --only gp,tpe --seeds 0,1,2,3,4
    python benchmarks/strategies.py --from-store --store S.db --target 0.975   # the same studies, another target
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
SPACE = {  # studies/mnist_tpe.toml's space; grid points only matter to the grid
    "width": {"low": 32, "high": 512, "log": True, "grid_points": 2},
    "dropout": {"low": 0.0, "high": 0.6, "grid_points": 1},
    "optimizer": ["adam", "adamw", "sgd", "rmsprop", "nadam"],
    "learning_rate": {"low": 1e-4, "high": 3e-2, "log": True, "grid_points": 3},
}


def studies(quick: bool) -> dict[str, dict[str, Any]]:
    """Each row's study document, without name and seed: about 96 trial-epochs (quick: 20)."""
    trials, epochs = (10, 2) if quick else (32, 3)
    plain = {"budget": {"trials": trials, "epochs": epochs}}
    long = 4 if quick else 9  # the most epochs a pruned trial trains
    sh = {"rule": "successive_halving", "min_epochs": 1, "reduction_factor": 3}
    hb = {"rule": "hyperband", "min_epochs": 1, "reduction_factor": 3}
    pbt = {"population": 5, "ready": 2, "epochs": 4} if quick else {"population": 8, "ready": 3, "epochs": 12}
    sh_trials, hb_trials = (10, 6) if quick else (40, 22)
    out: dict[str, dict[str, Any]] = {
        "grid": {"strategy": "grid", **plain},
        "random": {"strategy": "random", **plain},
        "qmc": {"strategy": "qmc", **plain},
        "tpe": {"strategy": "tpe", **plain},
        "gp": {"strategy": "gp", **plain},
        "evolution": {"strategy": "evolution", **plain},
        "cmaes": {"strategy": "cmaes", **plain},
        "pbt": {"strategy": "pbt", "pbt": pbt},
        "random+sh": {"strategy": "random", "budget": {"trials": sh_trials, "epochs": long}, "pruning": sh},
        "tpe+sh": {"strategy": "tpe", "budget": {"trials": sh_trials, "epochs": long}, "pruning": sh},
        "random+hyperband": {"strategy": "random", "budget": {"trials": hb_trials, "epochs": long}, "pruning": hb},
        "tpe+hyperband": {"strategy": "tpe", "budget": {"trials": hb_trials, "epochs": long}, "pruning": hb},
    }
    if quick:
        out["grid"]["space"] = {**SPACE, "learning_rate": {**SPACE["learning_rate"], "grid_points": 1}}  # 10 points
    else:
        out["grid"]["budget"] = {"trials": 30, "epochs": epochs}  # the whole grid: 2 widths x 5 optimisers x 3 learning rates
    return out


def write_study(path: Path, name: str, seed: int, doc: dict[str, Any], data_dir: str) -> None:
    full = {
        "name": name,
        "seed": seed,
        "data": {"dataset": "mnist", "data_dir": data_dir},
        "training": {"population": 8},
        "space": SPACE,
        **doc,
    }
    path.write_text(json.dumps(full))


def run_one(store: str, study_file: Path) -> float:
    """Run the study document in ``study_file`` (JSON) in a fresh process, as ``hpsearch run`` would; its wall time."""
    started = time.perf_counter()
    code = "import json, sys, hpsearch\ndoc = json.load(open(sys.argv[1]))\nhpsearch.run(hpsearch.parse_study(doc), sys.argv[2])\n"
    done = subprocess.run([sys.executable, "-c", code, str(study_file), store], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{study_file.name}: failed\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def measure(store: str, name: str, wall: float | None, target: float) -> dict[str, Any]:
    import hpsearch

    with hpsearch.Store.open(store, read_only=True) as opened:
        study = opened.study(name)
        trials = opened.trials(study.id)
        epochs = sorted(opened.epochs(study.id, current_only=False), key=lambda e: e.recorded_at)
        evaluation = opened.evaluation(study.id)
        best = hpsearch.core.results.study_result(study, trials).trial
    start = min(t.started_at for t in trials if t.started_at is not None)
    end = max(t.finished_at for t in trials if t.finished_at is not None)
    reached = next((i for i, e in enumerate(epochs) if e.val_accuracy is not None and e.val_accuracy >= target), None)
    return {
        "best_val": None if best is None else best.value,
        "test": None if evaluation is None else evaluation.accuracy,
        "wall": wall,
        "span": end - start,
        "trial_epochs": len(epochs),
        "trials": len(trials),
        "epochs_to_target": None if reached is None else reached + 1,
        "seconds_to_target": None if reached is None else epochs[reached].recorded_at - start,
    }


def _median(values: list[Any], digits: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    text = format(statistics.median(known), digits)
    return text if len(known) == len(values) else f"{text} ({len(known)}/{len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed, 20 trial-epochs per study, target 0.97 (a few minutes)")
    parser.add_argument("--seeds", default=None, help="seeds, comma-separated (default 0,1,2; quick 0)")
    parser.add_argument("--only", default=None, help="rows to run, comma-separated (default: every strategy and rule)")
    parser.add_argument("--target", type=float, default=None, help="validation accuracy to reach (default 0.98; quick 0.97)")
    parser.add_argument("--data-dir", default=str(DATA_DIR), help=f"directory with mnist.npz (default: {DATA_DIR})")
    parser.add_argument("--store", default=None, help="store to write the studies to (default: a new temporary file)")
    parser.add_argument(
        "--from-store", action="store_true", help="run nothing: tabulate the studies already in --store (for another --target, say)"
    )
    args = parser.parse_args()
    if args.from_store and not args.store:
        parser.error("--from-store needs --store")
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    target = args.target or (0.97 if args.quick else 0.98)
    rows = studies(args.quick)
    if args.only:
        unknown = set(args.only.split(",")) - set(rows)
        if unknown:
            parser.error(f"--only: unknown rows {', '.join(sorted(unknown))}; expected some of {', '.join(rows)}")
        rows = {k: v for k, v in rows.items() if k in args.only.split(",")}
    folder = Path(tempfile.mkdtemp(prefix="hpsearch-strategies-"))
    store = args.store or str(folder / "strategies.db")
    results: dict[str, list[dict[str, Any]]] = {row: [] for row in rows}
    for seed in seeds:
        for row, doc in rows.items():
            name = f"bench_{row.replace('+', '_')}_s{seed}"
            if args.from_store:
                results[row].append(measure(store, name, None, target))
                continue
            study_file = folder / f"{name}.json"
            write_study(study_file, name, seed, doc, args.data_dir)
            wall = run_one(store, study_file)
            r = measure(store, name, wall, target)
            results[row].append(r)
            print(
                f"  {name}: best val {r['best_val']:.4f}, {r['trial_epochs']} trial-epochs, {wall:.0f} s, "
                f"target after {r['epochs_to_target']} trial-epochs",
                flush=True,
            )
    print(f"\nstrategies on full MNIST, seeds {','.join(map(str, seeds))}, population trainer (8 together), target {target}")
    print(f"store: {store}")
    print("wall s: the whole process (start-up and test evaluation included); train s: first trial's start to last trial's end")
    header = (
        f"{'strategy':<18}{'best val':>10}{'test':>9}{'wall s':>9}{'train s':>9}{'trial-ep':>10}{'trials':>8}"
        f"{'ep to target':>16}{'s to target':>16}"
    )
    print(header)
    for row, rs in results.items():
        print(
            f"{row:<18}{_median([r['best_val'] for r in rs], '.4f'):>10}{_median([r['test'] for r in rs], '.4f'):>9}"
            f"{_median([r['wall'] for r in rs], '.0f'):>9}{_median([r['span'] for r in rs], '.0f'):>9}"
            f"{_median([r['trial_epochs'] for r in rs], '.0f'):>10}"
            f"{_median([r['trials'] for r in rs], '.0f'):>8}{_median([r['epochs_to_target'] for r in rs], '.0f'):>16}"
            f"{_median([r['seconds_to_target'] for r in rs], '.0f'):>16}"
        )
    names = " ".join(f"bench_{row.replace('+', '_')}_s{seeds[0]}" for row in rows)
    print(f"\nplots: hpsearch compare {names} --store {store} --out strategies.html")


if __name__ == "__main__":
    main()
