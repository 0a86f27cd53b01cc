r"""Fused versions of the layers: their formulas, compiled by ``torch.compile``.

Run eagerly, the naive formula of layer norm (``mean``, subtract, square, ``mean``, ``rsqrt``,
multiply, add) is a chain of separate kernels, each reading its input from memory and writing
its output back; autograd's backward is another chain. On a CPU these operations are limited by
memory traffic, not arithmetic, so the chain is slow. ``torch.compile`` (TorchInductor) fuses
the chain into one or two loops that keep intermediate values in registers and caches: the
same formula, far fewer bytes moved. That is *kernel fusion*, and it is why torch's native
kernels are fast. The book's appendix "How fast is this?" measures it.

The normalization formulas are written for the compiler: ``torch.var_mean`` computes the mean
and the variance in one reduction, and ``rsqrt`` replaces a square root and a division. The
naive spelling (``mean``, then the mean of squared deviations) is the same mathematics, and
compiles to slower code (in one side-by-side measurement at 512 x 1024 here, 1.9x torch's time
against 1.1x).

Each function compiles on its first call for each input shape (``dynamic=False``; seconds
to a minute on a CPU, with a C++ compiler), then runs the compiled code. Values and gradients
equal the naive formula's up to float rounding (``tests/test_nn_fused.py`` checks both against
torch); the fused dropout draws its own random numbers.

- :func:`layer_norm_fused` (the formula of :func:`normreg.nn.layernorm.layer_norm_naive`)
- :func:`batch_norm_fused` (:func:`normreg.nn.batchnorm.batch_norm_naive`, train mode)
- :func:`dropout_fused` (:func:`normreg.nn.dropout.dropout_naive`)

Shapes: (N, D) input; weight and bias (D,) or None; the output has the input's shape.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from normreg.nn.dropout import dropout_naive

__all__ = ["layer_norm_fused", "batch_norm_fused", "dropout_fused", "fused"]


def fused(fn: Callable) -> Callable:
    """``fn`` compiled with ``torch.compile(dynamic=False)``, lazily on the first call."""
    compiled = None

    @functools.wraps(fn)
    def call(*args, **kwargs):
        nonlocal compiled
        if compiled is None:
            compiled = torch.compile(fn, dynamic=False)
        return compiled(*args, **kwargs)

    return call


def _standardize(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                 eps: float, dim: int) -> torch.Tensor:
    var, mean = torch.var_mean(x, dim=dim, keepdim=True, correction=0)  # one reduction
    y = (x - mean) * torch.rsqrt(var + eps)
    return y if weight is None else y * weight + bias


def _layer_norm(x, weight, bias, eps: float = 1e-5):
    return _standardize(x, weight, bias, eps, 1)  # each row


def _batch_norm(x, weight, bias, eps: float = 1e-5):
    return _standardize(x, weight, bias, eps, 0)  # each column (train mode)


layer_norm_fused = fused(_layer_norm)
batch_norm_fused = fused(_batch_norm)
dropout_fused = fused(dropout_naive)
