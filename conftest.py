"""pytest's settings for whatever it runs from the repository root, so that the plain commands
an instructor types work with nothing set by hand: ``pytest --nbval chapters`` (or one
notebook), ``pytest tests``.

The kernels nbval and the seed check start inherit this process's environment:

- ``NORMREG_PROGRESS=0``: no tqdm progress bar in the outputs that nbval compares (a student
  running a notebook in Jupyter, without this variable, sees the bar);
- ``PYTHONHASHSEED=0``: the same hash seed as the stored outputs were made with;
- no ``MPLBACKEND`` when notebooks run: a backend such as Agg from the caller's shell would
  drop every figure from the outputs (the kernels need matplotlib's inline backend).

Both are defaults: a value set in the environment wins. (``--nbval-sanitize-with`` comes from
``addopts`` in pyproject.toml.)
"""

import os

os.environ.setdefault("NORMREG_PROGRESS", "0")
os.environ.setdefault("PYTHONHASHSEED", "0")


def pytest_configure(config):
    if config.getoption("nbval", default=False) or config.getoption("nbval_lax", default=False):
        os.environ.pop("MPLBACKEND", None)
