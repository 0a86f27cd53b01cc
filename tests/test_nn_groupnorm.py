import pytest
import torch
from torch import nn

from normreg.nn import GroupNorm
from normreg.nn.functional import group_norm, layer_norm
from normreg.nn.groupnorm import group_norm_naive


def test_each_group_of_each_example_is_standardized():
    x = 3 * torch.randn(5, 6, 4, 4) + 2
    y = GroupNorm(3, 6, affine=False)(x).reshape(5, 3, -1)  # (N, G, C/G H W)
    torch.testing.assert_close(y.mean(dim=2), torch.zeros(5, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.var(dim=2, unbiased=False), torch.ones(5, 3), atol=1e-3, rtol=0)


def test_one_group_is_layer_norm_and_one_channel_per_group_is_instance_norm():
    x = torch.randn(4, 6, 5, dtype=torch.float64)
    torch.testing.assert_close(group_norm(x, 1),
                               layer_norm(x.reshape(4, -1), 30).reshape(x.shape))
    torch.testing.assert_close(group_norm(x, 6), nn.functional.instance_norm(x))


def test_an_example_is_normalized_alone():
    # statistics per example: the output of one example does not depend on the others
    x = torch.randn(4, 6, 3)
    torch.testing.assert_close(group_norm(x, 2)[:1], group_norm(x[:1], 2))


def test_hand_derived_backward_equals_autograd_of_the_formula():
    x = torch.randn(3, 6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(6, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    upstream = torch.randn(3, 6, 5, dtype=torch.float64)
    hand = torch.autograd.grad((group_norm(x, 2, w, b) * upstream).sum(), (x, w, b))
    auto = torch.autograd.grad((group_norm_naive(x, 2, w, b) * upstream).sum(), (x, w, b))
    for h, a in zip(hand, auto, strict=True):
        torch.testing.assert_close(h, a)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_input_uses_float32_statistics(dtype):
    x = 50 + torch.randn(4, 6, 8)
    ours, ref = GroupNorm(2, 6), nn.GroupNorm(2, 6)
    y = ours(x.to(dtype))
    assert y.dtype == dtype
    torch.testing.assert_close(y.float(), ref(x.to(dtype).float()), atol=3e-2, rtol=1e-2)
