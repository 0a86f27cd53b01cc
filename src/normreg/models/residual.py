r"""A deep residual MLP: every block adds its output to its input, with the norm before or after.

A linear stem, ``depth`` residual blocks of one width n, and a linear head::

    z_1 = W_0 x + b_0                                     (the stem: no activation)
    z_{i+1} = z_i + W_i σ(z_i) + b_i                      no norm
    z_{i+1} = z_i + W_i σ(N_i(z_i)) + b_i                 norm_position="pre"  (pre-norm)
    z_{i+1} = N_i(z_i + W_i σ(z_i) + b_i)                 norm_position="post" (post-norm)
    logits = head(z_{depth+1})

The identity path z_i -> z_{i+1} is what makes the network residual (He et al., 2016): the
Jacobian of a block is I plus the branch's, so a gradient reaches the first layers without being
multiplied by 50 matrices of norm about 1. Pre-norm places the norm at the start of the branch,
as He et al.'s "identity mappings" ResNet (batch norm, ReLU, weight) and today's transformers do
(Xiong et al., 2020); post-norm normalizes the sum, as the original transformer did.

At initialization (W ~ N(0, c / n), biases 0, a symmetric z_i, ReLU) the squared norms obey

- no norm: E||z_{i+1}||^2 = (1 + c/2) E||z_i||^2, growth by sqrt(1 + c/2) per block for *every*
  c > 0: the residual path moves chapter 1's critical c = 2 to c = 0;
- pre-norm: E||z_{i+1}||^2 = E||z_i||^2 + c n / 2, since the branch sees a normalized input
  (||N(z)||^2 = n): linear growth in depth, whatever the scale of z_i;
- post-norm: ||z_{i+1}||^2 = n after every block, as in chapter 2.

Chapter 9 of the book measures all three.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from normreg import settings
from normreg._checks import check_choice, check_int, check_number
from normreg.models.mlp import ACTIVATIONS, linear_layers
from normreg.nn import BatchNorm1d, LayerNorm, RMSNorm
from normreg.nn.init import scaled_normal_

__all__ = ["ResidualMLPConfig", "ResidualMLP", "ResidualBlock", "RESIDUAL_NORMS",
           "RESIDUAL_NORM_POSITIONS"]

# name -> class called with the width: the norms a residual block can hold
RESIDUAL_NORMS: dict[str, type[nn.Module]] = {"layer": LayerNorm, "rms": RMSNorm,
                                              "batch": BatchNorm1d}

RESIDUAL_NORM_POSITIONS = ("pre", "post")


@dataclass
class ResidualMLPConfig:
    """Everything that defines the residual network; a notebook prints it to show the experiment."""

    in_features: int = 784  # input dimension (MNIST: 28 * 28 pixels)
    width: int = 100  # n, the width of the stem's output and of every block
    depth: int = 50  # number of residual blocks, >= 1
    out_features: int = 10  # classes
    c: float = 2.0  # weight variance scale of every linear layer: W ~ N(0, c / fan_in)
    activation: str = "relu"  # a key of normreg.models.ACTIVATIONS
    norm: str | None = None  # None, or a key of RESIDUAL_NORMS ("layer", "rms", "batch")
    norm_position: str = "pre"  # "pre": start of the branch; "post": after the addition

    def __post_init__(self) -> None:
        for name in ("in_features", "width", "depth", "out_features"):
            check_int(name, getattr(self, name), min=1)
        check_number("c", self.c, low=0.0, low_open=True)
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        check_choice("norm", self.norm, (None, *RESIDUAL_NORMS))
        check_choice("norm_position", self.norm_position, RESIDUAL_NORM_POSITIONS)


class ResidualBlock(nn.Module):
    """One block, z -> z + W σ(N(z)) + b (pre-norm), N(z + W σ(z) + b) (post-norm) or
    z + W σ(z) + b (no norm). Shape: (N, width) -> (N, width).

    Attributes: ``linear`` (the branch's ``nn.Linear``), ``activation``, ``norm`` (or None),
    ``position`` ("pre" or "post").
    """

    def __init__(self, width: int, activation: str, norm: str | None, position: str) -> None:
        super().__init__()
        self.norm = None if norm is None else RESIDUAL_NORMS[norm](width)
        self.activation = ACTIVATIONS[activation]()
        self.linear = nn.Linear(width, width)
        self.position = position

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.norm is None:
            return z + self.linear(self.activation(z))
        if self.position == "pre":
            return z + self.linear(self.activation(self.norm(z)))
        return self.norm(z + self.linear(self.activation(z)))

    def extra_repr(self) -> str:
        return f"position={self.position!r}" if self.norm is not None else ""


class ResidualMLP(nn.Module):
    """The residual MLP of a :class:`ResidualMLPConfig`: ``ResidualMLP(config)``,
    ``ResidualMLP(depth=..., norm=...)`` or ``ResidualMLP(config, c=0.04)``, as
    :class:`~normreg.models.MLP`.

    Attributes:
        stem: ``nn.Linear(in_features, width)``, z_1 = W_0 x + b_0.
        blocks: ``nn.ModuleList`` of ``depth`` :class:`ResidualBlock`; block i's output is
            z_{i+1} (so :func:`normreg.probes.diagnostics.layer_stats` measures the residual
            stream).
        head: ``nn.Linear(width, out_features)``, the logits.

    Shape: input (N, in_features), output (N, out_features). Parameters drawn on the CPU (from
    ``generator`` or torch's global stream), then moved to ``device``, as for the MLP.

    References: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR
    2016, and "Identity Mappings in Deep Residual Networks", ECCV 2016; Xiong et al., "On Layer
    Normalization in the Transformer Architecture", ICML 2020.
    """

    def __init__(self, config: ResidualMLPConfig | None = None, *,
                 generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, **overrides) -> None:
        super().__init__()
        config = ResidualMLPConfig(**overrides) if config is None else replace(config,
                                                                                **overrides)
        self.config = config
        self.stem = nn.Linear(config.in_features, config.width)
        self.blocks = nn.ModuleList(
            ResidualBlock(config.width, config.activation, config.norm, config.norm_position)
            for _ in range(config.depth))
        self.head = nn.Linear(config.width, config.out_features)
        self.reset_parameters(generator)
        self.to(settings.device() if device is None else device)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Every weight ~ N(0, c / fan_in), biases 0; norms back to scale 1 and shift 0."""
        for linear in linear_layers(self):
            scaled_normal_(linear.weight, self.config.c, generator=generator)
            linear.bias.zero_()
        for block in self.blocks:
            if block.norm is not None:
                block.norm.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.config.in_features:
            raise ValueError(f"input must have shape (N, {self.config.in_features}), got "
                             f"{tuple(x.shape)}")
        z = self.stem(x)  # z_1, (N, width)
        for block in self.blocks:
            z = block(z)  # z_{i+1}
        return self.head(z)
