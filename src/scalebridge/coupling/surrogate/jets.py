"""Second-order forward differentiation of scalar fields: value, gradient, Hessian.

A `Jet` holds a scalar function at ``n`` points together with its gradient and Hessian
with respect to an ``m``-vector (the Mandel strain).  Sums, products and smooth maps of
jets follow the chain and product rules exactly, so a potential built from jets has an
exact stress (gradient) and an exact, symmetric tangent (Hessian).

>>> x = np.array([[1.0, 2.0]])
>>> u = Jet.linear(x, [1.0, 0.0]) * Jet.linear(x, [0.0, 1.0])   # x0 * x1
>>> u.val.tolist(), u.grad.tolist(), u.hess[0].tolist()
([2.0], [[2.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

__all__ = ["Jet"]


@dataclass(frozen=True)
class Jet:
    """Values ``(n,)``, gradients ``(n, m)`` and Hessians ``(n, m, m)`` of a scalar field."""

    val: Array
    grad: Array
    hess: Array

    @classmethod
    def linear(cls, x: Array, weights: ArrayLike) -> Jet:
        """The linear function ``x @ weights`` at the rows of ``x`` ``(n, m)``."""
        w = np.asarray(weights, dtype=float)
        n, m = x.shape
        return cls(x @ w, np.broadcast_to(w, (n, m)), np.zeros((n, m, m)))

    @classmethod
    def constant(cls, value: float, n: int, m: int) -> Jet:
        """A constant at ``n`` points."""
        return cls(np.full(n, float(value)), np.zeros((n, m)), np.zeros((n, m, m)))

    def __add__(self, other: Jet) -> Jet:
        return Jet(self.val + other.val, self.grad + other.grad, self.hess + other.hess)

    def __sub__(self, other: Jet) -> Jet:
        return Jet(self.val - other.val, self.grad - other.grad, self.hess - other.hess)

    def scale(self, c: float) -> Jet:
        """``c * self``."""
        return Jet(c * self.val, c * self.grad, c * self.hess)

    def __mul__(self, other: Jet) -> Jet:
        """Pointwise product (also term by term for stacked jets of equal shape)."""
        cross = self.grad[..., :, None] * other.grad[..., None, :]
        return Jet(
            self.val * other.val,
            self.grad * other.val[..., None] + other.grad * self.val[..., None],
            self.hess * other.val[..., None, None]
            + other.hess * self.val[..., None, None]
            + cross
            + np.swapaxes(cross, -1, -2),
        )

    def map(
        self,
        f: Callable[[Array], Array],
        df: Callable[[Array], Array],
        d2f: Callable[[Array], Array],
    ) -> Jet:
        """``f(self)`` given ``f``, ``f'`` and ``f''`` (vectorised)."""
        u = self.val
        d1, d2 = df(u), d2f(u)
        return Jet(
            f(u),
            d1[..., None] * self.grad,
            d1[..., None, None] * self.hess
            + d2[..., None, None] * (self.grad[..., :, None] * self.grad[..., None, :]),
        )

    def combine(self, weights: Array) -> Jet:
        """Linear combinations ``sum_j w_tj self_j`` of a stacked jet ``(n, J)``:
        ``weights (T, J)`` gives a stacked jet ``(n, T)``."""
        n, J, m = self.grad.shape
        w = np.asarray(weights, dtype=float).T  # (J, T)
        return Jet(
            self.val @ w,
            (np.swapaxes(self.grad, 1, 2) @ w).transpose(0, 2, 1),
            (self.hess.reshape(n, J, m * m).transpose(0, 2, 1) @ w)
            .transpose(0, 2, 1)
            .reshape(n, -1, m, m),
        )

    def total(self) -> Jet:
        """Sum over the terms of a stacked jet: a single field."""
        return Jet(self.val.sum(1), self.grad.sum(1), self.hess.sum(1))

    @classmethod
    def stack(cls, jets: list[Jet]) -> Jet:
        """Several fields as one stacked jet: ``val (n, T)``, ``grad (n, T, m)``,
        ``hess (n, T, m, m)`` (the stacked form `outer` takes and returns)."""
        return cls(
            np.stack([j.val for j in jets], 1),
            np.stack([j.grad for j in jets], 1),
            np.stack([j.hess for j in jets], 1),
        )

    def outer(self, other: Jet) -> Jet:
        """All products ``self_a * other_b`` of two stacked jets, ordered ``(a, b)``:
        ``val (n, A * B)`` and so on (one vectorised product rule)."""
        n, A, m = self.grad.shape
        B = other.grad.shape[1]
        a_val, b_val = self.val[:, :, None], other.val[:, None, :]
        cross = np.einsum("nai,nbj->nabij", self.grad, other.grad)
        return Jet(
            (a_val * b_val).reshape(n, A * B),
            (
                self.grad[:, :, None] * b_val[..., None] + a_val[..., None] * other.grad[:, None]
            ).reshape(n, A * B, m),
            (
                self.hess[:, :, None] * b_val[..., None, None]
                + a_val[..., None, None] * other.hess[:, None]
                + cross
                + np.swapaxes(cross, 3, 4)
            ).reshape(n, A * B, m, m),
        )

    def power(self, k: int) -> Jet:
        """``self ** k`` for an integer ``k >= 0``."""
        if k == 0:
            n, m = self.grad.shape
            return Jet.constant(1.0, n, m)
        return self.map(
            lambda u: u**k,
            lambda u: k * u ** (k - 1),
            lambda u: k * (k - 1) * u ** (k - 2) if k >= 2 else np.zeros_like(u),
        )
