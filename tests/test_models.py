import pytest
import torch
from torch import nn

from normreg.models import MLP, MLPConfig
from normreg.nn import BatchNorm1d, Dropout, LayerNorm1d


def test_shapes_and_layer_count():
    model = MLP(depth=3, width=20, in_features=12, out_features=4)
    assert len(model.blocks) == 3 and len(model.linears()) == 4
    assert [tuple(lin.weight.shape) for lin in model.linears()] == [(20, 12), (20, 20), (20, 20),
                                                                 (4, 20)]
    assert model(torch.randn(5, 12)).shape == (5, 4)


def test_initialization_follows_c_and_biases_start_at_zero():
    torch.manual_seed(0)
    model = MLP(depth=4, width=300, in_features=200, c=3.0)
    for layer in model.linears():
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


@pytest.mark.parametrize("norm, cls", [("layer", LayerNorm1d), ("batch", BatchNorm1d)])
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
    (dict(c=0), "c must be a positive finite number, got 0"),
    (dict(c=-2.0), "c must be a positive finite number, got -2.0"),
    (dict(activation="gelu"), r"activation must be one of \['relu', 'tanh'\], got 'gelu'"),
    (dict(norm="group"),
     r"norm must be None or one of \['batch', 'layer', 'noisy_batch'\], got 'group'"),
    (dict(norm_position="middle"), r"norm_position must be one of .*, got 'middle'"),
    (dict(dropout=1.0), r"dropout must be a probability in \[0, 1\), got 1.0"),
])
def test_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MLPConfig(**kwargs)


def test_wrong_input_shape_raises():
    model = MLP(depth=1, width=8, in_features=4)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4\), got \(5, 3\)"):
        model(torch.randn(5, 3))
    with pytest.raises(ValueError, match=r"got \(4,\)"):
        model(torch.randn(4))
