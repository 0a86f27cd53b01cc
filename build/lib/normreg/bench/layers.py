r"""How fast are the book's layers? Forward plus backward, four ways, against the memory limit.

For each layer (``LayerNorm``, ``BatchNorm1d``, ``Dropout``) and size (N, D), float32 on the
CPU, the ladder a systems course climbs:

- ``autograd``: the plain formula, differentiated by autograd (``layer_norm_naive``, ...);
- ``by hand``:  the book's layer, whose backward pass is derived by hand;
- ``fused``:    the formula compiled by ``torch.compile`` (:mod:`normreg.nn.fused`);
- ``torch``:    PyTorch's native kernel (``F.layer_norm``, ``F.batch_norm``, ``F.dropout``);

and beside them the **memory limit**: the least number of bytes forward plus backward must move
(:func:`bytes_moved`) divided by the bandwidth measured by copying an array of the same size
(:func:`memory_bandwidth`: from the cache where it fits, from main memory where it does not).
No implementation can beat it; these layers do little arithmetic per byte, so the limit, not
the arithmetic, is what a good kernel approaches.

Times are medians from ``torch.utils.benchmark`` on **one thread** (the bandwidth too: a limit
measured with one core bounds a kernel run on one core), all measured in one run, the ways of a
layer interleaved, and compared as ratios, since absolute times on a shared machine are noisy.
This is a benchmark, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch.nn import functional as F
from torch.utils import benchmark

from normreg.nn.batchnorm import batch_norm, batch_norm_naive
from normreg.nn.dropout import dropout, dropout_naive
from normreg.nn.fused import batch_norm_fused, dropout_fused, layer_norm_fused
from normreg.nn.layernorm import layer_norm, layer_norm_naive

__all__ = ["LAYERS", "WAYS", "SIZES", "P", "Result", "bytes_moved", "memory_bandwidth",
           "run", "format_table"]

LAYERS = ("LayerNorm", "BatchNorm1d", "Dropout")
WAYS = ("autograd", "by hand", "fused", "torch")
SIZES = ((64, 128), (512, 1024), (2048, 2048), (4096, 4096))
P = 0.5  # the dropout probability benchmarked
FLOAT32 = 4  # bytes per element


def _ways(layer: str) -> dict[str, Callable[..., torch.Tensor]]:
    if layer == "LayerNorm":
        return {"autograd": layer_norm_naive,
                "by hand": lambda x, w, b: layer_norm(x, (x.shape[1],), w, b),
                "fused": layer_norm_fused,
                "torch": lambda x, w, b: F.layer_norm(x, (x.shape[1],), w, b)}
    if layer == "BatchNorm1d":
        return {"autograd": batch_norm_naive,
                "by hand": lambda x, w, b: batch_norm(x, None, None, w, b, training=True),
                "fused": batch_norm_fused,
                "torch": lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)}
    if layer == "Dropout":
        return {"autograd": lambda x: dropout_naive(x, P), "by hand": lambda x: dropout(x, P),
                "fused": lambda x: dropout_fused(x, P), "torch": lambda x: F.dropout(x, P)}
    raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")


def bytes_moved(layer: str, n: int, d: int) -> int:
    """The least memory traffic of one forward plus backward pass, in bytes (float32).

    Normalization: forward reads x and writes y; backward reads x and dL/dy and writes dL/dx
    (the statistics, N or D numbers, are negligible): 5 N D floats. Dropout: forward reads x
    and writes y and a 1-byte mask; backward reads dL/dy and the mask and writes dL/dx:
    4 N D floats and 2 N D bytes.
    """
    if layer == "Dropout":
        return (4 * FLOAT32 + 2) * n * d
    if layer in LAYERS:
        return 5 * FLOAT32 * n * d
    raise ValueError(f"layer must be one of {LAYERS}, got {layer!r}")


def memory_bandwidth(nbytes: int = 256 * 2**20, min_run_time: float = 0.5) -> float:
    """Measured bandwidth in bytes per second: copying a float32 array of ``nbytes`` (read + write).

    A small array stays in the CPU's caches and measures their bandwidth; the default 256 MiB
    measures main memory.
    """
    n = max(1, nbytes // FLOAT32)
    source, target = torch.ones(n), torch.empty(n)
    timer = benchmark.Timer(stmt="target.copy_(source)",
                            globals={"target": target, "source": source}, num_threads=1)
    seconds = timer.blocked_autorange(min_run_time=min_run_time).median
    return 2 * n * FLOAT32 / seconds


@dataclass
class Result:
    layer: str  # one of LAYERS
    n: int
    d: int
    seconds: dict[str, float]  # way -> median seconds of forward + backward
    limit: float  # seconds the least memory traffic takes at the bandwidth measured for (n, d)

    def ratio(self, way: str) -> float:
        """Time of ``way`` over torch's native kernel (below 1: faster than torch)."""
        return self.seconds[way] / self.seconds["torch"]

    def to_dict(self) -> dict:
        return asdict(self)


def _step(fn: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor],
          upstream: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        out = fn(*inputs)
        torch.autograd.grad(out, inputs, upstream)

    step()  # compile (fused) and warm up the allocator before timing
    step()
    return step


def _paired_times(steps: dict[str, Callable[[], None]], min_run_time: float,
                  rounds: int) -> dict[str, float]:
    """Seconds per call of each step, from ``rounds`` interleaved rounds, paired with torch.

    Every round times each way once, back to back; the ratio of a way to torch is the median
    of its per-round ratios, which a slow spell of a shared machine (hitting all ways of one
    round alike) barely moves. Returned: that ratio times torch's median time.
    """
    samples: dict[str, list[float]] = {way: [] for way in steps}
    for _ in range(rounds):
        for way, step in steps.items():
            timer = benchmark.Timer(stmt="step()", globals={"step": step}, num_threads=1)
            samples[way].append(timer.blocked_autorange(min_run_time=min_run_time / rounds).median)
    reference = samples["torch"]
    ratios = {way: statistics.median(t / r for t, r in zip(times, reference, strict=True))
              for way, times in samples.items()}
    return {way: ratio * statistics.median(reference) for way, ratio in ratios.items()}


def run(sizes: Sequence[tuple[int, int]] = SIZES, layers: Sequence[str] = LAYERS,
        ways: Sequence[str] = WAYS, min_run_time: float = 1.0, rounds: int = 9,
        bandwidth: float | None = None) -> list[Result]:
    """Median forward + backward time of each way for each layer and size (float32, CPU).

    ``ways`` must include ``"torch"`` (the reference of every ratio). Each way is timed for
    about ``min_run_time`` seconds in all, in ``rounds`` rounds interleaved with the other
    ways. ``bandwidth`` in bytes per second for every size; when None, it is measured for each
    size by copying an array of that size (:func:`memory_bandwidth`), so that the limit uses
    the cache's bandwidth where the arrays fit in the cache, and main memory's where they do not.
    """
    unknown = set(ways) - set(WAYS)
    if unknown or "torch" not in ways:
        raise ValueError(f"ways must be a subset of {WAYS} that includes 'torch', "
                         f"got {tuple(ways)}")
    results = []
    for n, d in sizes:
        size_bandwidth = memory_bandwidth(n * d * FLOAT32) if bandwidth is None else bandwidth
        generator = torch.Generator().manual_seed(0)
        x = torch.randn(n, d, generator=generator).requires_grad_()
        w = torch.randn(d, generator=generator).requires_grad_()
        b = torch.randn(d, generator=generator).requires_grad_()
        upstream = torch.randn(n, d, generator=generator)
        for layer in layers:
            inputs = (x,) if layer == "Dropout" else (x, w, b)
            available = _ways(layer)
            steps = {way: _step(available[way], inputs, upstream) for way in ways}
            seconds = _paired_times(steps, min_run_time, rounds)
            results.append(Result(layer, n, d, seconds, bytes_moved(layer, n, d) / size_bandwidth))
    return results


def format_table(results: Sequence[Result]) -> str:
    """A plain-text table: one row per layer and size, each way's time as a ratio to torch.

    The last column is the memory limit as a ratio to torch's time.
    """
    ways = [w for w in WAYS if w in results[0].seconds] if results else []
    header = f"{'layer':11} {'N x D':>11} {'torch time':>10} " + "".join(f"{w:>9}" for w in ways)
    header += f" {'limit':>7}"
    lines = [header, "-" * len(header)]
    for r in results:
        cells = "".join(f"{r.ratio(w):8.2f}x" for w in ways)
        lines.append(f"{r.layer:11} {f'{r.n} x {r.d}':>11} {r.seconds['torch'] * 1e3:7.3f} ms "
                     f"{cells} {r.limit / r.seconds['torch']:6.2f}x")
    return "\n".join(lines)
