r"""Folding an eval-mode batch norm into the linear layer beside it: two layers become one.

In eval mode batch norm uses its running estimates, so it is a fixed affine map per feature
(channel) j:

.. math::
    \operatorname{BN}(z)_j = \gamma_j \frac{z_j - \bar\mu_j}{\sqrt{\bar\sigma_j^2 + \epsilon}}
    + \beta_j = a_j z_j + c_j, \qquad a = \frac{\gamma}{\sqrt{\bar\sigma^2 + \epsilon}}, \quad
    c = \beta - a \bar\mu,

with :math:`\bar\mu`, :math:`\bar\sigma^2` the running estimates (``running_mean``,
``running_var``; :math:`a` and :math:`c` are chapter 10's :math:`\gamma'` and :math:`\beta'`),
and an affine map composed with a linear layer :math:`z = W h + b` is again one:

- **batch norm after the layer** (``fuse_linear_bn_eval``, ``fuse_conv_bn_eval``):
  :math:`\operatorname{BN}(Wh + b) = a \odot (Wh + b) + c`, so
  :math:`W' = \operatorname{diag}(a) W` (``a[:, None] * W``: row j of W, output j, times
  :math:`a_j`) and :math:`b' = a \odot (b - \bar\mu) + \beta`; for a convolution, each output
  channel's kernel times :math:`a_j`;
- **batch norm before the layer** (``fuse_bn_linear_eval``; the book's MLP puts batch norm
  after the ReLU, so in eval mode it folds into the *next* layer):
  :math:`W(a \odot h + c) + b = (W \operatorname{diag}(a))\, h + (W c + b)`, so
  :math:`W' = W \operatorname{diag}(a)` (``W * a``: column j, input j, times :math:`a_j`) and
  :math:`b' = W c + b`.

The fused layer computes the same function as the pair in eval mode, with one matrix product
and no normalization: what inference engines do. It is wrong in train mode, where batch norm
uses the batch's statistics; both modules must therefore be in eval mode.

``fuse_linear_bn_eval`` and ``fuse_conv_bn_eval`` mirror ``torch.nn.utils.fusion``'s (names,
signatures, results), for the book's batch norms and torch's; deviations, on purpose: bad
arguments raise ``ValueError`` / ``TypeError`` with a message saying what was expected, where
torch raises ``AssertionError`` or fails in the arithmetic. ``fuse_bn_linear_eval`` has no
torch twin.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from normreg.nn.batchnorm import _BatchNorm

__all__ = ["fuse_linear_bn_eval", "fuse_conv_bn_eval", "fuse_bn_linear_eval"]


def _check(name: str, module: object, kind: type | tuple[type, ...], what: str) -> None:
    """``module`` is a ``kind`` in eval mode."""
    if not isinstance(module, kind):
        raise TypeError(f"{name} must be {what}, got {type(module).__name__}")
    if module.training:
        raise ValueError(f"{name} must be in eval mode to be fused (call .eval()), got a module "
                         f"in training mode")


def _batch_norm_as_affine(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """(a, c) with eval-mode ``bn(z) = a * z + c`` per feature: a = gamma / sqrt(running_var +
    eps), c = beta - a * running_mean, each (C,)."""
    _check("bn", bn, (_BatchNorm, nn.modules.batchnorm._BatchNorm),
           "a batch-norm module (normreg.nn.BatchNorm1d / BatchNorm2d or torch's)")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn must keep running estimates (track_running_stats=True) to be fused, "
                         "got running_mean None")
    with torch.no_grad():
        a = torch.rsqrt(bn.running_var + bn.eps)  # (C,)
        if bn.weight is not None:
            a = bn.weight * a
        c = -a * bn.running_mean
        if bn.bias is not None:
            c = c + bn.bias
    return a, c


def _parameter(value: torch.Tensor, like: torch.Tensor) -> nn.Parameter:
    """A new parameter in the dtype of ``like``, the one it replaces (and as trainable)."""
    return nn.Parameter(value.to(like.dtype).contiguous(), like.requires_grad)


def _check_features(name: str, features: int, bn: nn.Module) -> None:
    if features != bn.num_features and bn.num_features != 1:  # 1 broadcasts, as in torch
        raise ValueError(f"{name} must equal bn.num_features ({bn.num_features}), got "
                         f"{features}")


def fuse_linear_bn_eval(linear: nn.Linear, bn: nn.Module) -> nn.Linear:
    """A new ``nn.Linear`` equal to ``bn(linear(x))`` in eval mode: W' = a[:, None] * W,
    b' = a * (b - running_mean) + beta with a = gamma / sqrt(running_var + eps).

    Args:
        linear: an ``nn.Linear`` (D_in -> C) in eval mode.
        bn: a batch norm over C features in eval mode, with running estimates.
    """
    _check("linear", linear, nn.Linear, "a torch.nn.Linear")
    a, c = _batch_norm_as_affine(bn)
    _check_features("linear.out_features", linear.out_features, bn)
    fused = copy.deepcopy(linear)
    with torch.no_grad():
        weight = linear.weight * a.unsqueeze(1)  # (C, D_in): output j's row times a_j
        bias = c if linear.bias is None else a * linear.bias + c  # a (b - mean) + beta
    fused.weight = _parameter(weight, linear.weight)
    fused.bias = _parameter(bias.expand(linear.out_features),
                            linear.weight if linear.bias is None else linear.bias)
    return fused


def fuse_conv_bn_eval(conv: nn.modules.conv._ConvNd, bn: nn.Module,
                      transpose: bool = False) -> nn.modules.conv._ConvNd:
    """A new convolution equal to ``bn(conv(x))`` in eval mode: each output channel's kernel
    times a_j = gamma_j / sqrt(running_var_j + eps), bias a * (b - running_mean) + beta.

    Args:
        conv: a convolution (``nn.Conv2d``, ...) with C output channels, in eval mode.
        bn: a batch norm over C channels (``BatchNorm2d`` after a ``Conv2d``) in eval mode.
        transpose: the convolution is transposed (``nn.ConvTranspose2d``, ...), whose kernel
            keeps the output channels in its second dimension. Default: False.
    """
    _check("conv", conv, nn.modules.conv._ConvNd, "a torch convolution (nn.Conv2d, ...)")
    a, c = _batch_norm_as_affine(bn)
    _check_features("conv.out_channels", conv.out_channels, bn)
    kernel = conv.weight  # (C_out, C_in / groups, *k); transposed: (C_in, C_out / groups, *k)
    per_channel = [1, -1] if transpose else [-1, 1]
    fused = copy.deepcopy(conv)
    with torch.no_grad():
        weight = kernel * a.reshape(per_channel + [1] * (kernel.dim() - 2))
        bias = c if conv.bias is None else a * conv.bias + c
    fused.weight = _parameter(weight, kernel)
    fused.bias = _parameter(bias.expand(conv.out_channels),
                           kernel if conv.bias is None else conv.bias)
    return fused


def fuse_bn_linear_eval(bn: nn.Module, linear: nn.Linear) -> nn.Linear:
    """A new ``nn.Linear`` equal to ``linear(bn(h))`` in eval mode, for h (N, C): batch norm
    *followed by* the layer, as in the book's MLP (batch norm after the ReLU, then the next
    block's linear layer). W' = W * a (column j times a_j), b' = W c + b, with a = gamma /
    sqrt(running_var + eps) and c = beta - a * running_mean.

    Args:
        bn: a batch norm over C features in eval mode, with running estimates (on (N, C) input).
        linear: an ``nn.Linear`` (C -> D_out) in eval mode.
    """
    a, c = _batch_norm_as_affine(bn)
    _check("linear", linear, nn.Linear, "a torch.nn.Linear")
    _check_features("linear.in_features", linear.in_features, bn)
    fused = copy.deepcopy(linear)
    with torch.no_grad():
        weight = linear.weight * a  # (D_out, C): input j's column times a_j
        bias = linear.weight @ c.expand(linear.in_features).to(linear.weight.dtype)  # W c
        if linear.bias is not None:
            bias = bias + linear.bias
    fused.weight = _parameter(weight, linear.weight)
    fused.bias = _parameter(bias, linear.weight if linear.bias is None else linear.bias)
    return fused
