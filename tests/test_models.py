import copy

import pytest
import torch
from torch import nn

from normreg.models import MLP, MLPConfig, linear_layers, with_torch_layers
from normreg.nn import BatchNorm1d, Dropout, LayerNorm, RMSNorm


def test_shapes_and_layer_count():
    model = MLP(depth=3, width=20, in_features=12, out_features=4)
    assert len(model.blocks) == 3 and len(linear_layers(model)) == 4
    assert [tuple(lin.weight.shape) for lin in linear_layers(model)] == [
        (20, 12), (20, 20), (20, 20), (4, 20)]
    assert model(torch.randn(5, 12)).shape == (5, 4)


def test_initialization_follows_c_and_biases_start_at_zero():
    torch.manual_seed(0)
    model = MLP(depth=4, width=300, in_features=200, c=3.0)
    for layer in linear_layers(model):
        n = layer.weight.shape[1]
        assert layer.weight.var().item() == pytest.approx(3.0 / n, rel=0.05)
        assert torch.count_nonzero(layer.bias) == 0


def test_generator_makes_construction_reproducible():
    a = MLP(depth=2, width=8, in_features=4, generator=torch.Generator().manual_seed(1))
    b = MLP(depth=2, width=8, in_features=4, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_block_without_slots_is_linear_then_activation():
    block = MLP(depth=1, width=8, in_features=4, activation="tanh").blocks[0]
    assert [type(m) for m in block] == [nn.Linear, nn.Tanh]


@pytest.mark.parametrize("norm, cls", [("layer", LayerNorm), ("batch", BatchNorm1d),
                                       ("rms", RMSNorm)])
def test_norm_slot_is_after_the_nonlinearity_by_default_and_movable(norm, cls):
    after = MLP(depth=2, width=8, in_features=4, norm=norm).blocks[1]
    assert [type(m) for m in after] == [nn.Linear, nn.ReLU, cls]
    before = MLP(depth=2, width=8, in_features=4, norm=norm, norm_position="before").blocks[1]
    assert [type(m) for m in before] == [nn.Linear, cls, nn.ReLU]


def test_dropout_slot_ends_each_block():
    model = MLP(depth=2, width=8, in_features=4, norm="layer", dropout=0.3)
    for block in model.blocks:
        assert isinstance(block[-1], Dropout) and block[-1].p == 0.3


def test_overrides_on_a_config():
    config = MLPConfig(depth=2, width=8, in_features=4)
    model = MLP(config, c=1.0)
    assert model.config.c == 1.0 and model.config.width == 8 and config.c == 2.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(depth=0), "depth must be an int >= 1, got 0"),
    (dict(width=2.5), "width must be an int >= 1, got 2.5"),
    (dict(c=0), "c must be a number > 0, got 0"),
    (dict(c=-2.0), "c must be a number > 0, got -2.0"),
    (dict(activation="gelu"), r"activation must be one of \('relu', 'tanh'\), got 'gelu'"),
    (dict(norm="group"),
     r"norm must be one of \(None, 'layer', 'batch', 'noisy_batch', 'rms'\), got 'group'"),
    (dict(norm_position="middle"), r"norm_position must be one of .*, got 'middle'"),
    (dict(dropout=1.0), r"dropout must be a number in \[0, 1\), got 1.0"),
])
def test_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLPConfig(**kwargs)


def test_wrong_input_shape_raises():
    model = MLP(depth=1, width=8, in_features=4)
    with pytest.raises(ValueError, match=r"input must have shape \(N, 4\), got \(5, 3\)"):
        model(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        model(torch.randn(4))


@pytest.mark.parametrize("norm, position", [("layer", "after"), ("batch", "after"),
                                            ("batch", "before"), ("rms", "after")])
def test_with_torchs_layers_the_network_trains_identically(norm, position):
    torch.manual_seed(0)
    ours = MLP(in_features=6, width=16, depth=3, out_features=4, norm=norm,
               norm_position=position).double()
    theirs = with_torch_layers(ours)
    assert {type(m) for m in theirs.modules()} & {LayerNorm, BatchNorm1d, RMSNorm} == set()
    opt_ours = torch.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_theirs = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = torch.randn(20, 6, generator=g, dtype=torch.float64)
        y = torch.randint(0, 4, (20,), generator=g)
        losses = []
        for model, opt in ((ours, opt_ours), (theirs, opt_theirs)):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            losses.append(loss)
        torch.testing.assert_close(losses[0], losses[1])  # outputs
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(p.grad, q.grad)  # gradients
        opt_ours.step()
        opt_theirs.step()
    for a, b in zip(ours.buffers(), theirs.buffers(), strict=True):
        torch.testing.assert_close(a, b)  # running statistics
    ours.eval()
    theirs.eval()
    x = torch.randn(7, 6, dtype=torch.float64)
    torch.testing.assert_close(ours(x), theirs(x))  # eval mode, from those statistics


def test_reset_parameters_also_resets_the_normalization_layers():
    model = MLP(in_features=4, width=6, depth=2, out_features=3, norm="batch")
    fresh = copy.deepcopy(model)
    model(torch.randn(10, 4) + 3)  # running statistics move
    with torch.no_grad():
        model.blocks[0][2].weight.fill_(2.0)
    model.reset_parameters(torch.Generator().manual_seed(0))
    fresh.reset_parameters(torch.Generator().manual_seed(0))
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert model.blocks[0][2].num_batches_tracked.item() == 0
