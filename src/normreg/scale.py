"""The book's scale or the full one: the ``NORMREG_SCALE`` setting.

The book runs every experiment at a size that a 2-core CPU finishes in minutes. Where a chapter
cuts an experiment down for that, it says so and chooses with :func:`at_scale`, so that
``NORMREG_SCALE=full`` (for a GPU, or a patient CPU) runs the whole experiment instead:

- chapter 6 runs its whole grid, 243 training runs, instead of the 51 of two planes.

The other chapters already run at the lecture's scale (MNIST, fully connected networks).
"""

from __future__ import annotations

import os
from typing import TypeVar

__all__ = ["SCALES", "ENV", "scale", "at_scale"]

SCALES = ("book", "full")
ENV = "NORMREG_SCALE"
T = TypeVar("T")


def scale() -> str:
    """``"book"`` (the default) or ``"full"``, from ``NORMREG_SCALE``.

    Raises:
        ValueError: if the setting is neither.
    """
    value = os.environ.get(ENV, "").strip() or "book"
    if value not in SCALES:
        raise ValueError(f"{ENV} must be one of {SCALES}, got {value!r}")
    return value


def at_scale(book: T, full: T) -> T:
    """``book`` at the book's scale, ``full`` when ``NORMREG_SCALE=full``."""
    return full if scale() == "full" else book
