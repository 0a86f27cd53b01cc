"""Argument and input checks shared by the layers, with messages that say what was expected."""

from __future__ import annotations

import math

import torch

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_dim(dim: object) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"dim must be an int >= 1, got {dim!r}")
    return dim


def check_eps(eps: object) -> float:
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not (
            math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return float(eps)


def check_momentum(momentum: object) -> float:
    if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not (
            0.0 <= momentum <= 1.0):
        raise ValueError(f"momentum must be a number in [0, 1], got {momentum!r}")
    return float(momentum)


def check_input(x: torch.Tensor, dim: int, layer: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{layer} expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{layer} expected 2D input (N, {dim}), got {x.dim()}D input of shape "
                         f"{tuple(x.shape)}")
    if x.shape[1] != dim:
        raise ValueError(f"{layer} expected input with {dim} features (N, {dim}), got "
                         f"{x.shape[1]} features, shape {tuple(x.shape)}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{layer} expected a floating-point input, got {x.dtype}")
