"""The built-in model's specification, in one place: the classic Keras MNIST model
``Flatten -> Dense(width, act) x layers -> Dropout(dropout) -> Dense(10, softmax)`` trained with ``optimizer`` at
``learning_rate``: its hyperparameters, their kinds and defaults, and the metrics it reports.

The study file's parser applies these rules to a space of the built-in model only (:func:`hpsearch.core.space.parse_space`);
its trainers (:mod:`hpsearch.train.keras`, :mod:`hpsearch.train.population`) build and train it, and the readers
label its columns from it. It lives on the ground floor because the study file's parser needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any, Union

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURE",
    "BUILTIN_DEFAULTS",
    "BUILTIN_DIMENSIONS",
    "COST_METRICS",
    "DEFAULT_PARAMS",
    "HYPERPARAMETERS",
    "LAYER_DIMENSIONS",
    "METRICS",
    "METRIC_DIRECTIONS",
    "OPTIMIZERS",
    "SGD_ONLY",
    "trainable_params",
]

_Value = Union[int, float, str, bool]

#: The seed model's four hyperparameters: a space of the built-in model always has them (fixed at
#: :data:`DEFAULT_PARAMS` when left out), in this order.
HYPERPARAMETERS: tuple[str, ...] = ("width", "dropout", "optimizer", "learning_rate")

#: Optimisers a study may name; each is the Keras optimiser of the same name.
OPTIMIZERS: tuple[str, ...] = (
    "adam",
    "adamw",
    "sgd",
    "rmsprop",
    "nadam",
    "adamax",
    "adagrad",
    "adadelta",
    "lion",
)

#: Activations of the built-in model's hidden layers.
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "tanh", "elu")

#: The seed model's configuration of :data:`HYPERPARAMETERS`, fixed for any of them a study leaves out.
DEFAULT_PARAMS: dict[str, _Value] = {"width": 128, "dropout": 0.2, "optimizer": "adam", "learning_rate": 1e-3}
#: The built-in model's other hyperparameters when a study leaves them out (``batch_size`` is ``[training] batch_size``;
#: no ``weight_decay`` leaves each optimiser at Keras's default).
BUILTIN_DEFAULTS: dict[str, _Value] = {"layers": 1, "activation": "relu"}

#: The built-in model's hyperparameters and their kind: ``int``, ``float`` or the values of a choice.
#: ``batch_size`` overrides ``[training] batch_size`` per trial; ``weight_decay`` is the optimiser's
#: decoupled weight decay (left out, every optimiser keeps Keras's default, 0.004 for adamw); ``momentum`` and
#: ``nesterov`` are SGD's (Keras's ``SGD(momentum=..., nesterov=...)``; left out, 0 and false), searched only under
#: ``when = { optimizer = ["sgd"] }``; ``width_2``, ``dropout_2``, ``width_3``, ``dropout_3`` are the second and third
#: hidden layers' own (:data:`LAYER_DIMENSIONS`).
BUILTIN_DIMENSIONS: dict[str, str | tuple[str, ...] | tuple[bool, ...]] = {
    "width": "int",
    "dropout": "float",
    "optimizer": OPTIMIZERS,
    "learning_rate": "float",
    "batch_size": "int",
    "layers": "int",
    "activation": ACTIVATIONS,
    "weight_decay": "float",
    "momentum": "float",
    "nesterov": (True, False),
    "width_2": "int",
    "dropout_2": "float",
    "width_3": "int",
    "dropout_3": "float",
}

#: The built-in model's per-layer hyperparameters and the hidden layer each is of: they exist only for trials with that
#: many layers (``when = { layers = [...] }`` is implied), and a layer without its own takes ``width`` and ``dropout``.
LAYER_DIMENSIONS: dict[str, int] = {"width_2": 2, "dropout_2": 2, "width_3": 3, "dropout_3": 3}

#: The built-in model's hyperparameters that are SGD's alone: a space that searches them with other optimisers says
#: when they exist (``when = { optimizer = ["sgd"] }``).
SGD_ONLY: tuple[str, ...] = ("momentum", "nesterov")

#: The metrics the built-in model reports after every epoch (Keras's names), in this order.
METRICS: tuple[str, ...] = ("loss", "accuracy", "val_loss", "val_accuracy")

#: What an epoch of the built-in model cost, reported after every epoch besides :data:`METRICS` (which are what Keras's
#: ``fit`` logs), so that a study of several objectives can trade accuracy against cost: ``params``, the trial's
#: trainable parameters (:func:`trainable_params`), and ``epoch_seconds``, the epoch's wall time for that trial (a
#: population's epoch is shared among its members: :mod:`hpsearch.train.population.trainer`).
COST_METRICS: tuple[str, ...] = ("params", "epoch_seconds")

#: The direction of each metric the built-in model reports (a metric of one's own names its direction).
METRIC_DIRECTIONS: dict[str, str] = {
    "val_accuracy": "maximize",
    "val_loss": "minimize",
    "accuracy": "maximize",
    "loss": "minimize",
    "params": "minimize",
    "epoch_seconds": "minimize",
}

#: Dimensions of the built-in model's architecture: a PBT member keeps them from the member it copies (with
#: ``width``, unless its study explores it), since the weights it copies have that shape.
ARCHITECTURE: tuple[str, ...] = ("layers", "activation", "batch_size", "width_2", "width_3")


def trainable_params(params: Mapping[str, Any]) -> int:
    """The trainable parameters (kernels and biases) of the built-in model a trial's ``params`` build: Keras's
    ``count_params()`` of it, without building it. The hidden layers take ``width``, or ``width_2`` / ``width_3`` where
    the trial has them; the 28x28 input is flattened and the output has 10 classes."""
    width = int(params["width"])
    layers = int(params.get("layers", BUILTIN_DEFAULTS["layers"]))
    widths = [width, *(width if params.get(f"width_{d}") is None else int(params[f"width_{d}"]) for d in range(2, layers + 1))]
    sizes = [28 * 28, *widths, 10]
    return sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
