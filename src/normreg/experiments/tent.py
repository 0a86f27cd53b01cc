r"""Test-time adaptation of a batch-norm network: Tent (Wang, Shelhamer, Liu, Olshausen and
Darrell, ICLR 2021, "Tent: Fully Test-Time Adaptation by Entropy Minimization").

A network trained on clean data meets shifted test data, batch by batch, without labels. Three
ways to predict:

- ``"source"``: the trained network as is, in eval mode (running statistics from training);
- ``"norm"``: batch norm in train mode, so that each test batch is normalized with its *own*
  statistics, nothing learned (the "test-time normalization" baseline);
- ``"tent"``: as ``"norm"``, and after predicting each batch take one gradient step on the mean
  prediction entropy :math:`H(\hat y) = -\sum_c p_c \log p_c` with respect to the batch-norm
  scale and shift :math:`(\gamma, \beta)` only, everything else frozen; the adaptation carries
  over to the next batch (online).

The model passed in is never modified: each method works on a copy.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from normreg._checks import check_choice, check_int
from normreg.nn import BatchNorm1d
from normreg.optim import Adam

__all__ = ["METHODS", "entropy", "configure_tent", "predict_adapted"]

METHODS = ("source", "norm", "tent")


def entropy(logits: torch.Tensor) -> torch.Tensor:
    r"""Mean prediction entropy :math:`-\frac1N\sum_k \sum_c p_{kc}\log p_{kc}` of logits (N, C)."""
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
