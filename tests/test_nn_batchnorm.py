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


def run_both(ours, ref, x, upstream):
    x1 = x.detach().clone().requires_grad_(True)
    x2 = x.detach().clone().requires_grad_(True)
    y1, y2 = ours(x1), ref(x2)
    (y1 * upstream).sum().backward()
    (y2 * upstream).sum().backward()
    return (y1, x1.grad), (y2, x2.grad)


@pytest.mark.parametrize("affine", [True, False])
def test_train_mode_matches_torch(affine):
    ours, ref = pair(6, affine)
    x, upstream = 2 * torch.randn(10, 6) - 1, torch.randn(10, 6)
    (y1, g1), (y2, g2) = run_both(ours, ref, x, upstream)
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(g1, g2)
    if affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad)


def test_running_statistics_match_torch_after_several_steps():
    ours, ref = pair(5, momentum=0.3)
    g = torch.Generator().manual_seed(1)
    for _ in range(6):
        x = 3 * torch.randn(8, 5, generator=g) + torch.arange(5.0)
        ours(x)
        ref(x)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)  # unbiased, as torch
    assert ours.num_batches_tracked.item() == ref.num_batches_tracked.item() == 6


def test_running_update_is_the_documented_formula():
    layer = BatchNorm1d(3, momentum=0.25, affine=False)
    x = torch.randn(4, 3)
    layer(x)
    torch.testing.assert_close(layer.running_mean, 0.25 * x.mean(0))
    torch.testing.assert_close(layer.running_var, 0.75 + 0.25 * x.var(0, unbiased=True))


@pytest.mark.parametrize("affine", [True, False])
def test_eval_mode_matches_torch_and_uses_running_statistics(affine):
    ours, ref = pair(4, affine, momentum=0.5)
    for _ in range(3):
        x = torch.randn(16, 4) * 2 + 1
        ours(x)
        ref(x)
    ours.eval()
    ref.eval()
    x, upstream = torch.randn(7, 4), torch.randn(7, 4)
    (y1, g1), (y2, g2) = run_both(ours, ref, x, upstream)
    torch.testing.assert_close(y1, y2)
    torch.testing.assert_close(g1, g2)
    if affine:
        torch.testing.assert_close(ours.weight.grad, ref.weight.grad)
        torch.testing.assert_close(ours.bias.grad, ref.bias.grad)
    before = ours.running_mean.clone()
    ours(torch.randn(7, 4) + 10)
    assert torch.equal(ours.running_mean, before), "eval mode does not update the statistics"
    # eval mode: an example's output does not depend on the rest of the batch
    torch.testing.assert_close(ours(x[:1]), y1[:1].detach())


def test_same_names_and_state_dict_as_torch():
    ours, ref = pair(4)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ref(torch.randn(5, 4))
    ours.load_state_dict(ref.state_dict())
    torch.testing.assert_close(ours.running_var, ref.running_var)
    assert [name for name, _ in ours.named_buffers()] == ["running_mean", "running_var",
                                                           "num_batches_tracked"]


def test_columns_are_standardized_in_train_mode():
    y = BatchNorm1d(20, affine=False)(torch.randn(64, 20) * 4 - 2)
    torch.testing.assert_close(y.mean(dim=0), torch.zeros(20), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=0, unbiased=False), torch.ones(20), atol=1e-3, rtol=0)


def test_gradcheck_float64():
    from normreg.nn.batchnorm import batch_norm

    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: batch_norm(*a, 1e-5)[0],
                                    (x, w, b))
    assert torch.autograd.gradcheck(
        lambda inp: batch_norm(inp, None, None, 1e-5)[0], (x,))


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
    (dict(dim=0), "dim must be an int >= 1, got 0"),
    (dict(dim=2, eps=0.0), "eps must be a positive finite number, got 0.0"),
    (dict(dim=2, momentum=1.5), r"momentum must be a number in \[0, 1\], got 1.5"),
    (dict(dim=2, momentum=-0.1), r"momentum must be a number in \[0, 1\], got -0.1"),
    (dict(dim=2, momentum=None), r"momentum must be a number in \[0, 1\], got None"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm1d(**kwargs)


def test_bad_input_raises():
    layer = BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"expected 2D input \(N, 4\), got 1D input"):
        layer(torch.randn(4))
    with pytest.raises(ValueError, match=r"expected input with 4 features \(N, 4\), got 3"):
        layer(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"more than 1 example per batch .* \(1, 4\)"):
        layer(torch.randn(1, 4))
    layer.eval()
    assert layer(torch.randn(1, 4)).shape == (1, 4)  # a single example is fine in eval mode


def test_hand_derived_backward_equals_autograd_of_the_formula():
    from normreg.nn.batchnorm import batch_norm, batch_norm_naive

    x = torch.randn(9, 11, dtype=torch.float64, requires_grad=True)
    w = torch.randn(11, dtype=torch.float64, requires_grad=True)
    b = torch.randn(11, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(9, 11, dtype=torch.float64)
    hand = torch.autograd.grad((batch_norm(x, w, b)[0] * upstream).sum(), (x, w, b))
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
