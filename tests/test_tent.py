import copy

import pytest
import torch
from torch import nn

from normreg import MLP, MLPConfig
from normreg.experiments.tent import configure_tent, entropy, predict_adapted, tent_on_stream
from normreg.nn import BatchNorm1d


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


def test_source_and_norm_are_the_model_in_eval_and_in_train_mode_and_leave_it_alone():
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
    predict_adapted(net, x, "tent", batch_size=16, lr=0.1)
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), f"{k} was modified"


def tent_by_hand(net, x, batch_size, lr):
    """Tent as the paper describes it, written out: predict each batch with test-batch
    statistics, then one Adam step on its mean entropy, in the batch-norm affine parameters."""
    model = copy.deepcopy(net).train()
    params = [p for m in model.modules() if isinstance(m, BatchNorm1d) for p in (m.weight, m.bias)]
    for p in model.parameters():
        p.requires_grad_(any(p is q for q in params))
    optimizer = torch.optim.Adam(params, lr=lr)
    predictions, entropies = [], []
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        loss = entropy(logits)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        predictions.append(logits.argmax(dim=1))
        entropies.append(loss.item())
    return torch.cat(predictions), entropies


def test_tent_adapts_across_the_whole_stream_as_the_paper_describes():
    net = small_bn_net()
    torch.manual_seed(3)
    x = torch.randn(400, 8) * 3 + 2  # a shifted stream of 20 batches
    tent = predict_adapted(net, x, "tent", batch_size=20, lr=0.05)
    by_hand, entropies = tent_by_hand(net, x, batch_size=20, lr=0.05)
    assert torch.equal(tent, by_hand)  # every batch, not only the first
    norm = predict_adapted(net, x, "norm", batch_size=20)
    assert torch.equal(tent[:20], norm[:20])  # the first batch is predicted before any step
    assert not torch.equal(tent[200:], norm[200:])  # later ones by the adapted network
    _, unadapted = tent_by_hand(net, x, batch_size=20, lr=1e-12)  # steps that change nothing
    late = slice(10, None)
    assert sum(entropies[late]) < 0.5 * sum(unadapted[late])  # adapting lowers the entropy


def test_tent_on_a_stream_is_tent_over_each_pass_in_its_order_and_leaves_the_model_alone():
    net = small_bn_net()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    torch.manual_seed(3)
    x, y = torch.randn(90, 8) * 3 + 2, torch.randint(0, 3, (90,))
    adapted, trace = tent_on_stream(net, x, lr=0.05, passes=2, batch_size=20,
                                    generator=torch.Generator().manual_seed(7), labels=y)
    # by hand: the same two orders, the last 10 examples of each pass skipped
    g = torch.Generator().manual_seed(7)
    orders = [torch.randperm(90, generator=g)[:80] for _ in range(2)]
    _, entropies = tent_by_hand(net, torch.cat([x[o] for o in orders]), batch_size=20, lr=0.05)
    assert len(trace["entropy"]) == 8
    torch.testing.assert_close(torch.tensor(trace["entropy"]), torch.tensor(entropies))
    # the error of each batch's predictions, made before its step
    model = copy.deepcopy(net).train()
    with torch.no_grad():
        first = (model(x[orders[0][:20]]).argmax(dim=1) != y[orders[0][:20]]).float().mean()
    assert trace["error"][0] == pytest.approx(first.item())
    assert adapted.training
    assert not torch.equal(adapted.blocks[0][2].weight, net.blocks[0][2].weight), "it adapted"
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k]), f"{k} was modified"
    _, unlabeled = tent_on_stream(net, x, batch_size=20)
    assert set(unlabeled) == {"entropy"}


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "magic"}, "method must be one of"),
    ({"batch_size": 1}, "batch_size must be an int >= 2"),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict_adapted(small_bn_net(), torch.randn(4, 8), **kwargs)
