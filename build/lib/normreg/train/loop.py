"""The one training loop of the book: :func:`fit`, configured by a :class:`TrainConfig`.

Every chapter trains with :func:`fit` and reads a :class:`~normreg.train.history.History`;
nothing else in the book loops over minibatches.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from normreg import settings
from normreg._checks import check_choice, check_int, check_number
from normreg.data import Dataset
from normreg.losses import LOSSES, loss_value
from normreg.models import linear_layers
from normreg.optim import SGD, Adam, AdamW, param_groups
from normreg.probes.diagnostics import weight_distances, weight_norms
from normreg.train.history import History

__all__ = ["TrainConfig", "OPTIMIZERS", "make_optimizer", "minibatches", "evaluate", "fit"]

# name -> the book's optimizer class (normreg.optim: twins of torch.optim's)
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}


@dataclass
class TrainConfig:
    """One training run; a notebook prints it to show what was done."""

    steps: int = 500  # number of minibatch updates
    batch_size: int = 100  # examples per minibatch
    lr: float = 0.01  # learning rate (the lecture's alpha)
    optimizer: str = "sgd"  # a key of OPTIMIZERS: "sgd" (plain unless momentum > 0), "adam" or
    # "adamw"
    momentum: float = 0.0  # SGD momentum mu
    weight_decay: float = 0.0  # lambda, applied to the weight matrices only (normreg.optim.decay)
    loss: str = "cross_entropy"  # a key of normreg.losses.LOSSES: "cross_entropy" or "mse"
    eval_every: int = 50  # evaluate on the full train and test sets every this many steps
    record_layers: bool = False  # also record per-layer ||W|| and ||W - W0|| at each evaluation
    seed: int = 0  # seeds the minibatch order (the model's initialization is seeded by the caller)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every"):
            check_int(name, getattr(self, name), min=1)
        check_number("lr", self.lr, low=0.0, low_open=True)
        check_choice("optimizer", self.optimizer, tuple(OPTIMIZERS))
        check_number("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        check_number("weight_decay", self.weight_decay, low=0.0)
        check_choice("loss", self.loss, tuple(LOSSES))
        check_int("seed", self.seed)


def make_optimizer(model: nn.Module, config: TrainConfig,
                   lr_scale: Mapping[str, float] | None = None) -> torch.optim.Optimizer:
    """The optimizer ``config`` names, over ``model``'s parameters, with the book's decay
    policy: ``config.weight_decay`` on the weight matrices, none on biases and normalization
    parameters (:func:`normreg.optim.param_groups`). ``lr_scale`` (parameter name -> factor)
    gives the parameters it names groups of their own, with learning rate factor * lr."""
    groups = param_groups(model, config.weight_decay)
    if lr_scale:
        names = {p: name for name, p in model.named_parameters()}
        unknown = set(lr_scale) - set(names.values())
        if unknown:
            raise ValueError(f"lr_scale names parameters the model does not have: "
                             f"{sorted(unknown)}")
        split = []
        for group in groups:  # each decay group, divided by learning-rate factor
            by_factor: dict[float, list] = {}
            for p in group["params"]:
                by_factor.setdefault(lr_scale.get(names[p], 1.0), []).append(p)
            split += [{**group, "params": params, "lr": factor * config.lr}
                      for factor, params in by_factor.items()]
        groups = split
    if config.optimizer == "sgd":
        return SGD(groups, lr=config.lr, momentum=config.momentum)
    return OPTIMIZERS[config.optimizer](groups, lr=config.lr)


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index tensors of ``batch_size`` examples out of n, forever: each epoch a fresh random
    permutation (from ``generator``) cut into batches; an incomplete last batch is skipped."""
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss: str = "cross_entropy",
             *, mode: str = "eval", batch_size: int | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on (x, y); the model and its buffers are left as
    they were.

    Args:
        loss: a key of :data:`normreg.losses.LOSSES`.
        mode: ``"eval"`` (the default: running statistics, no dropout) or ``"train"``, which
            evaluates a copy of the model in train mode, so that batch normalization uses the
            statistics of each evaluation batch, as during training.
        batch_size: evaluate in consecutive batches of this size (None: all at once); the
            loss and accuracy are averaged over all examples.
    """
    check_choice("mode", mode, ("eval", "train"))
    n = x.shape[0]
    size = n if batch_size is None else check_int("batch_size", batch_size, min=1)
    if mode == "train":
        model = copy.deepcopy(model)  # batch norm would update the original's running statistics
    was_training = model.training
    model.train(mode == "train")
    total_loss, correct = 0.0, 0
    try:
        for start in range(0, n, size):
            logits = model(x[start:start + size])  # (B, classes)
            target = y[start:start + size]
            total_loss += loss_value(logits, target, loss, reduction="sum").item()
            correct += (logits.argmax(dim=1) == target).sum().item()
    finally:
        model.train(was_training)
    return total_loss / n, correct / n


def fit(model: nn.Module, data: Dataset, config: TrainConfig, *,
        optimizer: torch.optim.Optimizer | None = None, progress: bool | None = None,
        callback: Callable[[nn.Module], dict[str, float]] | None = None) -> History:
    """Train ``model`` on ``data.x_train`` with minibatches, as ``config`` says.

    Args:
        model: any module mapping (N, features) to (N, classes) logits.
        data: the :class:`~normreg.data.Dataset` to train and evaluate on.
        config: the run's :class:`TrainConfig`.
        optimizer: an optimizer over ``model``'s parameters to use instead of the one
            ``config`` names (:func:`make_optimizer`; ``config.lr`` etc. are then ignored).
        progress: show a tqdm bar; None: as :func:`normreg.settings.show_progress` decides.
        callback: called with the model at every evaluation step (after the metrics, in train
            mode); each ``name: value`` it returns is appended to ``history.extra[name]``.
            Chapter 7 records the sharpness of the loss this way. It must leave the model as it
            found it.

    Returns:
        The run's :class:`~normreg.train.history.History`.
    """
    if optimizer is None:
        optimizer = make_optimizer(model, config)
    initial = [layer.weight.detach().clone() for layer in linear_layers(model)]
    history = History()

    def record(step: int) -> None:
        """Evaluate on both sets, and whatever else is asked, at this step."""
        train_loss, train_acc = evaluate(model, data.x_train, data.y_train, config.loss)
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test, config.loss)
        history.step.append(step)
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.test_loss.append(test_loss)
        history.test_acc.append(test_acc)
        if config.record_layers:
            history.weight_norm.append(weight_norms(model))
            history.weight_change.append(weight_distances(model, initial))
        if callback is not None:
            for name, value in callback(model).items():
                history.extra.setdefault(name, []).append(float(value))

    steps = range(config.steps)
    if settings.show_progress() if progress is None else progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="training", leave=False)
    batches = minibatches(data.x_train.shape[0], config.batch_size,
                          torch.Generator().manual_seed(config.seed))
    model.train()
    for step in steps:
        # 1. evaluate, every eval_every steps, before that step's update
        if step % config.eval_every == 0:
            record(step)
        # 2. the next minibatch (indices drawn on the CPU: the same order on every device)
        idx = next(batches).to(data.x_train.device)
        # 3. forward; a loss that is no longer finite ends the run
        loss = loss_value(model(data.x_train[idx]), data.y_train[idx], config.loss)
        if not torch.isfinite(loss):
            history.diverged_at = step
            return history
        # 4. backward and update
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.batch_loss.append(loss.item())
    # 5. the final evaluation, after the last update
    record(config.steps)
    return history
