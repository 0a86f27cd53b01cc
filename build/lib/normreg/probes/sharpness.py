r"""The sharpness of the loss: the largest eigenvalue of its Hessian, without forming the Hessian.

For a loss :math:`\mathcal L(\theta)` with Hessian :math:`H = \nabla^2 \mathcal L(\theta)`, the
sharpness is :math:`\lambda_{\max}(H)`. Gradient descent with step size :math:`\alpha` on a
quadratic is stable only while :math:`\lambda_{\max} < 2/\alpha`; Cohen et al. (ICLR 2021,
"Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability") observed that on
neural networks full-batch gradient descent drives the sharpness *up* to about :math:`2/\alpha`
and keeps it there. Chapter 7 of the book reproduces it with this module.

:math:`H v` costs two backward passes (Pearlmutter's trick: the gradient of
:math:`\nabla \mathcal L \cdot v`), and power iteration on :math:`v \mapsto H v` converges to the
eigenvalue of largest magnitude, which is :math:`\lambda_{\max}` whenever the Hessian's positive
spectrum dominates its negative one (the case along a gradient-descent trajectory).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from normreg._checks import check_int
from normreg.losses import loss_value

__all__ = ["top_eigenvalue", "hessian_vector_product", "sharpness"]


def top_eigenvalue(matvec: Callable[[torch.Tensor], torch.Tensor], v0: torch.Tensor,
                   iters: int = 20, tol: float = 1e-4) -> tuple[float, torch.Tensor]:
    r"""Power iteration for the eigenvalue of largest magnitude of a symmetric linear map.

    Args:
        matvec: :math:`v \mapsto A v` for a symmetric A, on vectors shaped like ``v0``.
        v0: the starting vector (not all zero); pass the last call's vector to warm-start.
        iters: at most this many products :math:`A v`.
        tol: stop when the Rayleigh quotient changes by less than ``tol`` (relative).

    Returns:
        ``(eigenvalue, unit eigenvector)``; the eigenvalue is the Rayleigh quotient
        :math:`v^\top A v`.
    """
    check_int("iters", iters, min=1)
    norm = v0.norm()
    if not torch.isfinite(norm) or norm == 0:
        raise ValueError(f"v0 must be a finite, nonzero vector, got one of norm {float(norm)}")
    v = v0 / norm
    value = None
    for _ in range(iters):
        av = matvec(v)
        new_value = float((v * av).sum())
        v = av / av.norm()
        if value is not None and abs(new_value - value) <= tol * abs(new_value):
            value = new_value
            break
        value = new_value
    return value, v


def hessian_vector_product(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                           v: torch.Tensor, loss: str = "cross_entropy") -> torch.Tensor:
    r""":math:`H v`, with H the Hessian of the mean ``loss`` on (x, y) in the model's parameters.

    ``v`` is flattened like ``torch.cat([p.reshape(-1) for p in model.parameters()])``.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    size = sum(p.numel() for p in params)
    if v.dim() != 1 or v.numel() != size:
        raise ValueError(f"v must be a flat vector of the {size} parameters, got shape "
                         f"{tuple(v.shape)}")
    grads = torch.autograd.grad(loss_value(model(x), y, loss), params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    hv = torch.autograd.grad(flat @ v, params)
    return torch.cat([h.reshape(-1) for h in hv]).detach()


def sharpness(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
              iters: int = 20, v0: torch.Tensor | None = None,
              generator: torch.Generator | None = None) -> tuple[float, torch.Tensor]:
    r""":math:`\lambda_{\max}` of the Hessian of the mean ``loss`` on (x, y), by power iteration.

    Returns ``(sharpness, eigenvector)``; pass the eigenvector back as ``v0`` at the next call
    along a training run, and a few iterations suffice. The model is used in its current mode
    (eval mode for a network with dropout or batch norm, unless the batch statistics are meant).
    """
    params = [p for p in model.parameters() if p.requires_grad]
    if v0 is None:
        size = sum(p.numel() for p in params)
        v0 = torch.randn(size, generator=generator, dtype=params[0].dtype).to(params[0].device)
    return top_eigenvalue(lambda v: hessian_vector_product(model, x, y, v, loss), v0, iters=iters)
