r"""Batch normalization followed by deliberate, non-stationary "covariate shift".

Santurkar et al. (NeurIPS 2018, "How Does Batch Normalization Help Optimization?", section 2.1)
test the claim that batch normalization works by removing internal covariate shift: they inject
noise right after each batch-norm layer that shifts and scales every activation's distribution,
with a shift and scale that change at every training step. In train mode this layer computes

.. math::
    y = \operatorname{BN}(x) \odot s + m, \qquad m_j \sim U(-a, a), \quad s_j \sim U(1, b),

with one :math:`(m_j, s_j)` per feature drawn afresh at each forward pass (each step), so the
distribution the next layer sees moves all the time. In eval mode it is plain batch
normalization. If batch norm helped by keeping the next layer's input distribution steady, this
layer should lose the benefit; chapter 7 measures that it does not.
"""

from __future__ import annotations

import torch

from normreg.nn.batchnorm import BatchNorm1d

__all__ = ["NoisyBatchNorm1d"]


class NoisyBatchNorm1d(BatchNorm1d):
    """:class:`BatchNorm1d` with a random per-feature shift and scale added in train mode.

    Args:
        num_features: D, as for :class:`BatchNorm1d`.
        shift: a, the half-width of the uniform shift distribution. Default: 0.5.
        scale: b, the upper end of the uniform scale distribution U(1, b). Default: 2.0.
        **kwargs: passed to :class:`BatchNorm1d` (eps, momentum, affine, ...).

    Shape: (N, D) -> (N, D).
    """

    def __init__(self, num_features: int, shift: float = 0.5, scale: float = 2.0,
                 **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        if not (isinstance(shift, (int, float)) and shift >= 0):
            raise ValueError(f"shift must be a number >= 0, got {shift!r}")
        if not (isinstance(scale, (int, float)) and scale >= 1):
            raise ValueError(f"scale must be a number >= 1, got {scale!r}")
        self.shift, self.scale = float(shift), float(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x)
        if not self.training:
            return y
        d = y.shape[1]
        m = (torch.rand(d, device=y.device) * 2 - 1) * self.shift
        s = 1 + torch.rand(d, device=y.device) * (self.scale - 1)
        return y * s.to(y.dtype) + m.to(y.dtype)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, shift={self.shift}, scale={self.scale}"
