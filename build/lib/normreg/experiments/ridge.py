r"""Ridge regression, where the :math:`\ell_2` penalty helps and everything is exact (chapter 4).

A linear model :math:`h_w(x) = w^\top x` learns from m examples with d features, d > m, and
noisy targets :math:`y = X w_\star + \xi`, :math:`\xi \sim \mathcal N(0, \text{noise}^2)`. With
the squared loss :math:`\ell = \frac12 (w^\top x - y)^2`, the penalized objective
:math:`\frac1m \sum_k \ell + \frac\lambda2 \|w\|^2` has the minimizer

.. math::
    w_\lambda = (X^\top X + m\lambda I)^{-1} X^\top y ,

which gradient descent with weight decay :math:`\lambda` converges to; as :math:`\lambda \to 0`
it tends to the minimum-norm interpolator :math:`X^+ y`. For inputs :math:`x \sim \mathcal N(0,
I_d)` the test error needs no test set: :math:`\mathbb E\,(w^\top x - y)^2 = \|w - w_\star\|^2 +
\text{noise}^2`. Along the right singular vectors :math:`v_k` of X (singular values
:math:`s_k`), :math:`w_\lambda` shrinks the signal by :math:`s_k^2 / (s_k^2 + m\lambda)`:
:func:`along_directions` returns the components for comparing weights direction by direction.
"""

from __future__ import annotations

import numpy as np
import torch

from normreg._checks import check_int, check_number

__all__ = ["regression_problem", "ridge", "test_error", "along_directions"]


def regression_problem(m: int, d: int, noise: float, seed: int = 0
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inputs X (m, d) ~ N(0, I), a unit-norm ``w_star`` (d,), targets ``X w_star + noise * xi``
    (m,), all float64, drawn from a generator seeded with ``seed``: ``(X, y, w_star)``."""
    check_int("m", m, min=1)
    check_int("d", d, min=1)
    check_number("noise", noise, low=0.0)
    g = torch.Generator().manual_seed(seed)
    w_star = torch.randn(d, generator=g, dtype=torch.float64)
    w_star /= w_star.norm()
    x = torch.randn(m, d, generator=g, dtype=torch.float64)
    return x, x @ w_star + noise * torch.randn(m, generator=g, dtype=torch.float64), w_star


def ridge(x: torch.Tensor, y: torch.Tensor, lambdas) -> torch.Tensor:
    r""":math:`w_\lambda = (X^\top X + m\lambda I)^{-1} X^\top y` for each :math:`\lambda`, in one
    batched solve. Shapes: x (m, d), y (m,); returns (len(lambdas), d)."""
    if x.dim() != 2 or y.shape != x.shape[:1]:
        raise ValueError(f"x and y must have shapes (m, d) and (m,), got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    values = torch.as_tensor(lambdas, dtype=torch.float64).flatten()
    if torch.any(values < 0):
        raise ValueError(f"every lambda must be >= 0, got {values.tolist()}")
    lambdas = values.to(x.dtype).reshape(-1, 1, 1)  # (L, 1, 1)
    a = x.T @ x + len(y) * lambdas * torch.eye(x.shape[1], dtype=x.dtype)  # (L, d, d)
    return torch.linalg.solve(a, (x.T @ y).expand(len(lambdas), -1))


def test_error(w: torch.Tensor, w_star: torch.Tensor, noise: float) -> np.ndarray:
    r""":math:`\mathbb E\,(w^\top x - y)^2 = \|w - w_\star\|^2 + \text{noise}^2` over fresh
    :math:`x \sim \mathcal N(0, I)` and noise, exactly, for each row of w (..., d)."""
    return ((w - w_star) ** 2).sum(dim=-1).numpy() + noise ** 2


def along_directions(x: torch.Tensor, *weights: torch.Tensor
                     ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    r"""The singular values :math:`s_k` of x in increasing order, and each weight vector's
    components :math:`v_k^\top w` along the matching right singular vectors."""
    _, s, vt = torch.linalg.svd(x, full_matrices=False)  # s (m,) decreasing, vt (m, d)
    return s.flip(0), [(vt @ w).flip(0) for w in weights]
