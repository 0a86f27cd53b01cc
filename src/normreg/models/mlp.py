"""The multilayer perceptron every chapter trains, with slots for normalization and dropout.

A network of ``depth`` hidden blocks and a linear head::

    z_1 = x
    z_{i+1} = block_i(z_i),   block_i = Linear -> activation [-> norm] [-> dropout]
    logits = head(z_{depth+1})

(the book's notation: layer i maps z_i to z_{i+1}, and there are L = depth + 1 linear layers).
The lecture places the normalization after the nonlinearity,
``z_{i+1} = norm(sigma(W_i z_i + b_i))``; ``norm_position="before"`` moves it between the
linear map and the nonlinearity instead. Weights are drawn from N(0, c / n)
(:func:`normreg.nn.init.scaled_normal_`) and biases start at zero, so that at initialization a
layer is exactly the linear map whose statistics chapter 1 derives.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from itertools import pairwise

import torch
from torch import nn

from normreg import settings
from normreg._checks import check_choice, check_int, check_number
from normreg.nn import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    GroupNorm,
    LayerNorm,
    NoisyBatchNorm1d,
    RMSNorm,
)
from normreg.nn.init import scaled_normal_

__all__ = ["MLPConfig", "MLP", "linear_layers", "with_torch_layers", "ACTIVATIONS", "NORMS",
           "NORM_POSITIONS"]

# name -> class; each is called with no arguments.
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}

# name -> class called with the number of features: the book's from-scratch layers (chapters 2
# and 3), drop-in twins of torch.nn.LayerNorm and torch.nn.BatchNorm1d, batch norm followed by
# Santurkar et al.'s injected noise (chapter 7), and RMS norm, the twin of torch.nn.RMSNorm
# (layer norm without the centring).
NORMS: dict[str, type[nn.Module]] = {
    "layer": LayerNorm, "batch": BatchNorm1d, "noisy_batch": NoisyBatchNorm1d, "rms": RMSNorm,
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
    norm: str | None = None  # None, or a key of NORMS ("layer", "batch", "noisy_batch", "rms")
    norm_position: str = "after"  # "after" the nonlinearity (as in the lecture) or "before" it
    dropout: float = 0.0  # drop probability p at the end of each block; 0 means no dropout layer

    def __post_init__(self) -> None:
        for name in ("in_features", "width", "depth", "out_features"):
            check_int(name, getattr(self, name), min=1)
        check_number("c", self.c, low=0.0, low_open=True)
        check_choice("activation", self.activation, tuple(ACTIVATIONS))
        check_choice("norm", self.norm, (None, *NORMS))
        check_choice("norm_position", self.norm_position, NORM_POSITIONS)
        check_number("dropout", self.dropout, low=0.0, high=1.0, high_open=True)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of ``model`` in registration order: for an :class:`MLP`, one per
    hidden block (W_1 .. W_depth), then the head."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


class MLP(nn.Module):
    """A fully connected network built from an :class:`MLPConfig`.

    ``MLP(config)``, ``MLP(width=..., depth=...)`` (the fields of a new config) or
    ``MLP(config, c=1.0)`` (a copy of ``config`` with some fields replaced).

    Attributes:
        blocks: ``nn.ModuleList`` of ``depth`` hidden blocks (each an ``nn.Sequential`` whose
            first module is the ``nn.Linear``); block i's output is the activation z_i.
        head: the final ``nn.Linear(width, out_features)``, producing logits.

    Shape: input (N, in_features), output (N, out_features).

    The parameters are drawn on the CPU (from ``generator``, or torch's global random stream),
    so that they are the same on every device, and then moved to ``device`` (default:
    :func:`normreg.settings.device`, the CPU unless ``NORMREG_DEVICE`` says otherwise).
    """

    def __init__(self, config: MLPConfig | None = None, *,
                 generator: torch.Generator | None = None,
                 device: torch.device | str | None = None, **overrides) -> None:
        super().__init__()
        config = MLPConfig(**overrides) if config is None else replace(config, **overrides)
        self.config = config
        widths = [config.in_features] + [config.width] * config.depth
        self.blocks = nn.ModuleList(self._block(n_in, n_out) for n_in, n_out in pairwise(widths))
        self.head = nn.Linear(config.width, config.out_features)
        self.reset_parameters(generator)  # on the CPU: the same initial weights on every device
        self.to(settings.device() if device is None else device)

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
        """Weights ~ N(0, c / fan_in) and biases 0; normalization layers back to scale 1, shift
        0 and fresh running statistics."""
        for linear in linear_layers(self):
            scaled_normal_(linear.weight, self.config.c, generator=generator)
            linear.bias.zero_()
        for module in self.modules():  # the norm layers, ours or torch's
            if module is not self and not isinstance(module, nn.Linear) \
                    and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.config.in_features:
            raise ValueError(f"input must have shape (N, {self.config.in_features}), got "
                             f"{tuple(x.shape)}")
        for block in self.blocks:
            x = block(x)  # (N, width)
        return self.head(x)  # (N, out_features)


def with_torch_layers(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every from-scratch layer swapped for its ``torch.nn`` twin, built
    with the same arguments and holding the same state: the one-line swap the twins promise,
    done for a whole network (to compare it with, or to time it against, the book's)."""
    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules()):
        if isinstance(module, LayerNorm):
            new = nn.LayerNorm(module.normalized_shape, module.eps, module.elementwise_affine,
                               bias=module.bias is not None)
        elif isinstance(module, RMSNorm):
            new = nn.RMSNorm(module.normalized_shape, module.eps, module.elementwise_affine)
        elif isinstance(module, (BatchNorm1d, BatchNorm2d)) \
                and not isinstance(module, NoisyBatchNorm1d):
            cls = nn.BatchNorm1d if isinstance(module, BatchNorm1d) else nn.BatchNorm2d
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, bias=module.bias is not None)
        elif isinstance(module, GroupNorm):
            new = nn.GroupNorm(module.num_groups, module.num_channels, module.eps, module.affine,
                               bias=module.bias is not None)
        elif isinstance(module, Dropout):
            new = nn.Dropout(module.p)
        else:  # torch has no twin of Santurkar et al.'s noisy batch norm: it stays
            continue
        tensors = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
        if tensors:
            new.to(device=tensors[0].device, dtype=tensors[0].dtype)
        new.load_state_dict(module.state_dict())
        parent, _, child = name.rpartition(".")
        setattr(twin.get_submodule(parent), child, new)
    return twin
