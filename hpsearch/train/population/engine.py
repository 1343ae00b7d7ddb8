"""A population: members of the seed MLP trained together, in one XLA-compiled computation.

``Flatten -> [Dense(width, activation) -> Dropout(rate)] x depth -> Dense(10, softmax)`` for every member (one
depth per population, 1 to 3),
written once on Keras 3's backend-neutral ``keras.ops`` and compiled by the backend Keras runs on
(TensorFlow or JAX, :mod:`hpsearch.train.population.backend`), on the CPU or a GPU.
The members sit side by side in each hidden layer of ``columns`` units, each owning as many
columns as its true width (no padding to a common width; columns nobody owns are masked:
no signal, no gradient), each at its own learning rate and dropout rate, under its own
optimiser rule (:mod:`hpsearch.train.population.optimizers`; one update covers them all).

* The first layer of all members is one wide matrix product, [batch, 784] x [784, columns].
* A further hidden layer is one product with a [columns, columns] kernel that is block-diagonal by
  owner (the entries off the blocks are selected away: no signal, no gradient, and one member's
  overflow never reaches another); its cost grows with the square of the columns, so the trainer
  keeps such populations narrow.
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

State lives on the device between epochs; laying members out and reading them back (a handful
of times per population, not per step) goes through a host copy that is synced once either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from keras import ops

from hpsearch.core.limits import LIMITS
from hpsearch.train.population.backend import compiled, value_and_grad
from hpsearch.train.population.optimizers import (
    FUSED_RULES,
    KERAS_WEIGHT_DECAY,
    apply_rule,
    apply_weight_decay,
    fused_coefficients,
    fused_update,
    member_vector,
    next_u_product,
    slot_names,
)
from hpsearch.train.trainer import epoch_order

__all__ = [
    "ACTIVATIONS",
    "CLASSES",
    "INPUTS",
    "MAX_DEPTH",
    "Member",
    "Population",
    "epoch_order",
    "glorot_weights",
    "member_scores",
    "variables",
]

INPUTS = 28 * 28
CLASSES = 10
_VARIABLES = ("kernel", "bias", "out_kernel", "out_bias")
#: The most hidden layers a population member has: as many as the built-in model takes.
MAX_DEPTH = int(LIMITS["space.layers"].high)
#: The axis of each variable along which members sit (columns for the first three, members for the output bias).
MEMBER_AXIS = {"kernel": 1, "bias": 0, "out_kernel": 0, "out_bias": 0}
#: The variables of hidden layer ``d`` (2, 3): its [columns, columns] kernel, block-diagonal by owner (members
#: sit along both axes), and its bias.
for _d in range(2, MAX_DEPTH + 1):
    MEMBER_AXIS[f"kernel_{_d}"] = 1
    MEMBER_AXIS[f"bias_{_d}"] = 0


def variables(depth: int) -> tuple[str, ...]:
    """The variables of a member with ``depth`` hidden layers, in the order weights are given and returned:
    the first hidden layer's, the output layer's, then each further hidden layer's kernel and bias."""
    return _VARIABLES + tuple(name for d in range(2, depth + 1) for name in (f"kernel_{d}", f"bias_{d}"))


def _square(name: str) -> bool:
    """Whether members sit along both axes of the variable (a further hidden layer's kernel)."""
    return name.startswith("kernel_")


#: The initial value of each optimiser slot (Adagrad's accumulator starts at 0.1, as in Keras).
_INITIAL = {"acc": 0.1}


def glorot_weights(width: int, seed: int, depth: int = 1) -> tuple[np.ndarray, ...]:
    """Keras's default initialisation of the dense layers at the true ``width`` (in :func:`variables` order):
    Glorot uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and zero biases."""
    rng = np.random.default_rng([int(seed), 0x1417])
    limit1 = np.sqrt(6.0 / (INPUTS + width))
    limit2 = np.sqrt(6.0 / (width + CLASSES))
    k1 = rng.uniform(-limit1, limit1, (INPUTS, width)).astype(np.float32)
    k2 = rng.uniform(-limit2, limit2, (width, CLASSES)).astype(np.float32)
    deeper: list[np.ndarray] = []
    for _ in range(2, depth + 1):  # drawn after the one-layer model's, which stay what they were
        limit = np.sqrt(6.0 / (2 * width))
        deeper += [rng.uniform(-limit, limit, (width, width)).astype(np.float32), np.zeros(width, np.float32)]
    return (k1, np.zeros(width, np.float32), k2, np.zeros(CLASSES, np.float32), *deeper)


#: The hidden layer's activation of each name the built-in model takes (as Keras computes it).
ACTIVATIONS: dict[str, Any] = {
    "relu": ops.relu,
    "gelu": lambda x: ops.gelu(x, approximate=False),
    "tanh": ops.tanh,
    "elu": ops.elu,
}


def member_scores(weights: Sequence[np.ndarray], activation: str, x: np.ndarray, y: np.ndarray, chunk: int = 10_000) -> tuple[float, float]:
    """One member's mean loss and accuracy on ``x`` / ``y`` (no dropout): its forward pass as a population
    computes it (:meth:`Population.evaluate`, the cross-entropy from the logits), run eagerly on the Keras
    backend, a few products with nothing to compile; ``weights`` as :meth:`Population.member_weights` gives them."""
    k1, b1, k2, b2, *deeper = (ops.convert_to_tensor(np.asarray(w, np.float32)) for w in weights)
    activate = ACTIVATIONS[activation]
    n = len(x)
    loss = hits = 0.0
    for start in range(0, n, chunk):
        xb = ops.convert_to_tensor(np.asarray(x[start : start + chunk], np.float32).reshape(-1, INPUTS))
        yb = ops.convert_to_tensor(np.asarray(y[start : start + chunk], np.int32))
        hidden = activate(ops.matmul(xb, k1) + b1)
        for kernel, bias in zip(deeper[0::2], deeper[1::2]):
            hidden = activate(ops.matmul(hidden, kernel) + bias)
        logits = ops.matmul(hidden, k2) + b2
        loss += float(ops.convert_to_numpy(ops.sum(ops.sparse_categorical_crossentropy(yb, logits, from_logits=True))))
        predicted = ops.cast(ops.argmax(logits, axis=1), "int32")
        hits += float(ops.convert_to_numpy(ops.sum(ops.cast(ops.equal(predicted, yb), "float32"))))
    return loss / n, hits / n


@dataclass(frozen=True)
class Member:
    """One trial in a population: its true width, dropout, learning rate and seed, and its weight
    decay (None: the optimiser's Keras default, 0.004 for AdamW and 0 for the others)."""

    width: int
    dropout: float
    learning_rate: float
    seed: int
    weight_decay: float | None = None


def _u32(value: int) -> Any:
    return ops.convert_to_tensor(np.uint32(value), "uint32")


def _fmix32(h: Any) -> Any:
    """MurmurHash3's finaliser on uint32: every input bit affects every output bit."""
    h = ops.bitwise_xor(h, ops.right_shift(h, _u32(16)))
    h = h * _u32(0x85EBCA6B)
    h = ops.bitwise_xor(h, ops.right_shift(h, _u32(13)))
    h = h * _u32(0xC2B2AE35)
    return ops.bitwise_xor(h, ops.right_shift(h, _u32(16)))


def dropout_uniforms(seeds: Any, steps: Any, units: Any, batch: int, layer: int = 1) -> Any:
    """[batch, columns] uniforms in [0, 1): element (b, c) hashes (the seed and step count of column c's
    member, c's unit index within its member, row b, the hidden layer) only, so it does not depend on where
    the member sits."""
    key = _fmix32(ops.cast(seeds, "uint32") * _u32(0x9E3779B1) + ops.cast(steps, "uint32"))  # [C]
    if layer > 1:  # another stream per further layer (the first layer's is what it always was)
        key = _fmix32(ops.bitwise_xor(key, _u32((layer * 0x68E31DA4) % 2**32)))
    rows = ops.cast(ops.arange(batch), "uint32")[:, None]
    cell = _fmix32(ops.cast(units, "uint32")[None, :] * _u32(65_536) + rows + _u32(1))
    h = _fmix32(ops.bitwise_xor(key[None, :], cell))
    return ops.cast(ops.right_shift(h, _u32(8)), "float32") * (1.0 / (1 << 24))


class Population:
    """Up to ``slots`` members side by side in ``columns`` hidden units, each member under one of
    ``optimizers``; see the module docstring.

    Layout: member ``i`` owns the columns ``[offset_i, offset_i + width_i)`` of the hidden layer
    (:meth:`arrange` lays them out; the columns nobody owns are masked). Per-member settings
    (learning rate, weight decay, dropout rate, seed, step count, optimiser rule) are vectors over
    the slots, spread to the columns by each column's owner.

    Several optimisers share one population through one update that covers them: every
    rule is computed on the same tensors and each member keeps the result of its own rule
    (the rules are elementwise and memory-bound, so the extra arithmetic is cheap next to
    reading and writing the weights once); the slots are the union of the rules' slots.
    """

    def __init__(
        self,
        optimizers: str | tuple[str, ...],
        columns: int,
        slots: int,
        activation: str = "relu",
        depth: int = 1,
        *,
        _like: Population | None = None,
    ) -> None:
        self.optimizers = (optimizers,) if isinstance(optimizers, str) else tuple(optimizers)
        #: Every member's hidden activation (members of other activations train in another population).
        self.activation = activation
        self._activate = ACTIVATIONS[activation]
        if not 1 <= int(depth) <= MAX_DEPTH:
            raise ValueError(f"a population member has 1 to {MAX_DEPTH} hidden layers, not {depth}")
        #: Every member's hidden layers, each ``columns`` wide; a further layer's kernel is block-diagonal by owner.
        self.depth = int(depth)
        self.names = variables(self.depth)
        self.columns = int(columns)
        self.size = int(slots)
        c, k = self.columns, self.size
        #: Several optimisers that one fused rule covers train through it; otherwise every rule is computed.
        self.fused = len(self.optimizers) > 1 and set(self.optimizers) <= FUSED_RULES
        #: The optimiser slots each variable keeps (the fused rule keeps both of its own).
        self.slot_keys = ("m", "v") if self.fused else slot_names(*self.optimizers)
        shapes = {"kernel": (INPUTS, c), "bias": (c,), "out_kernel": (c, CLASSES), "out_bias": (k, CLASSES)}
        for d in range(2, self.depth + 1):
            shapes.update({f"kernel_{d}": (c, c), f"bias_{d}": (c,)})
        host: dict[str, np.ndarray] = {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
        for name, shape in shapes.items():
            for slot in self.slot_keys:
                host[f"{name}/{slot}"] = np.full(shape, _INITIAL.get(slot, 0.0), np.float32)
        # the layout: each column's owner and unit index within its owner, and which columns are owned
        host.update(owner=np.zeros(c, np.int32), unit=np.zeros(c, np.int32), mask=np.zeros(c, np.float32))
        # per member: optimiser rule (index into self.optimizers), learning rate, weight decay, dropout rate,
        # seed, updates done, Nadam's momentum product, whether it trains
        host.update(rule=np.zeros(k, np.int32), lr=np.zeros(k, np.float32), decay=np.zeros(k, np.float32), rate=np.zeros(k, np.float32))
        host.update(seed=np.zeros(k, np.uint32), step=np.zeros(k, np.int32), u_product=np.ones(k, np.float32), alive=np.zeros(k, bool))
        self._host: dict[str, np.ndarray] | None = host
        self._device: dict[str, Any] | None = None
        self.offsets: list[int] = []
        self.widths: list[int] = []
        # a twin has the same shape, so the same compiled functions (they read only the shape from self)
        self._train: Any = _like._train if _like is not None else compiled(self._train_steps)
        self._eval: Any = _like._eval if _like is not None else compiled(self._evaluate)

    def twin(self) -> Population:
        """Another population of this shape (optimisers, columns, slots, activation), empty, sharing this
        one's compiled functions: it trains without compiling again."""
        return Population(self.optimizers, self.columns, self.size, self.activation, self.depth, _like=self)

    # ------------------------------------------------------------------ state: on the device, or a host copy

    def _on_host(self, *, edit: bool = False) -> dict[str, np.ndarray]:
        """The state as NumPy arrays (copied from the device once); ``edit``: the device copy is then stale."""
        if self._host is None:
            assert self._device is not None
            self._host = {name: np.array(ops.convert_to_numpy(value)) for name, value in self._device.items()}
        if edit:
            self._device = None
        return self._host

    def _on_device(self) -> dict[str, Any]:
        if self._device is None:
            assert self._host is not None
            self._device = {name: ops.convert_to_tensor(value) for name, value in self._host.items()}
        return self._device

    @property
    def step(self) -> np.ndarray:
        """Updates each member has taken."""
        return self._on_host()["step"].copy()

    def variable(self, name: str) -> np.ndarray:
        """A copy of one variable of all members together (``kernel``, ``bias``, ``out_kernel``, ``out_bias``)."""
        return self._on_host()[name].copy()

    # ------------------------------------------------------------------ layout and members

    def fits(self, widths: Sequence[int]) -> bool:
        """Whether members of ``widths`` fit side by side in this population."""
        return len(widths) <= self.size and sum(int(w) for w in widths) <= self.columns

    def arrange(self, widths: Sequence[int], sources: Sequence[int | None] | None = None) -> None:
        """Lay out members ``0 .. len(widths) - 1`` side by side at these widths; the other slots retire.

        Member ``i`` with ``sources[i] = j`` becomes a copy of what member ``j`` held before
        (weights, optimiser state and step count, all copies made at once by one gather: PBT's
        exploit with no model rebuilt and nothing read from disk; its width must be ``j``'s); the
        others keep whatever their columns held, for :meth:`set_member`."""
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
        state = self._on_host(edit=True)
        if any(s is not None for s in sources):
            for name in self.names:
                index = member_source if name == "out_bias" else column_source
                for key in (name, *(f"{name}/{slot}" for slot in self.slot_keys)):
                    state[key] = np.take(state[key], index, axis=MEMBER_AXIS[name])
                    if _square(name):  # members along the rows too
                        state[key] = np.take(state[key], index, axis=0)
            for key in ("step", "u_product"):
                state[key] = state[key][member_source]
        owner = np.zeros(self.columns, np.int32)
        unit = np.zeros(self.columns, np.int32)
        mask = np.zeros(self.columns, np.float32)
        for i, (offset, width) in enumerate(zip(offsets, widths)):
            owner[offset : offset + width] = i
            unit[offset : offset + width] = np.arange(width)
            mask[offset : offset + width] = 1.0
        state.update(owner=owner, unit=unit, mask=mask)
        unowned = mask == 0  # columns nobody owns hold zeros and fresh slots
        for name in (n for n in self.names if n != "out_bias"):
            places = [np.s_[:, unowned] if MEMBER_AXIS[name] else np.s_[unowned]]
            if _square(name):  # the rows of columns nobody owns, and every entry off the owners' blocks
                places += [np.s_[unowned, :], ~np.equal(owner[:, None], owner[None, :])]
            for at in places:
                state[name][at] = 0.0
                for slot in self.slot_keys:
                    state[f"{name}/{slot}"][at] = _INITIAL.get(slot, 0.0)
        self.offsets, self.widths = offsets, widths
        state["alive"] = np.arange(self.size) < len(widths)

    def _columns(self, index: int) -> slice:
        return slice(self.offsets[index], self.offsets[index] + self.widths[index])

    def _at(self, name: str, index: int) -> Any:
        """Where member ``index``'s part of variable ``name`` is."""
        if name == "out_bias":
            return np.s_[index]
        if _square(name):
            return np.s_[self._columns(index), self._columns(index)]
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
        weights = weights if weights is not None else glorot_weights(member.width, member.seed, self.depth)
        if weights[0].shape[1] != self.widths[index]:
            raise ValueError(f"member {index} is laid out {self.widths[index]} units wide, not {weights[0].shape[1]}")
        if len(weights) != len(self.names):
            raise ValueError(f"member {index} has {self.depth} hidden layers: {len(self.names)} weights, not {len(weights)}")
        host = self._on_host(edit=True)
        slots = {} if state is None else state["slots"]
        for name, value in zip(self.names, weights):
            at = self._at(name, index)
            host[name][at] = np.asarray(value, np.float32)
            for slot in self.slot_keys:
                saved = slots.get(name, {}).get(slot)
                # fresh state (or a slot only another optimiser of the population keeps) unless saved
                host[f"{name}/{slot}"][at] = _INITIAL.get(slot, 0.0) if saved is None else np.asarray(saved, np.float32)
        host["step"][index] = 0 if state is None else int(state["step"])
        host["u_product"][index] = 1.0 if state is None else float(state["u_product"])
        self.set_hyperparameters(index, member, optimizer)

    def set_hyperparameters(self, index: int, member: Member, optimizer: str | None = None) -> None:
        """Member ``index`` goes on at ``member``'s learning rate, weight decay, dropout rate and seed (its
        dropout stream), under ``optimizer``, with its weights and optimiser state as they are; it is live again."""
        host = self._on_host(edit=True)
        name = optimizer if optimizer is not None else self.optimizers[0]
        host["lr"][index] = member.learning_rate
        host["decay"][index] = member.weight_decay if member.weight_decay is not None else KERAS_WEIGHT_DECAY.get(name, 0.0)
        host["rate"][index] = member.dropout
        host["seed"][index] = np.uint32(int(member.seed) % 2**32)
        host["rule"][index] = self.optimizers.index(name)
        host["alive"][index] = True

    def reset_optimizer_state(self, index: int) -> None:
        """Member ``index`` starts a fresh optimiser state (step 0, initial slots), weights kept."""
        host = self._on_host(edit=True)
        for name in self.names:
            for slot in self.slot_keys:
                host[f"{name}/{slot}"][self._at(name, index)] = _INITIAL.get(slot, 0.0)
        host["step"][index] = 0
        host["u_product"][index] = 1.0

    def retire(self, index: int) -> None:
        """Stop updating member ``index`` (finished, pruned or failed); its columns keep what it holds."""
        self._on_host(edit=True)["alive"][index] = False

    def member_weights(self, index: int) -> tuple[np.ndarray, ...]:
        """Member ``index``'s weights in :func:`variables` order ((kernel, bias, out_kernel, out_bias) and
        each further hidden layer's kernel and bias), as NumPy arrays."""
        host = self._on_host()
        return tuple(host[name][self._at(name, index)].copy() for name in self.names)

    def member_state(self, index: int) -> dict[str, Any]:
        """Member ``index``'s optimiser state: step count, Nadam's product and each slot."""
        host = self._on_host()
        slots = {name: {s: host[f"{name}/{s}"][self._at(name, index)].copy() for s in self.slot_keys} for name in self.names}
        return {"step": int(host["step"][index]), "u_product": float(host["u_product"][index]), "slots": slots}

    # ------------------------------------------------------------------ computation (pure functions of the state)

    def _forward(self, state: dict[str, Any], params: dict[str, Any], x: Any, keeps: Sequence[Any] | None) -> tuple[Any, Any]:
        """[members, batch, classes] logits, and whether each member's are finite.

        The output layers are one product with a block-diagonal matrix, which multiplies each
        member's hidden units by zero for every other member: a member whose numbers overflow
        would turn the others' into NaN (inf x 0), forward or backward. So its non-finite hidden
        units and logits are replaced by zeros here (it is failed for them), and the blocks are
        selected rather than multiplied, so the others never see its numbers."""
        owner = state["owner"]
        # every member's first layer as one wide matrix product: [batch, 784] x [784, columns]
        hidden = self._activate(ops.matmul(x, params["kernel"]) + params["bias"]) * state["mask"]
        broken_columns = ops.zeros((self.columns,))
        # the entries of a further layer's kernel on the owners' blocks (one mask for every further layer)
        same_owner = ops.equal(owner[:, None], owner[None, :]) if self.depth > 1 else None
        for d in range(1, self.depth + 1):
            if d > 1:
                # a further layer: one product with the block-diagonal kernel (entries off the owners' blocks selected
                # away, not multiplied by zero, so that they get no gradient and no member's numbers reach another's)
                kernel = ops.where(same_owner, params[f"kernel_{d}"], 0.0)
                hidden = self._activate(ops.matmul(hidden, kernel) + params[f"bias_{d}"]) * state["mask"]
            if keeps is not None:
                hidden = hidden * keeps[d - 1]
            finite_hidden = ops.isfinite(hidden)
            broken_columns = ops.maximum(broken_columns, 1.0 - ops.cast(ops.all(finite_hidden, axis=0), "float32"))
            hidden = ops.where(finite_hidden, hidden, 0.0)
        hidden_ok = ops.segment_sum(broken_columns, owner, num_segments=self.size) == 0
        # [columns, members, classes]: column c feeds only its owner's classes (selected, not multiplied by
        # zero, so that an overflowing member's weights give zeros, not NaN, for the others)
        owned = ops.equal(owner[:, None], ops.arange(self.size, dtype="int32")[None, :])[:, :, None]
        blocks = ops.where(owned, params["out_kernel"][:, None, :], 0.0)
        blocks = ops.reshape(blocks, (self.columns, self.size * CLASSES))
        logits = ops.reshape(ops.matmul(hidden, blocks), (-1, self.size, CLASSES))
        logits = ops.transpose(logits, (1, 0, 2)) + params["out_bias"][:, None, :]
        finite = hidden_ok & ops.all(ops.isfinite(logits), axis=(1, 2))
        return ops.where(finite[:, None, None], logits, 0.0), finite

    def _spread(self, state: dict[str, Any], vector: Any) -> list[Any]:
        """A per-member vector shaped for each variable (spread to the columns by their owners)."""
        columns = ops.take(vector, state["owner"], axis=0)
        return [member_vector(vector if name == "out_bias" else columns, state[name], MEMBER_AXIS[name]) for name in self.names]

    def _train_steps(self, state: dict[str, Any], x: Any, y: Any, batches: Any, rows: Any) -> tuple[dict[str, Any], Any, Any]:
        """Train on ``batches`` ([steps, batch] indices into ``x``/``y``), of which the first ``rows[i]`` rows of
        step ``i`` are real (the rest pad Keras's smaller last batch, so that one shape covers an epoch);
        returns the new state and each member's summed loss (NaN for a member that broke: a non-finite
        loss or weights) and hits."""
        names = list(self.names)
        batch = int(batches.shape[1])
        k = self.size
        alive, owner, units = state["alive"], state["owner"], state["unit"]
        lr, rate = state["lr"], state["rate"]
        column_rate = ops.take(rate, owner, axis=0)
        column_seed = ops.take(state["seed"], owner, axis=0)
        column_scale = 1.0 / (1.0 - column_rate)
        lrs = self._spread(state, lr)
        decays = self._spread(state, lr * state["decay"])
        rule = state["rule"]
        # each rule's members (for the update that computes every rule)
        mine = [] if self.fused else [self._spread(state, rule == j) for j in range(len(self.optimizers))]
        slot_keys = self.slot_keys

        def body(i: Any, carry: tuple[Any, ...]) -> tuple[Any, ...]:
            params, slots, step, u_product, broken, loss_sum, hits = carry
            idx = batches[i]
            xb, yb = ops.take(x, idx, axis=0), ops.take(y, idx, axis=0)
            real = ops.cast(ops.arange(batch) < rows[i], "float32")  # [batch]: 0 for the rows that pad a short batch
            column_step = ops.take(step, owner, axis=0)
            keeps = [
                ops.cast(dropout_uniforms(column_seed, column_step, units, batch, d) >= column_rate[None, :], "float32")
                * column_scale[None, :]
                for d in range(1, self.depth + 1)
            ]
            count = ops.cast(rows[i], "float32")

            def loss_of(p: list[Any]) -> tuple[Any, Any]:
                logits, finite_logits = self._forward(state, dict(zip(names, p)), xb, keeps)
                labels = ops.broadcast_to(yb[None, :], (k, batch))
                per_example = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
                losses = ops.sum(per_example * real, axis=1) / count  # [K]: each member's mean over the batch, as Keras
                finite_losses = finite_logits & ops.isfinite(losses)
                return ops.sum(ops.where(finite_losses, losses, 0.0)), (logits, losses, finite_losses)

            (_, (logits, losses, finite_losses)), grads = value_and_grad(loss_of)(list(params))
            t = ops.cast(step + 1, "float32")
            slot_dicts = [dict(zip(slot_keys, s)) for s in slots]
            decayed = apply_weight_decay(params, decays)  # before the step, as Keras does
            if self.fused:
                new_params, new_slots, new_u = self._fused_step(state, decayed, grads, slot_dicts, lrs, rule, step, u_product)
            else:
                ts = self._spread(state, t)
                new_params, new_slots, new_u = self._every_rule_step(state, decayed, grads, slot_dicts, lrs, ts, rule, mine, t, u_product)
            # a member whose hidden units, logits or loss stop being finite is broken for good (the trainer
            # fails it) and takes no more steps
            broken_out = broken | (alive & ~finite_losses)
            ok = alive & ~broken_out
            oks = self._spread(state, ok)
            params_out = [ops.where(m, n, p) for p, n, m in zip(params, new_params, oks)]
            slots_out = [[ops.where(m, ns[key], old) for key, old in zip(slot_keys, s)] for s, ns, m in zip(slots, new_slots, oks)]
            step_out = ops.where(ok, step + 1, step)
            u_out = ops.where(ok, new_u, u_product)
            predicted = ops.cast(ops.argmax(logits, axis=2), "int32")
            correct = ops.cast(ops.equal(predicted, ops.cast(yb, "int32")[None, :]), "float32")
            hit = ops.sum(correct * real, axis=1)
            return params_out, slots_out, step_out, u_out, broken_out, loss_sum + losses * count, hits + hit

        params = [state[n] for n in names]
        slots = [[state[f"{n}/{s}"] for s in slot_keys] for n in names]
        init = (params, slots, state["step"], state["u_product"], ops.zeros(k, "bool"), ops.zeros(k), ops.zeros(k))
        params, slots, step, u_product, broken, loss_sum, hits = ops.fori_loop(0, ops.shape(batches)[0], body, init)
        out = dict(state)
        for n, p, s in zip(names, params, slots):
            out[n] = p
            for key, value in zip(slot_keys, s):
                out[f"{n}/{key}"] = value
        out["step"], out["u_product"] = step, u_product
        return out, ops.where(broken, float("nan"), loss_sum), hits

    def _fused_step(
        self, state: dict[str, Any], params: Any, grads: Any, slots: Any, lrs: Any, rule: Any, step: Any, u_product: Any
    ) -> Any:
        """Every member's step through the one fused rule (optimisers all in ``FUSED_RULES``)."""
        coefficients, new_u = fused_coefficients(self.optimizers, rule, step, u_product)
        per_variable: list[dict[str, Any]] = [{} for _ in params]
        for name, vector in coefficients.items():
            for i, shaped in enumerate(self._spread(state, vector)):
                per_variable[i][name] = shaped
        new_params, new_slots = [], []
        for w, g, s, lr, k in zip(params, grads, slots, lrs, per_variable):
            new_w, new_s = fused_update(w, g, s, lr, k)
            new_params.append(new_w)
            new_slots.append(new_s)
        return new_params, new_slots, new_u

    def _every_rule_step(
        self, state: dict[str, Any], params: Any, grads: Any, slots: Any, lrs: Any, ts: Any, rule: Any, mine: Any, t: Any, u_product: Any
    ) -> Any:
        """Every rule of the population computed for every member; each member keeps its own rule's result."""
        new_params: list[Any] = []
        new_slots: list[dict[str, Any]] = []
        new_u = u_product
        for j, optimizer in enumerate(self.optimizers):
            u_j = next_u_product(optimizer, u_product, t)
            ups = self._spread(state, u_j)
            p_j, s_j = apply_rule(optimizer, params, grads, slots, list(zip(lrs, ts, ups)))
            if j == 0:
                new_params, new_slots, new_u = p_j, s_j, u_j
                continue
            new_params = [ops.where(m, b, a) for a, b, m in zip(new_params, p_j, mine[j])]
            new_slots = [{key: ops.where(m, b[key], a[key]) for key in a} for a, b, m in zip(new_slots, s_j, mine[j])]
            new_u = ops.where(rule == j, u_j, new_u)
        return new_params, new_slots, new_u

    def _evaluate(self, state: dict[str, Any], x: Any, y: Any) -> tuple[Any, Any]:
        logits, finite = self._forward(state, {n: state[n] for n in self.names}, x, None)
        labels = ops.broadcast_to(ops.cast(y, "int32")[None, :], (self.size, ops.shape(y)[0]))
        loss = ops.sum(ops.sparse_categorical_crossentropy(labels, logits, from_logits=True), axis=1)
        predicted = ops.cast(ops.argmax(logits, axis=2), "int32")
        hits = ops.sum(ops.cast(ops.equal(predicted, labels), "float32"), axis=1)
        return ops.where(finite, loss, float("nan")), hits

    def train_epoch(self, x: Any, y: Any, order: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
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
        state, loss, hits = self._train(
            self._on_device(), x, y, ops.convert_to_tensor(batches.reshape(steps, batch_size)), ops.convert_to_tensor(rows)
        )
        self._device, self._host = dict(state), None
        return ops.convert_to_numpy(loss) / n, ops.convert_to_numpy(hits) / n

    def evaluate(self, x: Any, y: Any, chunk: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
        """Each member's mean loss and accuracy on ``x``/``y`` (no dropout)."""
        n = int(x.shape[0])
        loss = np.zeros(self.size)
        hits = np.zeros(self.size)
        state = self._on_device()
        for start in range(0, n, chunk):
            s, h = self._eval(state, x[start : start + chunk], y[start : start + chunk])
            loss, hits = loss + ops.convert_to_numpy(s), hits + ops.convert_to_numpy(h)
        return loss / n, hits / n
