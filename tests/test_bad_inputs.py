"""One table of bad inputs for the public API: each row must raise ValueError or TypeError with
a message that names the argument, what was expected and what arrived.

The modules' own test files test their errors in context; this table is the overview a reader
(or a reviewer of a new function) checks first.
"""

import math
import os
from unittest import mock

import pytest
import torch
from torch import nn

from normreg import MLP, MLPConfig, TrainConfig, load_mnist, scaled_normal_, set_seed
from normreg.data import with_label_noise
from normreg.device import default_device
from normreg.estimators import sampling_rmse, subset_sum
from normreg.grid import grid_points
from normreg.nn import BatchNorm1d, Dropout, LayerNorm1d, NoisyBatchNorm1d
from normreg.optim import SGD, AdamW
from normreg.scale import scale
from normreg.sharpness import top_eigenvalue
from normreg.shifts import shift_pixels
from normreg.slider import static_slider
from normreg.tent import predict_adapted
from normreg.train import evaluate, loss_value

W = [nn.Parameter(torch.zeros(2))]


def _with_env(name, value, call):
    with mock.patch.dict(os.environ, {name: value}):
        return call()


ROWS = [
    # (id, call, exception type, regex: argument, expected, received)
    ("MLPConfig.depth", lambda: MLPConfig(depth=0), ValueError, r"depth must be an int >= 1, got 0"),
    ("MLPConfig.c", lambda: MLPConfig(c=math.nan), ValueError, r"c must be a positive finite number, got nan"),
    ("MLPConfig.norm", lambda: MLPConfig(norm="group"), ValueError, r"norm must be None or one of .*, got 'group'"),
    ("MLPConfig.dropout", lambda: MLPConfig(dropout=1.0), ValueError, r"dropout must be a probability in \[0, 1\), got 1.0"),
    ("MLP input shape", lambda: MLP(MLPConfig(width=4, depth=1))(torch.zeros(3, 5)), ValueError, r"expected input of shape \(N, 784\), got \(3, 5\)"),
    ("TrainConfig.lr", lambda: TrainConfig(lr=math.nan), ValueError, r"lr must be a positive finite number, got nan"),
    ("TrainConfig.steps", lambda: TrainConfig(steps=0), ValueError, r"steps must be an int >= 1, got 0"),
    ("TrainConfig.optimizer", lambda: TrainConfig(optimizer="rmsprop"), ValueError, r"optimizer must be one of .*, got 'rmsprop'"),
    ("TrainConfig.momentum", lambda: TrainConfig(momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    ("TrainConfig.weight_decay", lambda: TrainConfig(weight_decay=-1), ValueError, r"weight_decay must be >= 0, got -1"),
    ("loss_value.kind", lambda: loss_value(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), "hinge"), ValueError, r"loss must be one of .*, got 'hinge'"),
    ("evaluate.mode", lambda: evaluate(nn.Linear(2, 2), torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), mode="test"), ValueError, r"mode must be 'eval' or 'train', got 'test'"),
    ("load_mnist sizes", lambda: load_mnist(n_train_per_class=450, n_test_per_class=100), ValueError, r"must be at most 500 .*, got 450 \+ 100"),
    ("with_label_noise.fraction", lambda: with_label_noise(None, 1.5), ValueError, r"fraction must be a number in \[0, 1\], got 1.5"),
    ("set_seed.seed", lambda: set_seed(1.5), ValueError, r"seed must be an int, got 1.5 \(float\)"),
    ("scaled_normal_.c", lambda: scaled_normal_(torch.zeros(2, 2), c=-1.0), ValueError, r"c must be a positive finite number, got -1.0"),
    ("LayerNorm1d.eps", lambda: LayerNorm1d(4, eps=0.0), ValueError, r"eps must be a positive finite number, got 0.0"),
    ("LayerNorm1d input features", lambda: LayerNorm1d(4)(torch.zeros(2, 3)), ValueError, r"expected input with 4 features \(N, 4\), got"),
    ("LayerNorm1d input dtype", lambda: LayerNorm1d(4)(torch.zeros(2, 4, dtype=torch.long)), TypeError, r"expected a floating-point input, got torch.int64"),
    ("BatchNorm1d.momentum", lambda: BatchNorm1d(4, momentum=2.0), ValueError, r"momentum must be a number in \[0, 1\], got 2.0"),
    ("BatchNorm1d input rank", lambda: BatchNorm1d(4)(torch.zeros(4)), ValueError, r"expected 2D input \(N, 4\), got 1D input"),
    ("BatchNorm1d input type", lambda: BatchNorm1d(4)([[0.0] * 4]), TypeError, r"expected a torch.Tensor, got list"),
    ("NoisyBatchNorm1d.scale", lambda: NoisyBatchNorm1d(4, scale=0.5), ValueError, r"scale must be a number >= 1, got 0.5"),
    ("Dropout.p", lambda: Dropout(1.5), ValueError, r"dropout probability has to be between 0 and 1, but got 1.5"),
    ("Dropout input type", lambda: Dropout(0.5)(3.0), TypeError, r"Dropout expected a torch.Tensor, got float"),
    ("SGD.lr", lambda: SGD(W, lr=-1.0), ValueError, r"lr must be a positive finite number, got -1.0"),
    ("SGD.momentum", lambda: SGD(W, lr=0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    ("AdamW.betas", lambda: AdamW(W, lr=0.1, betas=(0.9, 1.0)), ValueError, r"betas must be two numbers in \[0, 1\), got \(0.9, 1.0\)"),
    ("subset_sum.k", lambda: subset_sum(torch.ones(2, 3), torch.ones(3), 4), ValueError, r"k must be an int in \[1, 3\], got 4"),
    ("sampling_rmse.variance", lambda: sampling_rmse(-1.0, 10, 2), ValueError, r"variance must be a finite number >= 0, got -1.0"),
    ("top_eigenvalue.iters", lambda: top_eigenvalue(lambda v: v, torch.ones(2), iters=0), ValueError, r"iters must be an int >= 1, got 0"),
    ("shift_pixels.severity", lambda: shift_pixels(torch.zeros(1, 784), "blur", 0), ValueError, r"severity must be one of \(1, 2, 3, 4, 5\), got 0"),
    ("predict_adapted.method", lambda: predict_adapted(nn.Linear(2, 2), torch.zeros(2, 2), "magic"), ValueError, r"method must be one of .*, got 'magic'"),
    ("static_slider.values", lambda: static_slider(lambda fig, v: None, []), ValueError, r"expected at least one value, got an empty sequence"),
    ("NORMREG_DEVICE", lambda: _with_env("NORMREG_DEVICE", "gpu", default_device), ValueError, r"NORMREG_DEVICE must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'"),
    ("NORMREG_SCALE", lambda: _with_env("NORMREG_SCALE", "huge", scale), ValueError, r"NORMREG_SCALE must be one of \('book', 'full'\), got 'huge'"),
    ("grid_points.factors", lambda: grid_points({"c": []}), ValueError, r"factors must map each name to a non-empty list, got"),
]


@pytest.mark.parametrize(("call", "error", "message"), [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_table_covers_every_public_module():
    # A module added to the package without a row here fails this test.
    covered = {"models", "train", "data", "repro", "init", "nn", "optim", "estimators",
               "sharpness", "shifts", "tent", "grid", "slider", "device", "scale"}
    import pkgutil

    import normreg

    modules = {m.name for m in pkgutil.iter_modules(normreg.__path__)}
    unchecked = {"diagnostics", "plotting", "regularization", "landscape", "bench"}  # own tests
    assert modules - covered - unchecked == set(), "add rows for the new module"
