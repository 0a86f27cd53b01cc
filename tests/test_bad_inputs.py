"""One table of bad inputs for the public API: each row must raise ValueError or TypeError with
a message that names the argument, what was expected and what arrived.

The modules' own test files test their errors in context; this table is the overview a reader
(or a reviewer of a new function) checks first. Each row names the function or class it
exercises, and the coverage test derives from those names which modules the table covers: a
new public module fails it until it has a row, or a stated reason in EXEMPT.
"""

import math
import os
import pkgutil
from unittest import mock

import pytest
import torch
from torch import nn

import normreg
from normreg import MLP, MLPConfig, TrainConfig, load_mnist, scaled_normal_, set_seed, settings
from normreg.bench.layers import run as bench_layers
from normreg.bench.notebooks import measure as bench_notebooks
from normreg.bench.trace import install as bench_trace
from normreg.bench.training import run as bench_training
from normreg.data import shift_pixels, with_label_noise
from normreg.data.synthetic import norm_only_task
from normreg.experiments.ridge import regression_problem, ridge
from normreg.experiments.sweep import grid_points, grid_table
from normreg.experiments.tent import predict_adapted
from normreg.losses import loss_value
from normreg.models import ConvNet, ConvNetConfig, ResidualMLP, ResidualMLPConfig
from normreg.nn import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    GroupNorm,
    LayerNorm,
    NoisyBatchNorm1d,
    RMSNorm,
)
from normreg.nn.functional import group_norm, rms_norm
from normreg.nn.utils.fusion import fuse_bn_linear_eval, fuse_conv_bn_eval, fuse_linear_bn_eval
from normreg.optim import SGD, Adam, AdamW, param_groups
from normreg.plotting import plot_heatmap
from normreg.probes.diagnostics import layer_stats
from normreg.probes.dropout import dropout_penalty, expected_dropout_loss
from normreg.probes.estimators import sampling_rmse, subset_sum
from normreg.probes.landscape import internal_covariate_shift, loss_along_gradient
from normreg.probes.sharpness import top_eigenvalue
from normreg.slider import static_slider
from normreg.train import History, evaluate
from normreg.train.batched import fit_many

W = [nn.Parameter(torch.zeros(2))]
X, Y = torch.zeros(3, 4), torch.zeros(3, dtype=torch.long)


def _with_env(name, value, call):
    with mock.patch.dict(os.environ, {name: value}):
        return call()


ROWS = [
    # (what it exercises, call, exception type, regex: argument, expected, received)
    (MLPConfig, lambda: MLPConfig(depth=0), ValueError, r"depth must be an int >= 1, got 0"),
    (MLPConfig, lambda: MLPConfig(c=math.nan), ValueError, r"c must be a number > 0, got nan"),
    (MLPConfig, lambda: MLPConfig(norm="group"), ValueError, r"norm must be one of \(None, 'layer', 'batch', 'noisy_batch', 'rms'\), got 'group'"),
    (MLPConfig, lambda: MLPConfig(dropout=1.0), ValueError, r"dropout must be a number in \[0, 1\), got 1.0"),
    (MLP, lambda: MLP(MLPConfig(width=4, depth=1))(torch.zeros(3, 5)), ValueError, r"input must have shape \(N, 784\), got \(3, 5\)"),
    (ResidualMLPConfig, lambda: ResidualMLPConfig(norm_position="after"), ValueError, r"norm_position must be one of \('pre', 'post'\), got 'after'"),
    (ResidualMLPConfig, lambda: ResidualMLPConfig(norm="group"), ValueError, r"norm must be one of \(None, 'layer', 'rms', 'batch'\), got 'group'"),
    (ResidualMLP, lambda: ResidualMLP(depth=1, width=4)(torch.zeros(3, 5)), ValueError, r"input must have shape \(N, 784\), got \(3, 5\)"),
    (ConvNetConfig, lambda: ConvNetConfig(norm="group", channels=6, num_groups=4), ValueError, r"num_groups must divide channels, got num_groups=4 and channels=6"),
    (ConvNetConfig, lambda: ConvNetConfig(norm="layer"), ValueError, r"norm must be one of \(None, 'batch', 'group'\), got 'layer'"),
    (ConvNet, lambda: ConvNet()(torch.zeros(3, 28, 28)), ValueError, r"input must have shape \(N, 784\) or \(N, 1, 28, 28\), got \(3, 28, 28\)"),
    (TrainConfig, lambda: TrainConfig(lr=math.nan), ValueError, r"lr must be a number > 0, got nan"),
    (TrainConfig, lambda: TrainConfig(steps=0), ValueError, r"steps must be an int >= 1, got 0"),
    (TrainConfig, lambda: TrainConfig(optimizer="rmsprop"), ValueError, r"optimizer must be one of \('sgd', 'adam', 'adamw'\), got 'rmsprop'"),
    (TrainConfig, lambda: TrainConfig(momentum=1.0), ValueError, r"momentum must be a number in \[0, 1\), got 1.0"),
    (evaluate, lambda: evaluate(nn.Linear(2, 2), torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), mode="test"), ValueError, r"mode must be one of \('eval', 'train'\), got 'test'"),
    (History, lambda: History().final("loss"), ValueError, r"metric must be one of .*, got 'loss'"),
    (fit_many, lambda: fit_many([], None), ValueError, r"runs must be a non-empty sequence of Run, got an empty one"),
    (loss_value, lambda: loss_value(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), "hinge"), ValueError, r"loss must be one of \('cross_entropy', 'mse'\), got 'hinge'"),
    (load_mnist, lambda: load_mnist(n_train_per_class=450, n_test_per_class=100), ValueError, r"must be at most 500 .*, got 450 \+ 100"),
    (with_label_noise, lambda: with_label_noise(None, 1.5), ValueError, r"fraction must be a number in \[0, 1\], got 1.5"),
    (shift_pixels, lambda: shift_pixels(torch.zeros(1, 784), "blur", 0), ValueError, r"severity must be one of \(1, 2, 3, 4, 5\), got 0"),
    (shift_pixels, lambda: shift_pixels(torch.zeros(1, 784), "fog", 1), ValueError, r"kind must be one of \('gaussian_noise', 'blur', 'contrast', 'rotation'\), got 'fog'"),
    (norm_only_task, lambda: norm_only_task(radii=(1.0, 0.0)), ValueError, r"every radius must be a number > 0, got 0.0"),
    (regression_problem, lambda: regression_problem(10, 5, -0.5), ValueError, r"noise must be a number >= 0, got -0.5"),
    (ridge, lambda: ridge(torch.ones(3, 2), torch.ones(3), [0.1, -1.0]), ValueError, r"every lambda must be >= 0, got \[0.1, -1.0\]"),
    (set_seed, lambda: set_seed(1.5), ValueError, r"seed must be an int, got 1.5"),
    (scaled_normal_, lambda: scaled_normal_(torch.zeros(2, 2), c=-1.0), ValueError, r"c must be a number > 0, got -1.0"),
    (LayerNorm, lambda: LayerNorm(4, eps=-1.0), ValueError, r"eps must be a number >= 0, got -1.0"),
    (LayerNorm, lambda: LayerNorm(4)(torch.zeros(2, 3)), ValueError, r"input must end in the normalized dimension 4 \(\*, 4\), got shape \(2, 3\)"),
    (LayerNorm, lambda: LayerNorm(4)(torch.zeros(2, 4, dtype=torch.long)), TypeError, r"input must have a floating-point dtype, got torch.int64"),
    (BatchNorm1d, lambda: BatchNorm1d(4, momentum=2.0), ValueError, r"momentum must be a number in \[0, 1\], got 2.0"),
    (BatchNorm1d, lambda: BatchNorm1d(4)(torch.zeros(4)), ValueError, r"input must be a 2D or 3D tensor, got a 1D tensor"),
    (BatchNorm1d, lambda: BatchNorm1d(4)([[0.0] * 4]), TypeError, r"input must be a torch.Tensor, got list"),
    (BatchNorm2d, lambda: BatchNorm2d(4, eps=-1.0), ValueError, r"eps must be a number >= 0, got -1.0"),
    (BatchNorm2d, lambda: BatchNorm2d(4)(torch.zeros(2, 4, 3)), ValueError, r"input must be a 4D tensor, got a 3D tensor of shape \(2, 4, 3\)"),
    (BatchNorm2d, lambda: BatchNorm2d(4)(torch.zeros(2, 3, 2, 2)), ValueError, r"input must have 4 channels in dimension 1, \(N, 4, H, W\), got shape \(2, 3, 2, 2\)"),
    (RMSNorm, lambda: RMSNorm(4, eps=-1.0), ValueError, r"eps must be a number >= 0, got -1.0"),
    (RMSNorm, lambda: RMSNorm((2, 3)), ValueError, r"normalized_shape must be an int D or a 1-tuple \(D,\) \(this layer normalizes the last dimension only\), got \(2, 3\)"),
    (RMSNorm, lambda: RMSNorm(4)(torch.zeros(2, 3)), ValueError, r"input must end in the normalized dimension 4 \(\*, 4\), got shape \(2, 3\)"),
    (rms_norm, lambda: rms_norm(torch.zeros(2, 4, dtype=torch.long), 4), TypeError, r"input must have a floating-point dtype, got torch.int64"),
    (GroupNorm, lambda: GroupNorm(4, 6), ValueError, r"num_channels must be divisible by num_groups \(4\), got 6"),
    (GroupNorm, lambda: GroupNorm(0, 6), ValueError, r"num_groups must be an int >= 1, got 0"),
    (GroupNorm, lambda: GroupNorm(2, 6, eps=math.nan), ValueError, r"eps must be a number >= 0, got nan"),
    (GroupNorm, lambda: GroupNorm(2, 6)(torch.zeros(2, 4, 3)), ValueError, r"input must have 6 channels in dimension 1, \(N, 6, \*\), got shape \(2, 4, 3\)"),
    (group_norm, lambda: group_norm(torch.zeros(2, 6, 3), 4), ValueError, r"input's channels \(dimension 1\) must be divisible by num_groups \(4\), got shape \(2, 6, 3\)"),
    (group_norm, lambda: group_norm(torch.zeros(6), 2), ValueError, r"input must be a tensor of shape \(N, C, \*\), at least 2D, got a 1D tensor of shape \(6,\)"),
    (group_norm, lambda: group_norm(torch.zeros(2, 6), 2, torch.ones(5)), ValueError, r"weight must have shape \(6,\), one value per channel, got \(5,\)"),
    (fuse_linear_bn_eval, lambda: fuse_linear_bn_eval(nn.Linear(3, 4), BatchNorm1d(4)), ValueError, r"linear must be in eval mode to be fused \(call .eval\(\)\), got a module in training mode"),
    (fuse_linear_bn_eval, lambda: fuse_linear_bn_eval(nn.Linear(5, 3).eval(), BatchNorm1d(4).eval()), ValueError, r"linear.out_features must equal bn.num_features \(4\), got 3"),
    (fuse_conv_bn_eval, lambda: fuse_conv_bn_eval(nn.Conv2d(2, 4, 1).eval(), BatchNorm2d(4)), ValueError, r"bn must be in eval mode to be fused \(call .eval\(\)\), got a module in training mode"),
    (fuse_conv_bn_eval, lambda: fuse_conv_bn_eval(nn.Linear(2, 4).eval(), BatchNorm2d(4).eval()), TypeError, r"conv must be a torch convolution \(nn.Conv2d, ...\), got Linear"),
    (fuse_bn_linear_eval, lambda: fuse_bn_linear_eval(BatchNorm1d(4).eval(), nn.Linear(5, 3).eval()), ValueError, r"linear.in_features must equal bn.num_features \(4\), got 5"),
    (fuse_bn_linear_eval, lambda: fuse_bn_linear_eval(BatchNorm1d(4, track_running_stats=False).eval(), nn.Linear(4, 3).eval()), ValueError, r"bn must keep running estimates \(track_running_stats=True\) to be fused, got running_mean None"),
    (NoisyBatchNorm1d, lambda: NoisyBatchNorm1d(4, scale=0.5), ValueError, r"scale must be a number >= 1, got 0.5"),
    (Dropout, lambda: Dropout(1.5), ValueError, r"p must be a number in \[0, 1\], got 1.5"),
    (Dropout, lambda: Dropout(0.5)(3.0), TypeError, r"input must be a torch.Tensor, got float"),
    (SGD, lambda: SGD(W, lr=-1.0), ValueError, r"lr must be a number >= 0, got -1.0"),
    (SGD, lambda: SGD(W, lr=0.1, foreach=True), ValueError, r"foreach=True is not supported"),
    (Adam, lambda: Adam(W, amsgrad=False, fused=True), ValueError, r"fused=True is not supported"),
    (AdamW, lambda: AdamW(W, lr=0.1, betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be a number in \[0, 1\), got 1.0"),
    (param_groups, lambda: param_groups(nn.Linear(2, 2), -0.1), ValueError, r"weight_decay must be a number >= 0, got -0.1"),
    (layer_stats, lambda: layer_stats(MLP(in_features=4, width=3, depth=1), X, Y[:2]), ValueError, r"x and y must have shapes \(N, features\) and \(N,\), got \(3, 4\) and \(2,\)"),
    (subset_sum, lambda: subset_sum(torch.ones(2, 3), torch.ones(3), 4), ValueError, r"k must be an int in \[1, 3\], got 4"),
    (sampling_rmse, lambda: sampling_rmse(-1.0, 10, 2), ValueError, r"variance must be a number >= 0, got -1.0"),
    (dropout_penalty, lambda: dropout_penalty(torch.zeros(3, 2), X, torch.zeros(2, 5), 0.5), ValueError, r"z and weight must have shapes \(N, n\) and \(C, n\), got \(3, 4\) and \(2, 5\)"),
    (expected_dropout_loss, lambda: expected_dropout_loss(nn.Linear(4, 2), X, Y, 1.0), ValueError, r"p must be a number in \[0, 1\), got 1.0"),
    (internal_covariate_shift, lambda: internal_covariate_shift(MLP(in_features=4, width=3, depth=1), X, Y, lr=-0.1), ValueError, r"lr must be a number >= 0, got -0.1"),
    (loss_along_gradient, lambda: loss_along_gradient(MLP(in_features=4, width=3, depth=1), X, Y, [0.1, 0.0]), ValueError, r"every step size must be a number > 0, got 0.0"),
    (top_eigenvalue, lambda: top_eigenvalue(lambda v: v, torch.ones(2), iters=0), ValueError, r"iters must be an int >= 1, got 0"),
    (predict_adapted, lambda: predict_adapted(nn.Linear(2, 2), torch.zeros(2, 2), "magic"), ValueError, r"method must be one of \('source', 'norm', 'tent'\), got 'magic'"),
    (grid_points, lambda: grid_points({"c": []}), ValueError, r"factors must map each name to a non-empty list, got"),
    (grid_table, lambda: grid_table([{"c": 1, "test_acc": 0.5}], "c", "lr"), ValueError, r"'lr' must be a factor of these records, one of \['c'\]"),
    (plot_heatmap, lambda: plot_heatmap(None, [[1.0, 2.0]], ["a"], ["x"]), ValueError, r"table must have shape \(1, 1\), .*, got \(1, 2\)"),
    (static_slider, lambda: static_slider(lambda fig, v: None, []), ValueError, r"values must be a non-empty sequence, got an empty one"),
    (static_slider, lambda: static_slider(lambda fig, v: None, [1], dpi=0), ValueError, r"dpi must be an int >= 1, got 0"),
    (settings.device, lambda: _with_env("NORMREG_DEVICE", "gpu", settings.device), ValueError, r"NORMREG_DEVICE must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'"),
    (settings.scale, lambda: _with_env("NORMREG_SCALE", "huge", settings.scale), ValueError, r"NORMREG_SCALE must be one of \('book', 'full'\), got 'huge'"),
    (bench_layers, lambda: bench_layers(sizes=[(8, 16)], ways=("autograd",), bandwidth=1e10), ValueError, r"ways must be a subset of .* that includes 'torch', got \('autograd',\)"),
    (bench_notebooks, lambda: bench_notebooks(["missing.ipynb"]), ValueError, r"notebooks must be existing .ipynb files, got missing"),
    (bench_training, lambda: bench_training(ks=[1, 0]), ValueError, r"every K must be an int >= 1, got 0"),
    (bench_trace, lambda: bench_trace("/no/such/folder/log.jsonl"), ValueError, r"path must be a file in an existing folder, got '/no/such/folder/log.jsonl'"),
]

# Public modules without a row, and why.
EXEMPT = {
    "normreg.nn.functional": "gathers the functional forms defined (and covered) in nn.layernorm, "
                             "nn.rmsnorm, nn.groupnorm, nn.batchnorm and nn.dropout",
    "normreg.nn.fused": "formulas compiled by torch.compile for the benchmarks; a check inside "
                        "would be compiled into the kernel",
    "normreg.bench": "reads and writes the results file of make bench",
    "normreg.bench.__main__": "the command line of make bench: argparse reports bad arguments",
}


@pytest.mark.parametrize(("call", "error", "message"), [row[1:] for row in ROWS],
                         ids=[f"{row[0].__module__}.{row[0].__qualname__}" for row in ROWS])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def public_modules():
    names = {normreg.__name__}
    for info in pkgutil.walk_packages(normreg.__path__, prefix="normreg."):
        if not any(part.startswith("_") and part != "__main__" for part in info.name.split(".")):
            names.add(info.name)
    return names


def test_every_public_module_has_a_row_or_a_reason():
    covered = {row[0].__module__ for row in ROWS}
    # a package's __init__ only re-exports; its modules are covered one by one
    packages = {m for m in public_modules() if hasattr(__import__(m, fromlist=["_"]), "__path__")}
    missing = public_modules() - covered - set(EXEMPT) - (packages - set(EXEMPT))
    assert missing == set(), f"add rows (or a reason in EXEMPT) for {sorted(missing)}"
    assert set(EXEMPT) <= public_modules(), "EXEMPT names a module that does not exist"
