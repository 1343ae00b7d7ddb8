#!/usr/bin/env python
"""Populations of your own Keras model (issue 22): K trials of the convnet example (``studies/convnet.py``) trained
together against the same K trials trained one ``fit`` each, on full MNIST or the sample, batch 32, in one process.

On TensorFlow (the default) both sides are hpsearch's trainers, as a study runs them: the per-trial trainer
(``[training] trainer = "keras"``: a fresh model and one ``fit`` per trial, validation each epoch) against
:class:`hpsearch.train.keras.branches.BranchTrainer` (``trainer = "population"``: each trial its own Keras model,
stepped together by one compiled TensorFlow function), on the same jobs (filters, kernel size, dropout and learning
rate drawn per trial: members need not share a shape), the same epochs, tracing and validation included.

On JAX it measures what a vmap population would cost (not built: slower than ``fit`` on these CPUs): K copies of
the model whose shapes agree (filters and kernel size fixed) trained by ``jax.vmap`` over ``stateless_call`` and
the optimiser's ``stateless_apply``, each with its own learning rate and dropout stream, against K ``fit`` calls.

    python benchmarks/own_model.py --full --ks 1,4,8               # TensorFlow: both trainers, full MNIST
    KERAS_BACKEND=jax python benchmarks/own_model.py --full --ks 4  # JAX: vmap against fit
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from hpsearch.train.trainer import TrainJob

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


def trainers(params: list[dict[str, Any]], full: bool, epochs: int) -> tuple[float, float]:
    """The K trials through the per-trial trainer and through the branch trainer: each side's seconds."""
    import convnet

    from hpsearch.core.config import TrainingConfig
    from hpsearch.train.keras import KerasTrainer
    from hpsearch.train.keras.branches import BranchTrainer

    os.environ.setdefault("HPSEARCH_DATA_DIR", str(DATA_DIR))  # where full MNIST is found
    loader = convnet.load_mnist if full else convnet.load_sample
    jobs = [TrainJob(i, p, epochs=epochs, seed=100 + i) for i, p in enumerate(params)]
    seconds = []
    together = BranchTrainer(None, TrainingConfig(population=len(params)), model=convnet.build, loader=loader)
    for trainer in (KerasTrainer(model=convnet.build, loader=loader), together):
        _ = trainer.user_data  # loaded before the clock starts, as a run loads it once per process
        started = time.perf_counter()
        outcomes = trainer.train(jobs, lambda _job, _result: True)
        seconds.append(time.perf_counter() - started)
        assert all(o.state.value == "COMPLETE" for o in outcomes), [o.error for o in outcomes]
    return seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ks", default="1,4,8", help="trials trained together, comma-separated (default 1,4,8)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial (TensorFlow; default 1)")
    parser.add_argument("--full", action="store_true", help=f"full MNIST from {DATA_DIR} (default: the 3,000-digit sample)")
    args = parser.parse_args()
    import keras
    import numpy as np

    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise SystemExit("this measurement runs on Keras's JAX backend (vmap) or TensorFlow (the branch trainer)")
    rng = np.random.default_rng(0)

    def log_uniform(low: float, high: float) -> float:
        return float(np.exp(rng.uniform(np.log(low), np.log(high))))

    if backend == "tensorflow":
        images = "full MNIST (50,000 training images)" if args.full else "the MNIST sample (3,000 training images)"
        print(f"convnet, {images}, {args.epochs} epoch(s) per trial, batch 32, Keras on TensorFlow; trials drawn as the quickstart's space")
        print(f"{'K':>3}{'per-trial fit s':>17}{'together s':>12}{'ratio':>8}")
        for k in (int(v) for v in args.ks.split(",")):
            params = [
                {
                    "filters": round(log_uniform(4, 32)),
                    "kernel_size": int(rng.choice([3, 5])),
                    "dropout": float(rng.uniform(0, 0.5)),
                    "learning_rate": log_uniform(3e-4, 1e-2),
                }
                for _ in range(k)
            ]
            alone, together = trainers(params, args.full, args.epochs)
            print(f"{k:>3}{alone:>17.2f}{together:>12.2f}{together / alone:>7.2f}x", flush=True)
        return
    x, y = _data(args.full)
    print(f"convnet (filters 16, kernel 3, dropout 0.25), {len(x)} training images, one epoch, batch 32, Keras on {backend}")
    print(f"{'K':>3}{'K fit calls s':>15}{'vectorised (jax.vmap), 1st epoch s':>34}{'2nd epoch s':>13}{'ratio (1st)':>13}")
    for k in (int(v) for v in args.ks.split(",")):
        params = [{"filters": 16, "kernel_size": 3, "dropout": 0.25, "learning_rate": log_uniform(3e-4, 1e-2)} for _ in range(k)]
        fits = per_trial(params, x, y)
        first, second = vectorised(params, x, y)
        print(f"{k:>3}{fits:>15.2f}{first:>34.2f}{second:>13.2f}{first / fits:>12.2f}x", flush=True)


if __name__ == "__main__":
    main()
