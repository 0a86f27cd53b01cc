"""Every notebook's asserted claims hold for seeds other than the committed one.

Slow: each notebook is executed once more per seed, with ``SEED`` injected into its cell
tagged ``parameters`` (papermill); a claim's ``assert`` that fails fails the test. ``make
test`` runs these in their own step (``pytest -m slow``); ``SEEDS="3 4"`` picks other seeds.
"""

import os
from pathlib import Path

import nbformat
import papermill
import pytest

NOTEBOOKS = sorted(Path(__file__).resolve().parent.parent.glob("chapters/*.ipynb"))
SEEDS = [int(s) for s in os.environ.get("SEEDS", "1 2").split()]


def test_every_notebook_takes_its_seed_from_a_parameters_cell():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        cells = [c for c in nbformat.read(path, as_version=4).cells
                 if "parameters" in c.metadata.get("tags", [])]
        assert len(cells) == 1 and "SEED = 0" in cells[0].source, path.name


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_claims_hold_for_another_seed(notebook, seed, tmp_path):
    # A cell that runs for 10 minutes is a hang (the slowest cell takes about a minute): fail
    # instead of waiting forever.
    papermill.execute_notebook(notebook, tmp_path / notebook.name, parameters={"SEED": seed},
                               kernel_name="python3", progress_bar=False, log_output=False,
                               cwd=notebook.parent, execution_timeout=600)
