"""Where the package puts data and models: the ``NORMREG_DEVICE`` setting.

The book runs on a CPU, and every number it prints was produced there. With a GPU, set
``NORMREG_DEVICE=cuda`` (or ``cuda:1``, or ``auto`` for "cuda when available") before starting
Python: :func:`~normreg.data.load_mnist` then puts the data on that device and
:class:`~normreg.models.MLP` its parameters, and the training loop, the layers and the
estimators follow their inputs. Random draws that pick examples (minibatch order, label noise)
stay on the CPU, so they are the same on every device; the numbers a GPU computes differ from
the CPU's in their last digits.
"""

from __future__ import annotations

import os

import torch

__all__ = ["default_device", "ENV"]

ENV = "NORMREG_DEVICE"


def default_device() -> torch.device:
    """The device named by ``NORMREG_DEVICE``: ``cpu`` (the default), ``cuda[:N]``, ``auto``.

    Raises:
        ValueError: if the setting names no device, or a CUDA device that is not available.
    """
    name = os.environ.get(ENV, "").strip() or "cpu"
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"{ENV} must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{ENV} is {name!r}, but torch.cuda.is_available() is False "
                         "(use 'auto' to fall back to the CPU)")
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"{ENV} must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {name!r}")
    return device
