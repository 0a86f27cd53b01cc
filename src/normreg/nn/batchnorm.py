r"""Batch normalization, from the formula, with the backward pass derived by hand.

In train mode, for each feature (a column j of the (N, D) input) over the minibatch,

.. math::
    \mu_j = \frac1N \sum_k x_{kj}, \qquad \sigma_j^2 = \frac1N \sum_k (x_{kj} - \mu_j)^2,
    \qquad \hat x_{kj} = \frac{x_{kj} - \mu_j}{\sqrt{\sigma_j^2 + \epsilon}}, \qquad
    y_{kj} = \gamma_j \hat x_{kj} + \beta_j,

and the running estimates are updated with the *unbiased* variance
:math:`s_j^2 = \frac{N}{N-1}\sigma_j^2`:
``running_mean = (1 - momentum) * running_mean + momentum * mu``, in the book's notation
:math:`\bar\mu \leftarrow (1 - \text{momentum})\,\bar\mu + \text{momentum}\,\mu` (the lecture
writes :math:`\hat\mu \leftarrow \beta\hat\mu + (1-\beta)\mu` with
:math:`\beta = 1 - \text{momentum}`; the book keeps the hat for normalized values).
In eval mode the running estimates replace the batch statistics, and the layer is the fixed
affine map :math:`y = \gamma (x - \bar\mu) / \sqrt{\bar\sigma^2 + \epsilon} + \beta`.

The backward pass in train mode is layer normalization's with rows and columns swapped: with
:math:`r_j = (\sigma_j^2 + \epsilon)^{-1/2}` and :math:`g = \gamma \odot \partial L / \partial y`,
:math:`\partial L / \partial x = r\,(g - \operatorname{mean}_k g - \hat x
\operatorname{mean}_k(g \odot \hat x))`, the means taken over the batch (each column).
Chapter 3 of the book derives it.

:class:`BatchNorm2d` is the same layer for images (N, C, H, W): each channel is a column and each
(example, pixel) a row of the (N H W, C) table, so a channel's statistics are taken over the
batch and every position.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_int, check_number, check_tensor
from normreg.nn._standardize import Standardize, register_affine, reset_affine, stats_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d", "batch_norm", "batch_norm_naive"]


def _as_columns(input: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """(N, C) or (N, C, *) -> (M, C), one row per example (and position), and the shape to
    restore: batch norm of (N, C, L) or (N, C, H, W) takes each channel's statistics over N and
    every position."""
    check_tensor("input", input, floating=True)
    if input.dim() < 2:
        raise ValueError(f"input must be a tensor of shape (N, C, *), at least 2D, got a "
                         f"{input.dim()}D tensor of shape {tuple(input.shape)}")
    if input.dim() == 2:
        return input, input.shape
    channels_last = input.movedim(1, -1)  # (N, *, C)
    return channels_last.reshape(-1, input.shape[1]), channels_last.shape  # (N prod(*), C)


def _restore(y: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    return y if len(shape) == 2 else y.reshape(shape).movedim(-1, 1)  # (N, C, *)


def batch_norm(input: torch.Tensor, running_mean: torch.Tensor | None,
               running_var: torch.Tensor | None, weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> torch.Tensor:
    """Batch normalization of each feature (column), the functional twin of
    ``torch.nn.functional.batch_norm``.

    ``training=True``: normalize with the batch's mean and biased variance (hand-derived
    backward) and, if running estimates are given, update them in place with weight
    ``momentum`` (the variance with the unbiased batch variance). ``training=False``:
    normalize with the running estimates, a fixed affine map.

    Shapes: input (N, C, *) (BatchNorm1d's (N, C) or (N, C, L), BatchNorm2d's (N, C, H, W));
    running estimates, weight and bias (C,) or None: the statistics of channel c are taken over
    N and every position.
    """
    columns, shape = _as_columns(input)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm with training=False needs running_mean and running_var")
        # A fixed affine map per feature: autograd differentiates it exactly.
        stats = stats_dtype(columns)
        scale = torch.rsqrt(running_var.to(stats) + eps)  # (C,)
        shift = -running_mean.to(stats) * scale  # (C,)
        if weight is not None:
            scale, shift = scale * weight.to(stats), shift * weight.to(stats)
        if bias is not None:
            shift = shift + bias.to(stats)
        y = (columns.to(stats) * scale + shift).to(input.dtype)
        return _restore(y, shape)
    m = columns.shape[0]
    if m < 2:
        raise ValueError(f"batch_norm in train mode needs more than 1 value per feature (a "
                         f"variance needs two), got input of shape {tuple(input.shape)}")
    y, mean, var, _, _ = Standardize.apply(columns, weight, bias, 0, eps)  # each column
    if running_mean is not None and running_var is not None:
        with torch.no_grad():  # running <- (1 - momentum) running + momentum batch, in one step
            mean, unbiased = mean.squeeze(0), var.squeeze(0) * (m / (m - 1))  # (C,)
            running_mean.lerp_(mean.to(running_mean.dtype), momentum)
            running_var.lerp_(unbiased.to(running_var.dtype), momentum)
    return _restore(y, shape)


def batch_norm_naive(x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                     eps: float = 1e-5) -> torch.Tensor:
    """The train-mode formula on (N, D) left to autograd: the baseline of the hand-derived one."""
    mean = x.mean(dim=0)  # (D,)
    var = (x - mean).pow(2).mean(dim=0)  # (D,)
    y = (x - mean) / torch.sqrt(var + eps)  # (N, D)
    return y if weight is None else y * weight + bias


class _BatchNorm(nn.Module):
    """What :class:`BatchNorm1d` and :class:`BatchNorm2d` share (as torch's ``_BatchNorm``):
    the arguments, parameters and buffers, the running update and the state-dict versions. A
    subclass names the input dimensions it takes and how to describe them."""

    _input_dims: tuple[int, ...] = ()  # the numbers of dimensions of the input accepted
    _input_shapes = ""  # e.g. "features in dimension 1, (N, {c}) or (N, {c}, L)"

    _version = 2  # state dicts of version 1 (before num_batches_tracked) load, as in torch

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = check_int("num_features", num_features, min=1)
        self.eps = check_number("eps", eps, low=0.0)
        self.momentum = None if momentum is None else check_number("momentum", momentum,
                                                                   low=0.0, high=1.0)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        register_affine(self, num_features, self.affine, bias, device, dtype)
        factory = {"device": device, "dtype": dtype}
        if self.track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked",
                                 torch.tensor(0, dtype=torch.long, device=device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1.0)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        check_tensor("input", input, dims=self._input_dims, floating=True)
        if input.shape[1] != self.num_features:
            shapes = self._input_shapes.format(c=self.num_features)
            raise ValueError(f"input must have {self.num_features} {shapes}, got shape "
                             f"{tuple(input.shape)}")
        # 1. the weight of this batch in the running estimates
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative average: batch t gets weight 1 / t
                factor = 1.0 / float(self.num_batches_tracked)
        # 2. normalize with the batch's statistics in train mode (and whenever there are no
        # running estimates), with the running estimates in eval mode
        use_batch = self.training or self.running_mean is None
        keep_running = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if keep_running else None,
                          self.running_var if keep_running else None, self.weight, self.bias,
                          use_batch, factor, self.eps)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args) -> None:
        # A version-1 state dict (saved before torch counted batches) has no
        # num_batches_tracked: keep this module's count, as torch's batch norms do.
        version = local_metadata.get("version")
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats \
                and key not in state_dict:
            state_dict[key] = self.num_batches_tracked.clone()
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalization over the minibatch: a twin of ``torch.nn.BatchNorm1d``.

    Train mode normalizes each feature with the mean and the biased variance of the batch and
    updates ``running_mean`` and ``running_var`` (the latter with the unbiased batch variance)
    as ``running = (1 - momentum) * running + momentum * batch``; eval mode normalizes with the
    running estimates. ``num_batches_tracked`` counts the updates.

    Args:
        num_features: number of features C, >= 1.
        eps: added to the variance for numerical stability, >= 0. Default: 1e-5.
        momentum: weight of the new batch in the running estimates, in [0, 1], or None for the
            cumulative average of all batches so far (weight 1 / num_batches_tracked).
            Default: 0.1 (the lecture's beta is 1 - momentum = 0.9).
        affine: learn a per-feature scale ``weight`` (init 1) and shift ``bias`` (init 0).
            Default: True.
        track_running_stats: keep the running estimates (and use them in eval mode); without
            them the layer normalizes with the batch's statistics in both modes. Default: True.
        device, dtype: where and in which dtype to create the parameters and buffers.
        bias: (keyword-only) with ``affine``, also learn the shift. Default: True.

    Shape:
        input (N, C) or (N, C, L), output the same; in train mode at least 2 values per
        feature. Half-precision input is normalized with float32 statistics (the buffers are
        float32) and returned in its own dtype.

    Deviations from ``torch.nn.BatchNorm1d``, on purpose:
        - bad arguments and inputs raise ``ValueError`` (``TypeError`` for a non-tensor or an
          integer tensor) with a message saying what was expected, where torch raises
          ``RuntimeError`` or nothing (torch accepts any ``momentum``; here it must lie in
          [0, 1]);
        - float rounding: outputs, gradients and running estimates agree with torch's to float
          tolerance, not bit for bit.

    Reference: Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift", ICML 2015.
    """

    _input_dims = (2, 3)
    _input_shapes = "features in dimension 1, (N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalization of images, per channel: a twin of ``torch.nn.BatchNorm2d``.

    The same layer as :class:`BatchNorm1d`, for input (N, C, H, W): each channel is one column
    and each (example, position) one row of the (N H W, C) table that batch norm normalizes
    column by column. Channel c's mean and (biased) variance are taken over the batch and every
    pixel, N H W values:

    .. math::
        \mu_c = \frac{1}{NHW} \sum_{n,h,w} x_{nchw}, \qquad \sigma_c^2 = \frac{1}{NHW}
        \sum_{n,h,w} (x_{nchw} - \mu_c)^2, \qquad y_{nchw} = \gamma_c \frac{x_{nchw} -
        \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c,

    one scale and shift per channel; a pixel's position does not change how it is normalized.
    The running estimates, ``momentum`` and eval mode are :class:`BatchNorm1d`'s (the unbiased
    variance uses N H W - 1).

    Args:
        num_features: number of channels C, >= 1.
        eps, momentum, affine, track_running_stats, device, dtype, bias: as for
            :class:`BatchNorm1d` (defaults 1e-5, 0.1, True, True, None, None, True).

    Shape:
        input (N, C, H, W), output the same; in train mode at least 2 values per channel
        (N H W >= 2).

    Deviations from ``torch.nn.BatchNorm2d``: those of :class:`BatchNorm1d`.

    Reference: Ioffe and Szegedy, "Batch Normalization: Accelerating Deep Network Training by
    Reducing Internal Covariate Shift", ICML 2015.
    """

    _input_dims = (4,)
    _input_shapes = "channels in dimension 1, (N, {c}, H, W)"
