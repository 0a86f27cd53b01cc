r"""The measurements of Santurkar, Tsipras, Ilyas and Madry (NeurIPS 2018), "How Does Batch
Normalization Help Optimization?", for the book's MLP.

- :func:`internal_covariate_shift`: their Definition 2.1. For layer i, the gradient of the loss in
  :math:`W_i` before and after the layers *below* it (1..i-1) take their gradient step, on the
  same batch:

  .. math::
      G_i = \nabla_{W_i} \mathcal L(W_1, \dots, W_L), \qquad
      G'_i = \nabla_{W_i} \mathcal L(W_1 - \alpha \nabla_{W_1}, \dots,
      W_{i-1} - \alpha \nabla_{W_{i-1}}, W_i, \dots, W_L),

  with :math:`\alpha` the learning rate, reported as :math:`\|G_i - G'_i\|` and the cosine
  between them. If batch normalization reduced
  "internal covariate shift" in the sense of the updates below a layer changing the problem it
  faces, these would be smaller with it.
- :func:`loss_along_gradient`: the loss and its gradient at :math:`W - s g` for a range of
  step lengths s along the gradient g: how much the loss varies (its Lipschitzness along the
  step) and how much the gradient changes per unit distance,
  :math:`\kappa(s) = \|\nabla \mathcal L(W - s g) - g\| / \|s g\|` (Santurkar et al.'s
  "effective :math:`\beta`-smoothness"; :math:`\kappa` here, since the book's :math:`\beta` is a
  normalization's shift).

Both compare several forward passes at one point of training, so a network with
:class:`~normreg.nn.NoisyBatchNorm1d` must see the same noise in all of them, as the passes of
one training step would: both measure under :func:`~normreg.nn.hold_noise`. (Redrawn between
the passes, the noise alone would make :math:`G \ne G'` even with :math:`\alpha = 0`.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from normreg._checks import check_number
from normreg.losses import loss_value
from normreg.models import linear_layers
from normreg.nn import hold_noise

__all__ = ["internal_covariate_shift", "loss_along_gradient"]


@contextmanager
def _probe(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` itself, to move and measure, with one draw of its noise held
    (:func:`~normreg.nn.hold_noise`); on exit its parameters and buffers are put back exactly
    (cheaper than measuring on a deep copy, which chapter 7 would make hundreds of times)."""
    saved = {name: t.detach().clone() for name, t in model.state_dict(keep_vars=True).items()}
    try:
        with hold_noise(model):
            yield model
    finally:
        with torch.no_grad():
            for name, t in model.state_dict(keep_vars=True).items():
                t.copy_(saved[name])


def _layers(model: nn.Module) -> list[nn.Module]:
    """The hidden blocks, then the head: layer i holds the i-th linear map."""
    if not (hasattr(model, "blocks") and hasattr(model, "head")):
        raise ValueError(f"model must be an MLP with .blocks and .head, got "
                         f"{type(model).__name__}")
    return [*model.blocks, model.head]


def internal_covariate_shift(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lr: float,
                             loss: str = "cross_entropy") -> dict[str, list[float]]:
    r"""Santurkar et al.'s internal covariate shift of every layer of an MLP, on one batch.

    Args:
        model: an :class:`~normreg.models.MLP` (its mode is used as is: train mode for batch
            statistics); it is not modified.
        x, y: the batch.
        lr: the step size :math:`\alpha` of the update of the lower layers, >= 0 (0 gives
            :math:`G'_i = G_i`: the control).

    Returns:
        A dict of lists, one entry per linear layer (the hidden blocks, then the head):
        ``"distance"`` :math:`\|G_i - G'_i\|_F`, ``"relative"`` (the distance over
        :math:`\|G_i\|_F`, comparable between networks whose gradients differ in size) and
        ``"cosine"`` :math:`\cos(G_i, G'_i)`. The first layer has nothing below it, so its
        distance is 0 and its cosine 1.
    """
    check_number("lr", lr, low=0.0)
    _layers(model)  # an MLP, or a clear error
    out: dict[str, list[float]] = {"distance": [], "relative": [], "cosine": []}
    with _probe(model) as probe:  # one noise draw for every pass below
        params = list(probe.parameters())
        grads = torch.autograd.grad(loss_value(probe(x), y, loss), params)
        step = {p: g for p, g in zip(params, grads, strict=True)}  # parameter -> its gradient
        for layer in _layers(probe):
            # The layers below this one have taken their step (the loop takes each layer's
            # after measuring it): G'_i, against G_i from before any step.
            weight = linear_layers(layer)[0].weight
            (after,) = torch.autograd.grad(loss_value(probe(x), y, loss), [weight])
            g, h = step[weight].reshape(-1), after.reshape(-1)
            out["distance"].append(float((g - h).norm()))
            out["relative"].append(float((g - h).norm() / g.norm().clamp_min(1e-30)))
            out["cosine"].append(float(g @ h / (g.norm() * h.norm()).clamp_min(1e-30)))
            with torch.no_grad():
                for p in layer.parameters():
                    p.sub_(lr * step[p])
    return out


def loss_along_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                        step_sizes: list[float],
                        loss: str = "cross_entropy") -> dict[str, list[float]]:
    r"""Loss and gradient change at :math:`W - s g` for each step length s in ``step_sizes``.

    Returns a dict of lists, one entry per step length: ``"loss"`` (:math:`\mathcal L(W - s g)`),
    ``"grad_change"`` (:math:`\|\nabla \mathcal L(W - s g) - g\|`) and ``"kappa"``
    (``grad_change`` / :math:`\|s g\|`, the change of the gradient per unit distance
    moved: comparable between networks whose gradients differ in size). The model is not
    modified.
    """
    if not step_sizes:
        raise ValueError(f"step_sizes must be a non-empty list of positive numbers, got "
                         f"{step_sizes!r}")
    for s in step_sizes:
        check_number("every step size", s, low=0.0, low_open=True)
    out: dict[str, list[float]] = {"loss": [], "grad_change": [], "kappa": []}
    with _probe(model) as probe:  # one noise draw for every pass below
        params = list(probe.parameters())
        g = [t.detach() for t in torch.autograd.grad(loss_value(probe(x), y, loss), params)]
        flat_g = torch.cat([t.reshape(-1) for t in g])
        start = [p.detach().clone() for p in params]
        for s in step_sizes:
            with torch.no_grad():
                for p, p0, gp in zip(params, start, g, strict=True):
                    p.copy_(p0 - s * gp)
            value = loss_value(probe(x), y, loss)
            new_g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(value, params)])
            change = float((new_g - flat_g).norm())
            out["loss"].append(float(value.detach()))
            out["grad_change"].append(change)
            out["kappa"].append(change / (s * float(flat_g.norm())))
    return out
