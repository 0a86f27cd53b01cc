import pytest
import torch
from torch import nn

from normreg.nn import LayerNorm


def pair(dim, affine=True, seed=0):
    """Our layer and torch's, with the same (random) affine parameters."""
    ours = LayerNorm(dim, elementwise_affine=affine)
    ref = nn.LayerNorm(dim, elementwise_affine=affine)
    if affine:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p, q in ((ours.weight, ref.weight), (ours.bias, ref.bias)):
                p.copy_(torch.randn(dim, generator=g))
                q.copy_(p)
    return ours, ref


def test_rows_are_standardized():
    y = LayerNorm(50, elementwise_affine=False)(torch.randn(8, 50) * 5 + 3)
    torch.testing.assert_close(y.mean(dim=1), torch.zeros(8), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=1, unbiased=False), torch.ones(8), atol=1e-3, rtol=0)


@pytest.mark.parametrize("affine", [True, False])
def test_gradcheck_float64(affine):
    layer = LayerNorm(6, elementwise_affine=affine).double()
    if affine:
        with torch.no_grad():
            layer.weight.normal_()
            layer.bias.normal_()
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    params = (layer.weight, layer.bias) if affine else ()
    from normreg.nn.functional import layer_norm

    assert torch.autograd.gradcheck(
        lambda inp, *p: layer_norm(inp, 6, *(p or (None, None)), eps=layer.eps), (x, *params))


def test_large_common_offset():
    # float32 resolves 1e4 + noise only to about 1e-3; our error against the float64 answer
    # for the same float32 input is no worse than that of torch's own float32 kernel.
    x = 1e4 + torch.randn(16, 32)
    ours, ref = pair(32)
    exact = nn.functional.layer_norm(x.double(), (32,), ref.weight.double(), ref.bias.double())
    with torch.no_grad():
        our_error = (ours(x).double() - exact).abs().max().item()
        torch_error = (ref(x).double() - exact).abs().max().item()
    assert our_error <= max(2 * torch_error, 1e-3), (our_error, torch_error)


@pytest.mark.parametrize("scale", [1e-2, 1e4])
def test_tiny_and_huge_scales_against_float64(scale):
    # Standardizing removes the scale; float32 keeps about 7 digits of any scale.
    x = scale * torch.randn(16, 32)
    ours, ref = pair(32)
    exact = nn.functional.layer_norm(x.double(), (32,), ref.weight.double(), ref.bias.double())
    with torch.no_grad():
        error = (ours(x).double() - exact).abs().max().item()
    assert error < 1e-5, error


def test_constant_rows_and_a_single_feature():
    layer = LayerNorm(5)
    with torch.no_grad():
        layer.bias.copy_(torch.arange(5.0))
    y = layer(torch.full((3, 5), 7.0))
    torch.testing.assert_close(y, torch.arange(5.0).expand(3, 5))
    one = LayerNorm(1)
    x = torch.randn(4, 1, requires_grad=True)
    out = one(x)
    torch.testing.assert_close(out, torch.zeros(4, 1))
    out.sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_input_uses_float32_statistics(dtype):
    x = 1e2 + torch.randn(8, 64)
    ours, ref = pair(64)
    y = ours(x.to(dtype))
    assert y.dtype == dtype
    reference = ref(x.to(dtype).float())  # float32 statistics of the rounded input
    torch.testing.assert_close(y.float(), reference, atol=2e-2, rtol=1e-2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(normalized_shape=0), "normalized_shape must be an int >= 1, got 0"),
    (dict(normalized_shape=3.0), r"normalized_shape must be an int D or a 1-tuple \(D,\) .*, "
                                 r"got 3.0"),
    (dict(normalized_shape=(2, 3)), r"normalizes the last dimension only\), got \(2, 3\)"),
    (dict(normalized_shape=3, eps=-1e-5), "eps must be a number >= 0, got -1e-05"),
    (dict(normalized_shape=3, eps=float("nan")), "eps must be a number >= 0, got nan"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LayerNorm(**kwargs)


def test_bad_input_raises():
    layer = LayerNorm(4)
    with pytest.raises(ValueError, match=r"must end in the normalized dimension 4 \(\*, 4\), "
                                         r"got shape \(2, 5\)"):
        layer(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        layer(torch.tensor(1.0))
    with pytest.raises(TypeError, match="input must have a floating-point dtype, got torch.int64"):
        layer(torch.ones(2, 4, dtype=torch.long))
    with pytest.raises(TypeError, match="input must be a torch.Tensor, got list"):
        layer([[0.0] * 4])


def test_hand_derived_backward_equals_autograd_of_the_formula():
    from normreg.nn.functional import layer_norm
    from normreg.nn.layernorm import layer_norm_naive

    x = torch.randn(9, 11, dtype=torch.float64, requires_grad=True)
    w = torch.randn(11, dtype=torch.float64, requires_grad=True)
    b = torch.randn(11, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(9, 11, dtype=torch.float64)
    hand = torch.autograd.grad((layer_norm(x, 11, w, b) * upstream).sum(), (x, w, b))
    auto = torch.autograd.grad((layer_norm_naive(x, w, b) * upstream).sum(), (x, w, b))
    for h, a in zip(hand, auto, strict=True):
        torch.testing.assert_close(h, a)


def test_reset_parameters_restores_identity_affine():
    layer = LayerNorm(3)
    with torch.no_grad():
        layer.weight.fill_(2.0)
        layer.bias.fill_(1.0)
    layer.reset_parameters()
    assert torch.equal(layer.weight, torch.ones(3)) and torch.equal(layer.bias, torch.zeros(3))
    LayerNorm(3, elementwise_affine=False).reset_parameters()  # nothing to reset, no error
    no_shift = LayerNorm(3, bias=False)
    assert no_shift.bias is None
    no_shift.reset_parameters()
    assert torch.equal(no_shift.weight, torch.ones(3))
