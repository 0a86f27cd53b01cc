"""How long does each notebook take to run, how much of that is training, and how much memory
does it need?

Each notebook is executed from scratch in its own process (``jupyter nbconvert --execute`` to
a temporary copy; the notebook itself is not changed), the way the book build and nbval run
it. The wall time includes starting the kernel. The peak memory is the largest resident set
size among that process and its kernel, read from the operating system when they exit
(``getrusage``). The kernel records its training as it goes (:mod:`normreg.bench.trace`): the
wall time of every call of ``fit`` and of every group of runs ``fit_many`` trains, and the
arithmetic of their training steps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from normreg.bench import trace

__all__ = ["NotebookCost", "measure", "empty_seconds", "format_table"]


@dataclass
class NotebookCost:
    notebook: str  # path as given
    seconds: float  # wall time, kernel start-up included
    peak_bytes: int  # largest resident set size of the runner and its kernel
    training_seconds: float = 0.0  # wall time inside fit and fit_many (evaluations included)
    training_flops: int = 0  # floating-point operations of the training steps' products

    def to_dict(self) -> dict:
        return asdict(self)


# Runs the command given as arguments and prints the peak resident set size (KiB) of its
# process tree. It must run in a small process of its own: Linux carries a process's peak RSS
# over into a child it forks and execs, so measured from the (large) benchmark process, every
# notebook would seem to need at least as much memory as the benchmark itself.
_PEAK_OF_CHILDREN = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def _run(notebook: Path, timeout: int) -> NotebookCost:
    with tempfile.TemporaryDirectory() as out:
        log = Path(out) / "training.jsonl"
        record_training = f"from normreg.bench.trace import install; install({str(log)!r})"
        nbconvert = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                     f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", out,
                     f"--ExecutePreprocessor.extra_arguments=--IPKernelApp.exec_lines="
                     f"{record_training}", "--log-level", "ERROR", str(notebook)]
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
        env.setdefault("NORMREG_PROGRESS", "0")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILDREN, *nbconvert], env=env,
                              cwd=notebook.parent, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        training_seconds, training_flops = trace.read(log)
    if done.returncode != 0:
        raise RuntimeError(f"{notebook} failed to execute:\n{done.stderr[-2000:]}")
    peak_kib = int(done.stdout.split()[-1])
    return NotebookCost(str(notebook), seconds, peak_kib * 1024, training_seconds,
                        training_flops)


def measure(notebooks: Sequence[str | Path], timeout: int = 600) -> list[NotebookCost]:
    """Execute each notebook in a fresh process, one after the other; time and peak memory."""
    missing = [str(nb) for nb in notebooks if not Path(nb).is_file()]
    if missing:
        raise ValueError(f"notebooks must be existing .ipynb files, got missing {missing}")
    return [_run(Path(nb).resolve(), timeout) for nb in notebooks]


def empty_seconds() -> float:
    """Wall time of executing an empty notebook as :func:`measure` does: starting the runner and
    a kernel, and shutting them down, the part of every notebook's time that is no cell's."""
    import nbformat

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "empty.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, path)
        return _run(path, timeout=60).seconds


def format_table(costs: Sequence[NotebookCost]) -> str:
    """One row per notebook and a total row (times and operations add up; the peak is the
    largest): wall time, of which training, the training steps' products, peak memory."""
    lines = [f"{'notebook':32} {'time':>8} {'training':>9} {'products':>11} {'peak memory':>12}"]

    def row(name: str, seconds: float, training: float, flops: float, peak: int) -> str:
        return (f"{name:32} {seconds:7.1f}s {training:8.1f}s {flops / 1e12:6.2f} TFLOP "
                f"{peak / 2**30:8.2f} GiB")

    for c in costs:
        lines.append(row(Path(c.notebook).name, c.seconds, c.training_seconds, c.training_flops,
                         c.peak_bytes))
    if costs:
        lines.append(row("all, one after the other", sum(c.seconds for c in costs),
                         sum(c.training_seconds for c in costs),
                         sum(c.training_flops for c in costs),
                         max(c.peak_bytes for c in costs)))
    return "\n".join(lines)
