r"""Explicit l2 regularization: the penalty, and the one place that decides what decays.

The penalty of the lecture is :math:`\frac{\lambda}{2} \sum_i \|W_i\|_2^2`, over the *weight
matrices* only. The decay policy of the whole book lives in :func:`decayed`:

- weights of ``nn.Linear`` layers decay: they set the scale of each layer's map;
- biases do not: a bias shifts a unit's input and does not make the function more complex in
  the sense the penalty is after, and decaying it only pulls the units toward being off;
- the scale and shift of normalization layers do not: the scale sets on purpose the size that
  the normalization removed, and decaying it pulls every unit's output toward zero.

A weight matrix followed by a normalization layer does decay under this policy, although the
function hardly depends on its scale; there the decay mainly changes the effective learning
rate (chapter 4).

:func:`param_groups` turns the policy into optimizer parameter groups.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["decayed", "param_groups", "l2_penalty"]


def decayed(model: nn.Module) -> list[nn.Parameter]:
    """The parameters that weight decay applies to: the weights of the ``nn.Linear`` layers."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer parameter groups: the decayed weights, and everything else (no decay)."""
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    decay = {id(p) for p in decayed(model)}
    rest = [p for p in model.parameters() if id(p) not in decay]
    return [{"params": decayed(model), "weight_decay": weight_decay},
            {"params": rest, "weight_decay": 0.0}]


def l2_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    r"""The penalty :math:`\frac{\lambda}{2} \sum \|W\|^2` over :func:`decayed` parameters."""
    if lam < 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")
    return 0.5 * lam * sum(w.pow(2).sum() for w in decayed(model))
