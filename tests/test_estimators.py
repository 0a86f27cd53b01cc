import itertools
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from normreg.probes.estimators import (
    minibatch_gradient,
    per_example_gradients,
    population_variance,
    sampling_rmse,
    subset_sum,
)


def test_subset_sum_averaged_over_all_subsets_is_exact():
    # Unbiasedness, exactly: the mean over every subset of size k is W z.
    weight, z = torch.randn(3, 6, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    for k in (1, 2, 4):
        estimates = [weight[:, list(s)] @ z[list(s)] * (6 / k)
                     for s in itertools.combinations(range(6), k)]
        torch.testing.assert_close(torch.stack(estimates).mean(dim=0), weight @ z)


def test_subset_sum_uses_k_columns_and_the_full_set_is_exact():
    weight, z = torch.randn(4, 10, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    torch.testing.assert_close(subset_sum(weight, z, 10), weight @ z)
    # With a one-hot z, the estimate is either 0 or (n / k) W[:, j]: it saw j or it did not.
    one_hot = torch.zeros(10, dtype=torch.float64)
    one_hot[3] = 1.0
    seen = [subset_sum(weight, one_hot, 5).abs().sum() > 0 for _ in range(400)]
    assert 0.4 < sum(seen) / 400 < 0.6  # P(j in P) = k / n = 0.5


@pytest.mark.parametrize("k", [1, 5, 15])
def test_sampling_rmse_matches_monte_carlo(k):
    generator = torch.Generator().manual_seed(0)
    weight, z = torch.randn(5, 20, dtype=torch.float64), torch.randn(20, dtype=torch.float64)
    population = (20 * weight * z).T  # (n, out): the n terms whose mean is W z
    predicted = sampling_rmse(population_variance(population), 20, k)
    errors = torch.stack([subset_sum(weight, z, k, generator) - weight @ z for _ in range(4000)])
    measured = errors.pow(2).sum(dim=1).mean().sqrt().item()
    assert measured == pytest.approx(predicted, rel=0.06)


def test_sampling_rmse_edges_and_errors():
    assert sampling_rmse(2.0, 10, 10) == 0.0
    assert sampling_rmse(2.0, 10, 1) == pytest.approx(math.sqrt(2.0))
    with pytest.raises(ValueError, match="k must be an int in"):
        sampling_rmse(1.0, 10, 11)
    with pytest.raises(ValueError, match="population must be"):
        sampling_rmse(1.0, 1, 1)
    with pytest.raises(ValueError, match="variance must be"):
        sampling_rmse(-1.0, 10, 2)


def test_population_variance_is_mean_squared_distance_to_the_mean():
    samples = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    assert population_variance(samples) == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        population_variance(torch.ones(3))


def test_per_example_gradients_average_to_the_full_gradient():
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)).double()
    x, y = torch.randn(12, 6, dtype=torch.float64), torch.randint(0, 3, (12,))
    rows = per_example_gradients(model, x, y)
    assert rows.shape == (12, sum(p.numel() for p in model.parameters()))
    full = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    torch.testing.assert_close(rows.mean(dim=0), torch.cat([g.reshape(-1) for g in full]))


def test_minibatch_gradient_of_everything_is_the_full_gradient():
    model = nn.Linear(4, 3).double()
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,))
    full = per_example_gradients(model, x, y).mean(dim=0)
    torch.testing.assert_close(minibatch_gradient(model, x, y, 8), full)
    one = minibatch_gradient(model, x, y, 1)
    rows = per_example_gradients(model, x, y)
    assert any(torch.allclose(one, row) for row in rows)  # a single example's gradient


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: subset_sum(torch.ones(2, 3), torch.ones(4), 1),
         r"weight and z must have shapes \(out, n\) and \(n,\)"),
        (lambda: subset_sum(torch.ones(2, 3), torch.ones(3), 0), "k must be an int in"),
        (lambda: per_example_gradients(nn.Linear(2, 2), torch.ones(3, 2),
                                       torch.zeros(2, dtype=torch.long)), "same number of rows"),
        (lambda: minibatch_gradient(nn.Linear(2, 2), torch.ones(3, 2),
                                    torch.zeros(3, dtype=torch.long), 4), "k must be an int in"),
    ],
)
def test_bad_arguments_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_gradient_population_streams_the_same_mean_and_variance():
    from normreg.probes.estimators import gradient_population

    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x, y = torch.randn(15, 6, dtype=torch.float64), torch.randint(0, 3, (15,))
    rows = per_example_gradients(model, x, y)
    mean, variance = gradient_population(model, x, y)
    torch.testing.assert_close(mean, rows.mean(dim=0))
    assert variance == pytest.approx(population_variance(rows), rel=1e-9)
