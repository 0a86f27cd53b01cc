"""normreg: the code behind the course book "Normalization and Regularization in Deep Learning".

Laid out where a PyTorch user looks for each piece, one concept per module:

- :mod:`normreg.nn`          the from-scratch layers, twins of torch.nn's (``LayerNorm``,
  ``RMSNorm``, ``GroupNorm``, ``BatchNorm1d``, ``BatchNorm2d``, ``Dropout``,
  ``NoisyBatchNorm1d``), their functional forms (:mod:`normreg.nn.functional`), the
  initialization (:mod:`normreg.nn.init`), batch-norm folding (:mod:`normreg.nn.utils.fusion`),
  and the fused, compiled formulas (:mod:`normreg.nn.fused`)
- :mod:`normreg.optim`       ``SGD``, ``Adam``, ``AdamW`` from their update rules, twins of
  torch.optim's, and the one policy of what weight decay applies to
- :mod:`normreg.data`        real MNIST offline, label noise, distribution shifts
- :mod:`normreg.models`      the MLP of every chapter (depth, width, c, norm, dropout)
- :mod:`normreg.losses`      the losses by name
- :mod:`normreg.train`       the one training loop, its configuration and history format
- :mod:`normreg.probes`      measurements: per-layer norms, estimators, the loss landscape,
  sharpness
- :mod:`normreg.experiments` experiments of one chapter: the sweep of chapter 6, Tent of chapter 8
- :mod:`normreg.plotting`    the one figure style of the book
- :mod:`normreg.slider`      kernel-free sliders, the static counterpart of each widget
- :mod:`normreg.repro`       seeding
- :mod:`normreg.settings`    every environment variable (``NORMREG_DEVICE``, ``NORMREG_SCALE``,
  ``NORMREG_PROGRESS``)
- :mod:`normreg.bench`       benchmarks of the layers and the notebooks (``make bench``)
"""

from normreg.data import Dataset, load_mnist
from normreg.models import MLP, MLPConfig
from normreg.nn.init import scaled_normal_
from normreg.repro import set_seed
from normreg.train import History, TrainConfig, fit

__all__ = [
    "Dataset",
    "History",
    "MLP",
    "MLPConfig",
    "TrainConfig",
    "fit",
    "load_mnist",
    "scaled_normal_",
    "set_seed",
]
__version__ = "0.1.0"
