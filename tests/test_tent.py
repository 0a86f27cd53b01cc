import copy

import pytest
import torch
from torch import nn

from normreg import MLP, MLPConfig
from normreg.tent import configure_tent, entropy, predict_adapted


def small_bn_net():
    torch.manual_seed(0)
    net = MLP(MLPConfig(in_features=8, width=16, depth=2, out_features=3, norm="batch"))
    net.train()
    with torch.no_grad():
        for _ in range(20):
            net(torch.randn(32, 8))  # running statistics of N(0, 1) inputs
    return net.eval()


def test_entropy_of_uniform_and_of_confident_predictions():
    assert entropy(torch.zeros(4, 5)).item() == pytest.approx(torch.log(torch.tensor(5.0)).item())
    assert entropy(torch.tensor([[100.0, 0.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-6)


def test_configure_tent_frees_only_batch_norm_scale_and_shift():
    net = small_bn_net()
    params = configure_tent(net)
    assert net.training
    assert len(params) == 2 * 2  # weight and bias of two batch-norm layers
    free = {id(p) for p in net.parameters() if p.requires_grad}
    assert free == {id(p) for p in params}
    with pytest.raises(ValueError, match="no batch-norm layer"):
        configure_tent(nn.Sequential(nn.Linear(2, 2)))


def test_methods_agree_where_they_should_and_leave_the_model_alone():
    net = small_bn_net()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    x = torch.randn(64, 8)
    source = predict_adapted(net, x, "source", batch_size=16)
    with torch.no_grad():
        assert torch.equal(source, net(x).argmax(dim=1))  # eval mode, as the model is
    norm = predict_adapted(net, x, "norm", batch_size=16)
    twin = copy.deepcopy(net).train()
    with torch.no_grad():
        expected = torch.cat([twin(x[i:i + 16]).argmax(dim=1) for i in range(0, 64, 16)])
    assert torch.equal(norm, expected)
    # Tent's first batch is predicted before any update, so it equals "norm" there
    tent = predict_adapted(net, x, "tent", batch_size=16, lr=0.1)
    assert torch.equal(tent[:16], norm[:16])
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), f"{k} was modified"


def test_tent_lowers_the_entropy_of_a_shifted_stream():
    net = small_bn_net()
    x = torch.randn(400, 8) * 3 + 2  # a shifted input distribution
    model = MLP(net.config)
    model.load_state_dict(net.state_dict())
    params = configure_tent(model)
    optimizer = torch.optim.Adam(params, lr=0.05)
    before = entropy(model(x)).item()
    for _ in range(30):
        loss = entropy(model(x[:100]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert entropy(model(x)).item() < before


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "magic"}, "method must be one of"),
    ({"batch_size": 1}, "batch_size must be an int >= 2"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict_adapted(small_bn_net(), torch.randn(4, 8), **kwargs)
