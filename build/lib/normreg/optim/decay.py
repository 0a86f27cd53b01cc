r"""The one place that decides what weight decay applies to, and the explicit l2 penalty.

The penalty of the lecture is :math:`\frac{\lambda}{2} \sum_i \|W_i\|_2^2`, over the *weight
matrices* only. The decay policy of the whole book lives in :func:`decayed`:

- weight matrices (every parameter with two or more dimensions: ``nn.Linear`` weights, and
  convolution kernels) decay: they set the scale of each layer's map;
- biases do not: a bias shifts a unit's input and does not make the function more complex in
  the sense the penalty is after, and decaying it only pulls the units toward being off;
- the scale and shift of normalization layers do not: the scale sets on purpose the size that
  the normalization removed, and decaying it pulls every unit's output toward zero.

Biases and the normalization layers' parameters are exactly the one-dimensional parameters, so
the rule is the one nanoGPT's ``configure_optimizers`` uses: decay a parameter when it has two
or more dimensions. A weight matrix followed by a normalization layer does decay under this
policy, although the function hardly depends on its scale; there the decay mainly changes the
effective learning rate (chapter 4).

:func:`param_groups` turns the policy into optimizer parameter groups; the training loop
(:func:`normreg.train.fit`) builds its optimizer from them, and so does every chapter.
"""

from __future__ import annotations

import torch
from torch import nn

from normreg._checks import check_number

__all__ = ["decayed", "param_groups", "l2_penalty"]


def _decays(parameter: nn.Parameter) -> bool:
    return parameter.dim() >= 2  # a weight matrix or a convolution kernel


def decayed(model: nn.Module) -> list[nn.Parameter]:
    """The parameters that weight decay applies to: those with two or more dimensions (the
    weight matrices), in ``model.parameters()`` order."""
    return [p for p in model.parameters() if _decays(p)]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two optimizer parameter groups: the :func:`decayed` weights with ``weight_decay``, and
    every other parameter with ``weight_decay`` 0."""
    weight_decay = check_number("weight_decay", weight_decay, low=0.0)
    return [{"params": decayed(model), "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if not _decays(p)], "weight_decay": 0.0}]


def l2_penalty(model: nn.Module, lam: float) -> torch.Tensor:
    r"""The penalty :math:`\frac{\lambda}{2} \sum \|W\|^2` over the :func:`decayed` parameters.

    Its gradient, :math:`\lambda W`, is what the optimizers' ``weight_decay`` adds to the
    gradient of each decayed parameter.
    """
    lam = check_number("lam", lam, low=0.0)
    return 0.5 * lam * sum(w.pow(2).sum() for w in decayed(model))
