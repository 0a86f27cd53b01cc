r"""Stochastic gradient descent, written from its update rule: a twin of ``torch.optim.SGD``.

With the gradient g of the loss in a parameter W, learning rate :math:`\alpha` (``lr``, the
lecture's step size), weight decay :math:`\lambda`, momentum :math:`\mu` and dampening
:math:`\tau`, one step is

.. math::
    d = g + \lambda W, \qquad
    v \leftarrow \begin{cases} d & \text{at the first step} \\
    \mu v + (1 - \tau)\, d & \text{after it} \end{cases}, \qquad
    W \leftarrow W - \alpha \cdot \begin{cases} v & \\ d + \mu v & \text{(Nesterov)}
    \end{cases}

(PyTorch's convention; without momentum, :math:`W \leftarrow (1 - \alpha\lambda) W - \alpha g`,
the lecture's weight-decay step). ``maximize`` uses :math:`-g`.
"""

from __future__ import annotations

import torch

from normreg._checks import check_number
from normreg.optim._common import check_kernel_options

__all__ = ["SGD"]


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with momentum and weight decay: a twin of ``torch.optim.SGD``.

    Args:
        params: parameters, or parameter groups (dicts, each of which may set its own ``lr``,
            ``momentum``, ``weight_decay``, ...).
        lr: learning rate alpha, >= 0. Default: 1e-3.
        momentum: momentum factor mu, >= 0. Default: 0.
        dampening: tau, the momentum buffer takes (1 - tau) of each new gradient. Default: 0.
        weight_decay: lambda >= 0, added to the gradient as lambda * W. Default: 0.
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0). Default: False.
        maximize: ascend instead of descend (keyword-only). Default: False.
        foreach, differentiable, fused: torch's kernel choices; only their defaults are
            accepted (keyword-only).

    State per parameter: ``momentum_buffer`` (v), once momentum is used. Its ``state_dict``
    loads into ``torch.optim.SGD`` and torch's into it; the steps agree with torch's bit for
    bit on the CPU.

    Deviations from ``torch.optim.SGD``, on purpose: ``lr`` and ``weight_decay`` are plain
    numbers (torch also takes 1-element tensors); ``foreach``, ``differentiable`` and ``fused``
    other than their defaults raise ``ValueError``; messages follow the book's format.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False,
                 fused: bool | None = None) -> None:
        defaults = {
            "lr": check_number("lr", lr, low=0.0),
            "momentum": check_number("momentum", momentum, low=0.0),
            "dampening": check_number("dampening", dampening),
            "weight_decay": check_number("weight_decay", weight_decay, low=0.0),
            "nesterov": bool(nesterov),
            "maximize": bool(maximize),
            **check_kernel_options("SGD", foreach=foreach, differentiable=differentiable,
                                   fused=fused),
        }
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening 0, got momentum="
                             f"{momentum!r} and dampening={dampening!r}")
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            lam, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = -p.grad if group["maximize"] else p.grad
                if lam != 0:
                    d = d.add(p, alpha=lam)  # the gradient of loss + (lam / 2) ||W||^2
                if mu != 0:
                    state = self.state[p]
                    v = state.get("momentum_buffer")
                    if v is None:
                        v = state["momentum_buffer"] = d.detach().clone()  # v = d, first step
                    else:
                        v.mul_(mu).add_(d, alpha=1 - tau)  # v <- mu v + (1 - tau) d
                    d = d.add(v, alpha=mu) if nesterov else v
                p.add_(d, alpha=-lr)  # W <- W - lr d
        return loss
