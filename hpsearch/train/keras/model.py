"""The MNIST model of the course material, built through Keras 3's backend-neutral API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from hpsearch.core.builtin_model import LAYER_DIMENSIONS

__all__ = [
    "build_model",
    "compile_model",
    "hidden_weights",
    "make_optimizer",
    "model_for",
    "set_hidden_weights",
    "sgd_options",
    "uses_momentum",
]

_OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "nadam": keras.optimizers.Nadam,
    "adamax": keras.optimizers.Adamax,
    "adagrad": keras.optimizers.Adagrad,
    "adadelta": keras.optimizers.Adadelta,
    "lion": keras.optimizers.Lion,
}


def make_optimizer(
    name: str, learning_rate: float, weight_decay: float | None = None, *, momentum: float | None = None, nesterov: bool | None = None
) -> keras.optimizers.Optimizer:
    """The Keras optimiser ``name`` at ``learning_rate`` (and ``weight_decay``; None keeps Keras's default); SGD with
    ``momentum`` and ``nesterov`` (None: Keras's 0 and false), which no other optimiser takes."""
    try:
        cls = _OPTIMIZERS[name]
    except KeyError:
        raise ValueError(f"optimizer = {name!r}: must be one of {', '.join(_OPTIMIZERS)}") from None
    options: dict[str, Any] = {} if weight_decay is None else {"weight_decay": weight_decay}
    if name == "sgd":
        options.update({k: v for k, v in (("momentum", momentum), ("nesterov", nesterov)) if v is not None})
    return cls(learning_rate=learning_rate, **options)


def sgd_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """SGD's ``momentum`` and ``nesterov`` of a trial's params, where it has them (as :func:`make_optimizer` takes them)."""
    return {
        "momentum": None if params.get("momentum") is None else float(params["momentum"]),
        "nesterov": None if params.get("nesterov") is None else bool(params["nesterov"]),
    }


def uses_momentum(params: Mapping[str, Any]) -> bool:
    """Whether a trial's SGD keeps momentum (and with it Keras's momentum slots in its optimiser state)."""
    return float(params.get("momentum") or 0.0) > 0.0


def build_model(
    width: int = 128,
    dropout: float = 0.2,
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    *,
    layers: int = 1,
    activation: str = "relu",
    weight_decay: float | None = None,
    momentum: float | None = None,
    nesterov: bool | None = None,
    width_2: int | None = None,
    dropout_2: float | None = None,
    width_3: int | None = None,
    dropout_3: float | None = None,
    steps_per_execution: int = 1,
    **_: Any,
) -> keras.Model:
    """``Flatten(28x28) -> [Dense(width, activation) -> Dropout(dropout)] x layers -> Dense(10, softmax)``, compiled; the
    second and third hidden layers take ``width_2``/``dropout_2`` and ``width_3``/``dropout_3`` where given.

    At width 128 with one hidden layer the dense layers hold 100,480 and 1,290 parameters (101,770
    in all). The first hidden layer is ``dense`` and the output layer ``dense_1`` whatever the depth
    (the names checkpoints of the one-layer model have always used); further hidden layers are
    ``hidden_2`` and ``hidden_3``. Other keyword arguments (``batch_size``) are not the model's and are ignored.
    """
    stack: list[keras.layers.Layer] = [keras.Input(shape=(28, 28), name="image"), keras.layers.Flatten(name="flatten")]
    widths = {1: width, 2: width if width_2 is None else width_2, 3: width if width_3 is None else width_3}
    rates = {1: dropout, 2: dropout if dropout_2 is None else dropout_2, 3: dropout if dropout_3 is None else dropout_3}
    for depth in range(1, int(layers) + 1):
        name = "dense" if depth == 1 else f"hidden_{depth}"
        stack.append(keras.layers.Dense(int(widths[depth]), activation=activation, name=name))
        stack.append(keras.layers.Dropout(float(rates[depth]), name="dropout" if depth == 1 else f"dropout_{depth}"))
    stack.append(keras.layers.Dense(10, activation="softmax", name="dense_1"))
    model = keras.Sequential(stack, name="mnist_mlp")
    sgd = {"momentum": momentum, "nesterov": nesterov}
    compile_model(model, optimizer, learning_rate, weight_decay=weight_decay, steps_per_execution=steps_per_execution, **sgd)
    return model


def model_for(params: Mapping[str, Any], *, steps_per_execution: int = 1) -> keras.Model:
    """:func:`build_model` from a params mapping (as stored with a trial)."""
    decay = params.get("weight_decay")
    return build_model(
        width=int(params["width"]),
        dropout=float(params["dropout"]),
        optimizer=str(params["optimizer"]),
        learning_rate=float(params["learning_rate"]),
        layers=int(params.get("layers", 1)),
        activation=str(params.get("activation", "relu")),
        weight_decay=None if decay is None else float(decay),
        steps_per_execution=steps_per_execution,
        **sgd_options(params),
        **{name: params[name] for name in LAYER_DIMENSIONS if params.get(name) is not None},
    )


def compile_model(
    model: keras.Model,
    optimizer: str,
    learning_rate: float,
    *,
    weight_decay: float | None = None,
    steps_per_execution: int = 1,
    momentum: float | None = None,
    nesterov: bool | None = None,
) -> None:
    """(Re)compile ``model`` with a fresh optimizer; its weights are kept."""
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate, weight_decay, momentum=momentum, nesterov=nesterov),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def hidden_weights(model: keras.Model) -> tuple[Any, Any, Any, Any]:
    """(kernel, bias) of the hidden layer and of the output layer, as NumPy arrays."""
    k1, b1 = model.get_layer("dense").get_weights()
    k2, b2 = model.get_layer("dense_1").get_weights()
    return k1, b1, k2, b2


def set_hidden_weights(model: keras.Model, weights: tuple[Any, Any, Any, Any]) -> None:
    k1, b1, k2, b2 = weights
    model.get_layer("dense").set_weights([k1, b1])
    model.get_layer("dense_1").set_weights([k2, b2])
