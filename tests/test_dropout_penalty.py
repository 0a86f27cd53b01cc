"""The dropout penalty: its formula against the exact expectation over every mask."""

import itertools

import pytest
import torch
from torch import nn

from normreg.losses import loss_value
from normreg.probes.dropout import dropout_penalty, expected_dropout_loss


def exact_expected_loss(layer, z, y, p, loss, power=1):
    """E over all 2^n masks of loss(layer(D(z)), y) ** power, per example, by enumeration."""
    n = z.shape[1]
    total = torch.zeros(z.shape[0], dtype=torch.float64)
    for mask in itertools.product((0, 1), repeat=n):
        probability = (1 - p) ** sum(mask) * p ** (n - sum(mask))
        m = torch.tensor(mask, dtype=torch.float64)
        value = loss_value(layer(z * m / (1 - p)), y, loss, reduction="none")
        total += probability * value ** power
    return total


@pytest.fixture
def problem():
    g = torch.Generator().manual_seed(0)
    layer = nn.Linear(5, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.randn(3, 5, generator=g, dtype=torch.float64))
    z = torch.rand(4, 5, generator=g, dtype=torch.float64) * 2  # non-negative, like a ReLU's output
    return layer, z, torch.tensor([0, 1, 2, 1])


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_for_the_squared_loss_the_penalty_is_exact(problem, p):
    layer, z, y = problem
    with torch.no_grad():
        base = loss_value(layer(z), y, "mse", reduction="none")
        penalty = dropout_penalty(layer(z), z, layer.weight, p, loss="mse")
        torch.testing.assert_close(exact_expected_loss(layer, z, y, p, "mse"), base + penalty)


def test_for_cross_entropy_it_is_the_second_order_term_of_small_noise():
    # The expansion is in the size of the noise delta = W (D(z) - z): it holds when many units
    # each contribute a little (a wide layer) and p is small, so that delta is small. Measured:
    # 400 units, weights of scale 1/sqrt(400), p = 0.05 (the noise's standard deviation is about
    # a third of a logit): within 3%; at p = 0.8 (about 3 logits) the formula overestimates.
    g = torch.Generator().manual_seed(0)
    layer = nn.Linear(400, 10).double()
    with torch.no_grad():
        layer.weight.copy_(2 * torch.randn(10, 400, generator=g, dtype=torch.float64) / 20)
    z = 2 * torch.rand(64, 400, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (64,), generator=g)
    with torch.no_grad():
        base = loss_value(layer(z), y, reduction="none")
        ratio = {}
        for p in (0.05, 0.8):
            excess = expected_dropout_loss(layer, z, y, p, draws=4000, generator=g) - base
            ratio[p] = (excess.mean() / dropout_penalty(layer(z), z, layer.weight, p).mean()).item()
    assert abs(ratio[0.05] - 1) < 0.03, ratio
    assert ratio[0.8] < 0.9, ratio


def test_the_penalty_is_zero_without_dropout_and_grows_with_p(problem):
    layer, z, _ = problem
    with torch.no_grad():
        values = [dropout_penalty(layer(z), z, layer.weight, p) for p in (0.0, 0.2, 0.5, 0.9)]
    assert torch.equal(values[0], torch.zeros(4))
    assert all(torch.all(a < b) for a, b in zip(values, values[1:], strict=False))


def test_expected_dropout_loss_converges_to_the_exact_expectation(problem):
    layer, z, y = problem
    g = torch.Generator().manual_seed(1)
    draws = 20_000
    estimate = expected_dropout_loss(layer, z, y, 0.5, draws=draws, generator=g)
    with torch.no_grad():
        exact = exact_expected_loss(layer, z, y, 0.5, "cross_entropy")
        square = exact_expected_loss(layer, z, y, 0.5, "cross_entropy", power=2)
        spread = (square - exact ** 2).sqrt()  # of one draw's loss
        assert torch.all((estimate - exact).abs() < 4 * spread / draws ** 0.5), "4 standard errors"
        # p = 0: no noise, the loss itself
        torch.testing.assert_close(expected_dropout_loss(layer, z, y, 0.0, draws=1),
                                   loss_value(layer(z), y, reduction="none"))


def test_bad_shapes_are_refused(problem):
    layer, z, y = problem
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\) = \(4, 3\), got"):
        dropout_penalty(torch.zeros(4, 2), z, layer.weight, 0.5)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(4,\), got \(3,\)"):
        expected_dropout_loss(layer, z, y[:3], 0.5)
