r"""The one registry of the book's losses: every function that takes a loss takes its name.

Each loss maps logits (N, C) and integer labels (N,) to a loss, with torch's ``reduction``
("mean", the default, "sum", or "none" for one loss per example):

- ``"cross_entropy"``: ``torch.nn.functional.cross_entropy``;
- ``"mse"``: half the squared error to the one-hot targets, summed over the C classes,
  :math:`\frac12 \|f(x) - e_y\|^2` (chapter 7's edge-of-stability experiment uses it, after
  Cohen et al.).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from normreg._checks import check_choice

__all__ = ["LOSSES", "loss_fn", "loss_value", "half_squared_error"]


def half_squared_error(logits: torch.Tensor, y: torch.Tensor,
                       reduction: str = "mean") -> torch.Tensor:
    """1/2 the squared error to the one-hot targets, summed over classes, per example (N,),
    then reduced as ``reduction`` says."""
    target = F.one_hot(y, logits.shape[1]).to(logits.dtype)  # (N, C)
    per_example = 0.5 * ((logits - target) ** 2).sum(dim=1)  # (N,)
    if reduction == "none":
        return per_example
    return per_example.sum() if reduction == "sum" else per_example.mean()


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "cross_entropy": F.cross_entropy,
    "mse": half_squared_error,
}


def loss_fn(name: str) -> Callable[..., torch.Tensor]:
    """The loss function registered under ``name``, a key of :data:`LOSSES`."""
    return LOSSES[check_choice("loss", name, tuple(LOSSES))]


def loss_value(logits: torch.Tensor, y: torch.Tensor, name: str = "cross_entropy",
               reduction: str = "mean") -> torch.Tensor:
    """``loss_fn(name)(logits, y, reduction=reduction)``: the loss of logits (N, C) against
    labels (N,)."""
    check_choice("reduction", reduction, ("mean", "sum", "none"))
    return loss_fn(name)(logits, y, reduction=reduction)
