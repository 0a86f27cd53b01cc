"""Every environment variable the package reads, in one place.

=====================  ==========================================================================
``NORMREG_DEVICE``     where :func:`~normreg.data.load_mnist` puts the data and
                       :class:`~normreg.models.MLP` its parameters: ``cpu`` (the default),
                       ``cuda``, ``cuda:N``, or ``auto`` (CUDA when available). See :func:`device`.
``NORMREG_SCALE``      ``book`` (the default) or ``full``: where a chapter cuts an experiment down
                       to run in minutes on 2 cores, ``full`` runs all of it. See :func:`at_scale`.
``NORMREG_PROGRESS``   ``0`` hides the training loop's progress bar, which is otherwise shown inside
                       a Jupyter kernel. See :func:`show_progress`.
=====================  ==========================================================================

The book's numbers come from a CPU. On a GPU, the training loop, the layers and the probes
follow their inputs; random draws that pick examples (minibatch order, label noise) stay on the
CPU, so they are the same on every device, and the numbers a GPU computes differ from the CPU's
in their last digits.
"""

from __future__ import annotations

import os
import sys
from typing import TypeVar

import torch

__all__ = ["DEVICE", "SCALE", "PROGRESS", "SCALES", "device", "scale", "at_scale",
           "show_progress"]

DEVICE, SCALE, PROGRESS = "NORMREG_DEVICE", "NORMREG_SCALE", "NORMREG_PROGRESS"
SCALES = ("book", "full")
T = TypeVar("T")


def _read(name: str) -> str:
    return os.environ.get(name, "").strip()


def device() -> torch.device:
    """The device ``NORMREG_DEVICE`` names: ``cpu`` (the default), ``cuda[:N]`` or ``auto``.

    Raises:
        ValueError: if the setting names no device, or a CUDA device that is not available.
    """
    name = _read(DEVICE) or "cpu"
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    expected = f"{DEVICE} must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {name!r}"
    try:
        result = torch.device(name)
    except RuntimeError:
        raise ValueError(expected) from None
    if result.type not in ("cpu", "cuda"):
        raise ValueError(expected)
    if result.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{DEVICE} is {name!r}, but torch.cuda.is_available() is False "
                         "(use 'auto' to fall back to the CPU)")
    return result


def scale() -> str:
    """``"book"`` (the default) or ``"full"``, from ``NORMREG_SCALE``.

    Raises:
        ValueError: if the setting is neither.
    """
    value = _read(SCALE) or "book"
    if value not in SCALES:
        raise ValueError(f"{SCALE} must be one of {SCALES}, got {value!r}")
    return value


def at_scale(book: T, full: T) -> T:
    """``book`` at the book's scale, ``full`` when ``NORMREG_SCALE=full``.

    Chapter 6 runs its whole grid (243 training runs instead of 51) at the full scale; the
    other chapters already run at the lecture's scale.
    """
    return full if scale() == "full" else book


def show_progress() -> bool:
    """Whether the training loop shows a progress bar: never when ``NORMREG_PROGRESS=0`` (every
    make target sets it, so no bar ends up in stored or compared outputs), otherwise inside a
    Jupyter kernel only."""
    if _read(PROGRESS) == "0":
        return False
    return "ipykernel" in sys.modules
