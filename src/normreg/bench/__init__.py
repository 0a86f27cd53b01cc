"""Benchmarks (``make bench``; not part of ``make test``): nothing here asserts a speed.

- :mod:`normreg.bench.layers`    forward + backward of the layers: autograd, by hand, fused,
  torch, and the memory limit
- :mod:`normreg.bench.training`  one training step of the 50-layer network per network: with
  torch's layers, with the book's, and batched K at a time, beside the arithmetic limit
- :mod:`normreg.bench.notebooks` wall time and peak memory of every notebook, and its training
- :mod:`normreg.bench.trace`     what a notebook's kernel spends on training: time and arithmetic

``python -m normreg.bench`` runs both, prints their tables and writes them as JSON
(:func:`save`), which the book's appendix "How fast is this?" reads (:func:`load`).
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from normreg.bench.layers import Result
from normreg.bench.notebooks import NotebookCost
from normreg.bench.training import TrainingResult

__all__ = ["save", "load", "machine"]


def machine(bandwidth: float | None = None) -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    info = {"cpu": cpu, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version()}
    if bandwidth is not None:
        info["bandwidth_bytes_per_s"] = bandwidth
    return info


def save(path: str | Path, *, machine: dict, layers: list[Result] | None = None,
         training: list[TrainingResult] | None = None,
         notebooks: list[NotebookCost] | None = None) -> None:
    """Write the results as JSON (keys: machine, layers, training, notebooks)."""
    data = {"machine": machine,
            "layers": [r.to_dict() for r in layers or []],
            "training": [r.to_dict() for r in training or []],
            "notebooks": [c.to_dict() for c in notebooks or []]}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def load(path: str | Path) -> tuple[dict, list[Result], list[TrainingResult],
                                   list[NotebookCost]]:
    """Read what :func:`save` wrote: (machine, layer results, training results, notebook
    costs)."""
    data = json.loads(Path(path).read_text())
    return (data["machine"], [Result(**r) for r in data["layers"]],
            [TrainingResult(**r) for r in data.get("training", [])],
            [NotebookCost(**c) for c in data["notebooks"]])
