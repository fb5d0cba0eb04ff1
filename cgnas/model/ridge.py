"""Ridge regression whose penalty is chosen by exact leave-one-out error.

For standardized features ``Z`` (``[n, p]``, constant columns dropped) and centred labels
``y``, ridge with penalty ``α`` predicts ``ŷ = H_α y`` with the hat matrix

    H_α = Z (ZᵀZ + α I)⁻¹ Zᵀ = U diag(s² / (s² + α)) Uᵀ,     Z = U diag(s) Vᵀ (thin SVD),

and, counting the fitted mean as a parameter (hat matrix ``11ᵀ/n + H_α``), the leave-one-out
residual of sample ``i`` is ``(y_i - ŷ_i) / (1 - 1/n - (H_α)_ii)`` (exact for fixed
standardization).
:meth:`RidgeLOO.fit` tries ``α = λ · mean(s²)`` for each ``λ`` of :data:`PENALTIES` (so the
penalty is on the scale of the data however many features there are), keeps the one with the
smallest mean squared leave-one-out residual, then ``w = V diag(s / (s² + α)) Uᵀ y``. One SVD
serves every ``α``, so a fit on a few hundred samples with thousands of features costs
milliseconds; where the features explain nothing the largest penalty wins and the model
predicts close to the mean.
"""

from __future__ import annotations

import numpy as np

from cgnas.errors import CgnasError

PENALTIES: tuple[float, ...] = (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0)
"""Penalties tried, relative to the mean squared singular value of the standardized features."""
MIN_SAMPLES = 3
"""Fewest labeled samples a fit takes (two leave one out to a single point)."""


class RidgeLOO:
    """Ridge regression on standardized features, ``α`` chosen by leave-one-out error.

    Args:
        penalties: the relative penalties ``λ`` tried (default :data:`PENALTIES`).

    Attributes (after :meth:`fit`): ``penalty``, the ``λ`` chosen, and ``alpha``, its ``α``.
    """

    def __init__(self, penalties: tuple[float, ...] = PENALTIES) -> None:
        self.penalties = penalties
        self.penalty: float | None = None
        self.alpha: float | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray) -> "RidgeLOO":
        """Fit on ``features [n, p]`` and ``labels [n]`` (``n >= MIN_SAMPLES``)."""
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(labels, dtype=np.float64)
        if x.ndim != 2 or y.shape != (len(x),) or len(x) < MIN_SAMPLES or not np.isfinite(x).all() \
                or not np.isfinite(y).all():
            raise CgnasError(f"ridge needs finite features [n, p] and labels [n] with n >= {MIN_SAMPLES}; got "
                             f"features of shape {x.shape} and labels of shape {y.shape}")
        self.mean, scale = x.mean(axis=0), x.std(axis=0)
        self.keep = scale > 1e-12
        self.scale = scale[self.keep]
        z = (x[:, self.keep] - self.mean[self.keep]) / self.scale
        self.offset = y.mean()
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        uty = u.T @ (y - self.offset)
        best, mean_square = np.inf, float(np.mean(s ** 2)) or 1.0
        for penalty in self.penalties:
            alpha = penalty * mean_square
            shrink = s ** 2 / (s ** 2 + alpha)
            residual = (y - self.offset) - u @ (shrink * uty)
            leverage = 1.0 / len(y) + (u ** 2) @ shrink  # the fitted mean is a parameter too
            loo = float(np.mean((residual / (1.0 - leverage)) ** 2))
            if loo < best:
                best, self.penalty, self.alpha = loo, penalty, alpha
                self.weights = vt.T @ (s / (s ** 2 + alpha) * uty)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``[m]`` predictions for ``features [m, p]``."""
        if self.alpha is None:
            raise CgnasError("ridge model is not fitted; call fit first")
        x = np.asarray(features, dtype=np.float64)
        return (x[:, self.keep] - self.mean[self.keep]) / self.scale @ self.weights + self.offset
