import copy

import pytest
import torch
from torch import nn

from normreg.models import MLP
from normreg.optim import SGD, Adam, AdamW
from normreg.regularization import decayed, l2_penalty, param_groups


def trajectories(ours_cls, torch_cls, steps=8, **kwargs):
    """Train two copies of a small network side by side; return both final parameter lists."""
    torch.manual_seed(0)
    a = MLP(in_features=6, width=10, depth=2, out_features=3, norm="batch")
    b = copy.deepcopy(a)
    opt_a, opt_b = ours_cls(a.parameters(), **kwargs), torch_cls(b.parameters(), **kwargs)
    for _ in range(steps):
        x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    return list(a.parameters()), list(b.parameters())


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_sgd_matches_torch(momentum, weight_decay):
    ours, theirs = trajectories(SGD, torch.optim.SGD, lr=0.1, momentum=momentum,
                                weight_decay=weight_decay)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_torch(weight_decay):
    ours, theirs = trajectories(Adam, torch.optim.Adam, lr=0.01, weight_decay=weight_decay)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adamw_matches_torch(weight_decay):
    ours, theirs = trajectories(AdamW, torch.optim.AdamW, lr=0.01, weight_decay=weight_decay)
    for p, q in zip(ours, theirs, strict=True):
        torch.testing.assert_close(p, q)


def test_adam_with_l2_is_not_adamw():
    ours, theirs = trajectories(Adam, AdamW, lr=0.01, weight_decay=0.1)
    assert any(not torch.allclose(p, q) for p, q in zip(ours, theirs, strict=True))


def test_sgd_weight_decay_is_shrink_then_step():
    w = torch.randn(5, 3, requires_grad=True)
    w0 = w.detach().clone()
    g = torch.randn(5, 3)
    w.grad = g.clone()
    SGD([w], lr=0.1, weight_decay=0.5).step()
    torch.testing.assert_close(w.detach(), (1 - 0.1 * 0.5) * w0 - 0.1 * g)


def test_decay_policy_and_penalty():
    model = MLP(in_features=4, width=5, depth=2, out_features=3, norm="layer")
    weights = decayed(model)
    assert [tuple(w.shape) for w in weights] == [(5, 4), (5, 5), (3, 5)]
    groups = param_groups(model, 0.1)
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))
    expected = 0.5 * 0.2 * sum((w ** 2).sum() for w in weights)
    torch.testing.assert_close(l2_penalty(model, 0.2), expected)
    with pytest.raises(ValueError, match="lam must be >= 0, got -1"):
        l2_penalty(model, -1)
    with pytest.raises(ValueError, match="weight_decay must be >= 0, got -0.1"):
        param_groups(model, -0.1)


@pytest.mark.parametrize("cls, kwargs, message", [
    (SGD, dict(lr=0.0), "lr must be a positive finite number, got 0.0"),
    (SGD, dict(lr=0.1, momentum=1.0), r"momentum must be in \[0, 1\), got 1.0"),
    (SGD, dict(lr=0.1, weight_decay=-1), "weight_decay must be a number >= 0, got -1"),
    (Adam, dict(lr=0.1, betas=(0.9, 1.0)), r"betas must be two numbers in \[0, 1\)"),
    (AdamW, dict(lr=0.1, eps=0), "eps must be > 0, got 0"),
])
def test_bad_arguments_raise(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)
