"""What a notebook spends on training: the wall time of its training runs, and their arithmetic.

:func:`install` wraps the two ways the book trains, :func:`~normreg.train.fit` (one network)
and each group of runs that :func:`~normreg.train.fit_many` trains together, so that every call
appends one line of JSON to a file: its wall time (evaluations and callbacks included) and the
floating-point operations of its training steps' matrix products and convolutions, counted by
``torch.utils.flop_counter.FlopCounterMode`` on one forward and backward pass of the run's
network at its batch size, times its number of steps. (Evaluations are not counted: the count
is what the training steps cannot do without.) :mod:`normreg.bench.notebooks` installs it in
each notebook's kernel; the notebook's results do not change, since the counting draws no
numbers from the random streams the runs use.
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

__all__ = ["install", "read", "step_products"]


def step_products(model: nn.Module, x: torch.Tensor) -> int:
    """Floating-point operations of the matrix products and convolutions of one training
    step (forward and backward) of ``model`` on the batch ``x``; the model is not changed."""
    model = copy.deepcopy(model).train()
    with torch.random.fork_rng(devices=[]), FlopCounterMode(display=False) as counter:
        model(x).sum().backward()  # the loss's own arithmetic is negligible
    return counter.get_total_flops()


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
    counted: dict[tuple, int] = {}  # (network, batch shape) -> products of one step

    def products(model: nn.Module, key: tuple, x: torch.Tensor) -> int:
        if key not in counted:
            counted[key] = step_products(model, x)
        return counted[key]

    def record(seconds: float, flops: int) -> None:
        with path.open("a") as file:
            file.write(json.dumps({"seconds": seconds, "flops": flops}) + "\n")

    def timed(call: Callable[[], object]) -> tuple[object, float]:
        start = time.perf_counter()
        result = call()
        return result, time.perf_counter() - start

    fit_group, fit = batched._Group.fit, loop.fit

    def fit_group_recorded(group, progress, callback):
        flops = 0
        for run, model, data in zip(group.runs, group.models, group.datasets, strict=True):
            x = data.x_train[: run.train.batch_size]
            flops += products(model, (repr(run.model), tuple(x.shape)), x) * run.train.steps
        result, seconds = timed(lambda: fit_group(group, progress, callback))
        record(seconds, flops)
        return result

    def fit_recorded(model, data, config, *args, **kwargs):
        x = data.x_train[: config.batch_size]
        flops = step_products(model, x) * config.steps
        result, seconds = timed(lambda: fit(model, data, config, *args, **kwargs))
        record(seconds, flops)
        return result

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
