"""A grid of training runs over several factors, and 2-D slices of its results.

Chapter 6 trains the same network under every combination of optimizer, learning rate,
initialization scale c, normalization and regularization. :func:`run_grid` runs the product of
the factor values it is given; each run is a plain :func:`~normreg.train.fit`, and its result is
one flat record (a dict of the factor values and the final metrics). :func:`grid_table` reduces
the records to a table over two factors for a heatmap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np
from torch import nn

from normreg._checks import check_choice
from normreg.data import Dataset
from normreg.repro import set_seed
from normreg.train import TrainConfig, fit

__all__ = ["TRAINED_ACCURACY", "grid_points", "run_grid", "grid_table"]

# A run "trained at all" if it did not diverge and its final training accuracy is at least this
# (chance is 0.1 on the 10 balanced classes).
TRAINED_ACCURACY = 0.5

# The keys of a record that are results, not factors.
RESULTS = ("train_acc", "test_acc", "diverged", "trained")


def grid_points(factors: dict[str, Sequence]) -> list[dict]:
    """Every combination of the factor values, as dicts, the last factor varying fastest."""
    if not factors or any(len(values) == 0 for values in factors.values()):
        raise ValueError(f"factors must map each name to a non-empty list, got {factors!r}")
    names = list(factors)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*factors.values())]


def run_grid(factors: dict[str, Sequence] | list[dict], make_run: Callable[[dict], tuple[nn.Module,
             TrainConfig]], data: Dataset, seed: int = 0,
             progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Train one network per grid point and return one record per run.

    Args:
        factors: factor name -> the values it takes (the full product is run), or an explicit
            list of points (dicts of factor values), for a grid that is not a full product.
        make_run: builds ``(model, train_config)`` from a grid point; it is called after
            ``set_seed(seed)``, so every run starts from the same random state.
        data: the dataset every run trains and is evaluated on.
        progress: called with each point before its run (for a progress display).

    Returns:
        A list of dicts: the point's factors, plus ``train_acc``, ``test_acc`` (nan if the run
        diverged), ``diverged`` and ``trained`` (not diverged and final training accuracy at
        least :data:`TRAINED_ACCURACY`).
    """
    points = factors if isinstance(factors, list) else grid_points(factors)
    records = []
    for point in points:
        if progress is not None:
            progress(point)
        set_seed(seed)
        model, config = make_run(point)
        history = fit(model, data, config)
        train_acc, test_acc = history.final("train_acc"), history.final("test_acc")
        records.append({
            **point,
            "train_acc": train_acc,
            "test_acc": test_acc,
            "diverged": history.diverged,
            "trained": (not history.diverged) and train_acc >= TRAINED_ACCURACY,
        })
    return records


def _values(records: list[dict], factor: str) -> list:
    """A factor's values in the order they first appear, or sorted if they are all numbers."""
    values = list(dict.fromkeys(r[factor] for r in records))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        values.sort()
    return values


def grid_table(records: list[dict], rows: str, cols: str, value: str = "test_acc",
               reduce: str = "max", where: dict | None = None
               ) -> tuple[list, list, np.ndarray]:
    """A (len(row values), len(col values)) table of ``value`` over two factors.

    Records that match ``where`` (factor -> required value) are grouped by their ``rows`` and
    ``cols`` values (numeric values sorted, others in order of appearance), and each group
    is reduced with ``reduce`` ("max": the best the other
    factors allow, or "mean"); a diverged run counts as accuracy 0 and ``trained`` as 0 or 1.
    A cell with no record is nan.
    """
    check_choice("reduce", reduce, ("max", "mean"))
    if not records:
        raise ValueError("records must be a non-empty list, got an empty one")
    for name in (rows, cols, *(where or {})):
        if name not in records[0]:
            factors = [k for k in records[0] if k not in RESULTS]
            raise ValueError(f"{name!r} must be a factor of these records, one of {factors}")
    selected = [r for r in records if all(r[k] == v for k, v in (where or {}).items())]
    row_values, col_values = _values(records, rows), _values(records, cols)
    table = np.full((len(row_values), len(col_values)), np.nan)
    for i, a in enumerate(row_values):
        for j, b in enumerate(col_values):
            cell = [float(r[value]) for r in selected if r[rows] == a and r[cols] == b]
            cell = [0.0 if math.isnan(v) else v for v in cell]
            if cell:
                table[i, j] = max(cell) if reduce == "max" else float(np.mean(cell))
    return row_values, col_values, table
