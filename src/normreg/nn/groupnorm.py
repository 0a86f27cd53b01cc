r"""Group normalization: each example's channels standardized in groups, by hand.

The input (N, C, *) has C channels, split into G groups of C / G consecutive channels. For
each example n and group k, over the group's C / G channels and every position of ``*``,

.. math::
    \mu_{nk} = \operatorname{mean}(x_{nk}), \qquad \sigma_{nk}^2 = \operatorname{mean}
    \left((x_{nk} - \mu_{nk})^2\right), \qquad \hat x = \frac{x - \mu_{nk}}
    {\sqrt{\sigma_{nk}^2 + \epsilon}}, \qquad y_{nc} = \gamma_c \hat x_{nc} + \beta_c,

with a scale and shift per *channel*. The statistics are per example, as layer norm's: with
G = 1 group norm is layer norm over (C, *), with G = C it is instance norm (each channel of each
example alone); nothing depends on the batch, and train and eval mode agree.

Viewed as (N, G, C / G * prod(*)), the standardization is layer norm's along the last axis:
:class:`~normreg.nn._standardize.Standardize` along ``dim=2``, whose hand-derived backward is
reused here; the per-channel affine map is applied after the view is undone.

Reference: Wu and He, "Group Normalization", ECCV 2018.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_int, check_number, check_tensor
from normreg.nn._standardize import Standardize, register_affine, reset_affine, stats_dtype

__all__ = ["GroupNorm", "group_norm", "group_norm_naive"]


def _check_affine(name: str, t: torch.Tensor | None, c: int) -> None:
    if t is not None and tuple(t.shape) != (c,):
        raise ValueError(f"{name} must have shape ({c},), one value per channel, got "
                         f"{tuple(t.shape)}")


def group_norm(input: torch.Tensor, num_groups: int, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Group normalization, the functional twin of ``torch.nn.functional.group_norm``, with the
    hand-derived backward of the standardization.

    Shapes: input (N, C, *) with C divisible by ``num_groups``; weight and bias (C,) or None;
    output (N, C, *). Half-precision input is normalized with float32 statistics.
    """
    check_tensor("input", input, floating=True)
    if input.dim() < 2:
        raise ValueError(f"input must be a tensor of shape (N, C, *), at least 2D, got a "
                         f"{input.dim()}D tensor of shape {tuple(input.shape)}")
    n, c = input.shape[:2]
    if c % num_groups:
        raise ValueError(f"input's channels (dimension 1) must be divisible by num_groups "
                         f"({num_groups}), got shape {tuple(input.shape)}")
    _check_affine("weight", weight, c)
    _check_affine("bias", bias, c)
    x = input.to(stats_dtype(input))  # float32 statistics and affine map for half input
    groups = x.reshape(n, num_groups, -1)  # (N, G, C/G * prod(*)): one row per group
    y = Standardize.apply(groups, None, None, 2, eps)[0].reshape(x.shape)  # (N, C, *)
    per_channel = (c,) + (1,) * (input.dim() - 2)  # (C, 1, ..., 1): broadcasts over (N, C, *)
    if weight is not None and bias is not None:
        y = torch.addcmul(bias.to(y.dtype).view(per_channel), y,
                          weight.to(y.dtype).view(per_channel))
    elif weight is not None:
        y = y * weight.to(y.dtype).view(per_channel)
    elif bias is not None:
        y = y + bias.to(y.dtype).view(per_channel)
    return y.to(input.dtype)


def group_norm_naive(x: torch.Tensor, num_groups: int, weight: torch.Tensor | None,
                     bias: torch.Tensor | None, eps: float = 1e-5) -> torch.Tensor:
    """The same formula on (N, C, *) left to autograd: the baseline of the hand-derived one."""
    groups = x.reshape(x.shape[0], num_groups, -1)  # (N, G, C/G * prod(*))
    mean = groups.mean(dim=2, keepdim=True)  # (N, G, 1)
    var = (groups - mean).pow(2).mean(dim=2, keepdim=True)  # (N, G, 1)
    y = ((groups - mean) / torch.sqrt(var + eps)).reshape(x.shape)  # (N, C, *)
    per_channel = (-1,) + (1,) * (x.dim() - 2)
    return y if weight is None else y * weight.view(per_channel) + bias.view(per_channel)


class GroupNorm(nn.Module):
    r"""Group normalization: a twin of ``torch.nn.GroupNorm``.

    ``y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias``, the mean and the (biased) variance
    taken per example over each group of C / G channels and all their positions; ``weight`` and
    ``bias`` are per channel. G = 1 is layer norm over (C, *), G = C instance norm. The layer
    behaves the same in train and eval mode: it keeps no running statistics.

    Args:
        num_groups: G, >= 1, dividing ``num_channels``.
        num_channels: C, >= 1.
        eps: added to the variance for numerical stability, >= 0. Default: 1e-5.
        affine: learn a per-channel scale ``weight`` (init 1) and shift ``bias`` (init 0).
            Default: True.
        device, dtype: where and in which dtype to create the parameters.
        bias: (keyword-only) with ``affine``, also learn the shift. Default: True.

    Shape:
        input (N, C, *), output the same. Half-precision input is normalized with float32
        statistics and returned in its own dtype.

    Deviations from ``torch.nn.GroupNorm``, on purpose:
        - bad arguments and inputs raise ``ValueError`` (``TypeError`` for a non-tensor or an
          integer tensor) with a message saying what was expected, where torch raises
          ``RuntimeError``;
        - a group of one value (N = 1, G = C, no positions) is normalized to 0 (plus the bias),
          where torch refuses it;
        - float rounding: outputs and gradients agree with torch's to float tolerance, not bit
          for bit.

    Reference: Wu and He, "Group Normalization", ECCV 2018.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_groups = check_int("num_groups", num_groups, min=1)
        self.num_channels = check_int("num_channels", num_channels, min=1)
        if num_channels % num_groups:
            raise ValueError(f"num_channels must be divisible by num_groups ({num_groups}), "
                             f"got {num_channels}")
        self.eps = check_number("eps", eps, low=0.0)
        self.affine = bool(affine)
        register_affine(self, num_channels, self.affine, bias, device, dtype)

    def reset_parameters(self) -> None:
        reset_affine(self)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_tensor("input", input, floating=True)
        if input.dim() < 2 or input.shape[1] != self.num_channels:
            c = self.num_channels
            raise ValueError(f"input must have {c} channels in dimension 1, (N, {c}, *), got "
                             f"shape {tuple(input.shape)}")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
