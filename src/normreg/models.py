"""The multilayer perceptron every chapter trains, with slots for normalization and dropout.

A network of ``depth`` hidden blocks and a linear head::

    z_0 = x
    z_i = block_i(z_{i-1}),   block_i = Linear -> activation [-> norm] [-> dropout]
    logits = head(z_depth)

The lecture places the normalization after the nonlinearity,
``z_{i+1} = norm(sigma(W_i z_i + b_i))``; ``norm_position="before"`` moves it between the
linear map and the nonlinearity instead. Weights are drawn from N(0, c / n)
(:func:`normreg.init.scaled_normal_`) and biases start at zero, so that at initialization a
layer is exactly the linear map whose statistics chapter 1 derives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
from torch import nn

from normreg.device import default_device
from normreg.init import scaled_normal_
from normreg.nn import BatchNorm1d, Dropout, LayerNorm1d, NoisyBatchNorm1d

__all__ = ["MLPConfig", "MLP", "ACTIVATIONS", "NORMS", "NORM_POSITIONS"]

# name -> class; each is called with no arguments.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}

# name -> factory called with the number of features: the book's from-scratch layers
# (chapters 2 and 3), drop-in twins of torch.nn.LayerNorm and torch.nn.BatchNorm1d, and batch
# norm followed by Santurkar et al.'s injected noise (chapter 7).
NORMS: dict[str, type[nn.Module]] = {
    "layer": LayerNorm1d, "batch": BatchNorm1d, "noisy_batch": NoisyBatchNorm1d,
}

NORM_POSITIONS = ("after", "before")


@dataclass
class MLPConfig:
    """Everything that defines the network; a notebook prints it to show the experiment."""

    in_features: int = 784  # input dimension (MNIST: 28 * 28 pixels)
    width: int = 100  # units per hidden layer
    depth: int = 50  # number of hidden layers (blocks), >= 1
    out_features: int = 10  # classes
    c: float = 2.0  # weight variance scale: W ~ N(0, c / fan_in); 2 keeps ReLU activations steady
    activation: str = "relu"  # a key of ACTIVATIONS
    norm: str | None = None  # None, or a key of NORMS ("layer", "batch", "noisy_batch")
    norm_position: str = "after"  # "after" the nonlinearity (as in the lecture) or "before" it
    dropout: float = 0.0  # drop probability p at the end of each block; 0 means no dropout layer

    def __post_init__(self) -> None:
        for name in ("in_features", "width", "depth", "out_features"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not (isinstance(self.c, (int, float)) and math.isfinite(self.c) and self.c > 0):
            raise ValueError(f"c must be a positive finite number, got {self.c!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        if self.norm is not None and self.norm not in NORMS:
            raise ValueError(f"norm must be None or one of {sorted(NORMS)}, got {self.norm!r}")
        if self.norm_position not in NORM_POSITIONS:
            raise ValueError(
                f"norm_position must be one of {NORM_POSITIONS}, got {self.norm_position!r}"
            )
        if not (isinstance(self.dropout, (int, float)) and 0.0 <= self.dropout < 1.0):
            raise ValueError(f"dropout must be a probability in [0, 1), got {self.dropout!r}")


class MLP(nn.Module):
    """A fully connected network built from an :class:`MLPConfig`.

    Attributes:
        blocks: ``nn.ModuleList`` of ``depth`` hidden blocks (each an ``nn.Sequential`` whose
            first module is the ``nn.Linear``); block i's output is the activation z_i.
        head: the final ``nn.Linear(width, out_features)``, producing logits.

    Shape: input (N, in_features), output (N, out_features).

    The parameters are drawn on the CPU (from ``generator``, or torch's global random stream),
    so that they are the same on every device, and then moved to ``device`` (default:
    :func:`~normreg.device.default_device`, the CPU unless ``NORMREG_DEVICE`` says otherwise).
    """

    def __init__(self, config: MLPConfig | None = None, *,
                 generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, **overrides) -> None:
        super().__init__()
        if config is None:
            config = MLPConfig(**overrides)
        elif overrides:
            config = MLPConfig(**{**config.__dict__, **overrides})
        self.config = config
        widths = [config.in_features] + [config.width] * config.depth
        self.blocks = nn.ModuleList(self._block(n_in, n_out) for n_in, n_out in pairwise(widths))
        self.head = nn.Linear(config.width, config.out_features)
        self.reset_parameters(generator)  # on the CPU: the same initial weights on every device
        self.to(default_device() if device is None else device)

    def _block(self, n_in: int, n_out: int) -> nn.Sequential:
        cfg = self.config
        layers: list[nn.Module] = [nn.Linear(n_in, n_out), ACTIVATIONS[cfg.activation]()]
        if cfg.norm is not None:
            position = 2 if cfg.norm_position == "after" else 1
            layers.insert(position, NORMS[cfg.norm](n_out))
        if cfg.dropout > 0:
            layers.append(Dropout(cfg.dropout))
        return nn.Sequential(*layers)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Weights ~ N(0, c / fan_in), biases 0; normalization layers get their own reset."""
        for linear in self.linears():
            scaled_normal_(linear.weight, self.config.c, generator=generator)
            linear.bias.zero_()
        for module in self.modules():
            if module is not self and not isinstance(module, nn.Linear) and hasattr(
                    module, "reset_parameters"):
                module.reset_parameters()

    def linears(self) -> list[nn.Linear]:
        """The linear layers in order: one per hidden block, then the head."""
        return [block[0] for block in self.blocks] + [self.head]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.config.in_features:
            raise ValueError(
                f"expected input of shape (N, {self.config.in_features}), got "
                f"{tuple(x.shape)}"
            )
        for block in self.blocks:
            x = block(x)  # (N, width)
        return self.head(x)  # (N, out_features)
