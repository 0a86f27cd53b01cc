"""Folding an eval-mode batch norm into the linear layer beside it: the fused layer equals the
pair, and equals torch.nn.utils.fusion's where torch has the function."""

import pytest
import torch
from torch import nn
from torch.nn.utils import fusion as torch_fusion

from normreg.nn import BatchNorm1d, BatchNorm2d
from normreg.nn.utils.fusion import fuse_bn_linear_eval, fuse_conv_bn_eval, fuse_linear_bn_eval


def trained(bn, seed=0):
    """``bn`` in eval mode with running estimates, scale and shift far from their initial 0, 1,
    1, 0 (a mean of about 3, variances from 0.01 to 4): folding that ignored any of them, or
    eps, would not pass the tests below."""
    g = torch.Generator().manual_seed(seed)
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(3 + torch.randn(c, generator=g))
        bn.running_var.copy_(torch.empty(c).uniform_(0.01, 4.0, generator=g))
        if bn.weight is not None:
            bn.weight.copy_(torch.randn(c, generator=g))
            bn.bias.copy_(torch.randn(c, generator=g))
    return bn.eval()


BATCH_NORMS_1D = {"ours": BatchNorm1d, "torch's": nn.BatchNorm1d}
BATCH_NORMS_2D = {"ours": BatchNorm2d, "torch's": nn.BatchNorm2d}


@pytest.mark.parametrize("kind", list(BATCH_NORMS_1D))
@pytest.mark.parametrize("bias", [True, False])
def test_linear_then_batch_norm_folds_into_one_linear_layer(kind, bias):
    torch.manual_seed(0)
    linear = nn.Linear(5, 4, bias=bias).double().eval()
    bn = trained(BATCH_NORMS_1D[kind](4, eps=0.1).double())  # a large eps: it must be used
    fused = fuse_linear_bn_eval(linear, bn)
    x = torch.randn(20, 5, dtype=torch.float64)
    torch.testing.assert_close(fused(x), bn(linear(x)), rtol=1e-12, atol=1e-12)
    expected = torch_fusion.fuse_linear_bn_eval(linear, bn)
    torch.testing.assert_close(fused.weight, expected.weight, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fused.bias, expected.bias, rtol=1e-12, atol=1e-12)
    assert fused is not linear and linear.weight is not fused.weight  # a new module


@pytest.mark.parametrize("kind", list(BATCH_NORMS_2D))
@pytest.mark.parametrize("bias", [True, False])
def test_conv_then_batch_norm_folds_into_one_convolution(kind, bias):
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=bias).double().eval()
    bn = trained(BATCH_NORMS_2D[kind](4, eps=0.1).double())
    fused = fuse_conv_bn_eval(conv, bn)
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(fused(x), bn(conv(x)), rtol=1e-12, atol=1e-12)
    expected = torch_fusion.fuse_conv_bn_eval(conv, bn)
    torch.testing.assert_close(fused.weight, expected.weight, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fused.bias, expected.bias, rtol=1e-12, atol=1e-12)


def test_transposed_conv_then_batch_norm_folds_as_torch():
    torch.manual_seed(2)
    conv = nn.ConvTranspose2d(3, 4, 3).double().eval()
    bn = trained(BatchNorm2d(4).double())
    fused = fuse_conv_bn_eval(conv, bn, transpose=True)
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(fused(x), bn(conv(x)), rtol=1e-12, atol=1e-12)
    expected = torch_fusion.fuse_conv_bn_eval(conv, bn, transpose=True)
    torch.testing.assert_close(fused.weight, expected.weight, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", list(BATCH_NORMS_1D))
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_then_linear_folds_into_the_next_layer(kind, affine):
    # the book's MLP: ... -> ReLU -> batch norm -> (next block's) Linear
    torch.manual_seed(3)
    bn = trained(BATCH_NORMS_1D[kind](5, eps=0.1, affine=affine).double())
    linear = nn.Linear(5, 3).double().eval()
    fused = fuse_bn_linear_eval(bn, linear)
    h = torch.randn(20, 5, dtype=torch.float64).relu()
    torch.testing.assert_close(fused(h), linear(bn(h)), rtol=1e-12, atol=1e-12)


def test_a_whole_eval_mode_mlp_block_folds_and_keeps_its_predictions():
    # Linear -> ReLU -> BatchNorm1d -> Linear, trained a few steps so that the running
    # estimates are the network's own: folding the norm into the head changes nothing
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), BatchNorm1d(8), nn.Linear(8, 3))
    for _ in range(5):
        model(3 * torch.randn(16, 6) + 1)
    model.eval()
    folded = nn.Sequential(model[0], model[1], fuse_bn_linear_eval(model[2], model[3]))
    x = torch.randn(10, 6)
    torch.testing.assert_close(folded(x), model(x))


def test_fused_layer_keeps_dtype_and_trainability():
    linear = nn.Linear(4, 4).eval()
    linear.weight.requires_grad_(False)
    fused = fuse_linear_bn_eval(linear, trained(BatchNorm1d(4).double()))
    assert fused.weight.dtype == torch.float32 and not fused.weight.requires_grad
    assert fused.bias.requires_grad


@pytest.mark.parametrize("fuse, layer, bn", [
    (fuse_linear_bn_eval, nn.Linear(4, 4), BatchNorm1d(4)),
    (fuse_conv_bn_eval, nn.Conv2d(2, 4, 1), BatchNorm2d(4)),
])
def test_modules_in_training_mode_are_refused(fuse, layer, bn):
    trained(bn)
    bn.train()  # folding the running estimates would be wrong: train mode uses the batch's
    with pytest.raises(ValueError, match="bn must be in eval mode to be fused"):
        fuse(layer.eval(), bn)
    with pytest.raises(ValueError, match=r"(linear|conv) must be in eval mode to be fused"):
        fuse(layer.train(), bn.eval())
    with pytest.raises(ValueError, match="bn must be in eval mode to be fused"):
        fuse_bn_linear_eval(bn.train(), nn.Linear(4, 2).eval())


def test_mismatched_features_and_missing_running_estimates_are_refused():
    with pytest.raises(ValueError, match=r"linear.out_features must equal bn.num_features "
                                         r"\(4\), got 3"):
        fuse_linear_bn_eval(nn.Linear(5, 3).eval(), trained(BatchNorm1d(4)))
    with pytest.raises(ValueError, match=r"linear.in_features must equal bn.num_features "
                                         r"\(4\), got 5"):
        fuse_bn_linear_eval(trained(BatchNorm1d(4)), nn.Linear(5, 3).eval())
    with pytest.raises(ValueError, match=r"must keep running estimates"):
        fuse_linear_bn_eval(nn.Linear(5, 4).eval(),
                            BatchNorm1d(4, track_running_stats=False).eval())
    with pytest.raises(TypeError, match="bn must be a batch-norm module .*, got LayerNorm"):
        fuse_linear_bn_eval(nn.Linear(5, 4).eval(), nn.LayerNorm(4).eval())
