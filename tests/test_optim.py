"""The book's optimizers beside torch.optim's: the same arguments, bit-identical steps on the CPU,
parameter groups with their own options, state dicts that load both ways, complex parameters;
and the one decay policy."""

import copy
import io

import pytest
import torch
from torch import nn

from normreg.models import MLP
from normreg.nn import BatchNorm1d, LayerNorm
from normreg.optim import SGD, Adam, AdamW, decayed, l2_penalty, param_groups

TWINS = {"SGD": (SGD, torch.optim.SGD), "Adam": (Adam, torch.optim.Adam),
         "AdamW": (AdamW, torch.optim.AdamW)}


def small_net(seed=0):
    torch.manual_seed(seed)
    return MLP(in_features=6, width=10, depth=2, out_features=3, norm="batch")


def train_side_by_side(ours, theirs, a, b, steps=8, seed=1):
    """``steps`` updates of two copies of a network, each with its optimizer, on the same
    batches."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = torch.randn(16, 6, generator=g), torch.randint(0, 3, (16,), generator=g)
        for model, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()


def assert_same_parameters(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q), f"{name} differs: max {(p - q).abs().max().item():.3g}"


SETTINGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
]


@pytest.mark.parametrize("name, kwargs", SETTINGS, ids=[f"{n}{k}" for n, k in SETTINGS])
def test_every_option_steps_bit_for_bit_as_torch(name, kwargs):
    ours_cls, theirs_cls = TWINS[name]
    a = small_net()
    b = copy.deepcopy(a)
    train_side_by_side(ours_cls(a.parameters(), **kwargs), theirs_cls(b.parameters(), **kwargs),
                       a, b)
    assert_same_parameters(a, b)


@pytest.mark.parametrize("name", TWINS)
def test_parameter_groups_keep_their_own_options(name):
    ours_cls, theirs_cls = TWINS[name]
    a = small_net()
    b = copy.deepcopy(a)

    def groups(model):
        blocks = list(model.blocks.parameters())
        head = list(model.head.parameters())
        return [{"params": blocks, "weight_decay": 0.2, "lr": 0.05},
                {"params": head}]  # the defaults below

    defaults = dict(lr=0.01, momentum=0.9) if name == "SGD" else dict(lr=0.01)
    ours, theirs = ours_cls(groups(a), **defaults), theirs_cls(groups(b), **defaults)
    assert ours.param_groups[0]["lr"] == 0.05 and ours.param_groups[1]["lr"] == 0.01
    train_side_by_side(ours, theirs, a, b)
    assert_same_parameters(a, b)
    # the groups did differ: the same network with one group for all ends elsewhere
    c = copy.deepcopy(small_net())
    train_side_by_side(ours_cls(c.parameters(), **defaults),
                       theirs_cls(copy.deepcopy(c).parameters(), **defaults), c, copy.deepcopy(c))
    assert not torch.equal(next(a.blocks.parameters()), next(c.blocks.parameters()))


@pytest.mark.parametrize("direction", ["ours into torch's", "torch's into ours"])
@pytest.mark.parametrize("name", TWINS)
def test_state_dicts_load_into_the_twin_which_then_steps_the_same(name, direction):
    ours_cls, theirs_cls = TWINS[name]
    kwargs = dict(lr=0.1, momentum=0.9, dampening=0.1) if name == "SGD" else dict(lr=0.01,
                                                                                   amsgrad=True)
    first, second = (ours_cls, theirs_cls) if direction == "ours into torch's" else (theirs_cls,
                                                                                     ours_cls)
    a = small_net()
    b = copy.deepcopy(a)
    opt_a = first(a.parameters(), **kwargs)
    train_side_by_side(opt_a, first(b.parameters(), **kwargs), a, b, steps=3)
    # the second kind of optimizer, on a copy of the trained network, from the first's state
    # saved to a file and loaded, as a user would
    c = copy.deepcopy(a)
    opt_c = second(c.parameters(), lr=123.0)  # every option comes from the state dict
    file = io.BytesIO()
    torch.save(opt_a.state_dict(), file)
    file.seek(0)
    opt_c.load_state_dict(torch.load(file))
    train_side_by_side(opt_a, opt_c, a, c, steps=3, seed=2)
    assert_same_parameters(a, c)


@pytest.mark.parametrize("name", TWINS)
def test_complex_parameters_step_as_torch_steps_them(name):
    # torch treats a complex parameter as its real and imaginary parts (|g|^2 would differ)
    ours_cls, theirs_cls = TWINS[name]
    w = torch.randn(5, dtype=torch.complex64, requires_grad=True)
    v = w.detach().clone().requires_grad_(True)
    kwargs = dict(lr=0.1, momentum=0.5) if name == "SGD" else dict(lr=0.1, amsgrad=True)
    ours, theirs = ours_cls([w], **kwargs), theirs_cls([v], **kwargs)
    for _ in range(3):
        for p, opt in ((w, ours), (v, theirs)):
            opt.zero_grad()
            (p * torch.arange(1.0, 6.0)).abs().sum().backward()
            opt.step()
    assert torch.equal(w, v)


def test_adam_with_l2_is_not_adamw():
    a = small_net()
    b = copy.deepcopy(a)
    train_side_by_side(Adam(a.parameters(), lr=0.01, weight_decay=0.1),
                       AdamW(b.parameters(), lr=0.01, weight_decay=0.1), a, b)
    assert any(not torch.allclose(p, q) for p, q in zip(a.parameters(), b.parameters(),
                                                        strict=True))


def test_sgd_weight_decay_is_shrink_then_step():
    w = torch.randn(5, 3, requires_grad=True)
    w0 = w.detach().clone()
    g = torch.randn(5, 3)
    w.grad = g.clone()
    SGD([w], lr=0.1, weight_decay=0.5).step()
    torch.testing.assert_close(w.detach(), (1 - 0.1 * 0.5) * w0 - 0.1 * g)


@pytest.mark.parametrize("cls, kwargs, message", [
    (SGD, dict(lr=-0.1), r"lr must be a number >= 0, got -0.1"),
    (SGD, dict(momentum=-0.5), r"momentum must be a number >= 0, got -0.5"),
    (SGD, dict(weight_decay=-1), r"weight_decay must be a number >= 0, got -1"),
    (SGD, dict(momentum=0.9, dampening=0.1, nesterov=True),
     r"nesterov=True needs momentum > 0 and dampening 0"),
    (SGD, dict(foreach=True), r"SGD: foreach=True is not supported: it selects one of torch's "
                              r"kernels"),
    (Adam, dict(betas=(0.9, 1.0)), r"betas\[1\] must be a number in \[0, 1\), got 1.0"),
    (Adam, dict(betas=0.9), r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (Adam, dict(fused=True), r"Adam: fused=True is not supported"),
    (AdamW, dict(eps=-1e-8), r"eps must be a number >= 0, got -1e-08"),
    (AdamW, dict(capturable=True), r"AdamW: capturable=True is not supported"),
])
def test_bad_arguments_raise(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([torch.zeros(1, requires_grad=True)], **kwargs)


def test_defaults_and_options_are_torchs():
    # positional order and defaults: SGD(params, lr, momentum, dampening, weight_decay, nesterov)
    ours = SGD([torch.zeros(1, requires_grad=True)], 0.1, 0.9, 0.0, 0.01, True)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], 0.1, 0.9, 0.0, 0.01, True)
    assert ours.defaults == theirs.defaults
    for name in ("Adam", "AdamW"):
        ours_cls, theirs_cls = TWINS[name]
        ours = ours_cls([torch.zeros(1, requires_grad=True)])
        theirs = theirs_cls([torch.zeros(1, requires_grad=True)])
        assert ours.defaults == theirs.defaults, name


def test_the_decay_policy_decays_weight_matrices_only():
    model = MLP(in_features=4, width=5, depth=2, out_features=3, norm="layer")
    weights = decayed(model)
    assert [tuple(w.shape) for w in weights] == [(5, 4), (5, 5), (3, 5)]
    assert {id(w) for w in weights} == {id(layer.weight) for layer in model.modules()
                                        if isinstance(layer, nn.Linear)}
    decay, rest = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and rest["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(w) for w in weights}
    no_decay = {id(m.weight) for m in model.modules() if isinstance(m, (LayerNorm, BatchNorm1d))}
    no_decay |= {id(m.bias) for m in model.modules() if hasattr(m, "bias")}
    assert {id(p) for p in rest["params"]} == no_decay
    expected = 0.5 * 0.2 * sum((w ** 2).sum() for w in weights)
    torch.testing.assert_close(l2_penalty(model, 0.2), expected)
    with pytest.raises(ValueError, match="lam must be a number >= 0, got -1"):
        l2_penalty(model, -1)
    with pytest.raises(ValueError, match="weight_decay must be a number >= 0, got -0.1"):
        param_groups(model, -0.1)
