"""Project error types."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


class ConvergenceError(RuntimeError):
    """An iterative solve stopped before reaching its tolerance.

    Carries the residual history so the caller can see how far it got; a solver
    never returns an unconverged answer silently.

    Parameters
    ----------
    message : str
        What failed and what to try.
    residuals : array_like
        Relative residual after each iteration (first entry: the initial one).
    """

    def __init__(self, message: str, residuals: NDArray[np.float64] | list[float]) -> None:
        self.residuals = np.asarray(residuals, dtype=float)
        last = self.residuals[-1] if self.residuals.size else float("nan")
        super().__init__(
            f"{message} (iterations: {max(self.residuals.size - 1, 0)}, "
            f"final relative residual: {last:.3e})"
        )
