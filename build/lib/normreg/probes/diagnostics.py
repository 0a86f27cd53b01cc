"""Per-layer measurements: activation norms, gradient norms, weight norms and distances.

Norms of activations and of their gradients are root-mean-square over the examples of the
per-example Euclidean norm, ``sqrt(mean_k ||z_i^(k)||^2)``: the quantity whose layer-to-layer
ratio chapter 1 derives. Weight norms are Frobenius norms.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from normreg.losses import loss_value
from normreg.models import linear_layers

__all__ = [
    "LayerStats",
    "layer_stats",
    "activation_norms",
    "weight_norms",
    "weight_distances",
    "predicted_activation_norms",
    "predicted_gradient_norms",
    "norm_only_accuracy",
]


@dataclass
class LayerStats:
    """Per-layer norms of one batch: entry 0 is the input z_1 = x and entry i the output z_{i+1}
    of block i (entry i - 1 holds z_i, in the book's notation).

    Shapes: ``activation`` and ``activation_grad`` (depth + 1,), ``weight_grad`` (number of
    linear layers,), all float64 NumPy arrays.
    """

    activation: np.ndarray  # sqrt(mean_k ||z_i^(k)||^2)
    activation_grad: np.ndarray  # sqrt(mean_k ||d loss_k / d z_i^(k)||^2), per-example losses
    weight_grad: np.ndarray  # ||d L / d W_i||_F for the mean loss L (script L) of the batch


def _rms_norm(t: torch.Tensor) -> float:
    """sqrt(mean over rows of the squared row norm) of a (N, features) tensor."""
    return math.sqrt(t.detach().double().pow(2).sum(dim=1).mean().item())


@contextmanager
def _block_outputs(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Record the output of each of ``model.blocks`` during the forward passes in the block."""
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise ValueError(f"model must have a .blocks list of hidden blocks (such as "
                         f"normreg.MLP), got {type(model).__name__}")
    outputs: list[torch.Tensor] = []
    handles = [b.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for b in blocks]
    try:
        yield outputs
    finally:
        for h in handles:
            h.remove()


def layer_stats(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                loss: str = "cross_entropy") -> LayerStats:
    """Activation norms, activation-gradient norms and weight-gradient norms, in one pass.

    Runs one forward and one backward pass of ``loss`` (a key of :data:`normreg.losses.LOSSES`)
    on (x, y) through
    ``model`` (an :class:`~normreg.models.MLP`, or any module with ``.blocks``) in its current
    mode, with forward hooks on the blocks. The gradients are taken with ``torch.autograd.grad``,
    so the parameters' ``.grad`` are left as they were.

    Shapes: x (N, in_features), y (N,).
    """
    if x.dim() != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x and y must have shapes (N, features) and (N,), got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    x = x.detach().clone().requires_grad_(True)
    weights = [layer.weight for layer in linear_layers(model)]
    with _block_outputs(model) as outputs:
        per_example = loss_value(model(x), y, loss, reduction="none")  # (N,)
    # Gradients of the per-example losses (their sum), so each row is d loss_k / d z^(k).
    activations = [x] + outputs
    grads = torch.autograd.grad(per_example.sum(), activations + weights)
    n_act, n = len(activations), x.shape[0]
    return LayerStats(
        activation=np.array([_rms_norm(a) for a in activations]),
        activation_grad=np.array([_rms_norm(g) for g in grads[:n_act]]),
        weight_grad=np.array([g.double().norm().item() / n for g in grads[n_act:]]),
    )


@torch.no_grad()
def activation_norms(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """``sqrt(mean_k ||z_i^(k)||^2)`` for i = 1 (the input x) .. depth + 1, shape (depth + 1,)."""
    with _block_outputs(model) as outputs:
        model(x)
    return np.array([_rms_norm(a) for a in [x] + outputs])


@torch.no_grad()
def weight_norms(model: nn.Module) -> list[float]:
    """``||W_i||_F`` for every linear layer of ``model``, in order."""
    return [layer.weight.double().norm().item() for layer in linear_layers(model)]


@torch.no_grad()
def weight_distances(model: nn.Module, initial: Sequence[torch.Tensor]) -> list[float]:
    """``||W_i - W_i^(0)||_F`` for every linear layer, ``initial`` holding the W_i^(0) in order."""
    layers = linear_layers(model)
    if len(layers) != len(initial):
        raise ValueError(f"initial must hold {len(layers)} weights (one per linear layer), "
                         f"got {len(initial)}")
    return [(layer.weight.double() - w0.double()).norm().item()
            for layer, w0 in zip(layers, initial, strict=True)]


def predicted_activation_norms(norm0: float, widths: Sequence[int], c: float) -> np.ndarray:
    """The mean-field prediction for a ReLU MLP with W ~ N(0, c / fan_in) and zero biases.

    ``E||z_{i+1}||^2 = (c / 2) (n_{i+1} / n_i) ||z_i||^2``, so from the norm ``norm0`` of the input
    z_1 = x the norms of z_1, ..., z_len(widths) are returned, ``widths`` being (n_1, n_2, ...).
    """
    widths = np.asarray(widths, dtype=float)
    factors = np.sqrt(c / 2 * widths[1:] / widths[:-1])
    return norm0 * np.concatenate([[1.0], np.cumprod(factors)])


def predicted_gradient_norms(grad_last: float, depth: int, c: float) -> np.ndarray:
    """The mean-field prediction of ``||d loss / d z_i||`` for i = 1 .. depth + 1 (z_1 = x).

    Going backward through a ReLU layer with W ~ N(0, c / fan_in) multiplies the expected squared
    gradient norm by c / 2, whatever the widths; ``grad_last`` is the norm at z_{depth+1}, the
    last hidden layer's output.
    """
    return grad_last * np.sqrt(c / 2) ** np.arange(depth, -1, -1)


def norm_only_accuracy(norms_train: torch.Tensor, y_train: torch.Tensor,
                       norms_test: torch.Tensor, y_test: torch.Tensor) -> float:
    """Test accuracy of a classifier that sees only one number per example: its norm.

    A one-dimensional Gaussian class-conditional model: each class k gets the mean and
    standard deviation of the training norms of its examples, and a test example goes to the
    class under which its norm is most likely (equal class priors). Classes whose training
    norms are all equal (standard deviation 0, as after layer normalization) cannot be told
    apart, and the rule then predicts the first of the tied classes: chance level.

    Shapes: norms (N,), labels (N,) int64.
    """
    for name, t in (("norms_train", norms_train), ("norms_test", norms_test)):
        if t.dim() != 1:
            raise ValueError(f"{name} must be 1D (one norm per example), got shape "
                             f"{tuple(t.shape)}")
    if y_train.shape != norms_train.shape or y_test.shape != norms_test.shape:
        raise ValueError(f"labels must be one per norm, got {tuple(y_train.shape)} labels for "
                         f"{tuple(norms_train.shape)} norms and {tuple(y_test.shape)} for "
                         f"{tuple(norms_test.shape)}")
    classes = torch.unique(y_train)
    a, b = norms_train.double(), norms_test.double()
    means = torch.stack([a[y_train == k].mean() for k in classes])  # (K,)
    stds = torch.stack([a[y_train == k].std() for k in classes])  # (K,)
    # Relative to the spread of all norms: a spread far below rounding error counts as none.
    floor = 1e-6 * max(a.abs().max().item(), 1e-12)
    if bool((stds <= floor).all()):
        predictions = torch.full_like(y_test, int(classes[0]))
    else:
        stds = stds.clamp_min(floor)
        log_lik = -0.5 * ((b[:, None] - means) / stds) ** 2 - stds.log()  # (N_test, K)
        predictions = classes[log_lik.argmax(dim=1)]
    return (predictions == y_test).double().mean().item()
