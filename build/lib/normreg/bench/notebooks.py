"""How long does each notebook take to run, and how much memory does it need?

Each notebook is executed from scratch in its own process (``jupyter nbconvert --execute`` to
a temporary copy; the notebook itself is not changed), the way the book build and nbval run
it. The wall time includes starting the kernel. The peak memory is the largest resident set
size among that process and its kernel, read from the operating system when they exit
(``getrusage``).
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

__all__ = ["NotebookCost", "measure", "format_table"]


@dataclass
class NotebookCost:
    notebook: str  # path as given
    seconds: float  # wall time, kernel start-up included
    peak_bytes: int  # largest resident set size of the runner and its kernel

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
        nbconvert = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                     f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", out,
                     "--log-level", "ERROR", str(notebook)]
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
        env.setdefault("NORMREG_PROGRESS", "0")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _PEAK_OF_CHILDREN, *nbconvert], env=env,
                              cwd=notebook.parent, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{notebook} failed to execute:\n{done.stderr[-2000:]}")
    peak_kib = int(done.stdout.split()[-1])
    return NotebookCost(str(notebook), seconds, peak_kib * 1024)


def measure(notebooks: Sequence[str | Path], timeout: int = 600) -> list[NotebookCost]:
    """Execute each notebook in a fresh process, one after the other; time and peak memory."""
    missing = [str(nb) for nb in notebooks if not Path(nb).is_file()]
    if missing:
        raise ValueError(f"notebooks must be existing .ipynb files, got missing {missing}")
    return [_run(Path(nb).resolve(), timeout) for nb in notebooks]


def format_table(costs: Sequence[NotebookCost]) -> str:
    """One row per notebook and a total row (times add up; the peak is the largest)."""
    lines = [f"{'notebook':40} {'time':>8} {'peak memory':>12}"]
    for c in costs:
        name, gib = Path(c.notebook).name, c.peak_bytes / 2**30
        lines.append(f"{name:40} {c.seconds:7.1f}s {gib:9.2f} GiB")
    if costs:
        lines.append(f"{'all, one after the other':40} {sum(c.seconds for c in costs):7.1f}s "
                     f"{max(c.peak_bytes for c in costs) / 2**30:9.2f} GiB")
    return "\n".join(lines)
