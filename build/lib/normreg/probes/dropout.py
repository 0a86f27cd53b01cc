r"""Why dropout regularizes: the penalty that its noise adds to the expected loss.

Dropout on the input :math:`z` (n,) of a linear layer :math:`h = W z + b` gives logits
:math:`h + \delta` with :math:`\delta = W (D(z) - z)`: the noise has mean 0 (the logits are
unbiased) and, the masks being independent across units, covariance

.. math::
    \operatorname{Cov}(\delta)_{kl} = \frac{p}{1-p} \sum_j W_{kj} W_{lj} z_j^2 .

The loss is not linear in the logits, so the expected loss is not the loss of the expected
logits. To second order around :math:`h`, with :math:`H = \nabla^2_h \ell(h)` (Wager, Wang and
Liang, "Dropout Training as Adaptive Regularization", NeurIPS 2013),

.. math::
    \mathbb E_{\text{masks}}\, \ell(h + \delta) \approx \ell(h) + \tfrac12 \operatorname{tr}
    \big(H \operatorname{Cov}(\delta)\big) = \ell(h) + \underbrace{\frac{p}{2(1-p)} \sum_j z_j^2\,
    W_{:,j}^\top H\, W_{:,j}}_{R} .

For cross-entropy :math:`H = \operatorname{diag}(q) - q q^\top` with :math:`q =
\operatorname{softmax}(h)`, so :math:`W_{:,j}^\top H W_{:,j}` is the variance of column j's
entries :math:`W_{kj}` under the predicted distribution q; for the squared loss ("mse") H = I and
the expansion is exact: :math:`R = \frac{p}{2(1-p)} \sum_j z_j^2 \|W_{:,j}\|^2`, a ridge penalty on
each column scaled by its input's square (Srivastava et al. 2014, section 9.1).

- :func:`dropout_penalty`: R per example, from the formula;
- :func:`expected_dropout_loss`: :math:`\mathbb E\, \ell(h + \delta)` per example, by drawing
  masks (Monte Carlo), to check the formula against.

Chapter 5 of the book measures the two against each other.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_choice, check_int, check_number
from normreg.losses import LOSSES, loss_value

__all__ = ["dropout_penalty", "expected_dropout_loss"]


def _check(z: torch.Tensor, weight: torch.Tensor, p: float, loss: str) -> None:
    if z.dim() != 2 or weight.dim() != 2 or z.shape[1] != weight.shape[1]:
        raise ValueError(f"z and weight must have shapes (N, n) and (C, n), got "
                         f"{tuple(z.shape)} and {tuple(weight.shape)}")
    check_number("p", p, low=0.0, high=1.0, high_open=True)
    check_choice("loss", loss, tuple(LOSSES))


def dropout_penalty(logits: torch.Tensor, z: torch.Tensor, weight: torch.Tensor, p: float,
                    loss: str = "cross_entropy") -> torch.Tensor:
    r"""The second-order penalty :math:`R = \frac{p}{2(1-p)} \sum_j z_j^2 W_{:,j}^\top H W_{:,j}`
    of dropout with drop probability p on the input z of a linear layer, per example.

    Args:
        logits: (N, C) the layer's output without dropout, :math:`h = W z + b` (where H is taken).
        z: (N, n) the layer's input, the activations that dropout acts on.
        weight: (C, n) the layer's weight W.
        p: drop probability, in [0, 1).
        loss: a key of :data:`normreg.losses.LOSSES`: "cross_entropy" or "mse".

    Returns:
        (N,) tensor: R for each example.
    """
    _check(z, weight, p, loss)
    if logits.shape != (z.shape[0], weight.shape[0]):
        raise ValueError(f"logits must have shape (N, C) = {(z.shape[0], weight.shape[0])}, got "
                         f"{tuple(logits.shape)}")
    if loss == "cross_entropy":
        q = torch.softmax(logits, dim=1)  # (N, C)
        # W_{:,j}^T (diag(q) - q q^T) W_{:,j}: the variance of column j under q, (N, n)
        curvature = q @ weight ** 2 - (q @ weight) ** 2
    else:  # half the squared error: H = I
        curvature = (weight ** 2).sum(dim=0).expand_as(z)  # (N, n)
    return p / (2 * (1 - p)) * (z ** 2 * curvature).sum(dim=1)


@torch.no_grad()
def expected_dropout_loss(layer: nn.Linear, z: torch.Tensor, y: torch.Tensor, p: float,
                          draws: int = 100, generator: torch.Generator | None = None,
                          loss: str = "cross_entropy") -> torch.Tensor:
    r""":math:`\mathbb E_{\text{masks}}\, \ell(W D(z) + b, y)` per example, as the mean over
    ``draws`` independent inverted-dropout masks on z (drawn on the CPU from ``generator``).

    Args:
        layer: the linear layer (W, b).
        z: (N, n) its input; y: (N,) labels.
        p: drop probability, in [0, 1); ``draws``: masks per example, >= 1.

    Returns:
        (N,) tensor of mean losses.
    """
    _check(z, layer.weight, p, loss)
    check_int("draws", draws, min=1)
    if y.shape != z.shape[:1]:
        raise ValueError(f"y must have shape (N,) = ({z.shape[0]},), got {tuple(y.shape)}")
    total = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for _ in range(draws):
        keep = torch.rand(z.shape, generator=generator) >= p  # (N, n), on the CPU
        total += loss_value(layer(z * keep.to(z) / (1 - p)), y, loss, reduction="none")
    return total / draws
