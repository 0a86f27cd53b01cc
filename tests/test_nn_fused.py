"""The fused (compiled) formulas against the eager ones; and dropout's hand-written backward."""

import pytest
import torch
from torch.nn import functional as F

from normreg.nn.batchnorm import batch_norm_naive
from normreg.nn.dropout import dropout, dropout_naive
from normreg.nn.fused import batch_norm_fused, dropout_fused, layer_norm_fused
from normreg.nn.layernorm import layer_norm_naive


def _inputs(n=32, d=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (3 + 2 * torch.randn(n, d, generator=g)).requires_grad_()
    w = torch.randn(d, generator=g).requires_grad_()
    b = torch.randn(d, generator=g).requires_grad_()
    return x, w, b, torch.randn(n, d, generator=g)


@pytest.mark.parametrize("fused, naive, twin", [
    (layer_norm_fused, layer_norm_naive, lambda x, w, b: F.layer_norm(x, (x.shape[1],), w, b)),
    (batch_norm_fused, batch_norm_naive,
     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
], ids=["layer_norm", "batch_norm"])
def test_fused_normalization_equals_the_formula_and_torch(fused, naive, twin):
    x, w, b, upstream = _inputs()
    outputs = []
    for fn in (fused, naive, twin):
        y = fn(x, w, b)
        outputs.append((y, *torch.autograd.grad(y, (x, w, b), upstream)))
    for got, want in zip(outputs[0], outputs[1], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    for got, want in zip(outputs[0], outputs[2], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fn", [dropout_fused, dropout, dropout_naive],
                         ids=["fused", "by hand", "naive"])
def test_dropout_variants_keep_scaled_values_and_route_gradients_through_the_mask(fn):
    torch.manual_seed(0)
    x = torch.rand(400, 500).add_(0.5).requires_grad_()  # no zeros in x
    y = fn(x, 0.3)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - 0.3) < 0.01  # 200,000 draws: sd 0.001
    torch.testing.assert_close(y[kept], x[kept] / 0.7)
    (grad,) = torch.autograd.grad(y, x, torch.ones_like(y))
    torch.testing.assert_close(grad, kept.float() / 0.7)


def test_hand_written_dropout_draws_like_the_formula():
    x = torch.randn(64, 32, requires_grad=True)
    upstream = torch.randn(64, 32)
    results = []
    for fn in (dropout, dropout_naive):
        torch.manual_seed(1)
        y = fn(x, 0.5)
        results.append((y, *torch.autograd.grad(y, x, upstream)))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want)
