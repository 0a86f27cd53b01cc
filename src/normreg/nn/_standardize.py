r"""Standardize a tensor along one axis: the forward pass and the backward pass by hand.

Layer norm standardizes each row of a (M, D) tensor (``dim=1``), batch norm each column
(``dim=0``): the same computation along different axes, kept here once. (A stack of K runs,
(K, B, D), is standardized the same way along ``dim=2`` or ``dim=1``, with a scale and shift per
run of shape (K, 1, D): :mod:`normreg.train.batched`.) With the mean :math:`\mu` and the biased
variance :math:`\sigma^2` along the axis and :math:`r = (\sigma^2 + \epsilon)^{-1/2}`,

.. math::
    \hat x = (x - \mu)\, r, \qquad y = \gamma \odot \hat x + \beta, \qquad
    \frac{\partial L}{\partial x} = r \left(g - \operatorname{mean}(g) - \hat x\,
    \operatorname{mean}(g \odot \hat x)\right), \quad
    g = \gamma \odot \frac{\partial L}{\partial y},

the means taken along the same axis; :math:`\gamma` and :math:`\beta` are per feature (per
column), so their gradients sum over the rows:
:math:`\partial L / \partial\gamma = \sum_{\text{rows}} \partial L / \partial y \odot \hat x`,
:math:`\partial L / \partial\beta = \sum_{\text{rows}} \partial L / \partial y` (in general, over
every axis along which they are broadcast).

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


def _as(t: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    return t if t is None or t.dtype == dtype else t.to(dtype)


def standardize(x: torch.Tensor, dim: int, eps: float, weight: torch.Tensor | None = None,
                bias: torch.Tensor | None = None):
    """Forward pass. Returns y and x_hat, rstd, mean, var, all in the statistics dtype.

    ``mean``, ``var`` and ``rstd`` keep the reduced axis: shape (M, 1) for ``dim=1`` of a (M, D)
    input, (1, D) for ``dim=0``. ``weight`` and ``bias`` broadcast against x.
    """
    dtype = stats_dtype(x)
    x = _as(x, dtype)
    # two passes, the mean and then the mean square of x - mean: exact for a large common
    # offset, and several times faster than torch.var_mean on a CPU
    mean = x.mean(dim=dim, keepdim=True)
    centered = x - mean
    var = (centered * centered).mean(dim=dim, keepdim=True)  # biased
    rstd = torch.rsqrt(var + eps)
    x_hat = centered * rstd  # mean 0, variance 1 along `dim`
    weight, bias = _as(weight, dtype), _as(bias, dtype)
    if weight is not None and bias is not None:
        y = torch.addcmul(bias, x_hat, weight)  # weight * x_hat + bias, in one pass
    elif weight is not None:
        y = x_hat * weight
    elif bias is not None:
        y = x_hat + bias
    else:
        y = x_hat
    return y, x_hat, rstd, mean, var


def standardize_backward(grad_y: torch.Tensor, x_hat: torch.Tensor, rstd: torch.Tensor,
                         weight: torch.Tensor | None, dim: int,
                         affine_shape: torch.Size | tuple[int, ...] = ()):
    """Backward pass: the gradients with respect to x, and with respect to a weight and a bias
    of ``affine_shape`` (for (M, D) input, (D,)): summed over the axes they are broadcast along."""
    grad_y = _as(grad_y, x_hat.dtype)
    weight = _as(weight, x_hat.dtype)
    shape = affine_shape or x_hat.shape[-1:]  # a column's scale acts on every row
    grad_y_x_hat = grad_y * x_hat
    grad_weight = grad_y_x_hat.sum_to_size(shape)  # (D,)
    grad_bias = grad_y.sum_to_size(shape)  # (D,)
    if weight is None or weight.dim() < x_hat.dim() - dim or weight.shape[dim - x_hat.dim()] == 1:
        # The scale is constant along the reduced axis (batch norm's case): it factors out of
        # the means, r (g - mean(g) - x_hat mean(g x_hat)) with g = weight * dL/dy.
        mean_g = grad_y.mean(dim=dim, keepdim=True)
        mean_gx = grad_y_x_hat.mean(dim=dim, keepdim=True)
        scale = rstd if weight is None else rstd * weight
        return (torch.addcmul(grad_y - mean_g, x_hat, mean_gx, value=-1) * scale, grad_weight,
                grad_bias)
    # The scale varies along the reduced axis (layer norm's case)
    g = grad_y * weight  # dL/dx_hat
    mean_g = g.mean(dim=dim, keepdim=True)
    mean_gx = (g * x_hat).mean(dim=dim, keepdim=True)
    grad_x = torch.addcmul(g - mean_g, x_hat, mean_gx, value=-1) * rstd  # (M, D)
    return grad_x, grad_weight, grad_bias


class Standardize(torch.autograd.Function):
    """``Standardize.apply(x, weight, bias, dim, eps)`` -> (y, mean, var) with the backward above.

    x (M, D) with ``dim`` 1 (rows) or 0 (columns), weight and bias (D,) or None; or any x and
    ``dim``, with weight and bias of one shape that broadcasts against x. ``mean`` and ``var``
    (the biased variance) keep the reduced axis and carry no gradient.
    """

    generate_vmap_rule = True  # vmap runs forward and backward over the extra dimension

    @classmethod
    def apply(cls, *args):
        # torch's Function.apply binds default arguments with inspect.signature on every call,
        # which costs more than this layer's arithmetic at the book's sizes; every argument is
        # passed here, so outside torch.func transforms go straight to autograd's apply.
        if _functorch_active is None or _functorch_active():
            return super().apply(*args)
        return super(torch.autograd.Function, cls).apply(*args)

    @staticmethod
    def forward(x, weight, bias, dim, eps):
        y, x_hat, _, mean, var = standardize(x, dim, eps, weight, bias)
        y = _as(y, x.dtype)
        if y is x_hat:  # no affine parameters: the output needs a tensor of its own
            y = y.clone()
        return y, mean, var

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, dim, eps = inputs
        _y, mean, var = output
        ctx.mark_non_differentiable(mean, var)
        ctx.save_for_backward(x, weight, mean, var)
        ctx.dim, ctx.eps = dim, eps
        affine = weight if weight is not None else bias
        ctx.affine_shape = x.shape[-1:] if affine is None else affine.shape
        ctx.bias_dtype = None if bias is None else bias.dtype

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x, weight, mean, var = ctx.saved_tensors
        if torch.is_grad_enabled():
            # A derivative of this gradient is wanted (create_graph=True, a Hessian-vector
            # product). To autograd the saved statistics are constants, so recompute them from
            # x with operations it can differentiate once more.
            _, x_hat, rstd, _, _ = standardize(x, ctx.dim, ctx.eps)
        else:
            rstd = torch.rsqrt(var + ctx.eps)
            x_hat = (_as(x, mean.dtype) - mean) * rstd
        grad_x, grad_weight, grad_bias = standardize_backward(grad_y, x_hat, rstd, weight,
                                                              ctx.dim, ctx.affine_shape)
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        return (_as(grad_x, x.dtype) if needs_x else None,
                _as(grad_weight, weight.dtype) if needs_weight else None,
                _as(grad_bias, ctx.bias_dtype) if needs_bias else None, None, None)


_functorch_active = getattr(torch._C, "_are_functorch_transforms_active", None)


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
