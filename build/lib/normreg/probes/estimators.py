r"""Two unbiased estimators side by side: dropout's subset sum and the minibatch gradient.

The lecture's "dropout as stochastic approximation": a layer computes the sum over its n inputs

.. math::
    s = \sum_{j=1}^{n} W_{:,j}\, z_j ,

and a dropout-like layer replaces it with the rescaled sum over a random subset P of size k,

.. math::
    \hat s_P = \frac{n}{k} \sum_{j \in P} W_{:,j}\, z_j ,

exactly as SGD replaces the full gradient :math:`g = \frac1m \sum_i g_i` by the mean over a
random minibatch B of size k. Both are the mean of a sample drawn without replacement from a finite
population (the n vectors :math:`n W_{:,j} z_j`, or the m per-example gradients :math:`g_i`), so
both are unbiased and have the same root-mean-square error

.. math::
    \sqrt{\mathbb{E}\,\|\hat s - s\|^2} = \sqrt{\frac{\sigma^2}{k}\,\frac{N - k}{N - 1}},
    \qquad \sigma^2 = \frac1N \sum_{j=1}^{N} \|a_j - \bar a\|^2 ,

for a population :math:`a_1, \dots, a_N` with mean :math:`\bar a` (:func:`sampling_rmse`).
Chapter 5 of the book measures both.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from normreg._checks import check_int, check_number
from normreg.losses import loss_value

__all__ = ["subset_sum", "sampling_rmse", "population_variance", "per_example_gradients",
           "gradient_population", "minibatch_gradient"]


def _check_rows(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and "
                         f"{y.shape[0]}")


def subset_sum(weight: torch.Tensor, z: torch.Tensor, k: int,
               generator: torch.Generator | None = None) -> torch.Tensor:
    r"""The estimate :math:`\frac{n}{k}\sum_{j\in P} W_{:,j} z_j` over a uniform random subset P.

    Args:
        weight: (out, n) matrix W.
        z: (n,) input vector.
        k: subset size |P|, 1 <= k <= n; k = n gives W z exactly.
        generator: the random stream for P (default: torch's global one).

    Returns:
        (out,) tensor, an unbiased estimate of ``weight @ z``.
    """
    if weight.dim() != 2 or z.dim() != 1 or weight.shape[1] != z.shape[0]:
        raise ValueError(f"weight and z must have shapes (out, n) and (n,), got "
                         f"{tuple(weight.shape)} and {tuple(z.shape)}")
    n = z.shape[0]
    check_int("k", k, min=1, max=n)
    subset = torch.randperm(n, generator=generator)[:k].to(z.device)  # drawn on the CPU
    return weight[:, subset] @ z[subset] * (n / k)


def population_variance(samples: torch.Tensor) -> float:
    r""":math:`\sigma^2 = \frac1N\sum_j \|a_j - \bar a\|^2` of the N rows of ``samples`` (N, d)."""
    if samples.dim() != 2:
        raise ValueError(f"samples must have shape (N, d), got {tuple(samples.shape)}")
    samples = samples.double()
    return float(((samples - samples.mean(dim=0)) ** 2).sum(dim=1).mean())


def sampling_rmse(variance: float, population: int, k: int) -> float:
    r"""RMS error of the mean of k draws without replacement from a population of N vectors.

    :math:`\sqrt{\sigma^2 / k \cdot (N - k) / (N - 1)}`, where ``variance`` is
    :math:`\sigma^2` (:func:`population_variance`); it is 0 at k = N.
    """
    check_int("population", population, min=2)
    check_int("k", k, min=1, max=population)
    check_number("variance", variance, low=0.0)
    return math.sqrt(variance / k * (population - k) / (population - 1))


def _loss_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   loss: str) -> torch.Tensor:
    """The gradient of the mean ``loss`` on (x, y) in the trainable parameters, flattened."""
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss_value(model(x), y, loss), params)
    return torch.cat([g.reshape(-1) for g in grads])


def per_example_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                          loss: str = "cross_entropy") -> torch.Tensor:
    """The gradient of ``loss`` on each example alone, flattened: shape (m, n_parameters).

    The losses are means over the batch, so the mean of the rows is the full-batch gradient.
    The model should be in eval mode (no dropout, no batch statistics), which is left to the
    caller.
    """
    _check_rows(x, y)
    return torch.stack([_loss_gradient(model, x[i:i + 1], y[i:i + 1], loss)
                        for i in range(x.shape[0])])


def gradient_population(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                        loss: str = "cross_entropy") -> tuple[torch.Tensor, float]:
    r"""The full gradient and the variance of the per-example gradients, in one streaming pass.

    Returns ``(g, sigma2)``: :math:`g = \frac1m\sum_i g_i` (float64, flattened) and
    :math:`\sigma^2 = \frac1m\sum_i \|g_i - g\|^2 = \frac1m\sum_i \|g_i\|^2 - \|g\|^2`,
    the population variance that :func:`sampling_rmse` turns into the RMS error of a minibatch
    gradient. Unlike :func:`per_example_gradients` it never holds the m gradients at once, so it
    works for a network with millions of parameters.
    """
    _check_rows(x, y)
    m = x.shape[0]
    total, squares = 0.0, 0.0
    for i in range(m):
        g = _loss_gradient(model, x[i:i + 1], y[i:i + 1], loss).double()
        total = total + g
        squares += float(g @ g)
    mean = total / m
    return mean, max(squares / m - float(mean @ mean), 0.0)


def minibatch_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, k: int,
                       generator: torch.Generator | None = None,
                       loss: str = "cross_entropy") -> torch.Tensor:
    """The flattened gradient of the mean ``loss`` over a uniform random minibatch of k
    examples (drawn on the CPU from ``generator``)."""
    _check_rows(x, y)
    check_int("k", k, min=1, max=x.shape[0])
    batch = torch.randperm(x.shape[0], generator=generator)[:k].to(x.device)
    return _loss_gradient(model, x[batch], y[batch], loss)
