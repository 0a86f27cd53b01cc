r"""Synthetic tasks built to isolate one property of a network.

:func:`norm_only_task` (chapter 2): two classes that differ only in the *norm* of the input.
Every input is :math:`x = a\, v`, with :math:`v` uniform on the sphere of radius
:math:`\sqrt d` in :math:`\mathbb R^d`, drawn the same way for both classes, and :math:`a` the
class's radius (1 or 2 by default). The direction carries no information about the class; the
norm carries all of it. A network whose layers remove each example's norm (layer normalization)
can see the class only through what the norm leaves behind, which chapter 2 measures.
"""

from __future__ import annotations

import math

import torch

from normreg._checks import check_int, check_number
from normreg.data.mnist import Dataset

__all__ = ["norm_only_task"]


def norm_only_task(n_train: int = 2000, n_test: int = 1000, d: int = 100,
                   radii: tuple[float, float] = (1.0, 2.0), seed: int = 0) -> Dataset:
    """A two-class :class:`~normreg.data.Dataset` in which only the norm carries the class.

    Args:
        n_train, n_test: examples in each split; the labels alternate 0, 1, 0, 1, ...
        d: the input dimension.
        radii: the norm of class 0's and class 1's inputs, in units of :math:`\\sqrt d`.
        seed: seeds the directions (a generator of its own: the global stream is untouched).

    Shapes: ``x_train`` (n_train, d), ``y_train`` (n_train,), and the same for the test split.
    """
    check_int("n_train", n_train, min=2)
    check_int("n_test", n_test, min=2)
    check_int("d", d, min=1)
    if len(radii) != 2:
        raise ValueError(f"radii must be two numbers, one per class, got {radii!r}")
    for radius in radii:
        check_number("every radius", radius, low=0.0, low_open=True)
    generator = torch.Generator().manual_seed(seed)

    def split(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % 2  # (n,)
        v = torch.randn(n, d, generator=generator)
        v = v * (math.sqrt(d) / v.norm(dim=1, keepdim=True))  # (n, d), every row of norm sqrt(d)
        return torch.tensor(radii)[y, None] * v, y

    return Dataset(*split(n_train), *split(n_test))
