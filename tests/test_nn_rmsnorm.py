import pytest
import torch
from torch import nn

from normreg.nn import RMSNorm
from normreg.nn.functional import layer_norm, rms_norm
from normreg.nn.rmsnorm import rms_norm_naive


def test_rows_have_root_mean_square_one_and_keep_their_mean():
    x = torch.randn(8, 50) * 5 + 3
    y = RMSNorm(50, elementwise_affine=False)(x)
    torch.testing.assert_close(y.pow(2).mean(dim=1), torch.ones(8))
    assert (y.mean(dim=1) > 0.4).all(), "no mean is subtracted: a positive offset stays"


def test_on_centred_rows_it_is_layer_norm_without_bias():
    # the book's one-line reason: layer norm without the centring
    x = torch.randn(6, 20, dtype=torch.float64)
    x = x - x.mean(dim=1, keepdim=True)
    w = torch.randn(20, dtype=torch.float64)
    torch.testing.assert_close(rms_norm(x, 20, w, eps=1e-5), layer_norm(x, 20, w, None, 1e-5))


@pytest.mark.parametrize("dtype, eps", [(torch.float16, torch.finfo(torch.float32).eps),
                                        (torch.bfloat16, torch.finfo(torch.float32).eps),
                                        (torch.float32, torch.finfo(torch.float32).eps),
                                        (torch.float64, torch.finfo(torch.float64).eps)])
def test_eps_none_is_the_machine_epsilon_of_the_statistics_dtype_as_torch(dtype, eps):
    # tiny inputs: a mean square of about 1e-8, where an eps of the wrong dtype shows
    x = (1e-4 * torch.randn(4, 16)).to(dtype)
    y = rms_norm(x, 16)
    assert y.dtype == dtype
    expected = rms_norm_naive(x.double(), None, eps)
    torch.testing.assert_close(y.double(), expected, rtol=1e-2 if dtype.itemsize == 2 else 1e-6,
                               atol=0)
    torch.testing.assert_close(y, nn.functional.rms_norm(x, (16,)))


def test_hand_derived_backward_equals_autograd_of_the_formula():
    x = torch.randn(9, 11, dtype=torch.float64, requires_grad=True)
    w = torch.randn(11, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(9, 11, dtype=torch.float64)
    hand = torch.autograd.grad((rms_norm(x, 11, w) * upstream).sum(), (x, w))
    auto = torch.autograd.grad((rms_norm_naive(x, w) * upstream).sum(), (x, w))
    for h, a in zip(hand, auto, strict=True):
        torch.testing.assert_close(h, a)


def test_reset_parameters_and_no_bias():
    layer = RMSNorm(3)
    assert not hasattr(layer, "bias") and [n for n, _ in layer.named_parameters()] == ["weight"]
    with torch.no_grad():
        layer.weight.fill_(2.0)
    layer.reset_parameters()
    assert torch.equal(layer.weight, torch.ones(3))
    RMSNorm(3, elementwise_affine=False).reset_parameters()  # nothing to reset, no error
