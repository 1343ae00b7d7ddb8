"""A small random study with the toy objective, slowed down per epoch: a study to watch while it runs.

    python -m tests.slow_study STORE NAME TRIALS EPOCHS DELAY_SECONDS [ALLOWED_FILE]

With ALLOWED_FILE, trial k (0, 1, ...) starts only once that file holds a number
above k: the test paces the study, without guessing how fast this machine is.
Used by the dashboard tests as a background process (no TensorFlow).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from hpsearch import FunctionTrainer, run_study
from tests.conftest import study_config, toy_metrics


def main(argv: list[str]) -> int:
    store, name, trials, epochs, delay = argv[0], argv[1], int(argv[2]), int(argv[3]), float(argv[4])
    allowed = Path(argv[5]) if len(argv) > 5 else None
    started = 0

    def paced(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
        nonlocal started
        if allowed is not None and epoch == 1:
            while not allowed.exists() or int(allowed.read_text() or 0) <= started:
                time.sleep(0.05)
            started += 1
        return toy_metrics(params, epoch, seed)

    trainer = FunctionTrainer(paced, delay=delay)
    summary = run_study(study_config("random", name=name, trials=trials, epochs=epochs), store, trainer=trainer)
    states = sorted({t.state.value for t in summary.trials})
    print(f"{name}: {summary.finished}/{trials} finished, states {states}", flush=True)
    return 0 if summary.complete else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
