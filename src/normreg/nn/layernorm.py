r"""Layer normalization, from the formula, with the backward pass derived by hand.

For each example (a row x of the (N, D) input),

.. math::
    \mu = \frac1D \sum_j x_j, \qquad \sigma^2 = \frac1D \sum_j (x_j - \mu)^2, \qquad
    \hat x = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y = \gamma \odot \hat x + \beta.

Backward, with :math:`r = (\sigma^2 + \epsilon)^{-1/2}` and :math:`g = \gamma \odot
\partial L / \partial y` for one row (means over the row's D features):

.. math::
    \frac{\partial L}{\partial x} = r \left(g - \operatorname{mean}(g) - \hat x \,
    \operatorname{mean}(g \odot \hat x)\right), \quad
    \frac{\partial L}{\partial \gamma} = \sum_{\text{rows}} \frac{\partial L}{\partial y} \odot
    \hat x, \quad \frac{\partial L}{\partial \beta} = \sum_{\text{rows}}
    \frac{\partial L}{\partial y}.

Chapter 2 of the book derives it.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg.nn._checks import check_dim, check_eps, check_input
from normreg.nn._standardize import (
    register_affine,
    reset_affine,
    standardize,
    standardize_backward,
)

__all__ = ["LayerNorm1d", "layer_norm", "layer_norm_naive"]


class _LayerNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        y, x_hat, rstd, _, _ = standardize(x, 1, eps, weight, bias)  # each row: x_hat (N, D)
        ctx.save_for_backward(x_hat, rstd, weight)
        ctx.input_dtype = x.dtype
        return y.to(x.dtype)

    @staticmethod
    def backward(ctx, grad_y):
        x_hat, rstd, weight = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = standardize_backward(grad_y, x_hat, rstd, weight, 1)
        return grad_x.to(ctx.input_dtype), grad_weight, grad_bias, None


def layer_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
               eps: float = 1e-5) -> torch.Tensor:
    """Functional layer normalization of the rows of a (N, D) tensor, hand-derived backward."""
    return _LayerNormFunction.apply(x, weight, bias, eps)


def layer_norm_naive(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                     eps: float = 1e-5) -> torch.Tensor:
    """The same formula left to autograd: the baseline the hand-derived backward must beat."""
    mean = x.mean(dim=1, keepdim=True)  # (N, 1)
    var = (x - mean).pow(2).mean(dim=1, keepdim=True)  # (N, 1)
    y = (x - mean) / torch.sqrt(var + eps)  # (N, D)
    return y if weight is None else y * weight + bias


class LayerNorm1d(nn.Module):
    r"""Layer normalization over the features of each example: a twin of ``torch.nn.LayerNorm``.

    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias``, the mean and the (biased)
    variance taken over the ``dim`` features of each row. The layer behaves the same in train
    and eval mode: it keeps no running statistics.

    Args:
        dim: number of features D, >= 1.
        eps: added to the variance for numerical stability, > 0. Default: 1e-5.
        affine: learn a per-feature scale ``weight`` (init 1) and shift ``bias`` (init 0).
            Default: True. (``torch.nn.LayerNorm`` calls it ``elementwise_affine``.)

    Shape:
        input (N, D), output (N, D). Half-precision input is normalized with float32
        statistics and returned in its own dtype.

    Reference: Ba, Kiros and Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
    """

    def __init__(self, dim: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.dim = check_dim(dim)
        self.eps = check_eps(eps)
        register_affine(self, dim, affine)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.dim, "LayerNorm1d")
        return layer_norm(x, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, affine={self.affine}"
