"""The one format a training run's results come in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from normreg._checks import check_choice

__all__ = ["History"]


@dataclass
class History:
    """What a training run recorded.

    ``batch_loss[t]`` is the minibatch loss at update t (t = 0 .. steps - 1), as the optimizer
    saw it. At every evaluation step (0, eval_every, 2 * eval_every, ..., and the last step) the
    loop appends to ``step``, ``train_loss``, ``train_acc``, ``test_loss`` and ``test_acc``,
    measured in eval mode, and, if asked, to ``weight_norm`` and ``weight_change`` (one list per
    evaluation, one entry per linear layer: ||W_i||_F and ||W_i - W_i^(0)||_F). ``extra[name]``
    holds what a ``callback`` of :func:`~normreg.train.fit` returned under ``name``, one value
    per evaluation. ``diverged_at`` is the update at which the loss stopped being finite, or
    None; training stops there.
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
        check_choice("metric", metric, (*self.METRICS, "batch_loss"))
        if self.diverged:
            return math.nan
        return getattr(self, metric)[-1]

    def summary(self) -> str:
        if self.diverged:
            return f"diverged at step {self.diverged_at}"
        return (f"train loss {self.final('train_loss'):.3f}, train acc "
                f"{self.final('train_acc'):.3f}, test acc {self.final('test_acc'):.3f}")
