"""Chapter 2's norm-only task and chapter 4's ridge regression."""

import math

import pytest
import torch

from normreg.data.synthetic import norm_only_task
from normreg.experiments.ridge import along_directions, regression_problem, ridge
from normreg.experiments.ridge import test_error as exact_test_error
from normreg.optim import SGD


def test_the_norm_only_task_carries_the_class_in_the_norm_alone():
    task = norm_only_task(n_train=400, n_test=200, d=50, radii=(1.0, 3.0), seed=1)
    assert task.x_train.shape == (400, 50) and task.x_test.shape == (200, 50)
    norms = task.x_train.norm(dim=1) / math.sqrt(50)
    assert torch.allclose(norms[task.y_train == 0], torch.tensor(1.0))
    assert torch.allclose(norms[task.y_train == 1], torch.tensor(3.0))
    # the directions are drawn alike for both classes: their mean direction is near 0 in both
    for label in (0, 1):
        x = task.x_train[task.y_train == label]
        unit = x / x.norm(dim=1, keepdim=True)
        assert unit.mean(dim=0).norm() < 0.15  # 200 random unit vectors: about 1/sqrt(200)
    assert torch.equal(norm_only_task(seed=1).x_test, norm_only_task(seed=1).x_test)
    assert not torch.equal(norm_only_task(seed=1).x_test, norm_only_task(seed=2).x_test)


def test_ridge_is_where_gradient_descent_with_weight_decay_converges():
    x, y, _ = regression_problem(40, 60, 0.5, seed=0)
    w = torch.zeros(60, dtype=torch.float64, requires_grad=True)
    optimizer = SGD([w], lr=0.3, weight_decay=0.4)
    for _ in range(300):
        optimizer.zero_grad()
        (0.5 * ((x @ w - y) ** 2).mean()).backward()
        optimizer.step()
    torch.testing.assert_close(w.detach(), ridge(x, y, [0.4])[0], rtol=0, atol=1e-8)
    # lambda -> 0: the minimum-norm interpolator, which fits every target
    interpolator = torch.linalg.pinv(x) @ y
    torch.testing.assert_close(ridge(x, y, [1e-9])[0], interpolator, rtol=0, atol=1e-5)
    torch.testing.assert_close(x @ interpolator, y, rtol=0, atol=1e-9)


def test_the_exact_test_error_matches_fresh_samples():
    x, y, w_star = regression_problem(30, 20, 0.5, seed=2)
    w = ridge(x, y, [0.1])[0]
    g = torch.Generator().manual_seed(3)
    fresh = torch.randn(200_000, 20, generator=g, dtype=torch.float64)
    targets = fresh @ w_star + 0.5 * torch.randn(200_000, generator=g, dtype=torch.float64)
    sampled = ((fresh @ w - targets) ** 2).mean().item()
    assert exact_test_error(w, w_star, 0.5) == pytest.approx(sampled, rel=0.01)


def test_ridge_shrinks_each_direction_by_its_factor():
    x, y, _ = regression_problem(30, 50, 0.5, seed=4)
    s, (zero, shrunk) = along_directions(x, torch.linalg.pinv(x) @ y, ridge(x, y, [0.5])[0])
    assert torch.all(s[1:] >= s[:-1])  # increasing
    factor = s ** 2 / (s ** 2 + 30 * 0.5)
    torch.testing.assert_close(shrunk, factor * zero, rtol=1e-6, atol=1e-9)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"every lambda must be >= 0, got \[-1.0\]"):
        ridge(torch.ones(3, 2), torch.ones(3), [-1.0])
    with pytest.raises(ValueError, match=r"x and y must have shapes \(m, d\) and \(m,\)"):
        ridge(torch.ones(3, 2), torch.ones(2), [1.0])
