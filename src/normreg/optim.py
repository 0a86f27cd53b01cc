r"""Optimizers written from their update rules, each matching its ``torch.optim`` twin.

- :class:`SGD`: with momentum :math:`\mu` and weight decay :math:`\lambda` (PyTorch's convention,
  the lecture's :math:`\alpha` is ``lr``):
  :math:`d = g + \lambda W`, :math:`v \leftarrow \mu v + d` (:math:`v = d` at the first step),
  :math:`W \leftarrow W - \alpha v`. Without momentum this is the lecture's
  :math:`W \leftarrow (1 - \alpha\lambda) W - \alpha g`.
- :class:`Adam`: Adam with the :math:`\ell_2` term added to the gradient, :math:`g + \lambda W`,
  which then goes through Adam's per-parameter rescaling (``torch.optim.Adam``'s
  ``weight_decay``).
- :class:`AdamW`: Adam with *decoupled* weight decay, :math:`W \leftarrow (1 - \alpha\lambda) W`
  before the Adam step (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR
  2019). With an adaptive optimizer the two are different algorithms; chapter 4 shows how.

The Adam step, with :math:`\beta_1, \beta_2, \epsilon` and step count t:
:math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`s \leftarrow \beta_2 s + (1-\beta_2) g^2`,
:math:`W \leftarrow W - \alpha\, \frac{m / (1-\beta_1^t)}{\sqrt{s / (1-\beta_2^t)} + \epsilon}`.
"""

from __future__ import annotations

import math

import torch

__all__ = ["SGD", "Adam", "AdamW"]


def _check(lr: float, weight_decay: float, momentum: float = 0.0,
           betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be a number >= 0, got {weight_decay!r}")
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    if not (len(betas) == 2 and all(0 <= b < 1 for b in betas)):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with momentum and weight decay, as ``torch.optim.SGD``.

    Args:
        params: parameters or parameter groups (dicts, which may set their own ``lr``,
            ``momentum`` and ``weight_decay``).
        lr: learning rate, > 0.
        momentum: momentum factor mu in [0, 1). Default: 0.
        weight_decay: l2 coefficient lambda >= 0, added to the gradient. Default: 0.

    The momentum buffer of each parameter is kept in ``optimizer.state[p]["momentum_buffer"]``.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        _check(lr, weight_decay, momentum)
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            lr, mu, lam = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = p.grad if lam == 0 else p.grad + lam * p  # gradient of loss + (lam/2)||W||^2
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = d.clone()  # v = d at the first step
                    else:
                        state["momentum_buffer"].mul_(mu).add_(d)  # v <- mu v + d
                    d = state["momentum_buffer"]
                p.sub_(lr * d)  # W <- W - lr v
        return loss


class _AdamBase(torch.optim.Optimizer):
    decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        _check(lr, weight_decay, betas=betas, eps=eps)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            lam = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if lam != 0:
                    if self.decoupled:
                        p.mul_(1 - lr * lam)  # AdamW: shrink the weights, outside Adam's scaling
                    else:
                        g = g + lam * p  # Adam + l2: the penalty's gradient is rescaled too
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)  # m
                    state["exp_avg_sq"] = torch.zeros_like(p)  # s
                state["step"] += 1
                t, m, s = state["step"], state["exp_avg"], state["exp_avg_sq"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                s.mul_(b2).addcmul_(g, g, value=1 - b2)
                m_hat_scale = 1 / (1 - b1 ** t)  # bias corrections
                s_hat_sqrt = (s / (1 - b2 ** t)).sqrt()
                p.addcdiv_(m, s_hat_sqrt.add_(eps), value=-lr * m_hat_scale)
        return loss


class Adam(_AdamBase):
    """Adam, with ``weight_decay`` as an l2 term added to the gradient (``torch.optim.Adam``).

    Args: lr (default 1e-3), betas (default (0.9, 0.999)), eps (default 1e-8), weight_decay
    (lambda, default 0). State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (s).

    Reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """


class AdamW(_AdamBase):
    """Adam with decoupled weight decay (``torch.optim.AdamW``); ``weight_decay`` default 0.01.

    Reference: Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr, betas, eps, weight_decay)
