"""The residual MLP and the convolutional network of chapter 9: their formulas, initialization
and the batch (in)dependence of their norms."""

import math

import pytest
import torch
from torch import nn

from normreg.models import ConvNet, ResidualMLP, linear_layers, with_torch_layers
from normreg.nn import BatchNorm2d, GroupNorm, LayerNorm, RMSNorm


@pytest.mark.parametrize("norm, position", [(None, "pre"), ("layer", "pre"), ("layer", "post"),
                                            ("rms", "pre"), ("batch", "pre")])
def test_each_block_computes_its_formula(norm, position):
    torch.manual_seed(0)
    model = ResidualMLP(depth=2, width=8, in_features=5, out_features=3, norm=norm,
                        norm_position=position)
    x = torch.randn(6, 5)
    z = model.stem(x)
    for block in model.blocks:
        w, b = block.linear.weight, block.linear.bias
        if norm is None:
            z = z + torch.relu(z) @ w.T + b
        elif position == "pre":
            z = z + torch.relu(block.norm(z)) @ w.T + b
        else:
            z = block.norm(z + torch.relu(z) @ w.T + b)
    torch.testing.assert_close(model(x), model.head(z))


def test_residual_layout_and_initialization():
    torch.manual_seed(0)
    model = ResidualMLP(depth=3, width=300, in_features=200, c=3.0, norm="rms")
    layers = linear_layers(model)  # stem, three branches, head
    assert [tuple(lin.weight.shape) for lin in layers] == [
        (300, 200), (300, 300), (300, 300), (300, 300), (10, 300)]
    for layer in layers:
        assert layer.weight.var().item() == pytest.approx(3.0 / layer.weight.shape[1], rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0
    assert all(isinstance(block.norm, RMSNorm) for block in model.blocks)


def test_post_norm_rows_have_norm_sqrt_n_and_pre_norm_stream_grows_linearly():
    # Implementation check for post-norm (layer norm sets the norm of every row). For pre-norm,
    # the derivation of chapter 9: E||z_{i+1}||^2 = E||z_i||^2 + c n / 2 at initialization; at
    # width 400 and 2,000 examples the measured growth per block is within 10% of c n / 2 = n
    # (a network whose branch ignored the norm would grow by the factor 1 + c/2 instead).
    torch.manual_seed(0)
    n, depth = 400, 20
    x = torch.randn(2000, 50)
    post = ResidualMLP(depth=depth, width=n, in_features=50, norm="layer", norm_position="post")
    pre = ResidualMLP(depth=depth, width=n, in_features=50, norm="layer", norm_position="pre")
    with torch.no_grad():
        z = post.stem(x)
        for block in post.blocks:
            z = block(z)
        torch.testing.assert_close(z.norm(dim=1), torch.full((2000,), math.sqrt(n)), rtol=1e-3,
                                   atol=0)
        z = pre.stem(x)
        first = z.pow(2).sum(1).mean().item()
        for block in pre.blocks:
            z = block(z)
        growth = (z.pow(2).sum(1).mean().item() - first) / depth
    assert growth == pytest.approx(2.0 * n / 2, rel=0.1)


def test_conv_net_shapes_and_the_flattened_input():
    torch.manual_seed(0)
    model = ConvNet(channels=8, norm="group", num_groups=2)
    images = torch.rand(3, 1, 28, 28)
    assert model(images).shape == (3, 10)
    torch.testing.assert_close(model(images.reshape(3, 784)), model(images))
    assert [type(m) for m in model.blocks[1]] == [nn.Conv2d, GroupNorm, nn.ReLU]
    assert [type(m) for m in ConvNet(norm="batch").blocks[0]] == [nn.Conv2d, BatchNorm2d,
                                                                  nn.ReLU]
    assert [type(m) for m in ConvNet().blocks[2]] == [nn.Conv2d, nn.ReLU]


@pytest.mark.parametrize("norm, depends", [("group", False), ("batch", True)])
def test_only_batch_norm_makes_an_image_s_output_depend_on_its_batch(norm, depends):
    torch.manual_seed(0)
    model = ConvNet(channels=8, norm=norm).train()
    images = torch.rand(6, 784)
    alone = model(images[:3])
    with_others = model(images)[:3]  # the same three images, three more in the batch
    assert torch.allclose(alone, with_others, atol=1e-5) is not depends


def test_with_torch_layers_swaps_the_conv_norms_and_keeps_the_function():
    torch.manual_seed(0)
    for norm, theirs in (("group", nn.GroupNorm), ("batch", nn.BatchNorm2d)):
        model = ConvNet(channels=8, norm=norm)
        twin = with_torch_layers(model)
        assert isinstance(twin.blocks[0][1], theirs)
        x = torch.rand(4, 784)
        torch.testing.assert_close(twin(x), model(x))
    res = ResidualMLP(depth=2, width=8, norm="layer")
    assert isinstance(with_torch_layers(res).blocks[0].norm, nn.LayerNorm)
    assert not isinstance(with_torch_layers(res).blocks[0].norm, LayerNorm)
