"""Everything that imports Keras: data, the model and the trainer.

Importing this package imports Keras (and its backend); the rest of hpsearch
does not, so the store, the strategies and the command line start fast.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal

from hpsearch.objective.data import Dataset, load_dataset  # noqa: E402
from hpsearch.objective.model import build_model, make_optimizer  # noqa: E402
from hpsearch.objective.train import KerasTrainer, release_keras_memory  # noqa: E402

__all__ = ["Dataset", "KerasTrainer", "build_model", "load_dataset", "make_optimizer", "release_keras_memory"]
