import math

import pytest
import torch

from normreg.nn import Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_kept_values_are_scaled_and_dropped_fraction_is_p(p):
    x = torch.rand(200, 500) + 0.5  # no zeros in the input
    y = Dropout(p)(x)
    kept = y != 0
    torch.testing.assert_close(y[kept], x[kept] / (1 - p))
    n = x.numel()
    dropped = (~kept).sum().item()
    # a binomial count: within 5 standard deviations of n * p
    assert abs(dropped - n * p) < 5 * math.sqrt(n * p * (1 - p))


def test_expectation_is_preserved():
    x = torch.randn(50, 40)
    layer = Dropout(0.3)
    mean = torch.stack([layer(x) for _ in range(2000)]).mean(dim=0)
    # each entry averages 2000 draws of x / 0.7 * Bernoulli(0.7): sd |x| * sqrt(0.3 / 0.7 / 2000)
    tolerance = 5 * x.abs() * math.sqrt(0.3 / 0.7 / 2000) + 1e-6
    assert ((mean - x).abs() <= tolerance).all()


def test_eval_mode_and_p_zero_are_the_identity():
    x = torch.randn(10, 10)
    layer = Dropout(0.5).eval()
    assert layer(x) is x
    assert Dropout(0.0)(x) is x


def test_p_one_drops_everything_and_passes_back_zeros():
    x = torch.randn(4, 4, requires_grad=True)
    y = Dropout(1.0)(x)
    assert torch.equal(y, torch.zeros(4, 4))
    y.sum().backward()  # the graph is not cut: a zero gradient, as torch gives
    assert torch.equal(x.grad, torch.zeros(4, 4))


def test_the_module_uses_the_hand_written_backward_and_the_formulas_draws():
    from normreg.nn.dropout import dropout_naive

    x = torch.randn(30, 40, requires_grad=True)
    torch.manual_seed(5)
    y = Dropout(0.3)(x)
    assert type(y.grad_fn).__name__ == "_DropoutFunctionBackward"  # not autograd's graph
    torch.manual_seed(5)
    torch.testing.assert_close(y, dropout_naive(x, 0.3))  # the same mask from the same state


def test_gradient_flows_only_through_kept_units():
    x = torch.randn(30, 30, requires_grad=True)
    y = Dropout(0.4)(x)
    y.sum().backward()
    kept = y.detach() != 0
    torch.testing.assert_close(x.grad[kept], torch.full((int(kept.sum()),), 1 / 0.6))
    assert (x.grad[~kept] == 0).all()


def test_matches_torch_statistically_and_keeps_the_dtype():
    x = torch.ones(1000, 100, dtype=torch.float16)
    ours = Dropout(0.25)(x)
    theirs = torch.nn.Dropout(0.25)(x)
    assert ours.dtype == torch.float16
    assert abs((ours == 0).float().mean().item() - (theirs == 0).float().mean().item()) < 0.01
    assert set(ours.unique().tolist()) == set(theirs.unique().tolist())  # {0, 1 / 0.75}


@pytest.mark.parametrize("p", [-0.1, 1.5, "0.5", None, True, float("nan")])
def test_bad_probability_raises(p):
    with pytest.raises(ValueError, match=r"p must be a number in \[0, 1\], got"):
        Dropout(p)


def test_non_tensor_input_and_inplace_raise():
    with pytest.raises(TypeError, match="input must be a torch.Tensor, got list"):
        Dropout(0.5)([1.0, 2.0])
    with pytest.raises(ValueError, match="inplace=True is not supported"):
        Dropout(0.5, inplace=True)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_variance_after_a_linear_map_is_p_over_one_minus_p(p):
    # y = W D(z): each term W_ij z_j m_j / (1 - p), m_j ~ Bernoulli(1 - p) independent, so
    # Var y_i = p / (1 - p) * sum_j W_ij^2 z_j^2 (the formula chapter 5 plots).
    weight, z = torch.randn(3, 40, dtype=torch.float64), torch.randn(40, dtype=torch.float64)
    layer = Dropout(p)
    samples = torch.stack([weight @ layer(z) for _ in range(20000)])
    predicted = p / (1 - p) * (weight**2 * z**2).sum(dim=1)
    torch.testing.assert_close(samples.var(dim=0), predicted, rtol=0.05, atol=0)
