r"""Inverted dropout, from the formula.

In train mode each activation is kept with probability 1 - p and scaled so that its expectation
is unchanged, or set to zero with probability p:

.. math::
    \tilde z_j = \begin{cases} z_j / (1 - p) & \text{with probability } 1 - p \\
    0 & \text{with probability } p \end{cases}

In eval mode the layer is the identity. (Some courses write p for the *keep* probability; here,
as in PyTorch, p is the probability of dropping.) The backward pass multiplies the incoming
gradient by the same mask and scale. Chapter 5 of the book discusses it.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_number, check_tensor

__all__ = ["Dropout", "dropout", "dropout_naive"]


def dropout_naive(x: torch.Tensor, p: float) -> torch.Tensor:
    """Train-mode inverted dropout as a formula left to autograd (0 <= p < 1).

    Autograd saves the float mask ``keep / (1 - p)`` for the backward pass: 4 bytes per element.
    """
    keep = torch.rand_like(x, dtype=torch.float32) >= p  # True with probability 1 - p
    return x * keep.to(x.dtype) / (1.0 - p)


class _DropoutFunction(torch.autograd.Function):
    """``_DropoutFunction.apply(x, p)`` -> (y, keep): the mask is drawn once and saved (1 byte
    per element); in the ``torch.func`` form (``setup_context``), so ``vmap`` works through it
    (with ``randomness="different"`` or ``"same"``)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x, p):
        keep = torch.rand_like(x, dtype=torch.float32) >= p  # (same shape as x), bool
        scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)  # p = 1: nothing kept, all zeros
        return x * keep * scale, keep

    @staticmethod
    def setup_context(ctx, inputs, output):
        _x, p = inputs
        _y, keep = output
        ctx.mark_non_differentiable(keep)
        ctx.save_for_backward(keep)
        ctx.scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)

    @staticmethod
    def backward(ctx, grad_y, _grad_keep):
        (keep,) = ctx.saved_tensors
        return grad_y * keep * ctx.scale, None  # linear in grad_y: second derivatives exact


def dropout(input: torch.Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> torch.Tensor:
    """Inverted dropout with a hand-written backward: the functional twin of
    ``torch.nn.functional.dropout``.

    ``dL/dx = dL/dy * keep / (1 - p)``: the backward needs only the boolean mask (1 byte per
    element), where autograd through :func:`dropout_naive` keeps a float one. Same random
    draws as :func:`dropout_naive` for the same generator state. ``training=False`` or p = 0
    returns ``input`` itself; p = 1 returns zeros (with a zero gradient). Shape: any.
    """
    check_number("p", p, low=0.0, high=1.0)
    if inplace:
        raise ValueError("inplace=True is not supported: the book's dropout always returns a "
                         "new tensor (in-place dropout only saves memory)")
    check_tensor("input", input)
    if not training or p == 0.0:
        return input
    y, _ = _DropoutFunction.apply(input, p)
    return y


class Dropout(nn.Module):
    """Inverted dropout: a twin of ``torch.nn.Dropout``.

    Args:
        p: probability of zeroing an activation, in [0, 1]. Default: 0.5. With p = 0 the layer
            is the identity; with p = 1 it outputs zeros (and passes back zero gradients) in
            train mode.
        inplace: must be False (see below). Default: False.

    Shape: any; the output has the input's shape and dtype.

    Deviations from ``torch.nn.Dropout``, on purpose:
        - ``inplace=True`` is refused with a ``ValueError``: it only saves memory, and the
          book's layer always returns a new tensor;
        - bad arguments raise ``ValueError`` with the book's message format, a non-tensor input
          ``TypeError``;
        - the random draws are the book's (one ``torch.rand_like`` compared with p), not
          torch's kernel's: the same distribution, other samples.

    Reference: Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov, "Dropout: A Simple
    Way to Prevent Neural Networks from Overfitting", JMLR 2014.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_number("p", p, low=0.0, high=1.0)
        if inplace:
            raise ValueError("inplace=True is not supported: the book's dropout always returns "
                             "a new tensor (in-place dropout only saves memory)")
        self.inplace = False

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
