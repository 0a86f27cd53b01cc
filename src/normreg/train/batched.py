r"""Many runs at once: networks of one shape trained together, as one batched computation.

A sweep trains many small networks that differ only in numbers: the seed, the initialization
scale c, the learning rate, the weight decay, the dropout probability, the labels. At the book's
sizes a training step costs mostly the launching of each operation, not its arithmetic, so K
networks stacked along a new leading axis (weights of shape (K, out, in), one ``torch.baddbmm``
per layer for all of them) cost little more per step than one. :func:`fit_many` trains a list
of :class:`Run` this way and returns, for each, the trained :class:`~normreg.models.MLP` and its
:class:`~normreg.train.history.History`::

    runs = [Run(MLPConfig(c=c), TrainConfig(lr=lr), seed=s) for c in ... for lr in ... for s in ...]
    for (model, history), run in zip(fit_many(runs, data), runs): ...

**Each run is the run done alone.** ``fit_many([Run(config, train, seed)], data)`` ends where
``set_seed(seed); model = MLP(config); fit(model, data, train)`` ends, to floating-point
rounding: the same initial weights, the same minibatches, the same optimizer with the book's
weight-decay policy, and the same dropout masks and injected noise. For the last, each run draws
from a generator of its own that continues the global random stream exactly where the single
run would continue it (after building its model), in the same order; a ``callback`` sees that
stream too. ``tests/test_batched.py`` checks this for every layer and every optimizer. (On a GPU
the single run draws its masks there, so the two agree in distribution, not draw for draw.)

**What a group shares.** Runs train together when their computation has the same shape: the
same architecture (widths, depth, activation, normalization and its place, with or without
dropout), batch size, number of steps, optimizer, loss and evaluation schedule, and datasets of
the same sizes. :func:`fit_many` sorts the runs into such groups by itself and trains one group
after the other; what may differ within a group is every number: the seed, c, the learning rate,
momentum, weight decay, the dropout probability and the dataset's values (labels, noise).
A run whose loss stops being finite ends at that step, as it would alone, and leaves the
stack: from then on it costs nothing (a sweep's diverging corner is free).

**Which networks.** The chapters' :class:`~normreg.models.MLP`, chapter 9's
:class:`~normreg.models.ResidualMLP` (a residual block is one step of the stack: its branch, its
norm and the addition) and :class:`~normreg.models.ConvNet`, whose K runs become the groups of
one grouped convolution (``groups=K``: run k's images enter as channel k) and whose batch norm
or group norm acts on each run's own channels. ``tests/test_batched.py`` checks each against
runs done alone.

The stacked network is written out here once, layer by layer, with the book's own pieces: the
normalization layers' hand-derived forward and backward (:class:`normreg.nn._standardize.
Standardize` and :class:`normreg.nn.rmsnorm.RootMeanSquare`, applied to (K, B, D) tensors with a
scale and shift per run), the dropout formula and the update rules of :mod:`normreg.optim` with
one learning rate, momentum and weight decay per run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from normreg import settings
from normreg.data import Dataset
from normreg.losses import loss_value
from normreg.models import (
    MLP,
    ConvNet,
    ConvNetConfig,
    MLPConfig,
    ResidualBlock,
    ResidualMLP,
    ResidualMLPConfig,
)
from normreg.nn import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    GroupNorm,
    LayerNorm,
    NoisyBatchNorm1d,
    RMSNorm,
)
from normreg.nn._standardize import Standardize
from normreg.nn.functional import batch_norm, group_norm
from normreg.nn.rmsnorm import RootMeanSquare, resolve_eps
from normreg.repro import set_seed
from normreg.train.history import History
from normreg.train.loop import TrainConfig, minibatches

__all__ = ["Run", "fit_many"]


@dataclass(frozen=True)
class Run:
    """One training run of a sweep: what :func:`fit_many` trains, and what it equals alone.

    Alone, the run is ``set_seed(seed); model = MLP(model)`` (``ResidualMLP(model)`` or
    ``ConvNet(model)`` for a :class:`~normreg.models.ResidualMLPConfig` or
    :class:`~normreg.models.ConvNetConfig`), then ``initial_state`` loaded into
    the model if given, then ``fit(model, data, train)``, with an optimizer whose parameter
    groups give the parameters named in ``lr_scale`` their learning rate times that factor.
    """

    model: MLPConfig | ResidualMLPConfig | ConvNetConfig  # the network
    train: TrainConfig  # how it is trained (its seed orders the minibatches)
    seed: int = 0  # set_seed(seed) before building the model: initialization, dropout, noise
    data: Dataset | None = None  # this run's own dataset (e.g. noisy labels); None: the shared one
    # start from these tensors (a state dict, all or some of the model's) instead of the fresh
    # initialization: e.g. chapter 3's rescaled weights
    initial_state: Mapping[str, torch.Tensor] | None = None
    # parameter name -> factor on the learning rate of that parameter (its own parameter group)
    lr_scale: Mapping[str, float] = field(default_factory=dict)


def fit_many(runs: Sequence[Run], data: Dataset, *, progress: bool | None = None,
             callback: Callable[[nn.Module], dict[str, float]] | None = None
             ) -> list[tuple[MLP, History]]:
    """Train every run, runs of one shape together; return (trained model, history) per run.

    Args:
        runs: the runs, in any order; the results come back in the same order.
        data: the dataset of every run that does not bring its own.
        progress: show a tqdm bar per group; None: as :func:`normreg.settings.show_progress`.
        callback: called as in :func:`~normreg.train.fit`, with each run's model (holding that
            run's current parameters) at each of its evaluations.
    """
    if not runs:
        raise ValueError("runs must be a non-empty sequence of Run, got an empty one")
    results: list[tuple[MLP, History] | None] = [None] * len(runs)
    groups: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        groups.setdefault(_shape(run, data), []).append(i)
    for indices in groups.values():
        trained = _Group([runs[i] for i in indices], data).fit(progress, callback)
        for i, result in zip(indices, trained, strict=True):
            results[i] = result
    return results


NETWORKS = {MLPConfig: MLP, ResidualMLPConfig: ResidualMLP, ConvNetConfig: ConvNet}


def _build(config: MLPConfig | ResidualMLPConfig | ConvNetConfig) -> nn.Module:
    """The network of a run's config, as the run alone builds it."""
    if type(config) not in NETWORKS:
        raise TypeError(f"Run.model must be an MLPConfig, a ResidualMLPConfig or a "
                        f"ConvNetConfig, got {type(config).__name__}")
    return NETWORKS[type(config)](config)


def _shape(run: Run, shared: Dataset) -> tuple:
    """What runs trained together must agree on (everything but numbers)."""
    m, t, data = run.model, run.train, run.data or shared
    if isinstance(m, ConvNetConfig):
        if t.record_layers:
            raise ValueError("record_layers (the norms of the linear layers) is for MLP runs, "
                             "got it for a ConvNetConfig run")
        network = ("conv", m.channels, m.norm, m.num_groups, m.out_features)
    elif isinstance(m, ResidualMLPConfig):
        network = ("residual", m.in_features, m.width, m.depth, m.out_features, m.activation,
                   m.norm, m.norm_position)
    else:
        network = ("mlp", m.in_features, m.width, m.depth, m.out_features, m.activation,
                   m.norm, m.norm_position, m.dropout > 0)
    return (*network, t.steps, t.batch_size, t.optimizer, t.loss, t.eval_every,
            t.record_layers, tuple(data.x_train.shape), tuple(data.x_test.shape))


def _per_run(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """K numbers as a (K, 1, ..., 1) tensor that broadcasts against ``like`` (K, ...)."""
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(
        -1, *[1] * (like.dim() - 1))


class _Group:
    """K runs of one shape: their models and random streams, the stacked network, the loop."""

    def __init__(self, runs: list[Run], shared: Dataset) -> None:
        self.runs, self.k = runs, len(runs)  # the runs in the stack, row by row
        self.rows = list(range(self.k))  # each row's index in ``runs`` as given
        self.config, self.train = runs[0].model, runs[0].train
        self.datasets = [run.data or shared for run in runs]
        # 1. every run's model, built as the single run builds it, and the generator that
        # continues the global random stream where that run would continue it
        self.models, self.generators = [], []
        for run in runs:
            set_seed(run.seed)
            model = _build(run.model)
            if run.initial_state is not None:
                model.load_state_dict(run.initial_state, strict=False)
            self.models.append(model)
            generator = torch.Generator()
            generator.set_state(torch.get_rng_state())
            self.generators.append(generator)
        # 2. the stacked parameters and buffers: one (K, ...) tensor per tensor of the model.
        # A linear layer's weight is kept transposed, (K, in, out), the layout in which
        # baddbmm takes it and returns its gradient: no copy forward or backward.
        self.names = [name for name, _ in self.models[0].named_parameters()]
        for run in runs:
            if set(run.lr_scale) - set(self.names):
                raise ValueError(f"lr_scale names parameters the model does not have: "
                                 f"{sorted(set(run.lr_scale) - set(self.names))}")
        self.linear_weights = [name + ".weight" for name, m in self.models[0].named_modules()
                               if isinstance(m, nn.Linear)]  # in the order of linear_layers
        self.transposed = set(self.linear_weights)
        self.params = {}
        for name in self.names:
            tensors = [m.get_parameter(name).detach() for m in self.models]
            if name in self.transposed:
                tensors = [t.T for t in tensors]
            self.params[name] = torch.stack(tensors).requires_grad_(True)
        self.buffers = {name: torch.stack([dict(m.named_buffers())[name] for m in self.models])
                        for name, _ in self.models[0].named_buffers()
                        if not name.endswith(("noise_scale", "noise_shift"))}
        self.layers = self._layers()

    def _layers(self) -> list[tuple[str, nn.Module]]:
        """The modules in order, with the prefix of their names: (prefix, module); a residual
        block is one entry (its addition is what the stack must reproduce)."""
        model = self.models[0]
        out = [("stem.", model.stem)] if isinstance(model, ResidualMLP) else []
        for i, block in enumerate(model.blocks):
            if isinstance(block, ResidualBlock):
                out.append((f"blocks.{i}.", block))
            else:
                out += [(f"blocks.{i}.{j}.", module) for j, module in enumerate(block)]
        return out + [("head.", model.head)]

    # -- the stacked network -------------------------------------------------------------------
    def forward(self, x: torch.Tensor, training: bool) -> torch.Tensor:
        """Logits (K, B, classes) of input (K, B, features), every run through its own weights.

        An MLP's activations are (K, B, width) throughout. A ConvNet's are (B, K C, h, w): the
        K runs' channels side by side, each run's convolution a group of a grouped convolution
        (``groups=K``) and each run's normalization a set of channels (batch norm's statistics
        are per channel anyway; group norm's K G groups are each run's G); the mean over the
        positions before the head returns to (K, B, 2C)."""
        z = x
        for prefix, module in self.layers:
            if isinstance(module, nn.Conv2d):
                if z.dim() == 3:  # the images: (K, B, 784) -> (B, K, 28, 28), run k's as channel k
                    z = z.transpose(0, 1).reshape(z.shape[1], self.k, 28, 28)
                weight = self.params[prefix + "weight"].flatten(0, 1)  # (K C_out, C_in, 3, 3)
                bias = self.params[prefix + "bias"].flatten()
                z = nn.functional.conv2d(z, weight, bias, module.stride, module.padding,
                                         groups=self.k)
            elif isinstance(module, nn.Linear):
                if z.dim() == 4:  # a ConvNet's head: the mean over positions, (K, B, 2C)
                    z = z.mean(dim=(2, 3)).view(z.shape[0], self.k, -1).transpose(0, 1)
                weight, bias = self.params[prefix + "weight"], self.params[prefix + "bias"]
                z = torch.baddbmm(bias.unsqueeze(1), z, weight)  # (K, B, in) @ (K, in, out)
            elif isinstance(module, ResidualBlock):
                z = self._residual(prefix, module, z, training)
            elif isinstance(module, (LayerNorm, BatchNorm1d, RMSNorm)):
                z = self._norm(prefix, module, z, training)
            elif isinstance(module, (BatchNorm2d, GroupNorm)):
                z = self._channel_norm(prefix, module, z, training)
            elif isinstance(module, Dropout):
                z = self._dropout(z) if training else z
            elif isinstance(module, nn.ReLU):
                z = z.relu_()  # in place: the linear layer's backward does not need its output
            else:  # another activation
                z = module(z)
        return z

    def _residual(self, prefix: str, block: ResidualBlock, z: torch.Tensor,
                  training: bool) -> torch.Tensor:
        """A residual block on (K, B, width): z + W σ(N(z)) + b (pre-norm), N(z + W σ(z) + b)
        (post-norm) or z + W σ(z) + b, each run with its own weights and norm."""
        weight, bias = self.params[prefix + "linear.weight"], self.params[prefix + "linear.bias"]

        def branch(u: torch.Tensor) -> torch.Tensor:  # not in place: z is added afterwards
            u = u.relu() if isinstance(block.activation, nn.ReLU) else block.activation(u)
            return torch.baddbmm(bias.unsqueeze(1), u, weight)

        if block.norm is None:
            return z + branch(z)
        if block.position == "pre":
            return z + branch(self._norm(prefix + "norm.", block.norm, z, training))
        return self._norm(prefix + "norm.", block.norm, z + branch(z), training)

    def _channel_norm(self, prefix: str, module: nn.Module, z: torch.Tensor,
                      training: bool) -> torch.Tensor:
        """Batch norm or group norm of a ConvNet's (B, K C, h, w) activations, each run's C
        channels with its own scale, shift and running estimates (views of the stacks)."""
        weight, bias = (self.params[prefix + name].flatten() for name in ("weight", "bias"))
        if isinstance(module, GroupNorm):
            return group_norm(z, self.k * module.num_groups, weight, bias, module.eps)
        mean, var = (self.buffers[prefix + name].view(-1) for name in ("running_mean",
                                                                        "running_var"))
        factor = module.momentum
        if training:
            count = self.buffers[prefix + "num_batches_tracked"]
            count.add_(1)
            if factor is None:  # the cumulative average: every run has seen as many batches
                factor = 1.0 / float(count[0])
        return batch_norm(z, mean, var, weight, bias, training, factor or 0.0, module.eps)

    def _affine(self, prefix: str, name: str) -> torch.Tensor | None:
        param = self.params.get(prefix + name)
        return None if param is None else param.unsqueeze(1)  # (K, 1, D): one per run

    def _norm(self, prefix: str, module: nn.Module, z: torch.Tensor,
              training: bool) -> torch.Tensor:
        weight, bias = self._affine(prefix, "weight"), self._affine(prefix, "bias")
        if isinstance(module, LayerNorm):  # each example: the feature axis
            return Standardize.apply(z, weight, bias, 2, module.eps)[0]
        if isinstance(module, RMSNorm):  # each example, the feature axis; a scale, no shift
            return RootMeanSquare.apply(z, weight, 2, resolve_eps(module.eps, z))[0]
        if not training:  # batch norm in eval mode: a fixed affine map per run and feature
            mean = self.buffers[prefix + "running_mean"].unsqueeze(1)  # (K, 1, D)
            var = self.buffers[prefix + "running_var"].unsqueeze(1)
            scale = torch.rsqrt(var + module.eps)
            shift = -mean * scale
            if weight is not None:
                scale, shift = scale * weight, shift * weight
            if bias is not None:
                shift = shift + bias
            return z * scale + shift
        # batch norm in train mode: each run's batch, the example axis
        y, mean, var, _, _ = Standardize.apply(z, weight, bias, 1, module.eps)
        self._update_running(prefix, module, mean.squeeze(1), var.squeeze(1), z.shape[1])
        if isinstance(module, NoisyBatchNorm1d):
            y = self._noise(module, y)
        return y

    @torch.no_grad()
    def _update_running(self, prefix: str, module: BatchNorm1d, mean: torch.Tensor,
                        var: torch.Tensor, n: int) -> None:
        """BatchNorm1d's update of the running estimates, in every run of the stack (each
        is still training: a run that stops is taken out of the stack)."""
        count = self.buffers[prefix + "num_batches_tracked"]
        count.add_(1)
        m = module.momentum if module.momentum is not None else (1.0 / count).unsqueeze(1)
        unbiased = var * (n / (n - 1))
        for name, batch in (("running_mean", mean), ("running_var", unbiased)):
            self.buffers[prefix + name].lerp_(batch, m)  # (K, D)

    def _noise(self, module: NoisyBatchNorm1d, y: torch.Tensor) -> torch.Tensor:
        """Santurkar et al.'s noise, each run's from its own stream, in NoisyBatchNorm1d's
        order: the shift, then the scale."""
        d = y.shape[2]
        shifts, scales = [], []
        for g in self.generators:
            shifts.append((torch.rand(d, generator=g) * 2 - 1) * module.shift)
            scales.append(1 + torch.rand(d, generator=g) * (module.scale - 1))
        scale = torch.stack(scales).unsqueeze(1).to(y)  # (K, 1, D)
        return y * scale + torch.stack(shifts).unsqueeze(1).to(y)

    def _dropout(self, z: torch.Tensor) -> torch.Tensor:
        """Inverted dropout with each run's p, masks from each run's stream (as Dropout draws)."""
        shape = z.shape[1:]
        keep = torch.stack([torch.rand(shape, generator=g, dtype=torch.float32) >= run.model.dropout
                            for g, run in zip(self.generators, self.runs, strict=True)])
        scale = _per_run([1.0 / (1.0 - run.model.dropout) for run in self.runs], z)
        return z * keep.to(z.device) * scale

    # -- the optimizer -------------------------------------------------------------------------
    def _optimizer_state(self) -> None:
        self.alive = torch.ones(self.k, dtype=torch.bool)  # False: the run stopped this step
        t = [run.train for run in self.runs]
        self.state: dict[str, dict[str, torch.Tensor]] = {name: {} for name in self.names}
        self.step_count = 0
        self.any_momentum = any(c.momentum != 0 for c in t)
        self.hyper = {}
        for name, p in self.params.items():
            decays = p.dim() >= 3  # a weight matrix: normreg.optim.decay's rule, per run
            self.hyper[name] = {
                "lr": _per_run([r.train.lr * r.lr_scale.get(name, 1.0) for r in self.runs], p),
                "momentum": _per_run([c.momentum for c in t], p),
                "weight_decay": _per_run([c.weight_decay if decays else 0.0 for c in t], p),
                "decays": decays and any(c.weight_decay != 0 for c in t),
            }

    @torch.no_grad()
    def _step(self) -> None:
        """One update of every run, each with its own hyperparameters: the rules of
        :class:`normreg.optim.SGD` (plain or with momentum) and :class:`~normreg.optim.Adam` /
        :class:`~normreg.optim.AdamW` (betas (0.9, 0.999), eps 1e-8, as TrainConfig uses them)."""
        self.step_count += 1
        kind, everyone = self.train.optimizer, bool(self.alive.all())
        for name, p in self.params.items():
            g, h, state = p.grad, self.hyper[name], self.state[name]
            if g is None:
                continue
            lr, lam = h["lr"], h["weight_decay"]
            if not everyone:
                # a run that stopped this step stays where it stopped: no gradient (which its
                # non-finite activations would make NaN) and no step; then it leaves the stack
                alive = self.alive.to(p.device).view(-1, *[1] * (p.dim() - 1))
                g.masked_fill_(~alive, 0.0)
                lr = lr * alive
            if kind == "sgd":
                d = torch.addcmul(g, lam, p) if h["decays"] else g  # gradient of loss + lam/2 |W|^2
                if self.any_momentum:
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = d.clone()  # v = d at the first step
                    else:
                        state["momentum_buffer"].mul_(h["momentum"]).add_(d)  # v <- mu v + d
                    d = state["momentum_buffer"]
                p.addcmul_(lr, d, value=-1)  # W <- W - lr v
                continue
            if h["decays"]:
                if kind == "adamw":
                    p.mul_(1 - lr * lam)  # decoupled: shrink W, outside Adam's rescaling
                else:
                    g = torch.addcmul(g, lam, p)  # Adam + l2: the decay is rescaled too
            if not state:
                state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
            b1, b2, eps, t = 0.9, 0.999, 1e-8, self.step_count
            m, s = state["exp_avg"], state["exp_avg_sq"]
            m.lerp_(g, 1 - b1)  # m <- b1 m + (1 - b1) g
            s.mul_(b2).addcmul_(g, g, value=1 - b2)  # s <- b2 s + (1 - b2) g^2
            denominator = s.sqrt().div_(math.sqrt(1 - b2 ** t)).add_(eps)
            p.addcdiv_(m, denominator.div_(lr / (1 - b1 ** t)), value=-1)

    # -- data and evaluation -------------------------------------------------------------------
    @staticmethod
    def _stacked(xs: list[torch.Tensor], ys: list[torch.Tensor]) -> tuple[torch.Tensor,
                                                                           torch.Tensor]:
        """The runs' inputs and labels of one split: (N, features) when every run has the same
        inputs, else (K, N, features); and (K, N) labels."""
        x = xs[0] if all(t is xs[0] for t in xs) else torch.stack(xs)
        return x, torch.stack(ys)

    @torch.no_grad()
    def _evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Each run's mean loss and accuracy on its (x, y) in eval mode."""
        if x.dim() == 2:
            x = x.expand(self.k, *x.shape)  # (K, N, features), no copy
        logits = self.forward(x, training=False)  # (K, N, classes)
        per_example = loss_value(logits.flatten(0, 1), y.flatten(), self.train.loss,
                                 reduction="none").view(self.k, -1)
        accuracy = (logits.argmax(dim=2) == y).double().mean(dim=1)
        return per_example.double().mean(dim=1).tolist(), accuracy.tolist()

    # -- the loop ------------------------------------------------------------------------------
    def fit(self, progress: bool | None, callback) -> list[tuple[MLP, History]]:
        config, k = self.train, self.k
        self._optimizer_state()
        models, histories = list(self.models), [History() for _ in range(k)]
        initial = {name: p.detach().clone() for name, p in self.params.items()
                   if name.endswith("weight") and p.dim() == 3}
        x_train, y_train = self._stacked([d.x_train for d in self.datasets],
                                         [d.y_train for d in self.datasets])
        x_test, y_test = self._stacked([d.x_test for d in self.datasets],
                                       [d.y_test for d in self.datasets])
        batches = [minibatches(x_train.shape[-2], config.batch_size,
                               torch.Generator().manual_seed(run.train.seed)) for run in self.runs]

        def record(step: int) -> None:
            """Evaluate every run still training, and whatever else is asked, at this step."""
            train = self._evaluate(x_train, y_train)
            test = self._evaluate(x_test, y_test)
            norms, changes = self._layer_norms(initial) if config.record_layers else ([], [])
            if callback is not None:
                self._write_back()
            for row, i in enumerate(self.rows):
                h = histories[i]
                h.step.append(step)
                h.train_loss.append(train[0][row])
                h.train_acc.append(train[1][row])
                h.test_loss.append(test[0][row])
                h.test_acc.append(test[1][row])
                if config.record_layers:
                    h.weight_norm.append(norms[row])
                    h.weight_change.append(changes[row])
                if callback is not None:
                    for name, value in self._call(callback, row).items():
                        h.extra.setdefault(name, []).append(float(value))

        steps = range(config.steps)
        if settings.show_progress() if progress is None else progress:
            from tqdm.auto import tqdm

            steps = tqdm(steps, desc=f"training {k} runs", leave=False)
        for step in steps:
            # 1. evaluate, every eval_every steps, before that step's update
            if step % config.eval_every == 0:
                record(step)
            # 2. each run's next minibatch (its own order, drawn on the CPU)
            idx = torch.stack([next(b) for b in batches]).to(y_train.device)  # (K, B)
            runs = torch.arange(self.k, device=idx.device)[:, None]
            x = x_train[idx] if x_train.dim() == 2 else x_train[runs, idx]  # (K, B, features)
            y = y_train[runs, idx]  # (K, B)
            # 3. forward, backward and update; a run whose loss is no longer finite ends there
            values = self.train_step(x, y)
            for row, value in enumerate(values):
                if math.isfinite(value):
                    histories[self.rows[row]].batch_loss.append(value)
                else:
                    histories[self.rows[row]].diverged_at = step
            # 4. the runs that ended leave the stack, and cost nothing from now on
            if not self.alive.all():
                keep = self.alive.nonzero().flatten()
                self._retire(keep)
                initial = {name: t[keep.to(t.device)] for name, t in initial.items()}
                batches = [batches[row] for row in keep.tolist()]
                x_train, x_test = (x if x.dim() == 2 else x[keep.to(x.device)]
                                   for x in (x_train, x_test))
                y_train, y_test = y_train[keep.to(y_train.device)], y_test[keep.to(y_test.device)]
                if not self.rows:
                    break
        # 5. the final evaluation, after the last update, of the runs still training
        if self.rows:
            record(config.steps)
        self._write_back()
        return list(zip(models, histories, strict=True))

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """One update of every run still training on its minibatch x (K, B, features), y (K, B);
        returns each run's minibatch loss (not finite: the run stops before this update)."""
        logits = self.forward(x, training=True)
        losses = loss_value(logits.flatten(0, 1), y.flatten(), self.train.loss,
                            reduction="none").view(self.k, -1).mean(dim=1)  # (K,)
        values = losses.tolist()
        self.alive &= torch.tensor([math.isfinite(v) for v in values])
        if self.alive.any():
            for p in self.params.values():
                p.grad = None
            losses[self.alive.to(losses.device)].sum().backward()  # a finished run no longer counts
            self._step()
        return values

    def _call(self, callback, i: int) -> dict[str, float]:
        """The callback on run i's model, drawing from run i's random stream as it would alone."""
        outside = torch.get_rng_state()
        torch.set_rng_state(self.generators[i].get_state())
        try:
            return callback(self.models[i])
        finally:
            self.generators[i].set_state(torch.get_rng_state())
            torch.set_rng_state(outside)

    @torch.no_grad()
    def _layer_norms(self, initial: dict[str, torch.Tensor]) -> tuple[list, list]:
        """||W_i||_F and ||W_i - W_i^(0)||_F of every linear layer, per run."""
        names = self.linear_weights
        norms = torch.stack([self.params[n].double().flatten(1).norm(dim=1) for n in names], 1)
        changes = torch.stack([(self.params[n].double() - initial[n].double()).flatten(1)
                               .norm(dim=1) for n in names], 1)
        return norms.tolist(), changes.tolist()

    @torch.no_grad()
    def _write_back(self, rows: Sequence[int] | None = None) -> None:
        """Copy each run's slice of the stacked tensors into its model (rows: these only)."""
        for i in range(self.k) if rows is None else rows:
            model = self.models[i]
            for name, p in model.named_parameters():
                p.copy_(self.params[name][i].T if name in self.transposed else self.params[name][i])
            for name, b in model.named_buffers():
                if name in self.buffers:
                    b.copy_(self.buffers[name][i])
            model.train()

    @torch.no_grad()
    def _retire(self, keep: torch.Tensor) -> None:
        """Take the runs that stopped out of the stack, after writing their state into their
        models: every stacked tensor and per-run list keeps the rows ``keep`` (indices)."""
        kept = keep.tolist()
        self._write_back([row for row in range(self.k) if row not in kept])

        def rows(t: torch.Tensor) -> torch.Tensor:
            return t[keep.to(t.device)]

        self.params = {name: rows(p.detach()).requires_grad_(True)
                       for name, p in self.params.items()}
        self.buffers = {name: rows(b) for name, b in self.buffers.items()}
        self.state = {name: {key: rows(t) for key, t in state.items()}
                      for name, state in self.state.items()}
        for h in self.hyper.values():
            for key in ("lr", "momentum", "weight_decay"):
                h[key] = rows(h[key])
        self.runs = [self.runs[row] for row in kept]
        self.models = [self.models[row] for row in kept]
        self.generators = [self.generators[row] for row in kept]
        self.rows = [self.rows[row] for row in kept]
        self.k = len(kept)
        self.alive = torch.ones(self.k, dtype=torch.bool)

