"""Optimizers written from their update rules, each a drop-in twin of its ``torch.optim``
counterpart, and beside them the one policy of what weight decay applies to.

- :class:`SGD`   (``torch.optim.SGD``): momentum, dampening, Nesterov, weight decay, maximize
- :class:`Adam`  (``torch.optim.Adam``): weight decay as an l2 term in the gradient; amsgrad
- :class:`AdamW` (``torch.optim.AdamW``): decoupled weight decay
- :func:`decayed`, :func:`param_groups`, :func:`l2_penalty` (:mod:`normreg.optim.decay`): the
  weight matrices decay; biases and normalization parameters do not
"""

from normreg.optim.adam import Adam, AdamW
from normreg.optim.decay import decayed, l2_penalty, param_groups
from normreg.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "decayed", "l2_penalty", "param_groups"]
