import math

import numpy as np
import pytest

from normreg import MLPConfig, TrainConfig, load_mnist
from normreg.experiments.sweep import TRAINED_ACCURACY, grid_points, grid_table, run_grid
from normreg.train import Run


def test_grid_points_are_the_product_last_factor_fastest():
    points = grid_points({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(points) == 6
    assert points[:3] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}]
    with pytest.raises(ValueError, match="non-empty list"):
        grid_points({"a": []})


def test_run_grid_trains_each_point_and_flags_what_did_not_train():
    data = load_mnist(n_train_per_class=20, n_test_per_class=10)

    def make_run(point):
        return Run(MLPConfig(width=32, depth=2, c=point["c"]),
                   TrainConfig(steps=30, batch_size=50, lr=point["lr"], eval_every=30))

    records = run_grid({"c": [2.0], "lr": [0.05, 1e4]}, make_run, data)
    assert [r["lr"] for r in records] == [0.05, 1e4]
    good, bad = records
    assert good["trained"] and good["train_acc"] >= TRAINED_ACCURACY and not good["diverged"]
    assert bad["diverged"] and not bad["trained"] and math.isnan(bad["test_acc"])
    # the same seed gives the same record, and a list of points runs just those
    assert run_grid([{"c": 2.0, "lr": 0.05}], make_run, data) == [good]


def test_grid_table_slices_and_reduces():
    records = [
        {"opt": o, "norm": n, "c": c, "test_acc": acc, "trained": acc > 0.5}
        for (o, n, c), acc in {
            ("sgd", "none", 1): 0.1, ("sgd", "none", 2): 0.8,
            ("sgd", "batch", 1): 0.9, ("sgd", "batch", 2): 0.7,
            ("adam", "none", 1): float("nan"), ("adam", "none", 2): 0.6,
        }.items()
    ]
    rows, cols, table = grid_table(records, "opt", "norm", reduce="max")
    assert rows == ["sgd", "adam"] and cols == ["none", "batch"]
    np.testing.assert_allclose(table, [[0.8, 0.9], [0.6, np.nan]])
    _, _, mean = grid_table(records, "opt", "norm", reduce="mean")
    np.testing.assert_allclose(mean[1, 0], 0.3)  # a diverged (nan) run counts as 0
    _, _, low = grid_table(records, "opt", "norm", reduce="min")
    np.testing.assert_allclose(low, [[0.1, 0.7], [0.0, np.nan]])
    _, _, median = grid_table(records + [{**records[0], "c": 3, "test_acc": 0.2}], "opt", "norm",
                              reduce="median")
    np.testing.assert_allclose(median[0, 0], 0.2)  # of 0.1, 0.8 and 0.2
    _, _, fixed = grid_table(records, "opt", "norm", where={"c": 1})
    np.testing.assert_allclose(fixed, [[0.1, 0.9], [0.0, np.nan]])
    _, _, trained = grid_table(records, "norm", "c", value="trained", reduce="mean")
    np.testing.assert_allclose(trained, [[0.0, 1.0], [1.0, 1.0]])
    rows, cols, _ = grid_table(records[::-1], "c", "norm")
    assert rows == [1, 2] and cols == ["none", "batch"]  # numbers sorted, names as they come
    with pytest.raises(ValueError, match="'lr' must be a factor of these records"):
        grid_table(records, "lr", "norm")
