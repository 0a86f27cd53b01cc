import math

import pytest
import torch

from normreg.nn.init import fan_in, scaled_normal_


@pytest.mark.parametrize("c", [0.5, 1.0, 2.0, 3.0])
def test_scaled_normal_has_variance_c_over_fan_in(c):
    w = torch.empty(400, 250)  # torch's Linear layout: (out, in), fan-in 250
    scaled_normal_(w, c, generator=torch.Generator().manual_seed(0))
    # 100,000 samples: the sample variance is within 2% of c / n with overwhelming probability
    assert w.var().item() == pytest.approx(c / 250, rel=0.02)
    assert abs(w.mean().item()) < 4 * math.sqrt(c / 250 / w.numel())


def test_fan_in_uses_the_input_axis_and_kernel():
    assert fan_in(torch.empty(10, 3)) == 3
    assert fan_in(torch.empty(8, 3, 5, 5)) == 75


def test_generator_makes_it_reproducible_and_returns_the_tensor():
    a, b = torch.empty(5, 5), torch.empty(5, 5)
    out = scaled_normal_(a, 2.0, generator=torch.Generator().manual_seed(3))
    scaled_normal_(b, 2.0, generator=torch.Generator().manual_seed(3))
    assert out is a and torch.equal(a, b)


@pytest.mark.parametrize("shape", [(100, 784), (100, 3), (8, 3, 5, 5)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_c_two_draws_exactly_what_kaiming_normal_draws(shape, dtype):
    # float64 shows a difference in the last bit of the standard deviation (sqrt(2 / 3) is
    # not sqrt(2) / sqrt(3) in floating point)
    ours, theirs = torch.empty(shape, dtype=dtype), torch.empty(shape, dtype=dtype)
    scaled_normal_(ours, 2.0, generator=torch.Generator().manual_seed(7))
    torch.nn.init.kaiming_normal_(theirs, generator=torch.Generator().manual_seed(7))
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("c", [0, -1.0, float("nan"), float("inf"), "2"])
def test_bad_c_raises(c):
    with pytest.raises(ValueError, match="c must be a number > 0, got"):
        scaled_normal_(torch.empty(3, 3), c)


def test_one_dimensional_weight_raises():
    with pytest.raises(ValueError, match=r"weight must have at least 2 dimensions .* got shape "
                                         r"\(3,\)"):
        scaled_normal_(torch.empty(3), 2.0)
