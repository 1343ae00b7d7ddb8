"""A population: members of the seed MLP trained together, in one XLA-compiled computation.

``Flatten -> Dense(width, relu) -> Dropout(rate) -> Dense(10, softmax)`` for every member.
The members sit side by side in one hidden layer of ``columns`` units, each owning as many
columns as its true width (no padding to a common width; columns nobody owns are masked:
no signal, no gradient), each at its own learning rate and dropout rate, under its own
optimiser rule (:mod:`hpsearch.population.optimizers`; one update covers them all).

* The first layer of all members is one wide matrix product, [batch, 784] x [784, columns].
* The output layers are one product with a block-diagonal matrix: column c feeds only its
  owner's ten classes.
* One compiled shape (columns, slots, optimisers, batch size) serves a whole study, whatever the
  widths of its trials: a study compiles once.

Reproducibility does not depend on the company a member keeps or where it sits:

* the members of a population share each batch (the batch order of epoch ``e`` comes from
  the study seed and ``e``);
* a member's initial weights come from its own seed at its true width (Keras's Glorot
  uniform and zero biases);
* a member's dropout mask at a step is a counter-based hash of (its seed, its own step
  count, unit, row), the same whatever its columns or the other members, so a member trained
  alone or among 15 others follows the same curve;
* a member whose loss or weights stop being finite is frozen and reported with a NaN loss
  (the trainer fails it), and its numbers never reach the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from hpsearch.population.optimizers import (
    FUSED_RULES,
    KERAS_WEIGHT_DECAY,
    apply_rule,
    apply_weight_decay,
    fused_coefficients,
    fused_update,
    initial_slot,
    member_vector,
    next_u_product,
    slot_names,
)

__all__ = ["INPUTS", "CLASSES", "Member", "Population", "epoch_order", "glorot_weights"]

INPUTS = 28 * 28
CLASSES = 10
_VARIABLES = ("kernel", "bias", "out_kernel", "out_bias")
#: The axis of each variable along which members sit (columns for the first three, members for the output bias).
MEMBER_AXIS = {"kernel": 1, "bias": 0, "out_kernel": 0, "out_bias": 0}


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


#: The hidden layer's activation of each name the built-in model takes (as Keras computes it).
ACTIVATIONS: dict[str, Any] = {
    "relu": tf.nn.relu,
    "gelu": lambda x: tf.nn.gelu(x, approximate=False),
    "tanh": tf.nn.tanh,
    "elu": tf.nn.elu,
}


@dataclass(frozen=True)
class Member:
    """One trial in a population: its true width, dropout, learning rate and seed, and its weight
    decay (None: the optimiser's Keras default, 0.004 for AdamW and 0 for the others)."""

    width: int
    dropout: float
    learning_rate: float
    seed: int
    weight_decay: float | None = None


def _fmix32(h: tf.Tensor) -> tf.Tensor:
    """MurmurHash3's finaliser on uint32: every input bit affects every output bit."""
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))
    h = h * tf.constant(0x85EBCA6B, tf.uint32)
    h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 13))
    h = h * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, 16))


def dropout_uniforms(seeds: tf.Tensor, steps: tf.Tensor, units: tf.Tensor, batch: int) -> tf.Tensor:
    """[batch, columns] uniforms in [0, 1): element (b, c) hashes (the seed and step count of column c's
    member, c's unit index within its member, row b) only, so it does not depend on where the member sits."""
    key = _fmix32(tf.cast(seeds, tf.uint32) * tf.constant(0x9E3779B1, tf.uint32) + tf.cast(steps, tf.uint32))  # [C]
    rows = tf.cast(tf.range(batch), tf.uint32)[:, None]
    cell = _fmix32(tf.cast(units, tf.uint32)[None, :] * tf.constant(65_536, tf.uint32) + rows + tf.constant(1, tf.uint32))
    h = _fmix32(tf.bitwise.bitwise_xor(key[None, :], cell))
    return tf.cast(tf.bitwise.right_shift(h, 8), tf.float32) * (1.0 / (1 << 24))


class Population:
    """Up to ``slots`` members side by side in ``columns`` hidden units, each member under one of
    ``optimizers``; see the module docstring.

    Layout: member ``i`` owns the columns ``[offset_i, offset_i + width_i)`` of the hidden layer
    (:meth:`arrange` lays them out; the columns nobody owns are masked). Per-member settings
    (learning rate, dropout rate, seed, step count, optimiser rule) are vectors over the slots,
    spread to the columns by each column's owner.

    Several optimisers share one population through one update that covers them: every
    rule is computed on the same tensors and each member keeps the result of its own rule
    (the rules are elementwise and memory-bound, so the extra arithmetic is cheap next to
    reading and writing the weights once); the slots are the union of the rules' slots.
    """

    def __init__(self, optimizers: str | tuple[str, ...], columns: int, slots: int, activation: str = "relu") -> None:
        self.optimizers = (optimizers,) if isinstance(optimizers, str) else tuple(optimizers)
        #: Every member's hidden activation (members of other activations train in another population).
        self.activation = activation
        self._activate = ACTIVATIONS[activation]
        self.columns = int(columns)
        self.size = int(slots)
        c, k = self.columns, self.size
        shapes = {"kernel": (INPUTS, c), "bias": (c,), "out_kernel": (c, CLASSES), "out_bias": (k, CLASSES)}
        self.vars = {name: tf.Variable(tf.zeros(shape), name=name) for name, shape in shapes.items()}
        #: Several optimisers that one fused rule covers train through it; otherwise every rule is computed.
        self.fused = len(self.optimizers) > 1 and set(self.optimizers) <= FUSED_RULES
        #: The optimiser slots each variable keeps (the fused rule keeps both of its own).
        self.slot_keys = ("m", "v") if self.fused else slot_names(*self.optimizers)
        self.slots = {name: {s: tf.Variable(initial_slot(s, self.vars[name])) for s in self.slot_keys} for name in _VARIABLES}
        # the layout: each column's owner and unit index within its owner, and which columns are owned
        self.owner = tf.Variable(tf.zeros(c, tf.int32))
        self.unit = tf.Variable(tf.zeros(c, tf.int32))
        self.mask = tf.Variable(tf.zeros(c))
        self.offsets: list[int] = []
        self.widths: list[int] = []
        # per member
        self.rule = tf.Variable(tf.zeros(k, tf.int32))  # each member's index into self.optimizers
        self.lr = tf.Variable(tf.zeros(k))
        self.decay = tf.Variable(tf.zeros(k))
        self.rate = tf.Variable(tf.zeros(k))
        self.seed = tf.Variable(tf.zeros(k, tf.int64))
        self.step = tf.Variable(tf.zeros(k, tf.int64))
        self.u_product = tf.Variable(tf.ones(k))
        self.alive = tf.Variable(tf.zeros(k, tf.bool))
        self._train = tf.function(self._train_steps, jit_compile=True, autograph=False)
        self._eval = tf.function(self._evaluate, jit_compile=True, autograph=False)

    # ------------------------------------------------------------------ layout and members

    def fits(self, widths: Sequence[int]) -> bool:
        """Whether members of ``widths`` fit side by side in this population."""
        return len(widths) <= self.size and sum(int(w) for w in widths) <= self.columns

    def arrange(self, widths: Sequence[int], sources: Sequence[int | None] | None = None) -> None:
        """Lay out members ``0 .. len(widths) - 1`` side by side at these widths; the other slots retire.

        Member ``i`` with ``sources[i] = j`` becomes a copy of what member ``j`` held before
        (weights, optimiser state and step count, all copies made at once by one gather in the
        population's memory: PBT's exploit with no model rebuilt and nothing read from disk; its
        width must be ``j``'s); the others keep whatever their columns held, for :meth:`set_member`."""
        widths = [int(w) for w in widths]
        if not self.fits(widths):
            raise ValueError(f"{len(widths)} members of {sum(widths)} units do not fit {self.size} slots of {self.columns} columns")
        sources = list(sources) if sources is not None else [None] * len(widths)
        offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(int).tolist() if widths else []
        column_source = np.arange(self.columns)
        member_source = np.arange(self.size)
        for i, (offset, width, source) in enumerate(zip(offsets, widths, sources)):
            if source is None:
                continue
            if self.widths[source] != width:
                raise ValueError(f"member {i} of width {width} cannot copy member {source} of width {self.widths[source]}")
            column_source[offset : offset + width] = np.arange(self.offsets[source], self.offsets[source] + width)
            member_source[i] = source
        if any(s is not None for s in sources):
            columns = tf.constant(column_source, tf.int32)
            members = tf.constant(member_source, tf.int32)
            for name in _VARIABLES:
                index = members if name == "out_bias" else columns
                axis = MEMBER_AXIS[name]
                self.vars[name].assign(tf.gather(self.vars[name], index, axis=axis))
                for slot in self.slots[name].values():
                    slot.assign(tf.gather(slot, index, axis=axis))
            for vector in (self.step, self.u_product):
                vector.assign(tf.gather(vector, members))
        owner = np.zeros(self.columns, np.int32)
        unit = np.zeros(self.columns, np.int32)
        mask = np.zeros(self.columns, np.float32)
        for i, (offset, width) in enumerate(zip(offsets, widths)):
            owner[offset : offset + width] = i
            unit[offset : offset + width] = np.arange(width)
            mask[offset : offset + width] = 1.0
        self.owner.assign(owner)
        self.unit.assign(unit)
        self.mask.assign(mask)
        for name in ("kernel", "bias", "out_kernel"):  # columns nobody owns hold zeros and fresh slots
            owned = member_vector(tf.constant(mask > 0), self.vars[name], MEMBER_AXIS[name])
            self.vars[name].assign(tf.where(owned, self.vars[name], 0.0))
            for slot_name, slot in self.slots[name].items():
                slot.assign(tf.where(owned, slot, initial_slot(slot_name, slot)))
        self.offsets, self.widths = offsets, widths
        self.alive.assign(np.arange(self.size) < len(widths))

    def _columns(self, index: int) -> slice:
        return slice(self.offsets[index], self.offsets[index] + self.widths[index])

    def _at(self, name: str, index: int) -> Any:
        """Where member ``index``'s part of variable ``name`` is."""
        if name == "out_bias":
            return np.s_[index]
        return np.s_[:, self._columns(index)] if MEMBER_AXIS[name] else np.s_[self._columns(index)]

    def set_member(
        self,
        index: int,
        member: Member,
        weights: tuple[np.ndarray, ...] | None = None,
        optimizer: str | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        """Put ``member`` in slot ``index`` (laid out by :meth:`arrange` at the member's width) under
        ``optimizer`` (default: the population's first) with ``weights`` (default: its Glorot
        initialisation) and optimiser ``state`` (as :meth:`member_state` gives it; default: fresh)."""
        k1, b1, k2, b2 = weights if weights is not None else glorot_weights(member.width, member.seed)
        if k1.shape[1] != self.widths[index]:
            raise ValueError(f"member {index} is laid out {self.widths[index]} units wide, not {k1.shape[1]}")
        slots = {} if state is None else state["slots"]
        for name, value in {"kernel": k1, "bias": b1, "out_kernel": k2, "out_bias": b2}.items():
            at = self._at(name, index)
            self.vars[name][at].assign(np.asarray(value, np.float32))
            for slot_name, slot in self.slots[name].items():
                saved = slots.get(name, {}).get(slot_name)
                if saved is None:  # fresh state (or a slot only another optimiser of the population keeps)
                    slot[at].assign(initial_slot(slot_name, self.vars[name][at]))
                else:
                    slot[at].assign(np.asarray(saved, np.float32))
        self.step[index].assign(0 if state is None else int(state["step"]))
        self.u_product[index].assign(1.0 if state is None else float(state["u_product"]))
        self.set_hyperparameters(index, member, optimizer)

    def set_hyperparameters(self, index: int, member: Member, optimizer: str | None = None) -> None:
        """Member ``index`` goes on at ``member``'s learning rate, dropout rate and seed (its dropout
        stream), under ``optimizer``, with its weights and optimiser state as they are; it is live again."""
        self.lr[index].assign(member.learning_rate)
        name = optimizer if optimizer is not None else self.optimizers[0]
        self.decay[index].assign(member.weight_decay if member.weight_decay is not None else KERAS_WEIGHT_DECAY.get(name, 0.0))
        self.rate[index].assign(member.dropout)
        self.seed[index].assign(member.seed)
        self.rule[index].assign(self.optimizers.index(optimizer) if optimizer is not None else 0)
        self.alive[index].assign(True)

    def reset_optimizer_state(self, index: int) -> None:
        """Member ``index`` starts a fresh optimiser state (step 0, initial slots), weights kept."""
        for name in _VARIABLES:
            at = self._at(name, index)
            for slot_name, slot in self.slots[name].items():
                slot[at].assign(initial_slot(slot_name, self.vars[name][at]))
        self.step[index].assign(0)
        self.u_product[index].assign(1.0)

    def retire(self, index: int) -> None:
        """Stop updating member ``index`` (finished, pruned or failed); its columns keep what it holds."""
        self.alive[index].assign(False)

    def member_weights(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Member ``index``'s (kernel, bias, out_kernel, out_bias), as NumPy arrays."""
        k1, b1, k2, b2 = (self.vars[name][self._at(name, index)].numpy() for name in _VARIABLES)
        return k1, b1, k2, b2

    def member_state(self, index: int) -> dict[str, Any]:
        """Member ``index``'s optimiser state: step count, Nadam's product and each slot."""
        slots = {name: {s: var[self._at(name, index)].numpy() for s, var in self.slots[name].items()} for name in _VARIABLES}
        return {"step": int(self.step[index].numpy()), "u_product": float(self.u_product[index].numpy()), "slots": slots}

    # ------------------------------------------------------------------ computation

    def _forward(self, params: dict[str, tf.Tensor], x: tf.Tensor, keep: tf.Tensor | None) -> tuple[tf.Tensor, tf.Tensor]:
        """[members, batch, classes] logits, and whether each member's are finite.

        The output layers are one product with a block-diagonal matrix, which multiplies each
        member's hidden units by zero for every other member: a member whose numbers overflow
        would turn the others' into NaN (inf x 0), forward or backward. So its non-finite hidden
        units and logits are replaced by zeros here (it is failed for them), and the blocks are
        selected rather than multiplied, so the others never see its numbers."""
        # every member's first layer as one wide matrix product: [batch, 784] x [784, columns]
        hidden = self._activate(tf.matmul(x, params["kernel"]) + params["bias"]) * self.mask
        if keep is not None:
            hidden = hidden * keep
        finite_hidden = tf.math.is_finite(hidden)
        hidden_ok = tf.math.unsorted_segment_min(tf.cast(tf.reduce_all(finite_hidden, axis=0), tf.int32), self.owner, self.size) > 0
        hidden = tf.where(finite_hidden, hidden, 0.0)
        # [columns, members, classes]: column c feeds only its owner's classes (selected, not multiplied by
        # zero, so that an overflowing member's weights give zeros, not NaN, for the others)
        owned = tf.equal(self.owner[:, None], tf.range(self.size)[None, :])[:, :, None]
        blocks = tf.where(owned, params["out_kernel"][:, None, :], 0.0)
        blocks = tf.reshape(blocks, [self.columns, self.size * CLASSES])
        logits = tf.reshape(tf.matmul(hidden, blocks), [-1, self.size, CLASSES])
        logits = tf.transpose(logits, [1, 0, 2]) + params["out_bias"][:, None, :]
        finite = hidden_ok & tf.reduce_all(tf.math.is_finite(logits), axis=[1, 2])
        return tf.where(finite[:, None, None], logits, 0.0), finite

    def _train_steps(self, x: tf.Tensor, y: tf.Tensor, batches: tf.Tensor, rows: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Train on ``batches`` ([steps, batch] indices into ``x``/``y``), of which the first ``rows[i]`` rows of
        step ``i`` are real (the rest pad Keras's smaller last batch, so that one shape covers an epoch);
        returns each member's summed loss (NaN for a member that broke: a non-finite loss or weights) and hits."""
        names = list(_VARIABLES)
        batch = batches.shape[1]
        k = self.size
        alive = self.alive.read_value()
        owner, units = self.owner.read_value(), self.unit.read_value()
        lr, rate, seeds = self.lr.read_value(), self.rate.read_value(), self.seed.read_value()
        column_rate, column_seed = tf.gather(rate, owner), tf.gather(seeds, owner)
        column_scale = 1.0 / (1.0 - column_rate)
        slot_keys = self.slot_keys

        def spread(vector: tf.Tensor, column_vector: tf.Tensor) -> list[tf.Tensor]:
            """A per-member vector shaped for each variable, from it and its per-column form."""
            return [member_vector(vector if name == "out_bias" else column_vector, self.vars[name], MEMBER_AXIS[name]) for name in names]

        lrs = spread(lr, tf.gather(lr, owner))
        decay = lr * self.decay.read_value()
        decays = spread(decay, tf.gather(decay, owner))
        rule = self.rule.read_value()
        # each rule's members (for the update that computes every rule)
        mine = [] if self.fused else [spread(rule == j, tf.gather(rule == j, owner)) for j in range(len(self.optimizers))]

        def body(i, params, slots, step, u_product, broken, loss_sum, hits):
            idx = batches[i]
            xb, yb = tf.gather(x, idx), tf.gather(y, idx)
            real = tf.cast(tf.range(batch) < rows[i], tf.float32)  # [batch]: 0 for the rows that pad a short batch
            column_step = tf.gather(step, owner)
            uniforms = dropout_uniforms(column_seed, column_step, units, batch)
            keep = tf.cast(uniforms >= column_rate[None, :], tf.float32) * column_scale[None, :]
            current = dict(zip(names, params))
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits, finite_logits = self._forward(current, xb, keep)
                per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.broadcast_to(yb, [k, batch]), logits=logits)
                count = tf.cast(rows[i], tf.float32)
                losses = tf.reduce_sum(per_example * real, axis=1) / count  # [K]: each member's mean over the batch, as Keras
                finite_losses = finite_logits & tf.math.is_finite(losses)
                total = tf.reduce_sum(tf.where(finite_losses, losses, 0.0))
            grads = tape.gradient(total, params)
            t = tf.cast(step + 1, tf.float32)
            slot_dicts = [dict(zip(slot_keys, s)) for s in slots]
            decayed = apply_weight_decay(params, decays)  # before the step, as Keras does
            if self.fused:
                new_params, new_slots, new_u = self._fused_step(decayed, grads, slot_dicts, lrs, rule, step, u_product, spread)
            else:
                ts = spread(t, tf.cast(column_step + 1, tf.float32))
                new_params, new_slots, new_u = self._every_rule_step(decayed, grads, slot_dicts, lrs, ts, rule, mine, t, u_product, spread)
            # a member whose hidden units, logits or loss stop being finite is broken for good (the trainer
            # fails it) and takes no more steps
            broken_out = broken | (alive & ~finite_losses)
            ok = alive & ~broken_out
            oks = spread(ok, tf.gather(ok, owner))
            params_out = [tf.where(m, n, p) for p, n, m in zip(params, new_params, oks)]
            slots_out = [[tf.where(m, ns[key], old) for key, old in zip(slot_keys, s)] for s, ns, m in zip(slots, new_slots, oks)]
            step_out = tf.where(ok, step + 1, step)
            u_out = tf.where(ok, new_u, u_product)
            correct = tf.cast(tf.equal(tf.argmax(logits, axis=2, output_type=tf.int32), yb[None, :]), tf.float32)
            hit = tf.reduce_sum(correct * real, axis=1)
            return i + 1, params_out, slots_out, step_out, u_out, broken_out, loss_sum + losses * count, hits + hit

        params = [self.vars[n].read_value() for n in names]
        slots = [[self.slots[n][s].read_value() for s in slot_keys] for n in names]
        steps = tf.shape(batches)[0]
        _, params, slots, step, u_product, broken, loss_sum, hits = tf.while_loop(
            lambda i, *_: i < steps,
            body,
            (
                tf.constant(0),
                params,
                slots,
                self.step.read_value(),
                self.u_product.read_value(),
                tf.zeros(k, tf.bool),
                tf.zeros(k),
                tf.zeros(k),
            ),
        )
        for n, p, s in zip(names, params, slots):
            self.vars[n].assign(p)
            for key, value in zip(slot_keys, s):
                self.slots[n][key].assign(value)
        self.step.assign(step)
        self.u_product.assign(u_product)
        return tf.where(broken, tf.constant(float("nan")), loss_sum), hits

    def _fused_step(self, params: Any, grads: Any, slots: Any, lrs: Any, rule: Any, step: Any, u_product: Any, spread: Any) -> Any:
        """Every member's step through the one fused rule (optimisers all in ``FUSED_RULES``)."""
        coefficients, new_u = fused_coefficients(self.optimizers, rule, step, u_product)
        owner = self.owner.read_value()
        per_variable = [{} for _ in params]  # type: list[dict[str, tf.Tensor]]
        for name, vector in coefficients.items():
            for i, shaped in enumerate(spread(vector, tf.gather(vector, owner))):
                per_variable[i][name] = shaped
        new_params, new_slots = [], []
        for w, g, s, lr, k in zip(params, grads, slots, lrs, per_variable):
            new_w, new_s = fused_update(w, g, s, lr, k)
            new_params.append(new_w)
            new_slots.append(new_s)
        return new_params, new_slots, new_u

    def _every_rule_step(
        self, params: Any, grads: Any, slots: Any, lrs: Any, ts: Any, rule: Any, mine: Any, t: Any, u_product: Any, spread: Any
    ) -> Any:
        """Every rule of the population computed for every member; each member keeps its own rule's result."""
        owner = self.owner.read_value()
        new_params: list[tf.Tensor] = []
        new_slots: list[dict[str, tf.Tensor]] = []
        new_u = u_product
        for j, optimizer in enumerate(self.optimizers):
            u_j = next_u_product(optimizer, u_product, t)
            ups = spread(u_j, tf.gather(u_j, owner))
            p_j, s_j = apply_rule(optimizer, params, grads, slots, list(zip(lrs, ts, ups)))
            if j == 0:
                new_params, new_slots, new_u = p_j, s_j, u_j
                continue
            new_params = [tf.where(m, b, a) for a, b, m in zip(new_params, p_j, mine[j])]
            new_slots = [{key: tf.where(m, b[key], a[key]) for key in a} for a, b, m in zip(new_slots, s_j, mine[j])]
            new_u = tf.where(rule == j, u_j, new_u)
        return new_params, new_slots, new_u

    def _evaluate(self, x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        params = {n: v.read_value() for n, v in self.vars.items()}
        logits, finite = self._forward(params, x, None)
        labels = tf.broadcast_to(y, [self.size, tf.shape(y)[0]])
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits), axis=1)
        hits = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=2, output_type=tf.int32), labels), tf.float32), axis=1)
        return tf.where(finite, loss, float("nan")), hits

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
