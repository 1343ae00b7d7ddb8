"""The two things the population engine needs that ``keras.ops`` does not give: compiling a pure
function with XLA, and its gradients. Everything else the engine computes is ``keras.ops``.

The backend is Keras's (``KERAS_BACKEND``, TensorFlow by default): TensorFlow compiles with
``tf.function(jit_compile=True)`` and differentiates with a ``GradientTape``; JAX with ``jax.jit``
and ``jax.value_and_grad``. Either runs on a GPU when it sees one. On JAX, what XLA compiles is kept between runs in
hpsearch's cache folder (:mod:`hpsearch.core.cache`); TensorFlow has no such cache.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from hpsearch.core.cache import cache_dir

__all__ = ["BACKENDS", "check_backend", "compiled", "devices", "value_and_grad"]

#: The Keras backends the population engine runs on.
BACKENDS: tuple[str, ...] = ("tensorflow", "jax")


def check_backend() -> str:
    """Keras's backend, refused with the way out when the engine does not run on it."""
    name = keras.backend.backend()
    if name not in BACKENDS:
        raise RuntimeError(
            f"the population trainer runs on the {' or '.join(BACKENDS)} Keras backend, not {name}; "
            'set KERAS_BACKEND, or train per trial with [training] trainer = "keras"'
        )
    return name


def _use_compilation_cache() -> None:
    """JAX keeps what XLA compiles in hpsearch's cache folder (``xla/``), so that the next study of the
    same shapes starts training without compiling; unless the user configured JAX's own cache."""
    import jax

    if jax.config.jax_compilation_cache_dir:
        return
    root = cache_dir()
    if root is not None:
        jax.config.update("jax_compilation_cache_dir", str(root / "xla"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` (pure: arrays in, arrays out) compiled with XLA; traced once per shape of its inputs."""
    if check_backend() == "jax":
        import jax

        _use_compilation_cache()
        return jax.jit(fn)  # type: ignore[no-any-return]
    import tensorflow as tf

    return tf.function(fn, jit_compile=True, autograph=False)  # type: ignore[no-any-return]


def value_and_grad(fn: Callable[[list[Any]], tuple[Any, Any]]) -> Callable[[list[Any]], tuple[tuple[Any, Any], list[Any]]]:
    """For ``fn(params) -> (total, aux)``: a function of ``params`` giving ``((total, aux), d total / d params)``."""
    if check_backend() == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=True)  # type: ignore[no-any-return]
    import tensorflow as tf

    def with_tape(params: list[Any]) -> tuple[tuple[Any, Any], list[Any]]:
        with tf.GradientTape() as tape:
            tape.watch(params)
            total, aux = fn(params)
        return (total, aux), tape.gradient(total, params)

    return with_tape


def devices() -> str:
    """The devices the backend computes on, e.g. ``"CPU"`` or ``"GPU (NVIDIA H100 80GB HBM3)"``."""
    if check_backend() == "jax":
        import jax

        kinds = sorted({d.platform.upper() for d in jax.devices()})
        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        return ", ".join(kinds) + (f" ({gpus[0].device_kind})" if gpus else "")
    import tensorflow as tf

    kinds = sorted({d.device_type for d in tf.config.list_logical_devices()})
    gpus = tf.config.list_physical_devices("GPU")
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU") if gpus else None
    return ", ".join(kinds) + (f" ({name})" if name else "")
