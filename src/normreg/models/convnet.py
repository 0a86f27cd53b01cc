"""A small convolutional network for MNIST, with a slot for batch norm or group norm.

Three blocks of 3 x 3 convolution with stride 2, normalization and ReLU, then the mean over the
positions and a linear head::

    (N, 1, 28, 28) -> conv 1 -> C   -> (N, C, 14, 14)
                   -> conv C -> 2C  -> (N, 2C, 7, 7)
                   -> conv 2C -> 2C -> (N, 2C, 4, 4)
                   -> mean over the 4 x 4 positions -> (N, 2C) -> Linear -> (N, 10)

each convolution followed by the norm (if any) and a ReLU. Batch norm (:class:`~normreg.nn.
BatchNorm2d`) takes each channel's statistics over the batch and every position; group norm
(:class:`~normreg.nn.GroupNorm`) takes them over a group of channels and every position of one
example, so nothing depends on the other examples in the batch. Weights ~ N(0, c / fan_in), with
fan_in = input channels x 9, biases 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from normreg import settings
from normreg._checks import check_choice, check_int, check_number
from normreg.nn import BatchNorm2d, GroupNorm
from normreg.nn.init import scaled_normal_

__all__ = ["ConvNetConfig", "ConvNet", "CONV_NORMS"]

CONV_NORMS = ("batch", "group")


@dataclass
class ConvNetConfig:
    """Everything that defines the convolutional network."""

    channels: int = 16  # C: the first block's output channels (the others have 2C)
    norm: str | None = None  # None, "batch" (BatchNorm2d) or "group" (GroupNorm)
    num_groups: int = 4  # G, for group norm: must divide C
    c: float = 2.0  # weight variance scale: W ~ N(0, c / fan_in)
    out_features: int = 10  # classes

    def __post_init__(self) -> None:
        check_int("channels", self.channels, min=1)
        check_int("num_groups", self.num_groups, min=1)
        check_int("out_features", self.out_features, min=1)
        check_number("c", self.c, low=0.0, low_open=True)
        check_choice("norm", self.norm, (None, *CONV_NORMS))
        if self.norm == "group" and self.channels % self.num_groups:
            raise ValueError(f"num_groups must divide channels, got num_groups="
                             f"{self.num_groups} and channels={self.channels}")


class ConvNet(nn.Module):
    """The network of a :class:`ConvNetConfig`: ``ConvNet(config)``, ``ConvNet(norm="group")``
    or ``ConvNet(config, norm="batch")``.

    Attributes:
        blocks: ``nn.ModuleList`` of three ``nn.Sequential`` (``Conv2d`` [, norm], ``ReLU``).
        head: ``nn.Linear(2C, out_features)``.

    Shape: input (N, 784) (flattened 28 x 28 images, as :func:`normreg.load_mnist` gives them)
    or (N, 1, 28, 28); output (N, out_features).
    """

    def __init__(self, config: ConvNetConfig | None = None, *,
                 generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, **overrides) -> None:
        super().__init__()
        config = ConvNetConfig(**overrides) if config is None else replace(config, **overrides)
        self.config = config
        c = config.channels
        self.blocks = nn.ModuleList(self._block(n_in, n_out)
                                    for n_in, n_out in ((1, c), (c, 2 * c), (2 * c, 2 * c)))
        self.head = nn.Linear(2 * c, config.out_features)
        self.reset_parameters(generator)
        self.to(settings.device() if device is None else device)

    def _block(self, n_in: int, n_out: int) -> nn.Sequential:
        layers: list[nn.Module] = [nn.Conv2d(n_in, n_out, 3, stride=2, padding=1)]
        if self.config.norm == "batch":
            layers.append(BatchNorm2d(n_out))
        elif self.config.norm == "group":
            layers.append(GroupNorm(self.config.num_groups, n_out))
        return nn.Sequential(*layers, nn.ReLU())

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Weights ~ N(0, c / fan_in), biases 0; norms back to scale 1, shift 0, fresh
        statistics."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                scaled_normal_(module.weight, self.config.c, generator=generator)
                module.bias.zero_()
            elif isinstance(module, (BatchNorm2d, GroupNorm)):
                module.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2 and x.shape[1] == 784:
            x = x.reshape(-1, 1, 28, 28)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"input must have shape (N, 784) or (N, 1, 28, 28), got "
                             f"{tuple(x.shape)}")
        for block in self.blocks:
            x = block(x)  # (N, C, 14, 14), (N, 2C, 7, 7), (N, 2C, 4, 4)
        return self.head(x.mean(dim=(2, 3)))  # (N, out_features)
