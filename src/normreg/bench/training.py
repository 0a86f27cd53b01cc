r"""How fast does the book train? One step of the 50-layer MLP, per network, five ways.

The chapters' workhorse is chapter 1's network: 50 hidden layers of 100 units, batch 100,
without normalization or with the book's layer norm or batch norm after every ReLU. For each
of the three, one training step (forward, backward, SGD update) is timed

- ``torch layers``: one network with ``torch.nn.LayerNorm`` / ``torch.nn.BatchNorm1d`` in place
  of the book's, trained as :func:`~normreg.train.fit` trains;
- ``ours``:         one network with the book's layers, as :func:`~normreg.train.fit` trains;
- ``batched K``:    K networks at once, as :func:`~normreg.train.fit_many` trains them, for
  K = 1, 3, 9, 27; the time per network is the step's time divided by K;

and beside them the **arithmetic limit**: the step's matrix products alone, the only arithmetic
of any size in it (forward and backward through the linear layers, three products per layer,
about 3 x 2 x batch x (784 x 100 + 49 x 100 x 100 + 100 x 10) = 0.34 GFLOP), timed in the step's
own shapes and layout for K networks at once (:func:`products_seconds`), per network, at the K
where that is least. Every tensor is the layer's own, as in a real step, so the products fetch
their operands from wherever 50 layers' worth of them fit in the caches, not from a cache
warmed by repeating one product. No way of computing the step that keeps these products can
beat the limit; the rest of a step (element-wise operations, normalization, the optimizer's
update, and the launching of each operation) is what batching can shrink.

Times are medians from ``torch.utils.benchmark`` with all of torch's threads (as the notebooks
run), the ways of one network interleaved in rounds
and compared as ratios to torch's layers within each round, since absolute times on a shared
machine drift. This is a benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

import torch
from torch.utils import benchmark

from normreg._checks import check_int
from normreg.data import Dataset
from normreg.losses import loss_value
from normreg.models import MLP, MLPConfig, with_torch_layers
from normreg.train import Run, TrainConfig, make_optimizer
from normreg.train.batched import _Group

__all__ = ["NORMS", "KS", "TrainingResult", "step_flops", "products_seconds", "run",
           "format_table"]

NORMS = (None, "layer", "batch")
KS = (1, 3, 9, 27)
BATCH = 100
CONFIG = MLPConfig(width=100, depth=50)
TRAIN = TrainConfig(lr=0.01, batch_size=BATCH)


@dataclass
class TrainingResult:
    norm: str | None  # None, "layer" or "batch"
    seconds: dict[str, float]  # way -> median seconds per network per step
    limit: float  # seconds per network of the step's matrix products alone (products_seconds)

    def ratio(self, way: str) -> float:
        """Time of ``way`` over the same network with torch's layers, run alone."""
        return self.seconds[way] / self.seconds["torch layers"]

    def to_dict(self) -> dict:
        return asdict(self)


def step_flops(config: MLPConfig = CONFIG, batch: int = BATCH) -> float:
    """Floating-point operations of one step in the linear layers: 2 per multiply-add, three
    matrix products per layer (forward, and the two gradients of backward)."""
    widths = [config.in_features] + [config.width] * config.depth + [config.out_features]
    return 3 * 2 * batch * sum(a * b for a, b in zip(widths, widths[1:], strict=False))


def products_seconds(k: int, config: MLPConfig = CONFIG, batch: int = BATCH,
                     min_run_time: float = 0.5) -> float:
    """Seconds of the matrix products of one training step of k networks at once, alone.

    Per linear layer, as :func:`~normreg.train.fit_many` computes them with the weight stored
    as (k, in, out): forward ``z @ W``, and backward ``g @ W^T`` (the input's gradient) and
    ``z^T @ g`` (the weight's), each layer with tensors of its own."""
    widths = [config.in_features] + [config.width] * config.depth + [config.out_features]
    g = torch.Generator().manual_seed(0)
    layers = [(torch.randn(k, batch, a, generator=g), torch.randn(k, a, b, generator=g),
               torch.randn(k, batch, b, generator=g)) for a, b in zip(widths, widths[1:],
                                                                       strict=False)]

    def products() -> None:
        for z, w, grad in layers:
            torch.bmm(z, w)
            torch.bmm(grad, w.transpose(1, 2))
            torch.bmm(z.transpose(1, 2), grad)

    timer = benchmark.Timer("products()", globals={"products": products},
                            num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def _single_step(model: MLP, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    optimizer = make_optimizer(model, TRAIN)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_value(model(x), y).backward()
        optimizer.step()

    return step


def _batched_step(config: MLPConfig, k: int, x: torch.Tensor,
                  y: torch.Tensor) -> Callable[[], None]:
    # the engine's own training step, on the same minibatch for every run
    group = _Group([Run(config, TRAIN, seed=i) for i in range(k)], Dataset(x, y, x, y))
    group._optimizer_state()
    xs, ys = x.expand(k, *x.shape).contiguous(), y.expand(k, *y.shape).contiguous()
    return lambda: group.train_step(xs, ys)


def run(norms: Sequence[str | None] = NORMS, ks: Sequence[int] = KS, min_run_time: float = 1.0,
        rounds: int = 5, network: MLPConfig = CONFIG, batch: int = BATCH) -> list[TrainingResult]:
    """Seconds per network per training step of each way, for each normalization (of
    ``network``, chapter 1's by default, at ``batch`` examples per step)."""
    if not ks:
        raise ValueError("ks must be a non-empty list of numbers of runs, got an empty one")
    for k in ks:
        check_int("every K", k, min=1)
    # (no denormal numbers at c = 2, so the processor's handling of them is left as it is: it is
    # global state, which a caller such as the test suite may rely on)
    x = torch.randn(batch, network.in_features, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, network.out_features, (batch,),
                      generator=torch.Generator().manual_seed(1))
    limit = min(products_seconds(k, network, batch, min_run_time) / k for k in ks)
    results = []
    for norm in norms:
        config = replace(network, norm=norm)
        ours = MLP(config, generator=torch.Generator().manual_seed(0))
        steps = {"torch layers": (_single_step(with_torch_layers(ours), x, y), 1),
                 "ours": (_single_step(ours, x, y), 1)}
        steps.update({f"batched {k}": (_batched_step(config, k, x, y), k) for k in ks})
        for step, _ in steps.values():
            step()  # warm up
        samples: dict[str, list[float]] = {way: [] for way in steps}
        for _ in range(rounds):
            for way, (step, k) in steps.items():
                timer = benchmark.Timer("step()", globals={"step": step},
                                        num_threads=torch.get_num_threads())
                median = timer.blocked_autorange(min_run_time=min_run_time / rounds).median
                samples[way].append(median / k)
        reference = samples["torch layers"]
        seconds = {way: statistics.median(t / r for t, r in zip(times, reference, strict=True))
                   * statistics.median(reference) for way, times in samples.items()}
        results.append(TrainingResult(norm, seconds, limit))
    return results


def format_table(results: Sequence[TrainingResult]) -> str:
    """Milliseconds per network per step, and each way as a multiple of torch's layers."""
    if not results:
        return ""
    ways = list(results[0].seconds)
    lines = [f"{'network':<16}" + "".join(f"{w:>15}" for w in ways) + f"{'limit':>10}"]
    for r in results:
        name = r.norm or "plain"
        lines.append(f"{name:<16}" + "".join(f"{r.seconds[w] * 1e3:>12.1f} ms" for w in ways)
                     + f"{r.limit * 1e3:>7.1f} ms")
        lines.append(f"{'':<16}" + "".join(f"{r.ratio(w):>14.2f}x" for w in ways)
                     + f"{r.limit / r.seconds['torch layers']:>9.2f}x")
    return "\n".join(lines)
