#!/usr/bin/env python
"""A measurement for the next step of issue 22, not a feature: can K copies of your own Keras model train
together, vectorised, faster than K ``fit`` calls?

On Keras's JAX backend, ``model.stateless_call`` and the optimiser's ``stateless_apply`` are pure functions
of the variables, so ``jax.vmap`` over them trains K copies of one model whose variable shapes agree, each
with its own initial weights, learning rate (an optimiser variable) and dropout stream (its seed
generator's state), under Keras's own optimiser. This script times one epoch of the convnet example
(``studies/convnet.py``: filters and kernel size fixed, so that the shapes agree; learning rate varied)
trained that way against the same K models trained one ``fit`` each (a fresh model per trial, as the
per-trial trainer does), on full MNIST or the sample, batch 32, in one process.

    KERAS_BACKEND=jax python benchmarks/own_model_vmap.py              # K = 1, 4, 8 on the sample
    KERAS_BACKEND=jax python benchmarks/own_model_vmap.py --full --ks 4,8
    python benchmarks/own_model_vmap.py                                # TensorFlow: K branches of one model instead

The dropout rate is a Python number inside the layer, so the members of one vectorised group share it
(what a population trainer for own models would group by, with the shapes).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "studies"))


def _data(full: bool) -> tuple[Any, Any]:
    import numpy as np

    if full:
        d = np.load(DATA_DIR / "mnist.npz")
        return (d["x_train"][:50_000].astype("float32") / 255.0).reshape(-1, 28, 28, 1), d["y_train"][:50_000].astype("int32")
    from convnet import load_sample

    (x, y), _val, _test = load_sample()
    return np.asarray(x, "float32"), np.asarray(y, "int32")


def per_trial(params: list[dict[str, Any]], x: Any, y: Any) -> float:
    """K ``fit`` epochs, a fresh model each (its tracing and compiling included, as a trial pays them)."""
    from convnet import build

    started = time.perf_counter()
    for p in params:
        build(p).fit(x, y, epochs=1, batch_size=32, verbose=0)
    return time.perf_counter() - started


def vectorised(params: list[dict[str, Any]], x: Any, y: Any) -> tuple[float, float]:
    """Two epochs of the K models together (``vmap`` over their variables, one ``jit`` of a scan over the
    batches): the first one's seconds (compiling included) and the second's."""
    import jax
    import jax.numpy as jnp
    import keras
    from convnet import build

    models = [build(p) for p in params]
    for m in models:
        m.optimizer.build(m.trainable_variables)
    template = models[0]

    def stack(lists: list[list[Any]]) -> list[Any]:
        return [jnp.stack([jnp.asarray(v.value) for v in vs]) for vs in zip(*lists)]

    trainable = stack([m.trainable_variables for m in models])
    non_trainable = stack([m.non_trainable_variables for m in models])
    optimizer_vars = stack([m.optimizer.variables for m in models])

    def step(tv: list[Any], ntv: list[Any], ov: list[Any], xb: Any, yb: Any) -> tuple[Any, ...]:
        def loss_of(t: list[Any]) -> tuple[Any, Any]:
            predicted, new_ntv = template.stateless_call(t, ntv, xb, training=True)
            return jnp.mean(keras.losses.sparse_categorical_crossentropy(yb, predicted)), new_ntv

        (loss, new_ntv), grads = jax.value_and_grad(loss_of, has_aux=True)(tv)
        new_tv, new_ov = template.optimizer.stateless_apply(ov, grads, tv)
        return new_tv, new_ntv, new_ov, loss

    members_step = jax.vmap(step, in_axes=(0, 0, 0, None, None))
    n = (len(x) // 32) * 32  # whole batches (the last smaller batch left out of this measurement)
    xs = jnp.asarray(x[:n]).reshape(-1, 32, 28, 28, 1)
    ys = jnp.asarray(y[:n]).reshape(-1, 32)

    @jax.jit
    def epoch(tv: list[Any], ntv: list[Any], ov: list[Any]) -> tuple[Any, ...]:
        def body(carry: tuple[Any, ...], batch: tuple[Any, Any]) -> tuple[tuple[Any, ...], Any]:
            tv, ntv, ov = carry
            tv, ntv, ov, loss = members_step(tv, ntv, ov, *batch)
            return (tv, ntv, ov), loss

        return jax.lax.scan(body, (tv, ntv, ov), (xs, ys))

    seconds = []
    state = (trainable, non_trainable, optimizer_vars)
    for _ in range(2):
        started = time.perf_counter()
        state, losses = epoch(*state)
        jax.block_until_ready(losses)
        seconds.append(time.perf_counter() - started)
    return seconds[0], seconds[1]


def branched(params: list[dict[str, Any]], x: Any, y: Any) -> tuple[float, float]:
    """TensorFlow's counterpart: the K models as K branches of one Keras model (one input, K outputs, the
    losses summed), trained by one ``fit``; two epochs, the first one's seconds and the second's. One Adam
    covers the branches here (the cost is what is measured, not per-member learning rates)."""
    import keras
    from convnet import build

    image = keras.Input((28, 28, 1))
    model = keras.Model(image, [build(p)(image) for p in params])
    model.compile(optimizer="adam", loss=["sparse_categorical_crossentropy"] * len(params))
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        model.fit(x, [y] * len(params), epochs=1, batch_size=32, verbose=0)
        seconds.append(time.perf_counter() - started)
    return seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ks", default="1,4,8", help="copies trained together, comma-separated (default 1,4,8)")
    parser.add_argument("--full", action="store_true", help=f"full MNIST from {DATA_DIR} (default: the 3,000-digit sample)")
    args = parser.parse_args()
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise SystemExit("this measurement runs on Keras's JAX backend (vmap) or TensorFlow (branches of one model)")
    together = vectorised if backend == "jax" else branched
    x, y = _data(args.full)
    rng = np.random.default_rng(0)
    way = "vectorised (jax.vmap)" if backend == "jax" else "K branches, one fit"
    print(f"convnet (filters 16, kernel 3, dropout 0.25), {len(x)} training images, one epoch, batch 32, Keras on {backend}")
    print(f"{'K':>3}{'K fit calls s':>15}{way + ', 1st epoch s':>34}{'2nd epoch s':>13}{'ratio (1st)':>13}")
    for k in (int(v) for v in args.ks.split(",")):
        params = [
            {"filters": 16, "kernel_size": 3, "dropout": 0.25, "learning_rate": float(np.exp(rng.uniform(np.log(3e-4), np.log(1e-2))))}
            for _ in range(k)
        ]
        fits = per_trial(params, x, y)
        first, second = together(params, x, y)
        print(f"{k:>3}{fits:>15.2f}{first:>34.2f}{second:>13.2f}{first / fits:>12.2f}x", flush=True)


if __name__ == "__main__":
    main()
