"""A population: K members of the seed MLP trained together, in one XLA-compiled computation.

``Flatten -> Dense(width, relu) -> Dropout(rate) -> Dense(10, softmax)`` for every member,
with its weights stacked along a leading member axis, padded to a common bucket width
(masked units carry no signal and receive no gradient), each member at its own learning
rate and dropout rate, all members under one optimiser (:mod:`hpsearch.population.optimizers`).

Reproducibility does not depend on the company a member keeps:

* the members of a population share each batch (the batch order of epoch ``e`` comes from
  the study seed and ``e``), which makes the first layer of all members one wide matrix product;
* a member's initial weights come from its own seed at its true width (Keras's Glorot
  uniform and zero biases), then are padded;
* a member's dropout mask at a step is a counter-based hash of (its seed, its own step
  count, unit, row), the same whatever the bucket width, the population size or the other
  members, so a member trained alone or among 15 others follows the same curve.

One compiled function per shape (members, bucket, optimiser, batch, steps): a study reuses it
for every population of that shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from hpsearch.population.optimizers import apply_update, initial_slot, member_vector, slot_names

__all__ = ["INPUTS", "CLASSES", "Member", "Population", "bucket_width", "epoch_order", "glorot_weights"]

INPUTS = 28 * 28
CLASSES = 10
_VARIABLES = ("kernel", "bias", "out_kernel", "out_bias")
#: The axis of each variable that indexes the member.
MEMBER_AXIS = {"kernel": 1, "bias": 0, "out_kernel": 0, "out_bias": 0}


def bucket_width(width: int) -> int:
    """The padded width a member of ``width`` units trains at: the next power of two from 16 on
    (few shapes, so few compilations; at most 2x the arithmetic of the true width)."""
    return max(16, 1 << (int(width) - 1).bit_length())


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` training examples in epoch ``epoch`` (from 1) of a study seeded ``seed``: the same for every member."""
    return np.random.default_rng([int(seed), int(epoch), 0x5EED]).permutation(n).astype(np.int32)


def glorot_weights(width: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keras's default initialisation of the two dense layers at the true ``width``: Glorot
    uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and zero biases."""
    rng = np.random.default_rng([int(seed), 0x1417])
    limit1 = np.sqrt(6.0 / (INPUTS + width))
    limit2 = np.sqrt(6.0 / (width + CLASSES))
    k1 = rng.uniform(-limit1, limit1, (INPUTS, width)).astype(np.float32)
    k2 = rng.uniform(-limit2, limit2, (width, CLASSES)).astype(np.float32)
    return k1, np.zeros(width, np.float32), k2, np.zeros(CLASSES, np.float32)


@dataclass(frozen=True)
class Member:
    """One trial in a population: its true width, dropout, learning rate and seed."""

    width: int
    dropout: float
    learning_rate: float
    seed: int


def _fmix32(h: tf.Tensor) -> tf.Tensor:
    """MurmurHash3's finaliser on uint32: every input bit affects every output bit."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = h * tf.constant(0x85EBCA6B, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13))
    h = h * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def dropout_uniforms(seeds: tf.Tensor, steps: tf.Tensor, width: int, batch: int) -> tf.Tensor:
    """[K, batch, width] uniforms in [0, 1): element (k, b, u) hashes (seed k, step k, unit u, row b) only."""
    key = _fmix32(tf.cast(seeds, tf.uint32) * tf.constant(0x9E3779B1, tf.uint32) + tf.cast(steps, tf.uint32))
    units = tf.cast(tf.range(width), tf.uint32)[None, :] * tf.constant(65_536, tf.uint32)
    rows = tf.cast(tf.range(batch), tf.uint32)[:, None]
    cell = _fmix32(units + rows + tf.constant(1, tf.uint32))  # [batch, width]
    h = _fmix32(tf.bitwise.bitwise_xor(key[:, None, None], cell[None, :, :]))
    return tf.cast(tf.bitwise.right_shift(h, 8), tf.float32) * (1.0 / (1 << 24))


class Population:
    """K members at one bucket width, each under one of ``optimizers``; see the module docstring.

    Several optimisers share one population through one update that covers them: every
    rule is computed on the same tensors and each member keeps the result of its own rule
    (the rules are elementwise and memory-bound, so the extra arithmetic is cheap next to
    reading and writing the weights once); the slots are the union of the rules' slots.
    """

    def __init__(self, optimizers: str | tuple[str, ...], bucket: int, size: int) -> None:
        self.optimizers = (optimizers,) if isinstance(optimizers, str) else tuple(optimizers)
        self.bucket = int(bucket)
        self.size = int(size)
        k, w = self.size, self.bucket
        # the first kernel is [784, K, bucket], so that it is one [784, K * bucket] matrix with no transpose
        shapes = {"kernel": (INPUTS, k, w), "bias": (k, w), "out_kernel": (k, w, CLASSES), "out_bias": (k, CLASSES)}
        self.vars = {name: tf.Variable(tf.zeros(shape), name=name) for name, shape in shapes.items()}
        self.slots = {name: {s: tf.Variable(initial_slot(s, self.vars[name])) for s in slot_names(*self.optimizers)} for name in _VARIABLES}
        self.rule = tf.Variable(tf.zeros(k, tf.int32))  # each member's index into self.optimizers
        self.mask = tf.Variable(tf.zeros((k, w)))
        self.lr = tf.Variable(tf.zeros(k))
        self.rate = tf.Variable(tf.zeros(k))
        self.seed = tf.Variable(tf.zeros(k, tf.int64))
        self.step = tf.Variable(tf.zeros(k, tf.int64))
        self.u_product = tf.Variable(tf.ones(k))
        self.alive = tf.Variable(tf.zeros(k, tf.bool))
        self._train = tf.function(self._train_steps, jit_compile=True, autograph=False)
        self._eval = tf.function(self._evaluate, jit_compile=True, autograph=False)

    # ------------------------------------------------------------------ members

    def set_member(
        self,
        index: int,
        member: Member,
        weights: tuple[np.ndarray, ...] | None = None,
        optimizer: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Put ``member`` at ``index`` under ``optimizer`` (default: the population's first) with ``weights``
        (default: its Glorot initialisation) and optimiser ``state`` (as :meth:`member_state` gives it, at
        the true width; default: fresh)."""
        k1, b1, k2, b2 = weights if weights is not None else glorot_weights(member.width, member.seed)
        width = k1.shape[1]
        if width > self.bucket:
            raise ValueError(f"width {width} does not fit bucket {self.bucket}")
        pad = self.bucket - width
        padding = {"kernel": ((0, 0), (0, pad)), "bias": ((0, pad),), "out_kernel": ((0, pad), (0, 0)), "out_bias": ((0, 0),)}
        values = {"kernel": k1, "bias": b1, "out_kernel": k2, "out_bias": b2}
        slots = {} if state is None else state["slots"]
        for name, value in values.items():
            at = np.s_[:, index] if MEMBER_AXIS[name] else np.s_[index]
            self.vars[name][at].assign(np.pad(value, padding[name]).astype(np.float32))
            for slot_name, slot in self.slots[name].items():
                saved = slots.get(name, {}).get(slot_name)
                if saved is None:  # fresh state (or a slot only another optimiser of the population keeps)
                    slot[at].assign(initial_slot(slot_name, self.vars[name][at]))
                else:
                    slot[at].assign(np.pad(saved, padding[name]).astype(np.float32))
        self.mask[index].assign((np.arange(self.bucket) < width).astype(np.float32))
        self.step[index].assign(0 if state is None else int(state["step"]))
        self.u_product[index].assign(1.0 if state is None else float(state["u_product"]))
        self.set_hyperparameters(index, member, optimizer)

    def set_hyperparameters(self, index: int, member: Member, optimizer: str | None = None) -> None:
        """Member ``index`` goes on at ``member``'s learning rate, dropout rate and seed (its dropout
        stream), under ``optimizer``, with its weights and optimiser state as they are; it is live again."""
        self.lr[index].assign(member.learning_rate)
        self.rate[index].assign(member.dropout)
        self.seed[index].assign(member.seed)
        self.rule[index].assign(self.optimizers.index(optimizer) if optimizer is not None else 0)
        self.alive[index].assign(True)

    def reset_optimizer_state(self, index: int) -> None:
        """Member ``index`` starts a fresh optimiser state (step 0, initial slots), weights kept."""
        for name in _VARIABLES:
            at = np.s_[:, index] if MEMBER_AXIS[name] else np.s_[index]
            for slot_name, slot in self.slots[name].items():
                slot[at].assign(initial_slot(slot_name, self.vars[name][at]))
        self.step[index].assign(0)
        self.u_product[index].assign(1.0)

    def copy_members(self, sources: Sequence[int]) -> None:
        """Every member ``i`` becomes a copy of member ``sources[i]`` (weights, mask, optimiser state and
        step count, all at once, in the population's memory: PBT's exploit with no model rebuilt and
        nothing read from disk). Hyperparameters are left for :meth:`set_hyperparameters`."""
        if len(sources) != self.size:
            raise ValueError(f"copy_members needs {self.size} sources, got {len(sources)}")
        if list(sources) == list(range(self.size)):
            return
        index = tf.constant(list(sources), tf.int32)
        for name in _VARIABLES:
            axis = MEMBER_AXIS[name]
            self.vars[name].assign(tf.gather(self.vars[name], index, axis=axis))
            for slot in self.slots[name].values():
                slot.assign(tf.gather(slot, index, axis=axis))
        for vector in (self.mask, self.step, self.u_product):
            vector.assign(tf.gather(vector, index))

    def retire(self, index: int) -> None:
        """Stop updating member ``index`` (finished, pruned or failed); its slot keeps computing, unused."""
        self.alive[index].assign(False)

    def member_weights(self, index: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Member ``index``'s (kernel, bias, out_kernel, out_bias) at its true ``width``, as NumPy arrays."""
        v = {name: var[:, index].numpy() if MEMBER_AXIS[name] else var[index].numpy() for name, var in self.vars.items()}
        return v["kernel"][:, :width], v["bias"][:width], v["out_kernel"][:width], v["out_bias"]

    def member_state(self, index: int, width: int) -> dict[str, Any]:
        """Member ``index``'s optimiser state at its true width: step count, Nadam's product and each slot."""
        cut = {"kernel": np.s_[:, :width], "bias": np.s_[:width], "out_kernel": np.s_[:width], "out_bias": np.s_[:]}
        slots = {
            name: {s: (var[:, index] if MEMBER_AXIS[name] else var[index]).numpy()[cut[name]] for s, var in self.slots[name].items()}
            for name in _VARIABLES
        }
        return {"step": int(self.step[index].numpy()), "u_product": float(self.u_product[index].numpy()), "slots": slots}

    # ------------------------------------------------------------------ computation

    def _forward(self, params: dict[str, tf.Tensor], x: tf.Tensor, keep: tf.Tensor | None) -> tf.Tensor:
        k, w = self.size, self.bucket
        # all members' first layers as one wide matrix product: [batch, 784] x [784, K * bucket]
        # all members' first layers as one wide matrix product: [batch, 784] x [784, K * bucket]
        pre = tf.transpose(tf.reshape(tf.matmul(x, tf.reshape(params["kernel"], [INPUTS, k * w])), [-1, k, w]), [1, 0, 2])
        hidden = tf.nn.relu(pre + params["bias"][:, None, :]) * self.mask[:, None, :]
        if keep is not None:
            hidden = hidden * keep
        return tf.einsum("kbw,kwc->kbc", hidden, params["out_kernel"]) + params["out_bias"][:, None, :]

    def _train_steps(self, x: tf.Tensor, y: tf.Tensor, batches: tf.Tensor, rows: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Train on ``batches`` ([steps, batch] indices into ``x``/``y``), of which the first ``rows[i]`` rows of
        step ``i`` are real (the rest pad Keras's smaller last batch, so that one shape covers an epoch);
        returns each member's summed loss and hits."""
        names = list(_VARIABLES)
        batch = batches.shape[1]
        k = self.size
        alive = self.alive.read_value()
        lr, rate, seeds = self.lr.read_value(), self.rate.read_value(), self.seed.read_value()
        scale = 1.0 / (1.0 - rate)

        def body(i, params, slots, step, u_product, loss_sum, hits):
            idx = batches[i]
            xb, yb = tf.gather(x, idx), tf.gather(y, idx)
            real = tf.cast(tf.range(batch) < rows[i], tf.float32)  # [batch]: 0 for the rows that pad a short batch
            uniforms = dropout_uniforms(seeds, step, self.bucket, batch)
            keep = tf.cast(uniforms >= rate[:, None, None], tf.float32) * scale[:, None, None]
            current = dict(zip(names, params))
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits = self._forward(current, xb, keep)
                per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.broadcast_to(yb, [k, batch]), logits=logits)
                count = tf.cast(rows[i], tf.float32)
                losses = tf.reduce_sum(per_example * real, axis=1) / count  # [K]: each member's mean over the batch, as Keras
                total = tf.reduce_sum(losses)
            grads = tape.gradient(total, params)
            new_params, new_slots, new_u = self._update(params, grads, [dict(zip(slot_keys, s)) for s in slots], lr, step, u_product, axes)
            ok = alive & tf.math.is_finite(losses)
            params_out = [tf.where(member_vector(ok, p, a), n, p) for p, n, a in zip(params, new_params, axes)]
            slots_out = [
                [tf.where(member_vector(ok, old, a), ns[key], old) for key, old in zip(slot_keys, s)]
                for s, ns, a in zip(slots, new_slots, axes)
            ]
            step_out = tf.where(ok, step + 1, step)
            u_out = tf.where(ok, new_u, u_product)
            correct = tf.cast(tf.equal(tf.argmax(logits, axis=2, output_type=tf.int32), yb[None, :]), tf.float32)
            hit = tf.reduce_sum(correct * real, axis=1)
            return i + 1, params_out, slots_out, step_out, u_out, loss_sum + losses * count, hits + hit

        slot_keys = slot_names(*self.optimizers)
        axes = [MEMBER_AXIS[n] for n in names]
        params = [self.vars[n].read_value() for n in names]
        slots = [[self.slots[n][s].read_value() for s in slot_keys] for n in names]
        steps = tf.shape(batches)[0]
        _, params, slots, step, u_product, loss_sum, hits = tf.while_loop(
            lambda i, *_: i < steps,
            body,
            (tf.constant(0), params, slots, self.step.read_value(), self.u_product.read_value(), tf.zeros(k), tf.zeros(k)),
        )
        for n, p, s in zip(names, params, slots):
            self.vars[n].assign(p)
            for key, value in zip(slot_keys, s):
                self.slots[n][key].assign(value)
        self.step.assign(step)
        self.u_product.assign(u_product)
        return loss_sum, hits

    def _update(self, params: Any, grads: Any, slots: Any, lr: Any, step: Any, u_product: Any, axes: list[int]) -> Any:
        """Every member's step under its own rule (one rule: just that rule)."""
        new_params, new_slots, new_u = apply_update(self.optimizers[0], params, grads, slots, lr, step, u_product, axes)
        rule = self.rule.read_value()
        for j, optimizer in enumerate(self.optimizers[1:], start=1):
            p_j, s_j, u_j = apply_update(optimizer, params, grads, slots, lr, step, u_product, axes)
            mine = rule == j
            new_params = [tf.where(member_vector(mine, a, ax), b, a) for a, b, ax in zip(new_params, p_j, axes)]
            new_slots = [{k: tf.where(member_vector(mine, a[k], ax), b[k], a[k]) for k in a} for a, b, ax in zip(new_slots, s_j, axes)]
            new_u = tf.where(mine, u_j, new_u)
        return new_params, new_slots, new_u

    def _evaluate(self, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        params = {n: v.read_value() for n, v in self.vars.items()}
        logits = self._forward(params, x, None)
        labels = tf.broadcast_to(y, [self.size, tf.shape(y)[0]])
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), axis=1)
        hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=2, output_type=tf.int32), labels), tf.float32), axis=1)
        return loss, hits

    def train_epoch(self, x: tf.Tensor, y: tf.Tensor, order: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """One epoch over ``order`` (indices into ``x``/``y``) in batches of ``batch_size``, the last one smaller
        as in Keras; returns each member's mean training loss and accuracy over the epoch (dropout active).

        The smaller last batch is padded to ``batch_size`` with rows that count for nothing, so a whole
        epoch is one call of one compiled shape."""
        n = len(order)
        steps = -(-n // batch_size)
        batches = np.zeros(steps * batch_size, np.int32)
        batches[:n] = order
        rows = np.full(steps, batch_size, np.int32)
        rows[-1] = n - (steps - 1) * batch_size
        loss, hits = self._train(x, y, tf.constant(batches.reshape(steps, batch_size)), tf.constant(rows))
        return loss.numpy() / n, hits.numpy() / n

    def evaluate(self, x: tf.Tensor, y: tf.Tensor, chunk: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
        """Each member's mean loss and accuracy on ``x``/``y`` (no dropout)."""
        n = int(x.shape[0])
        loss = np.zeros(self.size)
        hits = np.zeros(self.size)
        for start in range(0, n, chunk):
            s, h = self._eval(x[start : start + chunk], y[start : start + chunk])
            loss, hits = loss + s.numpy(), hits + h.numpy()
        return loss / n, hits / n
