"""What a notebook spends on training: the wall time of its training runs, and their arithmetic.

:func:`install` wraps the two ways the book trains, :func:`~normreg.train.fit` (one network)
and each group of runs that :func:`~normreg.train.fit_many` trains together, so that every call
appends one line of JSON to a file: its wall time and the floating-point operations of the
matrix products and convolutions it computed, counted by
``torch.utils.flop_counter.FlopCounterMode`` on the run's network:

- each training step the run took (a run whose loss stopped being finite stops there): one
  forward and backward pass at its batch size;
- each evaluation (:attr:`~normreg.train.History.step` lists them): one forward pass over the
  training set and one over the test set.

What a callback computes (chapter 7's Hessian-vector products) is in the wall time but not in
the count. :mod:`normreg.bench.notebooks` installs it in each notebook's kernel; the notebook's
results do not change, since the counting draws no numbers from the random streams the runs use.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from normreg.data import Dataset
from normreg.train.history import History

__all__ = ["install", "read", "step_products", "run_products"]


def step_products(model: nn.Module, x: torch.Tensor, backward: bool = True) -> int:
    """Floating-point operations of the matrix products and convolutions of one training
    step of ``model`` on the batch ``x``: forward and backward, or the forward pass alone (in
    eval mode, as evaluated) if ``backward=False``. The model is not changed."""
    model = copy.deepcopy(model).train(backward)
    with torch.random.fork_rng(devices=[]), FlopCounterMode(display=False) as counter:
        if backward:
            model(x).sum().backward()  # the loss's own arithmetic is negligible
        else:
            with torch.no_grad():
                model(x)
    return counter.get_total_flops()


def run_products(model: nn.Module, data: Dataset, batch_size: int, history: History,
                 count: Callable[..., int] = step_products) -> int:
    """Floating-point operations of the products of one finished run: each step it took at
    ``batch_size``, and each evaluation on ``data``'s training and test sets (per example: the
    forward pass of a batch, divided by its size). ``count``: :func:`step_products` or a
    cached version of it."""
    x = data.x_train[:batch_size]
    steps = len(history.batch_loss)  # the updates made (not the step at which a run diverged)
    per_example = count(model, x, backward=False) / x.shape[0]
    evaluated = len(history.step) * (data.x_train.shape[0] + data.x_test.shape[0])
    return steps * count(model, x) + round(evaluated * per_example)


def install(path: str | Path) -> None:
    """From now on, append a line ``{"seconds": ..., "flops": ...}`` to ``path`` for every
    call of :func:`~normreg.train.fit` and every group of runs that
    :func:`~normreg.train.fit_many` trains (call before importing ``fit`` from normreg)."""
    import normreg
    import normreg.train
    from normreg.train import batched, loop

    path = Path(path)
    if not path.parent.is_dir():  # found now, not at the first training run of a notebook
        raise ValueError(f"path must be a file in an existing folder, got {str(path)!r}")
    fit_group, fit = batched._Group.fit, loop.fit
    counted: dict[tuple, int] = {}  # (network, batch shape, backward) -> its products

    def count(model: nn.Module, x: torch.Tensor, backward: bool = True) -> int:
        key = (repr(model), tuple(x.shape), backward)
        if key not in counted:
            counted[key] = step_products(model, x, backward)
        return counted[key]

    def record(seconds: float, flops: int) -> None:
        with path.open("a") as file:
            file.write(json.dumps({"seconds": seconds, "flops": flops}) + "\n")

    def fit_group_recorded(group, progress, callback):
        runs, datasets = list(group.runs), list(group.datasets)  # a diverged run leaves these
        start = time.perf_counter()
        results = fit_group(group, progress, callback)
        seconds = time.perf_counter() - start
        record(seconds, sum(run_products(model, data, run.train.batch_size, history, count)
                            for run, data, (model, history)
                            in zip(runs, datasets, results, strict=True)))
        return results

    def fit_recorded(model, data, config, *args, **kwargs):
        start = time.perf_counter()
        history = fit(model, data, config, *args, **kwargs)
        seconds = time.perf_counter() - start
        record(seconds, run_products(model, data, config.batch_size, history, count))
        return history

    batched._Group.fit = fit_group_recorded
    loop.fit = normreg.train.fit = normreg.fit = fit_recorded


def read(path: str | Path) -> tuple[float, int]:
    """(seconds, flops) summed over what :func:`install` recorded in ``path``; (0, 0) if
    nothing was trained."""
    path = Path(path)
    if not path.exists():
        return 0.0, 0
    lines = [json.loads(line) for line in path.read_text().splitlines() if line]
    return sum(r["seconds"] for r in lines), sum(r["flops"] for r in lines)
