import pytest
import torch
from torch import nn

from normreg.nn import BatchNorm1d


def pair(dim, affine=True, momentum=0.1, seed=0):
    """Our layer and torch's, with the same (random) affine parameters."""
    ours = BatchNorm1d(dim, momentum=momentum, affine=affine)
    ref = nn.BatchNorm1d(dim, momentum=momentum, affine=affine)
    if affine:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p, q in ((ours.weight, ref.weight), (ours.bias, ref.bias)):
                p.copy_(torch.randn(dim, generator=g))
                q.copy_(p)
    return ours, ref


def test_running_update_is_the_documented_formula():
    layer = BatchNorm1d(3, momentum=0.25, affine=False)
    x = torch.randn(4, 3)
    layer(x)
    torch.testing.assert_close(layer.running_mean, 0.25 * x.mean(0))
    torch.testing.assert_close(layer.running_var, 0.75 + 0.25 * x.var(0, unbiased=True))


def test_columns_are_standardized_in_train_mode():
    y = BatchNorm1d(20, affine=False)(torch.randn(64, 20) * 4 - 2)
    torch.testing.assert_close(y.mean(dim=0), torch.zeros(20), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=0, unbiased=False), torch.ones(20), atol=1e-3, rtol=0)


def test_buffers_move_with_the_module_and_dtype():
    layer = BatchNorm1d(3).double()
    assert layer.running_mean.dtype == torch.float64
    y = layer(torch.randn(4, 3, dtype=torch.float64))
    assert y.dtype == torch.float64


def test_large_common_offset():
    # As for layer norm: no worse than torch's float32 kernel against the float64 answer.
    x = 1e4 + torch.randn(32, 8)
    ours, ref = pair(8)
    exact = nn.functional.batch_norm(x.double(), None, None, ref.weight.double(),
                                     ref.bias.double(), training=True)
    with torch.no_grad():
        our_error = (ours(x).double() - exact).abs().max().item()
        torch_error = (ref(x).double() - exact).abs().max().item()
    assert our_error <= max(2 * torch_error, 1e-3), (our_error, torch_error)


@pytest.mark.parametrize("scale", [1e-2, 1e4])
def test_tiny_and_huge_scales_against_float64(scale):
    x = scale * torch.randn(32, 8)
    ours, ref = pair(8)
    exact = nn.functional.batch_norm(x.double(), None, None, ref.weight.double(),
                                     ref.bias.double(), training=True)
    with torch.no_grad():
        error = (ours(x).double() - exact).abs().max().item()
    assert error < 1e-5, error


def test_constant_columns_and_a_single_feature():
    layer = BatchNorm1d(1)
    x = torch.full((4, 1), 3.0, requires_grad=True)
    y = layer(x)
    torch.testing.assert_close(y, torch.zeros(4, 1))
    y.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_input_uses_float32_statistics(dtype):
    x = 50 + torch.randn(32, 16)
    ours, ref = pair(16)
    y = ours(x.to(dtype))
    assert y.dtype == dtype and ours.running_mean.dtype == torch.float32
    reference = ref(x.to(dtype).float())
    torch.testing.assert_close(y.float(), reference, atol=3e-2, rtol=1e-2)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_features=0), "num_features must be an int >= 1, got 0"),
    (dict(num_features=2, eps=-1.0), "eps must be a number >= 0, got -1.0"),
    (dict(num_features=2, momentum=1.5), r"momentum must be a number in \[0, 1\], got 1.5"),
    (dict(num_features=2, momentum=-0.1), r"momentum must be a number in \[0, 1\], got -0.1"),
    (dict(num_features=2, momentum="0.1"), r"momentum must be a number in \[0, 1\], got '0.1'"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm1d(**kwargs)


def test_bad_input_raises():
    layer = BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"input must be a 2D or 3D tensor, got a 1D tensor"):
        layer(torch.randn(4))
    with pytest.raises(ValueError, match=r"input must have 4 features in dimension 1, \(N, 4\) "
                                         r"or \(N, 4, L\), got shape \(2, 3\)"):
        layer(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"more than 1 value per feature .* \(1, 4\)"):
        layer(torch.randn(1, 4))
    assert layer(torch.randn(1, 4, 2)).shape == (1, 4, 2)  # (N, C, L): N L = 2 values each
    layer.eval()
    assert layer(torch.randn(1, 4)).shape == (1, 4)  # a single example is fine in eval mode


def test_hand_derived_backward_equals_autograd_of_the_formula():
    from normreg.nn.batchnorm import batch_norm_naive
    from normreg.nn.functional import batch_norm

    x = torch.randn(9, 11, dtype=torch.float64, requires_grad=True)
    w = torch.randn(11, dtype=torch.float64, requires_grad=True)
    b = torch.randn(11, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(9, 11, dtype=torch.float64)
    hand = torch.autograd.grad((batch_norm(x, None, None, w, b, training=True) * upstream).sum(),
                               (x, w, b))
    auto = torch.autograd.grad((batch_norm_naive(x, w, b) * upstream).sum(), (x, w, b))
    for h, a in zip(hand, auto, strict=True):
        torch.testing.assert_close(h, a)


def test_reset_parameters_restores_identity_affine_and_fresh_statistics():
    layer = BatchNorm1d(3)
    with torch.no_grad():
        layer.weight.fill_(2.0)
        layer.bias.fill_(1.0)
    layer(torch.randn(5, 3))
    layer.reset_parameters()
    assert torch.equal(layer.weight, torch.ones(3)) and torch.equal(layer.bias, torch.zeros(3))
    assert torch.equal(layer.running_mean, torch.zeros(3))
    assert torch.equal(layer.running_var, torch.ones(3)) and layer.num_batches_tracked.item() == 0
    assert BatchNorm1d(3, affine=False).weight is None


def test_momentum_zero_keeps_momentum_one_replaces_and_none_averages_the_estimates():
    g = torch.Generator().manual_seed(2)
    batches = [3 * torch.randn(10, 4, generator=g) + k for k in range(3)]
    frozen, latest, average = BatchNorm1d(4, momentum=0.0), BatchNorm1d(4, momentum=1.0), \
        BatchNorm1d(4, momentum=None)
    for x in batches:
        for layer in (frozen, latest, average):
            layer(x)
    assert torch.equal(frozen.running_mean, torch.zeros(4))  # never moves
    assert torch.equal(frozen.running_var, torch.ones(4))
    torch.testing.assert_close(latest.running_mean, batches[-1].mean(0))  # only the last batch
    torch.testing.assert_close(latest.running_var, batches[-1].var(0, unbiased=True))
    torch.testing.assert_close(average.running_mean, torch.stack([x.mean(0) for x in batches])
                               .mean(0))  # the plain average of all batches
    torch.testing.assert_close(average.running_var, torch.stack(
        [x.var(0, unbiased=True) for x in batches]).mean(0))
    assert average.num_batches_tracked.item() == 3


def test_without_running_statistics_eval_mode_uses_the_batch():
    layer = BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    assert layer.running_mean is None and list(layer.state_dict()) == []
    x = 5 * torch.randn(8, 3) + 2
    torch.testing.assert_close(layer(x), BatchNorm1d(3, affine=False)(x))  # train-mode result


def test_three_dimensional_input_takes_statistics_over_batch_and_length():
    x = torch.randn(4, 3, 5) * torch.tensor([1.0, 2.0, 3.0])[:, None] + 7
    y = BatchNorm1d(3, affine=False)(x)
    torch.testing.assert_close(y.mean(dim=(0, 2)), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=(0, 2), unbiased=False), torch.ones(3), atol=1e-3,
                               rtol=0)


def test_batch_norm_2d_is_batch_norm_of_the_table_of_pixels_by_channels():
    # each channel a column, each (example, pixel) a row: BatchNorm2d on (N, C, H, W) is
    # BatchNorm1d on the (N H W, C) table, in train mode and with the same running estimates
    from normreg.nn import BatchNorm2d

    x = 2 * torch.randn(4, 3, 5, 5) + 1
    images, table = BatchNorm2d(3), BatchNorm1d(3)
    columns = x.permute(0, 2, 3, 1).reshape(-1, 3)  # (N H W, C)
    y = images(x)
    torch.testing.assert_close(y.permute(0, 2, 3, 1).reshape(-1, 3), table(columns))
    torch.testing.assert_close(images.running_var, table.running_var)
    torch.testing.assert_close(y.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
