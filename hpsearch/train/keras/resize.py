"""Resizing the hidden layer of a trained model (PBT's ``width = "resize"`` policy).

* Widening is function-preserving (Net2WiderNet, Chen et al. 2015): every new
  unit copies an existing one (incoming weights and bias), and the outgoing
  weights of each copied unit are divided among its copies, so the widened
  model computes the same predictions (with dropout off, at inference).
* Narrowing keeps the units with the largest outgoing weight norm. It cannot
  be exact; the runner records validation accuracy right before and after.

Optimizer slots are not resized: a resized member starts a fresh optimizer
(recorded as ``optimizer_reset`` in its PBT decision).
"""

from __future__ import annotations

import numpy as np

__all__ = ["narrow", "resize_hidden", "widen"]

Weights = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def widen(weights: Weights, width: int, rng: np.random.Generator) -> Weights:
    """Net2WiderNet: ``(kernel1, bias1, kernel2, bias2)`` of a hidden layer widened to ``width`` units."""
    k1, b1, k2, b2 = weights
    old = k1.shape[1]
    if width < old:
        raise ValueError(f"widen: width {width} < current {old}")
    mapping = np.concatenate([np.arange(old), rng.integers(0, old, size=width - old)])
    copies = np.bincount(mapping, minlength=old).astype(k2.dtype)
    return k1[:, mapping], b1[mapping], k2[mapping, :] / copies[mapping][:, None], b2.copy()


def narrow(weights: Weights, width: int) -> Weights:
    """Keep the ``width`` hidden units whose outgoing weights have the largest L2 norm (in their order)."""
    k1, b1, k2, b2 = weights
    if width > k1.shape[1]:
        raise ValueError(f"narrow: width {width} > current {k1.shape[1]}")
    keep = np.sort(np.argsort(-np.linalg.norm(k2, axis=1), kind="stable")[:width])
    return k1[:, keep], b1[keep], k2[keep, :], b2.copy()


def resize_hidden(weights: Weights, width: int, rng: np.random.Generator) -> Weights:
    """Widen or narrow to ``width`` units (unchanged if already that wide)."""
    current = weights[0].shape[1]
    if width > current:
        return widen(weights, width, rng)
    if width < current:
        return narrow(weights, width)
    return weights
