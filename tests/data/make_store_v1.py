"""Writes ``store_v1.db``: a store of schema version 1, as hpsearch wrote it before store migrations
existed (the file is committed; this script records how it was made, with the toy objective).

    python -m tests.data.make_store_v1     # only meaningful with the code of that release
"""

from __future__ import annotations

from pathlib import Path

from hpsearch import run_study
from tests.comparison_store import _Trainer
from tests.conftest import study_config

OUT = Path(__file__).resolve().parent / "store_v1.db"

#: name -> (strategy, extra study settings): a study of every strategy, PBT, pruning, a failure.
STUDIES = {
    "v1-grid": ("grid", {"trials": 8}),
    "v1-random": ("random", {"trials": 6}),
    "v1-tpe": ("tpe", {"trials": 6, "pruning": {"startup_trials": 2}}),
    "v1-gp": ("gp", {"trials": 6, "gp": {"startup_trials": 3}}),
    "v1-evolution": ("evolution", {"trials": 6, "evolution": {"population": 3}}),
    "v1-cmaes": ("cmaes", {"trials": 6, "cmaes": {"population": 4}}),
    "v1-qmc": ("qmc", {"trials": 4}),
    "v1-hyperband": ("random", {"trials": 8, "epochs": 4, "pruning": {"rule": "hyperband", "reduction_factor": 2}}),
    "v1-pbt": ("pbt", {}),
}


def main() -> None:
    for stale in OUT.parent.glob(OUT.name + "*"):
        stale.unlink()
    for name, (strategy, extra) in STUDIES.items():
        settings = dict(extra)
        trials = settings.pop("trials", None)
        epochs = settings.pop("epochs", 3 if strategy == "pbt" else 2)
        fail = 2 if name == "v1-random" else None  # trial 2 of the random study fails (NaN loss)
        run_study(study_config(strategy, name=name, trials=trials, epochs=epochs, **settings), str(OUT), trainer=_Trainer(fail=fail))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
