"""Keras's nine optimisers as update rules over member-stacked tensors, each member at its own learning rate.

Written on Keras 3's backend-neutral ``keras.ops``: the same rules run on TensorFlow and on JAX.

Every rule is the arithmetic of the Keras 3 optimiser of the same name with its default
settings (``keras/src/optimizers/*.py``: betas, epsilon, rho, AdamW's decoupled weight
decay applied before the step, Adagrad's initial accumulator of 0.1, Nadam's momentum
schedule), written for variables whose first axis is the member. Learning rates and step
counts are vectors with one entry per member, so members of one population may be at
different steps (a PBT child continues its parent's count, as a Keras checkpoint does).

``tests/test_population.py`` checks one step of each against Keras's own optimiser from
equal weights and gradients.

Columns that no member owns are masked and have zero gradients;
every rule then leaves those weights at zero (no signal, no decay of a zero weight).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from keras import ops

__all__ = [
    "FUSED_RULES",
    "OPTIMIZER_RULES",
    "KERAS_WEIGHT_DECAY",
    "apply_rule",
    "apply_update",
    "apply_weight_decay",
    "fused_coefficients",
    "fused_update",
    "initial_slot",
    "member_vector",
    "next_u_product",
    "slot_names",
]

_EPS = 1e-7

#: The state each optimiser keeps per variable (beside the per-member step count; Nadam also keeps its momentum product).
_SLOTS: dict[str, tuple[str, ...]] = {
    "adam": ("m", "v"),
    "adamw": ("m", "v"),
    "sgd": (),
    "rmsprop": ("v",),
    "nadam": ("m", "v"),
    "adamax": ("m", "u"),
    "adagrad": ("acc",),
    "adadelta": ("acc_grad", "acc_delta"),
    "lion": ("m",),
}
OPTIMIZER_RULES: tuple[str, ...] = tuple(_SLOTS)

#: The initial value of each slot (Adagrad starts its accumulator at 0.1, as Keras does).
_INITIAL: dict[str, float] = {"acc": 0.1}


def slot_names(*optimizers: str) -> tuple[str, ...]:
    """The slots the rules of ``optimizers`` keep, together (a population covering several keeps their union)."""
    return tuple(dict.fromkeys(name for optimizer in optimizers for name in _SLOTS[optimizer]))


#: Keras's default ``weight_decay`` of each optimiser (0 for the ones not named).
KERAS_WEIGHT_DECAY: dict[str, float] = {"adamw": 0.004}


def apply_weight_decay(variables: Sequence[Any], factors: Sequence[Any]) -> list[Any]:
    """Keras's decoupled weight decay, applied before every optimiser's step: ``w - w * (weight_decay * lr)``,
    with each variable's ``factors`` (weight decay times learning rate, per member) shaped to broadcast over it."""
    return [w - w * f for w, f in zip(variables, factors)]


def initial_slot(name: str, like: Any) -> Any:
    return ops.full_like(like, _INITIAL.get(name, 0.0))


def member_vector(vector: Any, like: Any, axis: int = 0) -> Any:
    """A [K] vector shaped to broadcast over a variable whose member axis is ``axis``."""
    shape = [1] * len(like.shape)
    shape[axis] = -1
    return ops.reshape(vector, shape)


def apply_update(
    optimizer: str,
    variables: Sequence[Any],
    grads: Sequence[Any],
    slots: Sequence[dict[str, Any]],
    lr: Any,
    step: Any,
    u_product: Any,
    axes: Sequence[int] | None = None,
    weight_decay: Any | None = None,
) -> tuple[list[Any], list[dict[str, Any]], Any]:
    """One step of ``optimizer`` for every member.

    ``lr`` and ``step`` are [K] (``step`` counts the updates already applied, Keras's
    ``iterations``); ``u_product`` is Nadam's running momentum product per member (1 at the
    start; passed through unchanged by the other rules); ``axes`` the member axis of each
    variable (default 0); ``weight_decay`` [K] (default: Keras's for the optimiser,
    :data:`KERAS_WEIGHT_DECAY`). Returns the new variables, slots and ``u_product``.
    """
    t = ops.cast(step + 1, "float32")
    new_u_product = next_u_product(optimizer, u_product, t)
    axes = list(axes or [0] * len(variables))
    if weight_decay is None:
        weight_decay = ops.full_like(lr, KERAS_WEIGHT_DECAY.get(optimizer, 0.0))
    variables = apply_weight_decay(variables, [member_vector(lr * weight_decay, w, axis) for w, axis in zip(variables, axes)])
    per_variable = [
        (member_vector(lr, w, axis), member_vector(t, w, axis), member_vector(new_u_product, w, axis)) for w, axis in zip(variables, axes)
    ]
    new_variables, new_slots = apply_rule(optimizer, variables, grads, slots, per_variable)
    return new_variables, new_slots, new_u_product


def next_u_product(optimizer: str, u_product: Any, t: Any) -> Any:
    """Nadam's momentum product after step ``t`` (counting from 1); the other rules keep none."""
    if optimizer == "nadam":
        return u_product * 0.9 * (1.0 - 0.5 * ops.power(0.96, t))
    return u_product


def apply_rule(
    optimizer: str,
    variables: Sequence[Any],
    grads: Sequence[Any],
    slots: Sequence[dict[str, Any]],
    per_variable: Sequence[tuple[Any, Any, Any]],
) -> tuple[list[Any], list[dict[str, Any]]]:
    """:func:`apply_update` with each variable's (learning rate, step from 1, Nadam product after the
    step) already shaped to broadcast over it: for a caller that spreads per-member values over
    packed columns once for every rule."""
    out_vars: list[Any] = []
    out_slots: list[dict[str, Any]] = []
    for w, g, s, (lr, t, up) in zip(variables, grads, slots, per_variable):
        new_w, new_s = _RULES[optimizer](w, g, dict(s), lr, t, up)
        out_vars.append(new_w)
        out_slots.append({**s, **new_s})  # slots this rule does not use pass through
    return out_vars, out_slots


def _adam(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any, b1: float = 0.9, b2: float = 0.999) -> Any:
    alpha = lr * ops.sqrt(1 - ops.power(b2, t)) / (1 - ops.power(b1, t))
    m = s["m"] + (g - s["m"]) * (1 - b1)
    v = s["v"] + (ops.square(g) - s["v"]) * (1 - b2)
    return w - m * alpha / (ops.sqrt(v) + _EPS), {"m": m, "v": v}


def _sgd(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any) -> Any:
    return w - g * lr, s


def _rmsprop(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any, rho: float = 0.9) -> Any:
    v = rho * s["v"] + (1 - rho) * ops.square(g)
    return w - lr * g / ops.sqrt(v + _EPS), {"v": v}


def _nadam(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, u_product_t: Any, b1: float = 0.9, b2: float = 0.999) -> Any:
    u_t = b1 * (1.0 - 0.5 * ops.power(0.96, t))
    u_t_1 = b1 * (1.0 - 0.5 * ops.power(0.96, t + 1))
    u_product_t_1 = u_product_t * u_t_1
    m = s["m"] + (g - s["m"]) * (1 - b1)
    v = s["v"] + (ops.square(g) - s["v"]) * (1 - b2)
    m_hat = u_t_1 * m / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
    v_hat = v / (1 - ops.power(b2, t))
    return w - m_hat * lr / (ops.sqrt(v_hat) + _EPS), {"m": m, "v": v}


def _adamax(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any, b1: float = 0.9, b2: float = 0.999) -> Any:
    m = s["m"] + (g - s["m"]) * (1 - b1)
    u = ops.maximum(b2 * s["u"], ops.abs(g))
    return w - lr * m / ((1 - ops.power(b1, t)) * (u + _EPS)), {"m": m, "u": u}


def _adagrad(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any) -> Any:
    acc = s["acc"] + ops.square(g)
    return w - lr * g / ops.sqrt(acc + _EPS), {"acc": acc}


def _adadelta(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any, rho: float = 0.95) -> Any:
    acc_grad = rho * s["acc_grad"] + (1 - rho) * ops.square(g)
    delta = -(ops.sqrt(s["acc_delta"] + _EPS) * g) / ops.sqrt(acc_grad + _EPS)
    acc_delta = rho * s["acc_delta"] + (1 - rho) * ops.square(delta)
    return w + lr * delta, {"acc_grad": acc_grad, "acc_delta": acc_delta}


def _lion(w: Any, g: Any, s: dict[str, Any], lr: Any, t: Any, _up: Any, b1: float = 0.9, b2: float = 0.99) -> Any:
    new_w = w - lr * ops.sign(s["m"] * b1 + g * (1.0 - b1))
    return new_w, {"m": s["m"] * b2 + g * (1.0 - b2)}


_RULES: dict[str, Callable[..., tuple[Any, dict[str, Any]]]] = {
    "adam": _adam,
    "adamw": _adam,  # Adam with weight decay (0.004 by default), applied before the step by apply_weight_decay
    "sgd": _sgd,
    "rmsprop": _rmsprop,
    "nadam": _nadam,
    "adamax": _adamax,
    "adagrad": _adagrad,
    "adadelta": _adadelta,
    "lion": _lion,
}


#: The optimisers one fused update covers (:func:`fused_coefficients`): each is the same arithmetic
#: with other coefficients, so a population mixing them computes one rule instead of each.
FUSED_RULES: frozenset[str] = frozenset({"sgd", "adam", "adamw", "nadam", "rmsprop"})


def fused_coefficients(optimizers: Sequence[str], rule: Any, step: Any, u_product: Any) -> tuple[dict[str, Any], Any]:
    """Per-member coefficients of the fused update, for members each under ``optimizers[rule[k]]``
    (all in :data:`FUSED_RULES`) at ``step`` updates done; and Nadam's product after this step.

    The fused update of one weight ``w`` with gradient ``g`` and slots ``m``, ``v`` is::

        m' = m + (g - m) (1 - b1)          v' = v + (g^2 - v) (1 - b2)
        w' = w - lr (a m' + c g) / (sqrt(d v' + e_in) + e_out)

    (after the weight decay, :func:`apply_weight_decay`), which is SGD (a=0, c=1, d=0, e_in=1),
    RMSprop (b2=0.9, a=0, c=1, d=1, e_in=eps), Adam (a = sqrt(1 - 0.999^t) / (1 - 0.9^t), d=1,
    e_out=eps), AdamW (Adam, with its decay) or
    Nadam (a and c from its momentum schedule, d = 1 / (1 - 0.999^t)), each as Keras computes it.
    A member whose rule keeps no ``m`` (or ``v``) has b1 = 1 (b2 = 1): its slot stays as it is.
    """
    t = ops.cast(step + 1, "float32")
    u_t = 0.9 * (1.0 - 0.5 * ops.power(0.96, t))
    u_t_1 = 0.9 * (1.0 - 0.5 * ops.power(0.96, t + 1))
    u_new = u_product * u_t  # Nadam's product after this step
    adam_a = ops.sqrt(1 - ops.power(0.999, t)) / (1 - ops.power(0.9, t))
    nadam_a, nadam_c = u_t_1 / (1 - u_new * u_t_1), (1 - u_t) / (1 - u_new)
    zero, one = ops.zeros_like(t), ops.ones_like(t)
    eps = ops.full_like(t, _EPS)
    per_rule = {
        # name: (b1, b2, a, c, d, e_in, e_out)
        "sgd": (one, one, zero, one, zero, one, zero),
        "rmsprop": (one, 0.9 * one, zero, one, one, eps, zero),
        "adam": (0.9 * one, 0.999 * one, adam_a, zero, one, zero, eps),
        "adamw": (0.9 * one, 0.999 * one, adam_a, zero, one, zero, eps),
        "nadam": (0.9 * one, 0.999 * one, nadam_a, nadam_c, 1 / (1 - ops.power(0.999, t)), zero, eps),
    }
    names = ("b1", "b2", "a", "c", "d", "e_in", "e_out")
    out = {}
    for position, name in enumerate(names):
        value = per_rule[optimizers[0]][position]
        for j, optimizer in enumerate(optimizers[1:], start=1):
            value = ops.where(rule == j, per_rule[optimizer][position], value)
        out[name] = value
    nadam = [j for j, optimizer in enumerate(optimizers) if optimizer == "nadam"]
    u_out = u_product
    for j in nadam:
        u_out = ops.where(rule == j, u_new, u_out)
    return out, u_out


def fused_update(w: Any, g: Any, slots: dict[str, Any], lr: Any, k: dict[str, Any]) -> Any:
    """One fused step of ``w`` (see :func:`fused_coefficients`; ``lr`` and every coefficient already
    shaped to broadcast over ``w``); returns the new weight and slots."""
    m = slots["m"] + (g - slots["m"]) * (1 - k["b1"])
    v = slots["v"] + (ops.square(g) - slots["v"]) * (1 - k["b2"])
    step = lr * (k["a"] * m + k["c"] * g) / (ops.sqrt(k["d"] * v + k["e_in"]) + k["e_out"])
    return w - step, {**slots, "m": m, "v": v}
