r"""Batch normalization, from the formula, with the backward pass derived by hand.

In train mode, for each feature (a column of the (N, D) input) over the minibatch,

.. math::
    \mu_j = \frac1N \sum_k x_{kj}, \qquad \sigma_j^2 = \frac1N \sum_k (x_{kj} - \mu_j)^2,
    \qquad \hat x_{kj} = \frac{x_{kj} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}}, \qquad
    y_{kj} = \gamma_j \hat x_{kj} + \beta_j,

and the running estimates are updated with the *unbiased* variance
:math:`s_j^2 = \frac{N}{N-1}\sigma_j^2`:
``running_mean = (1 - momentum) * running_mean + momentum * mu`` (the lecture writes
:math:`\hat\mu = \beta\hat\mu + (1-\beta)\mu` with :math:`\beta = 1 - \text{momentum}`).
In eval mode the running estimates replace the batch statistics, and the layer is the fixed
affine map :math:`y = \gamma (x - \hat\mu) / \sqrt{\hat\sigma^2 + \epsilon} + \beta`.

The backward pass in train mode is layer normalization's with rows and columns swapped: with
:math:`r_j = (\sigma_j^2 + \epsilon)^{-1/2}` and :math:`g = \gamma \odot \partial L / \partial y`,
:math:`\partial L / \partial x = r\,(g - \operatorname{mean}_k g - \hat x
\operatorname{mean}_k(g \odot \hat x))`, the means taken over the batch (each column).
Chapter 3 of the book derives it.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg.nn._checks import check_dim, check_eps, check_input, check_momentum
from normreg.nn._standardize import (
    register_affine,
    reset_affine,
    standardize,
    standardize_backward,
    stats_dtype,
)

__all__ = ["BatchNorm1d", "batch_norm", "batch_norm_naive"]


class _BatchNormTrainFunction(torch.autograd.Function):
    """Train mode: normalize each column with its batch statistics."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        y, x_hat, rstd, mean, var = standardize(x, 0, eps, weight, bias)  # each column
        ctx.save_for_backward(x_hat, rstd, weight)
        ctx.input_dtype = x.dtype
        mean, var = mean.squeeze(0), var.squeeze(0)  # (1, D) -> (D,)
        ctx.mark_non_differentiable(mean, var)
        return y.to(x.dtype), mean, var

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x_hat, rstd, weight = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = standardize_backward(grad_y, x_hat, rstd, weight, 0)
        return grad_x.to(ctx.input_dtype), grad_weight, grad_bias, None


def batch_norm(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
               eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train-mode batch normalization of the columns of a (N, D) tensor, hand-derived backward.

    Returns the output and the batch mean and biased variance (D,), which carry no gradient.
    """
    return _BatchNormTrainFunction.apply(x, weight, bias, eps)


def batch_norm_naive(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                     eps: float = 1e-5) -> torch.Tensor:
    """The same train-mode formula left to autograd: the baseline for the hand-derived one."""
    mean = x.mean(dim=0)  # (D,)
    var = (x - mean).pow(2).mean(dim=0)  # (D,)
    y = (x - mean) / torch.sqrt(var + eps)  # (N, D)
    return y if weight is None else y * weight + bias


class BatchNorm1d(nn.Module):
    r"""Batch normalization over the minibatch: a twin of ``torch.nn.BatchNorm1d`` on (N, D).

    Train mode normalizes each feature with the mean and biased variance of the batch and
    updates ``running_mean`` and ``running_var`` (the latter with the unbiased batch
    variance) as ``running = (1 - momentum) * running + momentum * batch``; eval mode
    normalizes with the running estimates. ``num_batches_tracked`` counts the updates, as in
    torch, so that state dicts are interchangeable.

    Args:
        dim: number of features D, >= 1.
        eps: added to the variance for numerical stability, > 0. Default: 1e-5.
        momentum: weight of the new batch in the running estimates, in [0, 1]. Default: 0.1
            (the lecture's beta is 1 - momentum = 0.9).
        affine: learn a per-feature scale ``weight`` (init 1) and shift ``bias`` (init 0).
            Default: True.

    Shape:
        input (N, D) with N >= 2 in train mode, output (N, D). Half-precision input is
        normalized with float32 statistics (the buffers are float32) and returned in its own
        dtype.

    Reference: Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift", ICML 2015.
    """

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True) -> None:
        super().__init__()
        self.dim = check_dim(dim)
        self.eps = check_eps(eps)
        self.momentum = check_momentum(momentum)
        register_affine(self, dim, affine)
        self.register_buffer("running_mean", torch.zeros(dim))
        self.register_buffer("running_var", torch.ones(dim))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.dim, "BatchNorm1d")
        if not self.training:
            return self._eval_forward(x)
        n = x.shape[0]
        if n < 2:
            raise ValueError(
                f"BatchNorm1d expected more than 1 example per batch in train mode (a variance "
                f"needs two), got input of shape {tuple(x.shape)}"
            )
        y, mean, var = batch_norm(x, self.weight, self.bias, self.eps)
        with torch.no_grad():
            m = self.momentum
            self.running_mean.mul_(1 - m).add_(m * mean.to(self.running_mean.dtype))
            unbiased = var * (n / (n - 1))  # (D,)
            self.running_var.mul_(1 - m).add_(m * unbiased.to(self.running_var.dtype))
            self.num_batches_tracked.add_(1)
        return y

    def _eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        # A fixed affine map per feature: autograd differentiates it exactly, so it needs no
        # hand-written backward.
        dtype = x.dtype
        scale = torch.rsqrt(self.running_var + self.eps)  # (D,)
        shift = -self.running_mean * scale  # (D,)
        if self.affine:
            scale, shift = scale * self.weight, shift * self.weight + self.bias
        stats = stats_dtype(x)
        return (x.to(stats) * scale.to(stats) + shift.to(stats)).to(dtype)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
