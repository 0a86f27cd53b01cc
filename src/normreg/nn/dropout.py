r"""Inverted dropout, from the formula.

In train mode each activation is kept with probability 1 - p and scaled so that its expectation
is unchanged, or set to zero with probability p:

.. math::
    z_j = \begin{cases} \hat z_j / (1 - p) & \text{with probability } 1 - p \\
    0 & \text{with probability } p \end{cases}

In eval mode the layer is the identity. (Some courses write p for the *keep* probability; here,
as in PyTorch, p is the probability of dropping.) Chapter 5 of the book discusses it.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Dropout", "dropout", "dropout_naive"]


def dropout_naive(x: torch.Tensor, p: float) -> torch.Tensor:
    """Train-mode inverted dropout as a formula left to autograd (0 < p < 1).

    Autograd saves the float mask ``keep / (1 - p)`` for the backward pass: 4 bytes per element.
    """
    keep = torch.rand_like(x, dtype=torch.float32) >= p  # True with probability 1 - p
    return x * keep.to(x.dtype) / (1.0 - p)


class _DropoutFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):
        keep = torch.rand_like(x, dtype=torch.float32) >= p  # (same shape as x), bool
        ctx.save_for_backward(keep)  # 1 byte per element
        ctx.scale = 1.0 / (1.0 - p)
        return x * keep * ctx.scale

    @staticmethod
    def backward(ctx, grad_y):
        (keep,) = ctx.saved_tensors
        return grad_y * keep * ctx.scale, None


def dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Train-mode inverted dropout (0 < p < 1) with a hand-written backward pass.

    ``dL/dx = dL/dy * keep / (1 - p)``: the backward needs only the boolean mask (1 byte per
    element), where autograd through :func:`dropout_naive` keeps a float one. Same random
    draws as :func:`dropout_naive` for the same generator state.
    """
    return _DropoutFunction.apply(x, p)


class Dropout(nn.Module):
    """Inverted dropout: a twin of ``torch.nn.Dropout``.

    Args:
        p: probability of zeroing an activation, in [0, 1]. Default: 0.5. With p = 0 the layer
            is the identity; with p = 1 it outputs zeros in train mode.

    Shape: any; the output has the input's shape and dtype.

    Reference: Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov, "Dropout: A Simple
    Way to Prevent Neural Networks from Overfitting", JMLR 2014.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Dropout expected a torch.Tensor, got {type(x).__name__}")
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return torch.zeros_like(x)
        return dropout_naive(x, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
