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

import math

import torch
from torch import nn

__all__ = ["DirectApply", "Standardize", "stats_dtype", "standardize", "standardize_backward",
           "register_affine", "reset_affine"]


def stats_dtype(x: torch.Tensor) -> torch.dtype:
    """Statistics in float32 at least: half-precision sums lose too many digits."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _as(t: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    return t if t is None or t.dtype == dtype else t.to(dtype)


def _sum_to(t: torch.Tensor, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """``t.sum_to_size(shape)`` in as few operations as it takes: the gradient of a tensor of
    ``shape`` that was broadcast to t's shape."""
    if t.numel() == math.prod(shape):  # only axes of size 1 to drop: (1, D) -> (D,)
        return t.reshape(shape)
    lead = t.dim() - len(shape)
    if lead:
        t = t.sum(tuple(range(lead)))  # the leading axes: (M, D) -> (D,)
    return t if t.shape == shape else t.sum_to_size(shape)


def standardize(x: torch.Tensor, dim: int, eps: float, weight: torch.Tensor | None = None,
                bias: torch.Tensor | None = None):
    """Forward pass. Returns y and x_hat, rstd, mean, var, all in the statistics dtype.

    ``mean``, ``var`` and ``rstd`` keep the reduced axis: shape (M, 1) for ``dim=1`` of a (M, D)
    input, (1, D) for ``dim=0``. ``weight`` and ``bias`` broadcast against x.
    """
    dtype = stats_dtype(x)
    x = _as(x, dtype)
    n = x.shape[dim]
    # two passes, the mean and then the mean square of x - mean: exact for a large common
    # offset, and several times faster than torch.var_mean on a CPU. (A mean is a sum and an
    # in-place division: at the book's sizes each operation costs mostly its launch.)
    mean = x.sum(dim, keepdim=True).div_(n)
    centered = x - mean
    var = (centered * centered).sum(dim, keepdim=True).div_(n)  # biased
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
    n = x_hat.shape[dim]
    grad_y_x_hat = grad_y * x_hat
    # Both cases compute r (g - x_hat sum(g x_hat) / n - sum(g) / n), the sums along the reduced
    # axis, with g = weight * dL/dy. At the book's sizes each operation costs mostly its launch:
    # the sums are shared where they can be, and the last two steps are done in place.
    if len(shape) < x_hat.dim() - dim or shape[dim - x_hat.dim()] == 1:
        # The scale is constant along the reduced axis (batch norm's case): it factors out of
        # the sums, which are then the ones that the bias and the weight need.
        sum_g = grad_y.sum(dim, keepdim=True)  # (1, D)
        sum_gx = grad_y_x_hat.sum(dim, keepdim=True)  # (1, D)
        scale = rstd if weight is None else rstd * weight
        grad_x = torch.addcmul(grad_y, x_hat, sum_gx, value=-1 / n).sub_(sum_g, alpha=1 / n)
        grad_x = grad_x.mul_(scale)
        return grad_x, _sum_to(sum_gx, shape), _sum_to(sum_g, shape)
    # The scale varies along the reduced axis (layer norm's case)
    g = grad_y if weight is None else grad_y * weight  # dL/dx_hat, (M, D)
    sum_g = g.sum(dim, keepdim=True)  # (M, 1)
    sum_gx = (grad_y_x_hat if weight is None else grad_y_x_hat * weight).sum(dim, keepdim=True)
    grad_x = torch.addcmul(g, x_hat, sum_gx, value=-1 / n).sub_(sum_g, alpha=1 / n).mul_(rstd)
    return grad_x, _sum_to(grad_y_x_hat, shape), _sum_to(grad_y, shape)


class DirectApply(torch.autograd.Function):
    """A ``torch.autograd.Function`` whose ``apply`` skips torch's argument binding outside
    ``torch.func`` transforms: the base of the hand-derived normalizations (:class:`Standardize`,
    :class:`normreg.nn.rmsnorm.RootMeanSquare`), which pass every argument."""

    @classmethod
    def apply(cls, *args):
        # torch's Function.apply binds default arguments with inspect.signature on every call,
        # which costs more than this layer's arithmetic at the book's sizes; every argument is
        # passed here, so outside torch.func transforms go straight to autograd's apply.
        if _functorch_active is None or _functorch_active():
            return super().apply(*args)
        return super(torch.autograd.Function, cls).apply(*args)


class Standardize(DirectApply):
    """``Standardize.apply(x, weight, bias, dim, eps)`` -> (y, mean, var, x_hat, rstd) with the
    backward above.

    x (M, D) with ``dim`` 1 (rows) or 0 (columns), weight and bias (D,) or None; or any x and
    ``dim``, with weight and bias of one shape that broadcasts against x. ``mean``, ``var`` (the
    biased variance) and ``rstd`` keep the reduced axis; they and ``x_hat``, which the backward
    pass uses, carry no gradient.
    """

    generate_vmap_rule = True  # vmap runs forward and backward over the extra dimension

    @staticmethod
    def forward(x, weight, bias, dim, eps):
        y, x_hat, rstd, mean, var = standardize(x, dim, eps, weight, bias)
        y = _as(y, x.dtype)
        if y is x_hat:  # no affine parameters: the output needs a tensor of its own
            y = y.clone()
        # x_hat and rstd are returned only to be saved for the backward pass (the form in which
        # torch.func takes intermediate results)
        return y, mean, var, x_hat, rstd

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, dim, eps = inputs
        _y, mean, var, x_hat, rstd = output
        ctx.mark_non_differentiable(mean, var, x_hat, rstd)
        ctx.set_materialize_grads(False)  # no tensors of zeros for the outputs without gradient
        ctx.save_for_backward(x, weight, x_hat, rstd)
        ctx.dim, ctx.eps = dim, eps
        affine = weight if weight is not None else bias
        ctx.affine_shape = x.shape[-1:] if affine is None else affine.shape
        ctx.bias_dtype = None if bias is None else bias.dtype

    @staticmethod
    def backward(ctx, grad_y, *_grad_statistics):
        if grad_y is None:  # y did not reach the loss
            return None, None, None, None, None
        x, weight, x_hat, rstd = ctx.saved_tensors
        if torch.is_grad_enabled():
            # A derivative of this gradient is wanted (create_graph=True, a Hessian-vector
            # product). To autograd the saved x_hat and rstd are constants, so recompute them
            # from x with operations it can differentiate once more.
            _, x_hat, rstd, _, _ = standardize(x, ctx.dim, ctx.eps)
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
