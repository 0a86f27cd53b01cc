"""A grid of training runs over several factors, and 2-D slices of its results.

Chapter 6 trains the same network under every combination of optimizer, learning rate,
initialization scale c, normalization and regularization. :func:`run_grid` runs the product of
the factor values it is given, through :func:`~normreg.train.fit_many` (each run as it would
train alone), and turns each result into one flat record (a dict of the factor values and the
final metrics). :func:`grid_table` reduces
the records to a table over two factors for a heatmap.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from normreg._checks import check_choice
from normreg.data import Dataset
from normreg.train import Run, fit_many

__all__ = ["TRAINED_ACCURACY", "grid_points", "run_grid", "grid_table"]

# A run "trained at all" if it did not diverge and its final training accuracy is at least this
# (chance is 0.1 on the 10 balanced classes).
TRAINED_ACCURACY = 0.5

# How grid_table reduces the records of one cell.
REDUCTIONS = {"max": np.max, "min": np.min, "mean": np.mean, "median": np.median}

# The keys of a record that are results, not factors.
RESULTS = ("train_acc", "test_acc", "diverged", "trained")


def grid_points(factors: dict[str, Sequence]) -> list[dict]:
    """Every combination of the factor values, as dicts, the last factor varying fastest."""
    if not factors or any(len(values) == 0 for values in factors.values()):
        raise ValueError(f"factors must map each name to a non-empty list, got {factors!r}")
    names = list(factors)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*factors.values())]


def run_grid(factors: dict[str, Sequence] | list[dict], make_run: Callable[[dict], Run],
             data: Dataset, progress: bool | None = None) -> list[dict]:
    """Train one network per grid point, runs of one shape together, and return one record per
    run.

    Args:
        factors: factor name -> the values it takes (the full product is run), or an explicit
            list of points (dicts of factor values), for a grid that is not a full product.
        make_run: builds the :class:`~normreg.train.Run` of a grid point (its network, training
            and seed).
        data: the dataset every run trains and is evaluated on.
        progress: show a progress bar (see :func:`~normreg.train.fit_many`).

    Returns:
        A list of dicts in the order of the points: the point's factors, plus ``train_acc``,
        ``test_acc`` (nan if the run diverged), ``diverged`` and ``trained`` (not diverged and
        final training accuracy at least :data:`TRAINED_ACCURACY`).
    """
    points = factors if isinstance(factors, list) else grid_points(factors)
    results = fit_many([make_run(point) for point in points], data, progress=progress)
    records = []
    for point, (_, history) in zip(points, results, strict=True):
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
    factors allow; "min", "mean" or "median", e.g. over the seeds of one setting); a diverged
    run counts as accuracy 0 and ``trained`` as 0 or 1. A cell with no record is nan.
    """
    check_choice("reduce", reduce, tuple(REDUCTIONS))
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
                table[i, j] = float(REDUCTIONS[reduce](cell))
    return row_values, col_values, table
