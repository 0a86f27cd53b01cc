"""The initialization of the lecture: W ~ N(0, c / n), n the fan-in.

For a ReLU network, c = 2 keeps the expected squared norm of the activations constant from
layer to layer (He et al., 2015); c < 2 makes it shrink by a factor c / 2 per layer and c > 2
makes it grow. The derivation is in chapter 1 of the book.
"""

from __future__ import annotations

import math

import torch

from normreg._checks import check_number

__all__ = ["scaled_normal_", "fan_in"]


def fan_in(weight: torch.Tensor) -> int:
    """The number of inputs n of a layer whose weight has torch's layout ``(out, in, *kernel)``."""
    if weight.dim() < 2:
        raise ValueError(f"weight must have at least 2 dimensions (out, in, ...), got shape "
                         f"{tuple(weight.shape)}")
    return weight.shape[1] * math.prod(weight.shape[2:])


@torch.no_grad()
def scaled_normal_(weight: torch.Tensor, c: float = 2.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``weight`` in place with samples of :math:`\mathcal N(0, c / n)`, n the fan-in.

    Args:
        weight: a tensor in torch's layout ``(out_features, in_features)`` (a ``Linear``
            weight), or ``(out, in, *kernel)``; n = ``in * prod(kernel)``.
        c: the variance scale, > 0. c = 2 is He (Kaiming) initialization for ReLU, c = 1 is
            LeCun initialization. Default: 2.
        generator: an optional ``torch.Generator`` to draw from.

    Returns:
        ``weight``, filled. With c = 2 it draws exactly what
        ``torch.nn.init.kaiming_normal_(weight, generator=generator)`` draws: the standard
        deviation is computed as torch computes it, ``sqrt(c) / sqrt(n)``.

    Shape: any tensor with at least 2 dimensions.

    Reference: He, Zhang, Ren and Sun, "Delving Deep into Rectifiers", ICCV 2015.
    """
    c = check_number("c", c, low=0.0, low_open=True)
    std = math.sqrt(c) / math.sqrt(fan_in(weight))
    return weight.normal_(0.0, std, generator=generator)
