"""``python -m normreg.bench``: run the benchmarks, print their tables, save them as JSON."""

from __future__ import annotations

import argparse
import glob
from pathlib import Path

from normreg.bench import layers, load, machine, notebooks, save, training


def _size(text: str) -> tuple[int, int]:
    n, d = text.lower().split("x")
    return int(n), int(d)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m normreg.bench", description=__doc__)
    parser.add_argument("--sizes", type=_size, nargs="+", default=list(layers.SIZES),
                        metavar="NxD", help="layer sizes (default: %(default)s)")
    parser.add_argument("--ways", nargs="+", default=list(layers.WAYS), choices=layers.WAYS)
    parser.add_argument("--min-run-time", type=float, default=1.0,
                        help="seconds of timing per way, layer and size (default %(default)s)")
    parser.add_argument("--ks", type=int, nargs="*", default=list(training.KS), metavar="K",
                        help="runs trained together in the training benchmark (default: "
                             "%(default)s; none: skip it)")
    parser.add_argument("--notebooks", nargs="*", default=None, metavar="NB",
                        help="notebooks to time (default: chapters/*.ipynb; none: skip)")
    parser.add_argument("--out", default=None, help="write the results here as JSON")
    parser.add_argument("--only-notebooks", action="store_true",
                        help="time the notebooks only, and keep the other results already in "
                             "--out (after adding or changing a chapter)")
    args = parser.parse_args(argv)
    if args.only_notebooks:
        _only_notebooks(args)
        return

    bandwidth = layers.memory_bandwidth()
    info = machine(bandwidth)
    print(f"{info['cpu']}, {info['threads']} threads, torch {info['torch']}; "
          f"measured memory bandwidth {bandwidth / 1e9:.1f} GB/s")
    print("\nForward + backward, float32: torch's time, and each way's time as a multiple of it")
    # the memory limit of each size uses the bandwidth measured at that size (cache or memory)
    results = layers.run(args.sizes, ways=args.ways, min_run_time=args.min_run_time)
    print(layers.format_table(results))

    steps = []
    if args.ks:
        print("\nOne training step of the 50-layer, width-100 network at batch 100, per network, "
              "and as a multiple of the same network with torch's layers")
        steps = training.run(ks=args.ks, min_run_time=args.min_run_time)
        print(training.format_table(steps))

    costs = _time_notebooks(args, info)
    if args.out:
        save(args.out, machine=info, layers=results, training=steps, notebooks=costs)
        print(f"\nwrote {args.out}")


def _only_notebooks(args: argparse.Namespace) -> None:
    if not args.out or not Path(args.out).exists():
        raise SystemExit("--only-notebooks keeps the other results of an existing --out file; "
                         "name one (make bench writes book/bench/results.json)")
    info, results, steps, _ = load(args.out)
    costs = _time_notebooks(args, info)
    save(args.out, machine=info, layers=results, training=steps, notebooks=costs)
    print(f"\nwrote the notebooks' costs into {args.out}, the other results unchanged")


def _time_notebooks(args: argparse.Namespace, info: dict) -> list:
    """Time the chapters (or ``--notebooks``) and an empty notebook, whose time, the start-up
    every notebook pays, goes into ``info``; print both."""
    paths = sorted(glob.glob("chapters/*.ipynb")) if args.notebooks is None else args.notebooks
    if not paths:
        return []
    print("\nEach notebook executed from scratch in its own kernel")
    costs = notebooks.measure(paths)
    print(notebooks.format_table(costs))
    info["empty_notebook_seconds"] = notebooks.empty_seconds()
    print(f"an empty notebook: {info['empty_notebook_seconds']:.1f}s")
    return costs


if __name__ == "__main__":
    main()
