"""The one training loop of the book, and the one format its results come in.

Every chapter trains with :func:`fit` and reads a :class:`History`; nothing else in the book
loops over minibatches.
"""

from __future__ import annotations

import copy
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from normreg.data import Dataset
from normreg.diagnostics import weight_distances, weight_norms

__all__ = ["TrainConfig", "History", "fit", "evaluate", "loss_value", "make_optimizer", "LOSSES",
           "OPTIMIZERS"]

OPTIMIZERS = ("sgd", "adam", "adamw")
LOSSES = ("cross_entropy", "mse")


@dataclass
class TrainConfig:
    """One training run; a notebook prints it to show what was done."""

    steps: int = 500  # number of minibatch updates
    batch_size: int = 100  # examples per minibatch
    lr: float = 0.01  # learning rate (the lecture's alpha)
    optimizer: str = "sgd"  # "sgd" (vanilla unless momentum > 0), "adam" or "adamw"
    momentum: float = 0.0  # SGD momentum mu
    weight_decay: float = 0.0  # the optimizer's weight_decay (the lecture's lambda)
    loss: str = "cross_entropy"  # "cross_entropy", or "mse" on one-hot targets
    eval_every: int = 50  # evaluate on the full train and test sets every this many steps
    record_layers: bool = False  # also record per-layer ||W|| and ||W - W0|| at each evaluation
    seed: int = 0  # seeds the minibatch order (the model's initialization is seeded by the caller)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay!r}")


@dataclass
class History:
    """What a training run recorded.

    ``batch_loss[t]`` is the minibatch loss at update t (t = 0 .. steps - 1), as the optimizer
    saw it. At every evaluation step (0, eval_every, 2 * eval_every, ..., and the last step) the
    loop appends to ``step``, ``train_loss``, ``train_acc``, ``test_loss`` and ``test_acc``,
    measured on the full sets in eval mode, and, if asked, to ``weight_norm`` and
    ``weight_change`` (one list per evaluation, one entry per linear layer: ||W_i||_F and
    ||W_i - W_i^(0)||_F). ``extra[name]`` holds what a ``callback`` of :func:`fit` returned
    under ``name``, one value per evaluation. ``diverged_at`` is the update at which the loss
    stopped being finite, or None; training stops there.
    """

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    weight_norm: list[list[float]] = field(default_factory=list)
    weight_change: list[list[float]] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    diverged_at: int | None = None

    METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def final(self, metric: str) -> float:
        """The last recorded value of ``metric`` (nan if training diverged)."""
        if metric not in self.METRICS and metric != "batch_loss":
            raise ValueError(f"metric must be one of {self.METRICS + ('batch_loss',)}, "
                             f"got {metric!r}")
        if self.diverged:
            return math.nan
        return getattr(self, metric)[-1]

    def summary(self) -> str:
        if self.diverged:
            return f"diverged at step {self.diverged_at}"
        return (f"train loss {self.final('train_loss'):.3f}, train acc "
                f"{self.final('train_acc'):.3f}, test acc {self.final('test_acc'):.3f}")


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    """The torch optimizer a :class:`TrainConfig` names."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                               weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def loss_value(logits: torch.Tensor, y: torch.Tensor, kind: str = "cross_entropy") -> torch.Tensor:
    """The mean loss of the book: ``"cross_entropy"``, or ``"mse"``, 1/2 the squared error to
    the one-hot targets summed over classes, averaged over the N examples (logits (N, C))."""
    if kind not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    return _loss(logits, y, kind)


def _loss(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "cross_entropy":
        return F.cross_entropy(logits, y)
    # Squared loss on one-hot targets, summed over classes and averaged over examples.
    target = F.one_hot(y, logits.shape[1]).to(logits.dtype)
    return 0.5 * ((logits - target) ** 2).sum(dim=1).mean()


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
             *, mode: str = "eval", batch_size: int | None = None) -> tuple[float, float]:
    """Loss and accuracy of ``model`` on (x, y); the model and its buffers are left as they were.

    Args:
        mode: ``"eval"`` (the default: running statistics, no dropout) or ``"train"``, which
            evaluates a copy of the model in train mode, so that batch normalization uses the
            statistics of each evaluation batch, as during training.
        batch_size: evaluate in consecutive batches of this size (None: all at once); the
            loss and accuracy are averaged over all examples.
    """
    if mode not in ("eval", "train"):
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    n = x.shape[0]
    size = n if batch_size is None else batch_size
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"batch_size must be None or an int >= 1, got {batch_size!r}")
    if mode == "train":
        model = copy.deepcopy(model)  # batch norm would update the original's running statistics
    was_training = model.training
    model.train(mode == "train")
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, n, size):
            logits = model(x[start:start + size])  # (B, classes)
            target = y[start:start + size]
            total_loss += _loss(logits, target, loss).item() * len(target)
            correct += (logits.argmax(dim=1) == target).sum().item()
    finally:
        model.train(was_training)
    return total_loss / n, correct / n


def _progress_enabled(progress: bool | None) -> bool:
    """Show a bar to a person running a notebook; never in the book build, nbval or a script.

    ``NORMREG_PROGRESS=0`` (set by every make target) turns it off; otherwise it is on inside a
    Jupyter kernel and off elsewhere.
    """
    if progress is not None:
        return progress
    if os.environ.get("NORMREG_PROGRESS", "").strip() == "0":
        return False
    return "ipykernel" in sys.modules


def fit(model: nn.Module, data: Dataset, config: TrainConfig,
        optimizer: torch.optim.Optimizer | None = None,
        progress: bool | None = None,
        callback: Callable[[nn.Module], dict[str, float]] | None = None) -> History:
    """Train ``model`` on ``data.x_train`` with minibatches, as ``config`` says.

    Args:
        model: any module mapping (N, features) to (N, classes) logits.
        data: the :class:`~normreg.data.Dataset` to train and evaluate on.
        config: the run's :class:`TrainConfig`.
        optimizer: an optimizer over ``model``'s parameters to use instead of the one
            ``config`` names (``config.lr`` etc. are then ignored).
        progress: show a tqdm bar; None decides as described in ``_progress_enabled``.
        callback: called with the model at every evaluation step (after the metrics); each
            ``name: value`` it returns is appended to ``history.extra[name]``. Chapter 7
            records the sharpness of the loss this way. It must leave the model as it found it.

    Returns:
        The run's :class:`History`.
    """
    if optimizer is None:
        optimizer = make_optimizer(model.parameters(), config)
    generator = torch.Generator().manual_seed(config.seed)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    initial = [layer.weight.detach().clone() for layer in linears]
    history = History()
    n = data.x_train.shape[0]

    def record(step: int) -> None:
        for split in ("train", "test"):
            x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
            value, accuracy = evaluate(model, x, y, config.loss)
            getattr(history, f"{split}_loss").append(value)
            getattr(history, f"{split}_acc").append(accuracy)
        history.step.append(step)
        if config.record_layers:
            history.weight_norm.append(weight_norms(linears))
            history.weight_change.append(weight_distances(linears, initial))
        if callback is not None:
            for name, value in callback(model).items():
                history.extra.setdefault(name, []).append(float(value))

    steps = range(config.steps)
    if _progress_enabled(progress):
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="training", leave=False)

    model.train()
    order = torch.randperm(n, generator=generator)
    cursor = 0
    for step in steps:
        if step % config.eval_every == 0:
            record(step)
        # 1. the next minibatch (a fresh permutation each epoch)
        if cursor + config.batch_size > n:
            order, cursor = torch.randperm(n, generator=generator), 0
        idx = order[cursor:cursor + config.batch_size].to(data.x_train.device)
        cursor += config.batch_size
        # 2. forward, backward, update
        loss = _loss(model(data.x_train[idx]), data.y_train[idx], config.loss)
        if not torch.isfinite(loss):
            history.diverged_at = step
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.batch_loss.append(loss.item())
    else:
        record(config.steps)
    return history
