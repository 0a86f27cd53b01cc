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

Chapter 2 of the book derives it; :mod:`normreg.nn._standardize` holds the computation, which
batch norm shares.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_int, check_number, check_tensor
from normreg.nn._standardize import Standardize, register_affine, reset_affine

__all__ = ["LayerNorm", "layer_norm", "layer_norm_naive"]


def _num_features(normalized_shape: object) -> int:
    """D from torch's ``normalized_shape``: an int, or a tuple / list / Size of one int."""
    if isinstance(normalized_shape, (tuple, list, torch.Size)) and len(normalized_shape) == 1:
        normalized_shape = normalized_shape[0]
    if not isinstance(normalized_shape, int) or isinstance(normalized_shape, bool):
        raise ValueError(f"normalized_shape must be an int D or a 1-tuple (D,) (this layer "
                         f"normalizes the last dimension only), got {normalized_shape!r}")
    return check_int("normalized_shape", normalized_shape, min=1)


def layer_norm(input: torch.Tensor, normalized_shape: int | tuple[int], weight: torch.Tensor |
               None = None, bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Layer normalization of the last dimension, with the hand-derived backward.

    The functional twin of ``torch.nn.functional.layer_norm`` for a one-dimensional
    ``normalized_shape``. Shapes: input (*, D); weight and bias (D,) or None; output (*, D).
    """
    d = _num_features(normalized_shape)
    check_tensor("input", input, floating=True)
    if input.dim() == 0 or input.shape[-1] != d:
        raise ValueError(f"input must end in the normalized dimension {d} (*, {d}), got shape "
                         f"{tuple(input.shape)}")
    if input.dim() == 2:  # (N, D) already: no reshaping (two fewer steps for autograd)
        return Standardize.apply(input, weight, bias, 1, eps)[0]  # each row
    rows = input.reshape(-1, d)  # (M, D): every leading index is one example
    y = Standardize.apply(rows, weight, bias, 1, eps)[0]  # each row
    return y.reshape(input.shape)


def layer_norm_naive(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                     eps: float = 1e-5) -> torch.Tensor:
    """The same formula on (N, D) left to autograd: the baseline of the hand-derived backward."""
    mean = x.mean(dim=1, keepdim=True)  # (N, 1)
    var = (x - mean).pow(2).mean(dim=1, keepdim=True)  # (N, 1)
    y = (x - mean) / torch.sqrt(var + eps)  # (N, D)
    return y if weight is None else y * weight + bias


class LayerNorm(nn.Module):
    r"""Layer normalization over the features of each example: a twin of ``torch.nn.LayerNorm``.

    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias``, the mean and the (biased)
    variance taken over the last dimension, D features, of each example. The layer behaves the
    same in train and eval mode: it keeps no running statistics.

    Args:
        normalized_shape: D, as an int or a 1-tuple ``(D,)``.
        eps: added to the variance for numerical stability, >= 0. Default: 1e-5.
        elementwise_affine: learn a per-feature scale ``weight`` (init 1) and shift ``bias``
            (init 0). Default: True.
        bias: with ``elementwise_affine``, also learn the shift. Default: True.
        device, dtype: where and in which dtype to create the parameters.

    Shape:
        input (*, D), output (*, D). Half-precision input is normalized with float32
        statistics and returned in its own dtype.

    Deviations from ``torch.nn.LayerNorm``, on purpose:
        - ``normalized_shape`` has one dimension: the book normalizes vectors of features
          (torch also normalizes over several trailing dimensions);
        - bad arguments and inputs raise ``ValueError`` (``TypeError`` for a non-tensor or an
          integer tensor) with a message saying what was expected, where torch raises
          ``RuntimeError`` or nothing;
        - float rounding: outputs and gradients agree with torch's to float tolerance, not bit
          for bit.

    Reference: Ba, Kiros and Hinton, "Layer Normalization", arXiv:1607.06450, 2016.
    """

    def __init__(self, normalized_shape: int | tuple[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        d = _num_features(normalized_shape)
        self.normalized_shape = (d,)
        self.eps = check_number("eps", eps, low=0.0)
        self.elementwise_affine = bool(elementwise_affine)
        register_affine(self, d, self.elementwise_affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")
