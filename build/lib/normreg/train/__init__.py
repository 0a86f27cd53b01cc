"""Training: the one loop, its configuration, its history format, and the one registry of
losses.

- :mod:`normreg.train.loop`: :func:`fit`, :class:`TrainConfig`, :func:`evaluate`,
  :func:`make_optimizer` (with the book's weight-decay policy)
- :mod:`normreg.train.batched`: :func:`fit_many`, many :class:`Run` of a sweep trained together
  as one batched computation, each equal to the run done alone
- :mod:`normreg.train.history`: :class:`History`, what every run records
- :data:`LOSSES` (from :mod:`normreg.losses`): the losses by name
"""

from normreg.losses import LOSSES, loss_fn, loss_value
from normreg.train.batched import Run, fit_many
from normreg.train.history import History
from normreg.train.loop import OPTIMIZERS, TrainConfig, evaluate, fit, make_optimizer, minibatches

__all__ = ["History", "TrainConfig", "fit", "fit_many", "Run", "evaluate", "make_optimizer",
           "minibatches", "OPTIMIZERS", "LOSSES", "loss_fn", "loss_value"]
