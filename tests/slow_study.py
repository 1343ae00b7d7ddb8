"""A small random study with the toy objective, slowed down per epoch: a study to watch while it runs.

    python -m tests.slow_study STORE NAME TRIALS EPOCHS DELAY_SECONDS

Used by the dashboard tests as a background process (no TensorFlow).
"""

from __future__ import annotations

import sys

from hpsearch import FunctionTrainer, run_study
from tests.conftest import study_config, toy_metrics


def main(argv: list[str]) -> int:
    store, name, trials, epochs, delay = argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4])

    trainer = FunctionTrainer(toy_metrics, delay=delay)
    summary = run_study(study_config("random", name=name, trials=trials, epochs=epochs), store, trainer=trainer)
    states = sorted({t.state.value for t in summary.trials})
    print(f"{name}: {summary.finished}/{trials} finished, states {states}", flush=True)
    return 0 if summary.complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
