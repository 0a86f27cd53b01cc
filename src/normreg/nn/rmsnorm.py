r"""Root-mean-square layer normalization, from the formula, with the backward pass by hand.

Why the book cares: it is layer norm without the centring (no mean subtracted, no bias), so it
tests how much of layer norm's effect comes from the rescaling alone.

For each example (a row x of the (N, D) input), with :math:`r = (\operatorname{mean}_j x_j^2 +
\epsilon)^{-1/2}`,

.. math::
    \hat x = x\, r, \qquad y = \gamma \odot \hat x.

Backward, with :math:`g = \gamma \odot \partial L / \partial y` for one row (means over the
row's D features):

.. math::
    \frac{\partial L}{\partial x} = r \left(g - \hat x\, \operatorname{mean}(g \odot \hat x)
    \right), \qquad
    \frac{\partial L}{\partial \gamma} = \sum_{\text{rows}} \frac{\partial L}{\partial y}
    \odot \hat x:

layer norm's backward (:mod:`normreg.nn._standardize`) without its :math:`-\operatorname{mean}
(g)` term, which came from the subtracted mean.

Reference: Zhang and Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_number, check_tensor
from normreg.nn._standardize import DirectApply, _as, _sum_to, stats_dtype
from normreg.nn.layernorm import _num_features

__all__ = ["RMSNorm", "RootMeanSquare", "rms_norm", "rms_norm_naive", "resolve_eps"]


def resolve_eps(eps: float | None, x: torch.Tensor) -> float:
    """``eps``, or for None the machine epsilon of the statistics dtype, as torch does: float32's
    for half, bfloat16 and float32 input, float64's for float64 input."""
    return torch.finfo(stats_dtype(x)).eps if eps is None else eps


def root_mean_square(x: torch.Tensor, dim: int, eps: float, weight: torch.Tensor | None = None):
    """Forward pass. Returns y, x_hat and rstd, all in the statistics dtype; ``rstd`` keeps the
    reduced axis ((M, 1) for ``dim=1`` of a (M, D) input), ``weight`` broadcasts against x."""
    x = _as(x, stats_dtype(x))
    mean_square = (x * x).sum(dim, keepdim=True).div_(x.shape[dim])  # (M, 1): no mean subtracted
    rstd = torch.rsqrt(mean_square + eps)
    x_hat = x * rstd  # root mean square 1 along `dim`
    y = x_hat if weight is None else x_hat * _as(weight, x.dtype)
    return y, x_hat, rstd


class RootMeanSquare(DirectApply):
    """``RootMeanSquare.apply(x, weight, dim, eps)`` -> (y, x_hat, rstd) with the backward above.

    x (M, D) with ``dim=1``, weight (D,) or None; or any x and ``dim``, with a weight that
    broadcasts against x (a stack of K runs (K, B, D), ``dim=2``, weight (K, 1, D)). ``x_hat``
    and ``rstd`` are returned for the backward pass and carry no gradient. Written for
    ``torch.func`` as :class:`~normreg.nn._standardize.Standardize` is: ``vmap``, ``jacrev`` and
    exact second derivatives work through it.
    """

    generate_vmap_rule = True  # vmap runs forward and backward over the extra dimension

    @staticmethod
    def forward(x, weight, dim, eps):
        y, x_hat, rstd = root_mean_square(x, dim, eps, weight)
        y = _as(y, x.dtype)
        if y is x_hat:  # no weight: the output needs a tensor of its own
            y = y.clone()
        return y, x_hat, rstd

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, dim, eps = inputs
        _y, x_hat, rstd = output
        ctx.mark_non_differentiable(x_hat, rstd)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(x, weight, x_hat, rstd)
        ctx.dim, ctx.eps = dim, eps

    @staticmethod
    def backward(ctx, grad_y, *_grad_saved):
        if grad_y is None:  # y did not reach the loss
            return None, None, None, None
        x, weight, x_hat, rstd = ctx.saved_tensors
        if torch.is_grad_enabled():
            # a derivative of this gradient is wanted: recompute x_hat and rstd from x with
            # operations autograd can differentiate once more (the saved ones are constants)
            _, x_hat, rstd = root_mean_square(x, ctx.dim, ctx.eps)
        grad_y = _as(grad_y, x_hat.dtype)
        g = grad_y if weight is None else grad_y * _as(weight, x_hat.dtype)  # dL/dx_hat
        mean_gx = (g * x_hat).sum(ctx.dim, keepdim=True).div_(x_hat.shape[ctx.dim])  # (M, 1)
        grad_x = torch.addcmul(g, x_hat, mean_gx, value=-1).mul_(rstd)  # r (g - x_hat mean)
        needs_x, needs_weight = ctx.needs_input_grad[:2]
        grad_weight = _sum_to(grad_y * x_hat, weight.shape) if needs_weight else None
        return (_as(grad_x, x.dtype) if needs_x else None,
                _as(grad_weight, weight.dtype) if needs_weight else None, None, None)


def rms_norm(input: torch.Tensor, normalized_shape: int | tuple[int],
             weight: torch.Tensor | None = None, eps: float | None = None) -> torch.Tensor:
    """Root-mean-square normalization of the last dimension, with the hand-derived backward.

    The functional twin of ``torch.nn.functional.rms_norm`` for a one-dimensional
    ``normalized_shape``. Shapes: input (*, D); weight (D,) or None; output (*, D). ``eps=None``:
    the machine epsilon of the statistics dtype (:func:`resolve_eps`).
    """
    d = _num_features(normalized_shape)
    check_tensor("input", input, floating=True)
    if input.dim() == 0 or input.shape[-1] != d:
        raise ValueError(f"input must end in the normalized dimension {d} (*, {d}), got shape "
                         f"{tuple(input.shape)}")
    eps = resolve_eps(eps, input)
    if input.dim() == 2:  # (N, D) already: no reshaping
        return RootMeanSquare.apply(input, weight, 1, eps)[0]  # each row
    rows = input.reshape(-1, d)  # (M, D): every leading index is one example
    return RootMeanSquare.apply(rows, weight, 1, eps)[0].reshape(input.shape)


def rms_norm_naive(x: torch.Tensor, weight: torch.Tensor | None,
                   eps: float | None = None) -> torch.Tensor:
    """The same formula on (N, D) left to autograd: the baseline of the hand-derived backward."""
    mean_square = x.pow(2).mean(dim=1, keepdim=True)  # (N, 1)
    y = x / torch.sqrt(mean_square + resolve_eps(eps, x))  # (N, D)
    return y if weight is None else y * weight


class RMSNorm(nn.Module):
    r"""Root-mean-square normalization of each example: a twin of ``torch.nn.RMSNorm``.

    ``y = x / sqrt(mean(x^2) + eps) * weight``, the mean taken over the last dimension, D
    features, of each example: layer norm without the centring (no mean subtracted, no
    ``bias``). The layer behaves the same in train and eval mode.

    Args:
        normalized_shape: D, as an int or a 1-tuple ``(D,)``.
        eps: added to the mean square for numerical stability, >= 0, or None for the machine
            epsilon of the statistics dtype (``torch.finfo(torch.float32).eps`` for half,
            bfloat16 and float32 input, float64's for float64), as torch. Default: None.
        elementwise_affine: learn a per-feature scale ``weight`` (init 1). Default: True.
        device, dtype: where and in which dtype to create the parameter.

    Shape:
        input (*, D), output (*, D). Half-precision input is normalized with float32
        statistics and returned in its own dtype.

    Deviations from ``torch.nn.RMSNorm``, on purpose:
        - ``normalized_shape`` has one dimension, as for :class:`~normreg.nn.LayerNorm`;
        - bad arguments and inputs raise ``ValueError`` (``TypeError`` for a non-tensor or an
          integer tensor) with a message saying what was expected, where torch raises
          ``RuntimeError`` or nothing;
        - float rounding: outputs and gradients agree with torch's to float tolerance, not bit
          for bit.

    Reference: Zhang and Sennrich, "Root Mean Square Layer Normalization", NeurIPS 2019.
    """

    def __init__(self, normalized_shape: int | tuple[int], eps: float | None = None,
                 elementwise_affine: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        d = _num_features(normalized_shape)
        self.normalized_shape = (d,)
        self.eps = None if eps is None else check_number("eps", eps, low=0.0)
        self.elementwise_affine = bool(elementwise_affine)
        weight = nn.Parameter(torch.ones(d, device=device, dtype=dtype)) \
            if self.elementwise_affine else None
        self.register_parameter("weight", weight)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            with torch.no_grad():
                self.weight.fill_(1.0)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
