"""Writes ``store_v2.db``: a store of schema version 2, as hpsearch wrote it before schema 3 (epoch metrics
stored once, test evaluations as a mapping, the evolution lineage stored); the file is committed and this script
records how it was made, with the toy objective.

    python -m tests.data.make_store_v2     # only meaningful with the code of that release
"""

from __future__ import annotations

from pathlib import Path

from hpsearch import FunctionTrainer, run_study
from tests.comparison_store import _Trainer
from tests.conftest import study_config, toy_metrics
from tests.data.make_store_v1 import STUDIES as V1_STUDIES

OUT = Path(__file__).resolve().parent / "store_v2.db"

#: name -> (strategy, extra study settings): the studies of schema 1's store (every strategy, PBT, pruning, a
#: failure) and a study scored on a metric of its own.
STUDIES = {
    **{name.replace("v1-", "v2-"): spec for name, spec in V1_STUDIES.items()},
    "v2-own-metric": ("random", {"trials": 4, "objective": {"metric": "val_auc", "direction": "maximize"}}),
}


def _with_auc(params, epoch, seed):
    """The toy metrics and a metric of the study's own, ``val_auc``."""
    metrics = toy_metrics(params, epoch, seed)
    return {**metrics, "val_auc": round(0.5 + metrics["val_accuracy"] / 2, 6)}


def main() -> None:
    for stale in OUT.parent.glob(OUT.name + "*"):
        stale.unlink()
    for name, (strategy, extra) in STUDIES.items():
        settings = dict(extra)
        trials = settings.pop("trials", None)
        epochs = settings.pop("epochs", 3 if strategy == "pbt" else 2)
        fail = 2 if name == "v2-random" else None  # trial 2 of the random study fails (NaN loss)
        run_study(
            study_config(strategy, name=name, trials=trials, epochs=epochs, **settings),
            str(OUT),
            trainer=FunctionTrainer(_with_auc) if name == "v2-own-metric" else _Trainer(fail=fail),
        )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
