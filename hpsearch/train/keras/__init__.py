"""Everything that imports Keras: data, the model and the trainer.

Importing this package imports Keras (and its backend); the rest of hpsearch
does not, so the store, the strategies and the command line start fast.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _backend_startup_quiet() -> Iterator[None]:
    """Hide the C++ start-up lines TensorFlow writes straight to file descriptor 2 on import, and its later
    information lines (XLA's start, "Compiled cluster using XLA!").

    TensorFlow's logging is set to warnings and errors only (``TF_CPP_MIN_LOG_LEVEL=2``), and oneDNN's optimisations
    are named as on (``TF_ENABLE_ONEDNN_OPTS=1``, TensorFlow's default on these CPUs), which stops the "oneDNN custom
    operations are on" notice that TensorFlow prints, before its logging starts, each time one of its libraries loads
    while the variable is unset. Python exceptions raised by the import still propagate; set ``TF_CPP_MIN_LOG_LEVEL``
    yourself (or run with ``--verbose``) to see the backend's own messages.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "keras" in sys.modules:
        yield
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _backend_startup_quiet():
    import keras  # noqa: F401

# Keras warns about retracing when many models are built in one process, which is what a study does.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

from hpsearch.train.keras.data import Dataset, load_dataset  # noqa: E402
from hpsearch.train.keras.memory import release_keras_memory, trial_memory_scope  # noqa: E402
from hpsearch.train.keras.model import build_model, make_optimizer  # noqa: E402
from hpsearch.train.keras.train import KerasTrainer  # noqa: E402

__all__ = ["Dataset", "KerasTrainer", "build_model", "load_dataset", "make_optimizer", "release_keras_memory", "trial_memory_scope"]
