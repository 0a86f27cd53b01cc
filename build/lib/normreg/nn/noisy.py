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

A measurement that compares several forward passes *at one training step* (the gradient before
and after an update, the loss along a step) must see one draw of the noise, not a new one per
pass: :func:`hold_noise` draws it once and holds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from normreg._checks import check_number
from normreg.nn.batchnorm import BatchNorm1d

__all__ = ["NoisyBatchNorm1d", "hold_noise"]


class NoisyBatchNorm1d(BatchNorm1d):
    """:class:`BatchNorm1d` with a random per-feature scale and shift applied in train mode.

    Args:
        num_features: C, as for :class:`BatchNorm1d`.
        shift: a, the half-width of the uniform shift distribution, >= 0. Default: 0.5.
        scale: b, the upper end of the uniform scale distribution U(1, b), >= 1. Default: 2.0.
        **kwargs: passed to :class:`BatchNorm1d` (eps, momentum, affine, ...).

    The current draw lives in the buffers ``noise_scale`` and ``noise_shift`` (C,), which are
    not saved in the state dict, so that it equals a plain :class:`BatchNorm1d`'s. With
    ``resample`` True (the default) every forward pass in train mode draws new noise (on the
    CPU, from torch's global generator, then moved to the layer's device); with False it keeps
    the current draw (:func:`hold_noise`).

    Shape: (N, C) or (N, C, L), as :class:`BatchNorm1d`.
    """

    def __init__(self, num_features: int, shift: float = 0.5, scale: float = 2.0,
                 **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        self.shift = check_number("shift", shift, low=0.0)
        self.scale = check_number("scale", scale, low=1.0)
        self.resample = True
        device = self.running_mean.device if self.running_mean is not None else None
        self.register_buffer("noise_scale", torch.ones(num_features, device=device),
                             persistent=False)
        self.register_buffer("noise_shift", torch.zeros(num_features, device=device),
                             persistent=False)

    @torch.no_grad()
    def draw_noise(self) -> None:
        """Draw a new scale s ~ U(1, b) and shift m ~ U(-a, a) for every feature."""
        d = self.num_features
        self.noise_shift.copy_((torch.rand(d) * 2 - 1) * self.shift)
        self.noise_scale.copy_(1 + torch.rand(d) * (self.scale - 1))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        y = super().forward(input)
        if not self.training:
            return y
        if self.resample:
            self.draw_noise()
        per_feature = (-1,) + (1,) * (y.dim() - 2)  # (C,), or (C, 1) for (N, C, L) input
        scale = self.noise_scale.view(per_feature).to(y.dtype)
        return y * scale + self.noise_shift.view(per_feature).to(y.dtype)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, shift={self.shift}, scale={self.scale}"


@contextmanager
def hold_noise(model: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every :class:`NoisyBatchNorm1d` of ``model`` uses one new draw.

    On entry each such layer draws its noise once; every forward pass inside the block then
    uses that draw, as the passes of one training step would. On exit the layers go back to
    what they did before. A model without noisy layers is left as it is.
    """
    layers = [m for m in model.modules() if isinstance(m, NoisyBatchNorm1d)]
    before = [layer.resample for layer in layers]
    for layer in layers:
        layer.draw_noise()
        layer.resample = False
    try:
        yield model
    finally:
        for layer, resample in zip(layers, before, strict=True):
            layer.resample = resample
