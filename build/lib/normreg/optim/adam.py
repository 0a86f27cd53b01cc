r"""Adam and AdamW, written from their update rules: twins of ``torch.optim.Adam`` and ``AdamW``.

With the gradient g of a parameter W, learning rate :math:`\alpha`, :math:`\beta_1, \beta_2,
\epsilon` and the step count t, Adam keeps two running averages per parameter,

.. math::
    m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad
    s \leftarrow \beta_2 s + (1-\beta_2)\, g^2, \qquad
    W \leftarrow W - \frac{\alpha}{1-\beta_1^t}\, \frac{m}{\sqrt{s}/\sqrt{1-\beta_2^t} + \epsilon},

(with ``amsgrad``, :math:`\sqrt{s}` is replaced by the square root of the largest s so far).
The two differ in how they apply weight decay :math:`\lambda`:

- :class:`Adam`: as an :math:`\ell_2` term added to the gradient, :math:`g + \lambda W`, which then
  goes through Adam's per-parameter rescaling;
- :class:`AdamW`: *decoupled*, :math:`W \leftarrow (1 - \alpha\lambda) W` before the Adam step
  (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019).

With an adaptive optimizer these are different algorithms; chapter 4 shows how. A complex
parameter is treated, as torch treats it, as two real ones (its real and imaginary parts).
"""

from __future__ import annotations

import torch

from normreg._checks import check_number
from normreg.optim._common import check_kernel_options

__all__ = ["Adam", "AdamW"]


class Adam(torch.optim.Optimizer):
    """Adam, with ``weight_decay`` as an l2 term added to the gradient: a twin of
    ``torch.optim.Adam``.

    Args:
        params: parameters, or parameter groups (dicts, each of which may set its own options).
        lr: learning rate alpha, >= 0. Default: 1e-3.
        betas: (beta1, beta2), each in [0, 1). Default: (0.9, 0.999).
        eps: epsilon >= 0, added to the denominator. Default: 1e-8.
        weight_decay: lambda >= 0. Default: 0.
        amsgrad: use the largest second moment so far (Reddi et al., ICLR 2018). Default: False.
        maximize: ascend instead of descend (keyword-only). Default: False.
        decoupled_weight_decay: decay as :class:`AdamW` does (keyword-only). Default: False.
        foreach, capturable, differentiable, fused: torch's kernel choices; only their
            defaults are accepted (keyword-only).

    State per parameter: ``step`` (a float32 tensor, as in torch), ``exp_avg`` (m),
    ``exp_avg_sq`` (s) and, with amsgrad, ``max_exp_avg_sq``. Its ``state_dict`` loads into
    torch's optimizer and torch's into it; the steps agree with torch's bit for bit on the CPU.

    Deviations from ``torch.optim.Adam``, on purpose: ``lr`` and ``betas`` are plain numbers
    (torch also takes tensors); ``foreach``, ``capturable``, ``differentiable`` and ``fused``
    other than their defaults raise ``ValueError``; messages follow the book's format.

    Reference: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        defaults = {
            "lr": check_number("lr", lr, low=0.0),
            "betas": (check_number("betas[0]", betas[0], low=0.0, high=1.0, high_open=True),
                      check_number("betas[1]", betas[1], low=0.0, high=1.0, high_open=True)),
            "eps": check_number("eps", eps, low=0.0),
            "weight_decay": check_number("weight_decay", weight_decay, low=0.0),
            "amsgrad": bool(amsgrad),
            "maximize": bool(maximize),
            "decoupled_weight_decay": bool(decoupled_weight_decay),
            **check_kernel_options(type(self).__name__, foreach=foreach, capturable=capturable,
                                   differentiable=differentiable, fused=fused),
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            lam, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = -p.grad if group["maximize"] else p.grad
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)  # m
                    state["exp_avg_sq"] = torch.zeros_like(p)  # s
                    if amsgrad:
                        state["max_exp_avg_sq"] = torch.zeros_like(p)  # the largest s so far
                state["step"] += 1
                t = state["step"].item()
                if lam != 0:
                    if group["decoupled_weight_decay"]:
                        p.mul_(1 - lr * lam)  # AdamW: shrink W, outside Adam's rescaling
                    else:
                        g = g.add(p, alpha=lam)  # Adam + l2: the decay is rescaled too
                m, s, w = state["exp_avg"], state["exp_avg_sq"], p
                s_max = state.get("max_exp_avg_sq")
                if torch.is_complex(p):  # real and imaginary parts as two real parameters
                    g, m, s, w = (torch.view_as_real(x) for x in (g, m, s, w))
                    s_max = None if s_max is None else torch.view_as_real(s_max)
                m.lerp_(g, 1 - b1)  # m <- b1 m + (1 - b1) g
                s.mul_(b2).addcmul_(g, g, value=1 - b2)  # s <- b2 s + (1 - b2) g^2
                if amsgrad:
                    torch.maximum(s_max, s, out=s_max)
                    s = s_max
                step_size = lr / (1 - b1 ** t)  # bias corrections
                denominator = (s.sqrt() / (1 - b2 ** t) ** 0.5).add_(eps)
                w.addcdiv_(m, denominator, value=-step_size)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay: a twin of ``torch.optim.AdamW`` (``weight_decay``
    default 0.01).

    The arguments, state, deviations and interchangeable state dicts are :class:`Adam`'s;
    decoupled weight decay is always on.

    Reference: Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
    """

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
