"""The one way the package checks its arguments at the public boundary.

Every message has the same shape, ``"<name> must be <what was expected>, got <what arrived>"``,
and every check raises ``ValueError`` (``TypeError`` only where a tensor was expected and
something else arrived), so that a student reads the same kind of sentence wherever an
argument is wrong.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import TypeVar

import torch

__all__ = ["check_int", "check_number", "check_choice", "check_tensor"]

T = TypeVar("T")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(name: str, value: object, *, min: int | None = None,
              max: int | None = None) -> int:
    """``value`` as an int (not a bool), at least ``min`` and at most ``max`` if given."""
    if min is not None and max is not None:
        expected = f"an int in [{min}, {max}]"
    elif min is not None or max is not None:
        expected = f"an int >= {min}" if max is None else f"an int <= {max}"
    else:
        expected = "an int"
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or (min is not None and value < min) or (max is not None and value > max):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is None and high is None:
        return "a finite number"
    if high is None:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {high:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_number(name: str, value: object, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False) -> float:
    """``value`` as a finite float in the interval from ``low`` to ``high`` (closed unless
    ``low_open`` / ``high_open``); bools, strings, nan and infinities are refused."""
    ok = _is_number(value) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        raise ValueError(f"{name} must be {_interval(low, high, low_open, high_open)}, "
                         f"got {value!r}")
    return float(value)


def check_choice(name: str, value: T, choices: Collection[T]) -> T:
    """``value`` if it is one of ``choices`` (listed in the message in their own order)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_tensor(name: str, value: object, *, dims: Collection[int] | None = None,
                 floating: bool = False) -> torch.Tensor:
    """``value`` if it is a tensor with one of ``dims`` dimensions (and a floating dtype)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if dims is not None and value.dim() not in dims:
        expected = " or ".join(f"{d}D" for d in sorted(dims))
        raise ValueError(f"{name} must be a {expected} tensor, got a {value.dim()}D tensor of "
                         f"shape {tuple(value.shape)}")
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {value.dtype}")
    return value
