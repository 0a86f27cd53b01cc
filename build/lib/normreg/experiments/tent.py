r"""Test-time adaptation of a batch-norm network: Tent (Wang, Shelhamer, Liu, Olshausen and
Darrell, ICLR 2021, "Tent: Fully Test-Time Adaptation by Entropy Minimization").

A network trained on clean data meets shifted test data, batch by batch, without labels. Three
ways to predict:

- ``"source"``: the trained network as is, in eval mode (running statistics from training);
- ``"norm"``: batch norm in train mode, so that each test batch is normalized with its *own*
  statistics, nothing learned (the "test-time normalization" baseline);
- ``"tent"``: as ``"norm"``, and after predicting each batch take one gradient step on the mean
  prediction entropy :math:`\mathcal H(\hat p) = -\sum_y \hat p_y \log \hat p_y` with respect
  to the batch-norm scale and shift :math:`(\gamma, \beta)` only, everything else frozen; the
  adaptation carries over to the next batch (online).

The model passed in is never modified: each method works on a copy.

:func:`predict_adapted` runs the three methods over a test set, predicting each batch before
adapting to it (one pass, one step per batch). :func:`tent_on_stream` gives Tent a longer stream
to learn from, several passes over unlabeled data in a random order, and returns the adapted
network (to evaluate with test-batch statistics) and what it saw on the way.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from normreg._checks import check_choice, check_int, check_number
from normreg.nn import BatchNorm1d
from normreg.optim import Adam

__all__ = ["METHODS", "entropy", "configure_tent", "predict_adapted", "tent_on_stream"]

METHODS = ("source", "norm", "tent")


def entropy(logits: torch.Tensor) -> torch.Tensor:
    r"""Mean prediction entropy :math:`-\frac1N\sum_k \sum_y p_{ky}\log p_{ky}` of logits (N, C)."""
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1).mean()


def _is_batch_norm(module: nn.Module) -> bool:
    """The book's batch norm (and its noisy variant) or torch's."""
    return isinstance(module, (BatchNorm1d, nn.modules.batchnorm._BatchNorm))


def configure_tent(model: nn.Module) -> list[nn.Parameter]:
    """Prepare ``model`` (in place) for Tent and return the parameters to adapt.

    Every parameter is frozen except the scale and shift of the batch-norm layers, and the
    model is put in train mode so that batch norm uses test-batch statistics. Raises
    ``ValueError`` if the model has no batch-norm layer with affine parameters.
    """
    model.train()
    for p in model.parameters():
        p.requires_grad_(False)
    params = []
    for module in model.modules():
        if _is_batch_norm(module):
            for p in (module.weight, module.bias):  # None without affine parameters
                if p is not None:
                    p.requires_grad_(True)
                    params.append(p)
    if not params:
        raise ValueError("Tent adapts batch-norm scale and shift, but the model has no "
                         "batch-norm layer with affine parameters")
    return params


def predict_adapted(model: nn.Module, x: torch.Tensor, method: str = "tent",
                    batch_size: int = 100, lr: float = 1e-3) -> torch.Tensor:
    """Predicted classes (N,) for test inputs x (N, features), batch by batch, by ``method``.

    Args:
        model: the trained network (not modified).
        method: one of ``METHODS``.
        batch_size: test batch size (the statistics of each batch normalize it).
        lr: Tent's learning rate (Adam, as in the paper's CIFAR experiments).
    """
    check_choice("method", method, METHODS)
    check_int("batch_size", batch_size, min=2)
    model = copy.deepcopy(model)
    if method == "source":
        model.eval()
    elif method == "norm":
        model.train()
    else:
        optimizer = Adam(configure_tent(model), lr=lr)
    predictions = []
    for start in range(0, x.shape[0], batch_size):
        batch = x[start:start + batch_size]
        if method == "tent":
            logits = model(batch)
            loss = entropy(logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        else:
            with torch.no_grad():
                logits = model(batch)
        predictions.append(logits.detach().argmax(dim=1))
    return torch.cat(predictions)


def tent_on_stream(model: nn.Module, stream: torch.Tensor, lr: float = 1e-3, passes: int = 1,
                   batch_size: int = 100, generator: torch.Generator | None = None,
                   labels: torch.Tensor | None = None) -> tuple[nn.Module, dict[str, list]]:
    """Tent on an unlabeled stream: adapt a copy of ``model`` for ``passes`` passes over
    ``stream`` (N, features), each pass in a fresh random order (from ``generator``, drawn on the
    CPU), one Adam step on the entropy of each batch of ``batch_size`` (an incomplete last batch
    is skipped), in the batch-norm scale and shift only.

    Args:
        model: the trained network (not modified).
        stream: the unlabeled inputs to adapt on.
        lr: Adam's learning rate.
        labels: the stream's labels (N,), used only to *measure* each batch's error; Tent never
            sees them.

    Returns:
        ``(adapted, trace)``: the adapted copy, in train mode (test-batch statistics), and for
        every step the batch's mean entropy ``"entropy"`` and, with ``labels``, its error
        ``"error"``, both of the predictions made before that step.
    """
    check_number("lr", lr, low=0.0, low_open=True)
    check_int("passes", passes, min=1)
    check_int("batch_size", batch_size, min=2, max=stream.shape[0])
    if labels is not None and labels.shape != stream.shape[:1]:
        raise ValueError(f"labels must have shape (N,) = ({stream.shape[0]},), got "
                         f"{tuple(labels.shape)}")
    adapted = copy.deepcopy(model)
    optimizer = Adam(configure_tent(adapted), lr=lr)
    trace: dict[str, list] = {"entropy": [], "error": []} if labels is not None else {"entropy": []}
    n = stream.shape[0]
    for _ in range(passes):
        order = torch.randperm(n, generator=generator).to(stream.device)
        for start in range(0, n - batch_size + 1, batch_size):
            batch = order[start:start + batch_size]
            logits = adapted(stream[batch])
            loss = entropy(logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            trace["entropy"].append(loss.item())
            if labels is not None:
                wrong = logits.detach().argmax(dim=1) != labels[batch]
                trace["error"].append(wrong.float().mean().item())
    return adapted, trace
