"""A population member as the ``.weights.h5`` of ``build_model(**params)``: written and read
without building a Keras model.

A checkpoint is Keras's own file: ``model.load_weights`` reads it (weights and optimiser state),
the per-trial trainer continues from it and ``hpsearch export-model`` exports it. Building a
Keras model to write one costs about 50 ms and leaves Keras state to release after every
population pass; writing the file directly costs about 1 ms.

The layout is not written down here: for each kind of model (optimiser, activation) one small
model is built once per process and saved by Keras with a marker value in every variable, and
what each of its datasets holds is read back from the markers (:func:`_layout`). So the files
are what this Keras version writes, whatever its order of variables; a dataset that holds no
known marker (a Keras whose optimiser keeps something else) is refused, not guessed.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from hpsearch.train.keras.model import build_model
from hpsearch.train.keras.train import atomic_checkpoint
from hpsearch.train.population.engine import variables

__all__ = ["keras_model_of", "member_of_checkpoint", "write_member"]

#: The Keras optimiser attributes that hold each of our slots (Keras 3's own names).
_KERAS_SLOTS: dict[str, dict[str, str]] = {
    "adam": {"m": "_momentums", "v": "_velocities"},
    "adamw": {"m": "_momentums", "v": "_velocities"},
    "sgd": {},
    "rmsprop": {"v": "_velocities"},
    "nadam": {"m": "_momentums", "v": "_velocities"},
    "adamax": {"m": "_m", "u": "_u"},
    "adagrad": {"acc": "_accumulators"},
    "adadelta": {"acc_grad": "_accumulated_grads", "acc_delta": "_accumulated_delta_vars"},
    "lion": {"m": "_momentums"},
}


def _depth(params: dict[str, Any]) -> int:
    return int(params.get("layers", 1))


def _keras_layers(depth: int) -> list[str]:
    """The Keras layers holding a member's variables, in :func:`variables` order (two variables each)."""
    return ["dense", "dense_1", *(f"hidden_{d}" for d in range(2, depth + 1))]


def _layer_variable_positions(model: Any, depth: int) -> list[int]:
    """Where each of the member's variables (:func:`variables` order) is among ``model.trainable_variables``
    (the order of the optimiser's slot lists)."""
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    return [index[id(v)] for name in _keras_layers(depth) for v in model.get_layer(name).trainable_variables]


def keras_model_of(params: dict[str, Any], weights: tuple[np.ndarray, ...], state: dict[str, Any] | None = None) -> Any:
    """``build_model(**params)`` holding ``weights`` (:func:`variables` order) and, if given, the optimiser
    ``state`` of a population member."""
    model = build_model(**params)
    depth = _depth(params)
    for k, layer in enumerate(_keras_layers(depth)):
        model.get_layer(layer).set_weights([weights[2 * k], weights[2 * k + 1]])
    if state is not None:
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        optimizer.iterations.assign(state["step"])
        if hasattr(optimizer, "_u_product"):
            optimizer._u_product.assign(state["u_product"])
        order = _layer_variable_positions(model, depth)
        for slot, attribute in _KERAS_SLOTS[str(params["optimizer"])].items():
            keras_slots = getattr(optimizer, attribute)
            for name, position in zip(variables(depth), order):
                keras_slots[position].assign(state["slots"][name][slot])
    return model


#: What a dataset of a checkpoint holds: ("weight", name), ("slot", name, slot), ("step",),
#: ("u_product",) or ("learning_rate",).
Role = tuple[str, ...]


@cache
def _layout(optimizer: str, activation: str, depth: int) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[Role, np.dtype]]]:
    """The groups (with their attributes) and datasets (with what each holds, and its dtype) of the
    checkpoint of a model of the built-in kind under ``optimizer`` and ``activation`` with ``depth`` hidden
    layers, as Keras writes it."""
    width, learning_rate = 3, 0.125
    names = variables(depth)
    weight_markers = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 9.0)  # 7: the step count
    markers: dict[float, Role] = {value: ("weight", name) for name, value in zip(names, weight_markers)}
    markers.update({7.0: ("step",), 0.5: ("u_product",), learning_rate: ("learning_rate",)})
    shapes = {"kernel": (28 * 28, width), "bias": (width,), "out_kernel": (width, 10), "out_bias": (10,)}
    shapes.update({name: (width, width) if name.startswith("kernel_") else (width,) for name in names[4:]})
    weights = tuple(np.full(shapes[name], value, np.float32) for name, value in zip(names, weight_markers))
    slots: dict[str, dict[str, np.ndarray]] = {name: {} for name in names}
    for k, (name, slot) in enumerate((n, s) for n in names for s in _KERAS_SLOTS[optimizer]):
        slots[name][slot] = np.full(shapes[name], 100.0 + k, np.float32)
        markers[100.0 + k] = ("slot", name, slot)
    params = {"width": width, "dropout": 0.0, "optimizer": optimizer, "learning_rate": learning_rate, "activation": activation}
    params["layers"] = depth
    model = keras_model_of(params, weights, {"step": 7, "u_product": 0.5, "slots": slots})
    with tempfile.TemporaryDirectory(prefix="hpsearch-layout-") as folder:
        path = Path(folder) / "template.weights.h5"
        model.save_weights(path)
        groups: dict[str, dict[str, Any]] = {}
        datasets: dict[str, tuple[Role, np.dtype]] = {}
        with h5py.File(path, "r") as f:
            groups[""] = dict(f.attrs)

            def visit(name: str, item: Any) -> None:
                if isinstance(item, h5py.Group):
                    groups[name] = dict(item.attrs)
                    return
                value = float(np.asarray(item[()]).flat[0])
                if value not in markers:
                    raise RuntimeError(f"Keras's {optimizer} checkpoint holds {name!r}, which hpsearch does not know how to fill")
                datasets[name] = (markers[value], item.dtype)

            f.visititems(visit)
    return groups, datasets


def _layout_of(params: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[Role, np.dtype]]]:
    """:func:`_layout` of the model ``build_model(**params)`` builds."""
    return _layout(str(params["optimizer"]), str(params.get("activation", "relu")), _depth(params))


def _value(role: Role, params: dict[str, Any], weights: tuple[np.ndarray, ...], state: dict[str, Any]) -> np.ndarray:
    kind = role[0]
    if kind == "weight":
        return np.asarray(weights[variables(_depth(params)).index(role[1])])
    if kind == "learning_rate":
        return np.asarray(float(params["learning_rate"]))
    if kind == "slot":
        return np.asarray(state["slots"][role[1]][role[2]])
    return np.asarray(state[kind])


def write_member(path: Path, params: dict[str, Any], weights: tuple[np.ndarray, ...], state: dict[str, Any]) -> None:
    """Write ``weights`` and optimiser ``state`` (as :meth:`Population.member_state` gives it) as the
    ``.weights.h5`` of ``build_model(**params)``, atomically (:func:`atomic_checkpoint`)."""
    groups, datasets = _layout_of(params)
    with atomic_checkpoint(path) as partial, h5py.File(partial, "w") as f:
        f.attrs.update(groups[""])
        for name, attributes in groups.items():
            if name:
                f.require_group(name).attrs.update(attributes)
        for name, (role, dtype) in datasets.items():
            f.create_dataset(name, data=_value(role, params, weights, state).astype(dtype))


def member_of_checkpoint(params: dict[str, Any], path: Path) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """The weights and optimiser state of a checkpoint written for ``build_model(**params)`` (by either
    trainer, or by Keras itself), in the layout :meth:`Population.set_member` takes: the inverse of
    :func:`write_member`."""
    names = variables(_depth(params))
    _groups, datasets = _layout_of(params)
    weights: dict[str, np.ndarray] = {}
    state: dict[str, Any] = {"step": 0, "u_product": 1.0, "slots": {name: {} for name in names}}
    with h5py.File(path, "r") as f:
        for name, (role, _dtype) in datasets.items():
            value = np.asarray(f[name][()])
            if role[0] == "weight":
                weights[role[1]] = value.astype(np.float32)
            elif role[0] == "slot":
                state["slots"][role[1]][role[2]] = value.astype(np.float32)
            elif role[0] == "step":
                state["step"] = int(value)
            elif role[0] == "u_product":
                state["u_product"] = float(value)
    return tuple(weights[name] for name in names), state
