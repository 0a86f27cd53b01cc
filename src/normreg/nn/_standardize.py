r"""Standardize a (M, D) tensor along one axis: the forward pass and the backward pass by hand.

Layer norm standardizes each row (``dim=1``), batch norm each column (``dim=0``): the same
computation along different axes, kept here once. With the mean :math:`\mu` and the biased
variance :math:`\sigma^2` along the axis and :math:`r = (\sigma^2 + \epsilon)^{-1/2}`,

.. math::
    \hat x = (x - \mu)\, r, \qquad y = \gamma \odot \hat x + \beta, \qquad
    \frac{\partial L}{\partial x} = r \left(g - \operatorname{mean}(g) - \hat x\,
    \operatorname{mean}(g \odot \hat x)\right), \quad
    g = \gamma \odot \frac{\partial L}{\partial y},

the means taken along the same axis; :math:`\gamma` and :math:`\beta` are per feature (per
column), so their gradients sum over the rows:
:math:`\partial L / \partial\gamma = \sum_{\text{rows}} \partial L / \partial y \odot \hat x`,
:math:`\partial L / \partial\beta = \sum_{\text{rows}} \partial L / \partial y`.

:class:`Standardize` is the ``torch.autograd.Function`` that uses this backward. It is written
in the form ``torch.func`` needs (``forward`` without ``ctx``, a separate ``setup_context``,
``generate_vmap_rule``), so ``vmap``, ``grad`` and ``jacrev`` work through it, and its backward
is itself made of differentiable torch operations on the input, so second derivatives
(Hessian-vector products, ``gradgradcheck``) are exact.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Standardize", "stats_dtype", "standardize", "standardize_backward",
           "register_affine", "reset_affine"]


def stats_dtype(x: torch.Tensor) -> torch.dtype:
    """Statistics in float32 at least: half-precision sums lose too many digits."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def standardize(x: torch.Tensor, dim: int, eps: float, weight: torch.Tensor | None = None,
                bias: torch.Tensor | None = None):
    """Forward pass. Returns y and x_hat, rstd, mean, var, all in the statistics dtype.

    ``mean``, ``var`` and ``rstd`` keep the reduced axis: shape (M, 1) for ``dim=1``, (1, D) for
    ``dim=0``.
    """
    x = x.to(stats_dtype(x))
    var, mean = torch.var_mean(x, dim=dim, correction=0, keepdim=True)  # biased, one pass
    rstd = torch.rsqrt(var + eps)
    x_hat = (x - mean) * rstd  # mean 0, variance 1 along `dim`
    y = x_hat
    if weight is not None:
        y = y * weight.to(x.dtype)
    if bias is not None:
        y = y + bias.to(x.dtype)
    return y, x_hat, rstd, mean, var


def standardize_backward(grad_y: torch.Tensor, x_hat: torch.Tensor, rstd: torch.Tensor,
                         weight: torch.Tensor | None, dim: int):
    """Backward pass: the gradients with respect to x, weight and bias (the latter two (D,))."""
    grad_y = grad_y.to(x_hat.dtype)
    g = grad_y if weight is None else grad_y * weight.to(x_hat.dtype)  # dL/dx_hat
    mean_g = g.mean(dim=dim, keepdim=True)
    mean_gx = (g * x_hat).mean(dim=dim, keepdim=True)
    grad_x = rstd * (g - mean_g - x_hat * mean_gx)  # (M, D)
    grad_weight = (grad_y * x_hat).sum(dim=0)  # (D,): a column's scale acts on every row
    grad_bias = grad_y.sum(dim=0)  # (D,)
    return grad_x, grad_weight, grad_bias


class Standardize(torch.autograd.Function):
    """``Standardize.apply(x, weight, bias, dim, eps)`` -> (y, mean, var) with the backward above.

    x (M, D); weight and bias (D,) or None; ``dim`` 1 (rows) or 0 (columns). ``mean`` and
    ``var`` (the biased variance) keep the reduced axis and carry no gradient.
    """

    generate_vmap_rule = True  # vmap runs forward and backward over the extra dimension

    @staticmethod
    def forward(x, weight, bias, dim, eps):
        y, x_hat, rstd, mean, var = standardize(x, dim, eps, weight, bias)
        y = y.to(x.dtype)
        if y is x_hat:  # no affine parameters: the output needs a tensor of its own
            y = y.clone()
        return y, mean, var, x_hat, rstd

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, dim, eps = inputs
        _y, mean, var, x_hat, rstd = output
        ctx.mark_non_differentiable(mean, var, x_hat, rstd)
        ctx.save_for_backward(x, weight, x_hat, rstd)
        ctx.dim, ctx.eps = dim, eps
        ctx.bias_dtype = None if bias is None else bias.dtype

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var, _grad_x_hat, _grad_rstd):
        x, weight, x_hat, rstd = ctx.saved_tensors
        if torch.is_grad_enabled():
            # A derivative of this gradient is wanted (create_graph=True, a Hessian-vector
            # product). To autograd the saved x_hat and rstd are constants, so recompute them
            # from x with operations it can differentiate once more.
            _, x_hat, rstd, _, _ = standardize(x, ctx.dim, ctx.eps)
        grad_x, grad_weight, grad_bias = standardize_backward(grad_y, x_hat, rstd, weight,
                                                              ctx.dim)
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        return (grad_x.to(x.dtype) if needs_x else None,
                grad_weight.to(weight.dtype) if needs_weight else None,
                grad_bias.to(ctx.bias_dtype) if needs_bias else None, None, None)


def register_affine(module: nn.Module, num_features: int, affine: bool, bias: bool,
                    device=None, dtype=None) -> None:
    """Give ``module`` a per-feature scale ``weight`` (ones) and, if ``bias``, a shift ``bias``
    (zeros), as ``torch.nn`` does; both are None without ``affine``."""
    factory = {"device": device, "dtype": dtype}
    weight = nn.Parameter(torch.ones(num_features, **factory)) if affine else None
    shift = nn.Parameter(torch.zeros(num_features, **factory)) if affine and bias else None
    module.register_parameter("weight", weight)
    module.register_parameter("bias", shift)


def reset_affine(module: nn.Module) -> None:
    """Scale back to 1 and shift back to 0 (whichever of the two the module has)."""
    with torch.no_grad():
        if module.weight is not None:
            module.weight.fill_(1.0)
        if module.bias is not None:
            module.bias.zero_()
