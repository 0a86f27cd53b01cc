"""Speed of the from-scratch normalization layers: ``python -m normreg.bench``.

For each layer, forward plus backward at a given size on the CPU, three ways:

- ``autograd``: the plain formula, differentiated by autograd (``layer_norm_naive``, ...);
- ``by hand``: the book's layer, whose backward pass is derived by hand;
- ``torch``: PyTorch's built-in kernel (``torch.nn.functional.layer_norm`` / ``batch_norm``).

Times are medians from ``torch.utils.benchmark``, measured in one run, and reported as ratios
to the torch kernel, since absolute times on a shared machine are noisy. This is a benchmark,
not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
from torch.nn import functional as F
from torch.utils import benchmark

from normreg.nn.batchnorm import batch_norm, batch_norm_naive
from normreg.nn.layernorm import layer_norm, layer_norm_naive

__all__ = ["Result", "run", "main"]


@dataclass
class Result:
    layer: str  # "LayerNorm1d" or "BatchNorm1d"
    shape: tuple[int, int]  # (N, D)
    seconds: dict[str, float]  # way -> median seconds of forward + backward

    def ratio(self, way: str) -> float:
        return self.seconds[way] / self.seconds["torch"]


def _ways(layer: str):
    if layer == "LayerNorm1d":
        return {
            "autograd": lambda x, w, b: layer_norm_naive(x, w, b),
            "by hand": lambda x, w, b: layer_norm(x, w, b),
            "torch": lambda x, w, b: F.layer_norm(x, (x.shape[1],), w, b),
        }
    return {
        "autograd": lambda x, w, b: batch_norm_naive(x, w, b),
        "by hand": lambda x, w, b: batch_norm(x, w, b)[0],
        "torch": lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
    }


def run(shape: tuple[int, int] = (512, 1024), min_run_time: float = 0.5,
        layers: tuple[str, ...] = ("LayerNorm1d", "BatchNorm1d")) -> list[Result]:
    """Median forward + backward time of each way, for each layer, at ``shape`` (float32)."""
    n, d = shape
    x = torch.randn(n, d, requires_grad=True)
    w = torch.randn(d, requires_grad=True)
    b = torch.randn(d, requires_grad=True)
    upstream = torch.randn(n, d)
    results = []
    for layer in layers:
        seconds = {}
        for way, fn in _ways(layer).items():
            def step(fn=fn):
                out = fn(x, w, b)
                torch.autograd.grad(out, (x, w, b), upstream)

            timer = benchmark.Timer(stmt="step()", globals={"step": step})
            seconds[way] = timer.blocked_autorange(min_run_time=min_run_time).median
        results.append(Result(layer, shape, seconds))
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="batch size N (default 512)")
    parser.add_argument("--d", type=int, default=1024, help="features D (default 1024)")
    parser.add_argument("--min-run-time", type=float, default=0.5, help="seconds per measurement")
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    print(f"forward + backward, {args.n} x {args.d} float32, CPU, {threads} threads")
    print(f"{'layer':12} {'way':9} {'median':>10} {'vs torch':>9}")
    for result in run((args.n, args.d), args.min_run_time):
        for way, seconds in result.seconds.items():
            print(f"{result.layer:12} {way:9} {seconds * 1e3:8.3f} ms {result.ratio(way):8.2f}x")
        speedup = result.seconds["autograd"] / result.seconds["by hand"]
        print(f"{result.layer:12} the hand-derived backward is {speedup:.2f}x as fast as autograd")


if __name__ == "__main__":
    main()
