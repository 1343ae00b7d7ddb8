"""Writes ``store_v3.db``: a store of schema version 3, as hpsearch wrote it before schema 4 (a trial's objective
values and a test evaluation per trial): the studies of schema 2's store and a conditional study. The file is
committed and this script records how it was made, with the toy objective.

    python -m tests.data.make_store_v3     # only meaningful with the code of that release
"""

from __future__ import annotations

from pathlib import Path

from hpsearch import FunctionTrainer, run_study
from tests.comparison_store import _Trainer
from tests.conftest import study_config
from tests.data.make_store_v2 import STUDIES as V2_STUDIES
from tests.data.make_store_v2 import _with_auc

OUT = Path(__file__).resolve().parent / "store_v3.db"

#: name -> (strategy, extra study settings): schema 2's studies, and one of a conditional space (SGD's momentum).
STUDIES = {
    **{name.replace("v2-", "v3-"): spec for name, spec in V2_STUDIES.items()},
    "v3-conditional": (
        "tpe",
        {
            "trials": 6,
            "space": {
                "width": {"values": [32, 64]},
                "dropout": {"low": 0.0, "high": 0.5},
                "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
                "optimizer": {"values": ["adam", "sgd"]},
                "momentum": {"low": 0.0, "high": 0.9, "when": {"optimizer": ["sgd"]}},
            },
        },
    ),
}


def main() -> None:
    for stale in OUT.parent.glob(OUT.name + "*"):
        stale.unlink()
    for name, (strategy, extra) in STUDIES.items():
        settings = dict(extra)
        trials = settings.pop("trials", None)
        epochs = settings.pop("epochs", 3 if strategy == "pbt" else 2)
        fail = 2 if name == "v3-random" else None  # trial 2 of the random study fails (NaN loss)
        run_study(
            study_config(strategy, name=name, trials=trials, epochs=epochs, **settings),
            str(OUT),
            trainer=FunctionTrainer(_with_auc) if name == "v3-own-metric" else _Trainer(fail=fail),
        )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
