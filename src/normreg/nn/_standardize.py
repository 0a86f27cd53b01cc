r"""Standardize a (N, D) tensor along one axis, forward and hand-derived backward.

Layer norm standardizes each row (``dim=1``), batch norm each column (``dim=0``): the same
computation along different axes, kept here once. With the mean :math:`\mu` and biased variance
:math:`\sigma^2` along the axis and :math:`r = (\sigma^2 + \epsilon)^{-1/2}`,

.. math::
    \hat x = (x - \mu)\, r, \qquad y = \gamma \odot \hat x + \beta, \qquad
    \frac{\partial L}{\partial x} = r \left(g - \operatorname{mean}(g) - \hat x\,
    \operatorname{mean}(g \odot \hat x)\right), \quad
    g = \gamma \odot \frac{\partial L}{\partial y},

the means taken along the same axis.
"""

from __future__ import annotations

import torch


def stats_dtype(x: torch.Tensor) -> torch.dtype:
    """Statistics in float32 at least: half-precision sums lose too many digits."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def standardize(x: torch.Tensor, dim: int, eps: float, weight: torch.Tensor | None,
                bias: torch.Tensor | None):
    """Forward pass. Returns y (in x's dtype) and x_hat, rstd, mean, var (in the stats dtype).

    ``mean``, ``var`` and ``rstd`` keep the reduced axis (shape (N, 1) or (1, D)).
    """
    x = x.to(stats_dtype(x))
    var, mean = torch.var_mean(x, dim=dim, unbiased=False, keepdim=True)  # biased, one pass
    rstd = torch.rsqrt(var + eps)
    x_hat = (x - mean) * rstd  # mean 0, variance 1 along `dim`
    y = x_hat if weight is None else torch.addcmul(bias.to(x.dtype), x_hat, weight.to(x.dtype))
    return y, x_hat, rstd, mean, var


def standardize_backward(grad_y: torch.Tensor, x_hat: torch.Tensor, rstd: torch.Tensor,
                         weight: torch.Tensor | None, dim: int):
    """Backward pass: the gradients with respect to x, weight and bias (None without affine)."""
    grad_y = grad_y.to(x_hat.dtype)
    grad_weight = grad_bias = None
    g = grad_y  # dL/dx_hat
    if weight is not None:
        # weight and bias are per feature (a column), so their gradients sum over the rows
        grad_weight = (grad_y * x_hat).sum(dim=0).to(weight.dtype)  # (D,)
        grad_bias = grad_y.sum(dim=0).to(weight.dtype)  # (D,)
        g = grad_y * weight.to(x_hat.dtype)
    mean_g = g.mean(dim=dim, keepdim=True)
    mean_gx = (g * x_hat).mean(dim=dim, keepdim=True)
    grad_x = rstd * (g - mean_g - x_hat * mean_gx)  # (N, D)
    return grad_x, grad_weight, grad_bias


def register_affine(module: torch.nn.Module, dim: int, affine: bool) -> None:
    """Give ``module`` a per-feature scale ``weight`` (ones) and shift ``bias`` (zeros), or None."""
    module.affine = bool(affine)
    if module.affine:
        module.weight = torch.nn.Parameter(torch.ones(dim))
        module.bias = torch.nn.Parameter(torch.zeros(dim))
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def reset_affine(module: torch.nn.Module) -> None:
    """Scale back to 1 and shift to 0 (no-op without affine parameters)."""
    if module.affine:
        with torch.no_grad():
            module.weight.fill_(1.0)
            module.bias.zero_()
