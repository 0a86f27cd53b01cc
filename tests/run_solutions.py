"""Run every chapter's exercise solutions after the chapter's own code: ``make solutions``.

The solutions live in the notebooks' markdown (hidden in the book until a reader opens them),
so nbval never runs them. This script executes, for each notebook given, all its code cells
except the interactive ones (tagged ``nbval-ignore-output`` and calling ``widgets.interact``)
and then every ```python block found inside a ``{solution}`` directive, in one namespace, so
that a solution that no longer runs or whose assert fails is caught.

Usage: python tests/run_solutions.py chapters/01_initialization.ipynb [...]
"""

from __future__ import annotations

import re
import sys

import matplotlib
import nbformat

SOLUTION = re.compile(r"^(`{3,})\{solution\}.*?\n(.*?)\n\1\s*$", re.S | re.M)
PYTHON = re.compile(r"```python\n(.*?)\n```", re.S)


def solution_blocks(markdown: str) -> list[str]:
    return [code for _, body in SOLUTION.findall(markdown) for code in PYTHON.findall(body)]


def run(path: str) -> int:
    notebook = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "__solutions__"}
    blocks = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and "widgets.interact" not in cell.source:
            exec(compile(cell.source, f"{path}:code", "exec"), namespace)  # noqa: S102
        elif cell.cell_type == "markdown":
            blocks += solution_blocks(cell.source)
    for i, code in enumerate(blocks, 1):
        print(f"{path}: solution block {i}/{len(blocks)}")
        exec(compile(code, f"{path}:solution {i}", "exec"), namespace)  # noqa: S102
    return len(blocks)


if __name__ == "__main__":
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.show = lambda *args, **kwargs: plt.close("all")
    total = sum(run(path) for path in sys.argv[1:])
    print(f"{total} solution blocks ran")
