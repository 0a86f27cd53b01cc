"""Every from-scratch layer beside its torch.nn twin, in one harness (as tinygrad's test_nn.py
and PyTorch's module tests do): the same constructor arguments, then outputs, input and
parameter gradients and running buffers over several training steps and in eval mode, state
dicts both ways, second derivatives, and the torch.func transforms.
"""

import copy
from dataclasses import dataclass, field

import pytest
import torch
from torch import nn
from torch.func import jacrev, vmap

from normreg.nn import BatchNorm1d, BatchNorm2d, Dropout, GroupNorm, LayerNorm, RMSNorm
from normreg.nn import functional as ours_F


@dataclass
class Case:
    ours: type
    theirs: type
    args: tuple
    kwargs: dict = field(default_factory=dict)
    shape: tuple = (10, 6)  # an input

    def __str__(self):
        options = ", ".join([*map(repr, self.args), *(f"{k}={v!r}" for k, v in
                                                      self.kwargs.items())])
        return f"{self.ours.__name__}({options}) on {self.shape}"


CASES = [
    Case(LayerNorm, nn.LayerNorm, (6,)),
    Case(LayerNorm, nn.LayerNorm, ((6,),), {"eps": 1e-3}),
    Case(LayerNorm, nn.LayerNorm, (6,), {"elementwise_affine": False}),
    Case(LayerNorm, nn.LayerNorm, (6,), {"bias": False}),
    Case(LayerNorm, nn.LayerNorm, (6,), shape=(2, 5, 6)),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,)),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,), {"momentum": None}),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,), {"momentum": 0.0}),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,), {"momentum": 1.0}),
    Case(BatchNorm1d, nn.BatchNorm1d, (6, 1e-3, 0.3, False)),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,), {"track_running_stats": False}),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,), {"bias": False}),
    Case(BatchNorm1d, nn.BatchNorm1d, (6,), shape=(4, 6, 3)),
    Case(BatchNorm2d, nn.BatchNorm2d, (6,), shape=(4, 6, 3, 3)),
    Case(BatchNorm2d, nn.BatchNorm2d, (6,), {"momentum": None}, shape=(4, 6, 3, 3)),
    Case(BatchNorm2d, nn.BatchNorm2d, (6,), {"track_running_stats": False}, shape=(4, 6, 3, 3)),
    Case(BatchNorm2d, nn.BatchNorm2d, (6,), {"affine": False}, shape=(4, 6, 3, 3)),
    Case(RMSNorm, nn.RMSNorm, (6,)),
    Case(RMSNorm, nn.RMSNorm, ((6,),), {"eps": 1e-3}),
    Case(RMSNorm, nn.RMSNorm, (6,), {"elementwise_affine": False}),
    Case(RMSNorm, nn.RMSNorm, (6,), shape=(2, 5, 6)),
    Case(GroupNorm, nn.GroupNorm, (2, 6), shape=(4, 6, 3, 3)),
    Case(GroupNorm, nn.GroupNorm, (1, 6), shape=(4, 6, 3, 3)),  # layer norm over (C, H, W)
    Case(GroupNorm, nn.GroupNorm, (6, 6), shape=(4, 6, 3, 3)),  # instance norm
    Case(GroupNorm, nn.GroupNorm, (2, 6), {"affine": False}, shape=(4, 6, 3, 3)),
    Case(GroupNorm, nn.GroupNorm, (2, 6), {"bias": False}, shape=(4, 6, 3, 3)),
    Case(GroupNorm, nn.GroupNorm, (3, 6, 1e-3), shape=(4, 6, 5)),
    Case(Dropout, nn.Dropout, (0.0,)),
    Case(Dropout, nn.Dropout, (1.0,)),
]


def pair(case, dtype=torch.float32):
    """Our layer and torch's, built with the same arguments and given the same random
    parameters (different from their initial 1 and 0)."""
    ours = case.ours(*case.args, **case.kwargs).to(dtype)
    theirs = case.theirs(*case.args, **case.kwargs).to(dtype)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
            q.copy_(p)
    return ours, theirs


def forward_backward(layer, x, upstream):
    x = x.detach().clone().requires_grad_(True)
    for p in layer.parameters():
        p.grad = None
    y = layer(x)
    (y * upstream).sum().backward()
    return y.detach(), x.grad, [p.grad for p in layer.parameters()]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_outputs_gradients_and_buffers_equal_torch_over_training_and_in_eval(case):
    ours, theirs = pair(case)
    g = torch.Generator().manual_seed(1)
    for mode in ["train"] * 3 + ["eval"] * 2:
        ours.train(mode == "train")
        theirs.train(mode == "train")
        x = 3 * torch.randn(case.shape, generator=g) + 1
        upstream = torch.randn(case.shape, generator=g)
        y, gx, gp = forward_backward(ours, x, upstream)
        y_ref, gx_ref, gp_ref = forward_backward(theirs, x, upstream)
        torch.testing.assert_close(y, y_ref, msg=f"{mode} output")
        torch.testing.assert_close(gx, gx_ref, msg=f"{mode} input gradient")
        for a, b in zip(gp, gp_ref, strict=True):
            torch.testing.assert_close(a, b, msg=f"{mode} parameter gradient")
        for (name, a), (_, b) in zip(ours.named_buffers(), theirs.named_buffers(), strict=True):
            torch.testing.assert_close(a, b, msg=f"{mode}: buffer {name}")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_same_names_and_state_dicts_load_both_ways(case):
    ours, theirs = pair(case)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).split("(", 1)[1] == repr(theirs).split("(", 1)[1]  # the same options
    # torch's state, trained a little, into ours; then ours, changed again, into torch's
    theirs.train()
    theirs(torch.randn(case.shape) + 2)
    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(3.0)
    ours.load_state_dict(theirs.state_dict())
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} did not load into ours"
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(1.0)
    theirs.load_state_dict(ours.state_dict())
    for (name, a), b in zip(theirs.state_dict().items(), ours.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} did not load into torch's"


def test_batch_norm_loads_a_version_1_state_dict_without_num_batches_tracked():
    theirs = nn.BatchNorm1d(4)
    theirs(torch.randn(8, 4))
    state = theirs.state_dict()
    del state["num_batches_tracked"]
    state._metadata[""]["version"] = 1  # saved before torch counted batches
    ours = BatchNorm1d(4)
    ours(torch.randn(8, 4))
    ours.load_state_dict(state)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean)
    assert ours.num_batches_tracked.item() == 1  # kept, as torch's module keeps it
    state._metadata[""]["version"] = 2  # a version-2 dict must carry the count
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        BatchNorm1d(4).load_state_dict(state)


def hessian_vector_product(model, x, y, v):
    params = list(model.parameters())
    loss = nn.functional.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    return torch.cat([h.reshape(-1) for h in torch.autograd.grad(flat @ v, params)])


NETWORK_NORMS = {  # a norm layer of 8 features, ours and torch's
    "LayerNorm": (lambda: LayerNorm(8), lambda: nn.LayerNorm(8)),
    "BatchNorm1d": (lambda: BatchNorm1d(8), lambda: nn.BatchNorm1d(8)),
    "RMSNorm": (lambda: RMSNorm(8), lambda: nn.RMSNorm(8)),
    "GroupNorm": (lambda: GroupNorm(2, 8), lambda: nn.GroupNorm(2, 8)),
}


@pytest.mark.parametrize("name", list(NETWORK_NORMS))
def test_second_derivatives_through_a_network_equal_torch(name):
    # Linear -> ReLU -> norm -> Linear, in train mode: a Hessian-vector product needs the
    # derivative of the hand-written backward pass.
    make_ours, make_theirs = NETWORK_NORMS[name]
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), make_ours(), nn.Linear(8, 3)).double()
    with torch.no_grad():  # a scale other than 1, whose second derivatives count too
        ours[2].weight.uniform_(0.5, 1.5)
    theirs = copy.deepcopy(ours)
    theirs[2] = make_theirs().double()
    theirs[2].load_state_dict(ours[2].state_dict())
    x, y = torch.randn(12, 5, dtype=torch.float64), torch.randint(0, 3, (12,))
    v = torch.randn(sum(p.numel() for p in ours.parameters()), dtype=torch.float64)
    expected = hessian_vector_product(theirs, x, y, v)
    torch.testing.assert_close(hessian_vector_product(ours, x, y, v), expected)
    assert expected.norm() > 0.1  # a product far from 0, which a constant backward would miss


def test_second_derivatives_through_a_convolutional_network_equal_torch():
    # Conv2d -> ReLU -> BatchNorm2d -> Linear, in train mode: the per-channel statistics over
    # the batch and every pixel, differentiated twice
    torch.manual_seed(0)
    ours = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), BatchNorm2d(4), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 3)).double()
    theirs = copy.deepcopy(ours)
    theirs[2] = nn.BatchNorm2d(4).double()
    theirs[2].load_state_dict(ours[2].state_dict())
    x, y = torch.randn(6, 2, 5, 5, dtype=torch.float64), torch.randint(0, 3, (6,))
    v = torch.randn(sum(p.numel() for p in ours.parameters()), dtype=torch.float64)
    expected = hessian_vector_product(theirs, x, y, v)
    torch.testing.assert_close(hessian_vector_product(ours, x, y, v), expected)
    assert expected.norm() > 0.1
    for a, b in zip(ours.buffers(), theirs.buffers(), strict=True):
        torch.testing.assert_close(a, b)  # and the same running estimates


def functional_pairs():
    """(ours, torch's) functional forms on x (N, D) (group norm: (N, D, L)), weight and bias
    (D,), in train mode (rms_norm has no bias: it ignores b)."""
    return {
        "layer_norm": (lambda x, w, b: ours_F.layer_norm(x, (x.shape[-1],), w, b),
                       lambda x, w, b: nn.functional.layer_norm(x, (x.shape[-1],), w, b)),
        "batch_norm": (lambda x, w, b: ours_F.batch_norm(x, None, None, w, b, training=True),
                       lambda x, w, b: nn.functional.batch_norm(x, None, None, w, b,
                                                                training=True)),
        "rms_norm": (lambda x, w, b: ours_F.rms_norm(x, (x.shape[-1],), w),
                     lambda x, w, b: nn.functional.rms_norm(x, (x.shape[-1],), w)),
        "group_norm": (lambda x, w, b: ours_F.group_norm(x, 2, w, b),
                       lambda x, w, b: nn.functional.group_norm(x, 2, w, b)),
    }


FUNCTIONAL = list(functional_pairs())
POSITIONS = {"group_norm": (3,)}  # the input's trailing dimensions after (N, D): (N, D, L)


def inputs(name, n=6, d=6, dtype=torch.float64, runs=()):
    """x (*runs, n, d, *positions), weight and bias (*runs, d), random, requiring gradients."""
    g = torch.Generator().manual_seed(2)
    shapes = ((*runs, n, d, *POSITIONS.get(name, ())), (*runs, d), (*runs, d))
    return tuple(torch.randn(shape, generator=g, dtype=dtype).requires_grad_(True)
                 for shape in shapes)


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_gradcheck_and_gradgradcheck_of_the_hand_derived_backward(name):
    ours, _ = functional_pairs()[name]
    assert torch.autograd.gradcheck(ours, inputs(name))
    assert torch.autograd.gradgradcheck(ours, inputs(name))


def test_dropout_backward_is_exact_to_second_order():
    # dropout is linear in its input: gradgradcheck with the mask drawn once per call
    def fixed_mask(x):
        torch.manual_seed(3)
        return ours_F.dropout(x, 0.4)

    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fixed_mask, (x,))
    assert torch.autograd.gradgradcheck(fixed_mask, (x,))


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_vmap_over_a_stack_of_runs_equals_each_run_alone(name):
    ours, theirs = functional_pairs()[name]
    # float64: the gradient below cancels to small numbers whose float32 rounding (1e-5) would
    # depend on the thread count
    x, w, b = (t.detach() for t in inputs(name, n=7, runs=(3,)))
    stacked = vmap(ours)(x, w, b)  # (3, 7, 6, ...): three independent runs
    torch.testing.assert_close(stacked, torch.stack([theirs(*t) for t in zip(x, w, b,
                                                                             strict=True)]))
    # and the gradient of every run, through vmap of the hand-written backward
    (grad_ours,) = torch.autograd.grad(vmap(ours)(x.requires_grad_(True), w, b).pow(2).sum(), x)
    grad_theirs = torch.stack([torch.autograd.grad(theirs(xi, wi, bi).pow(2).sum(), xi)[0]
                               for xi, wi, bi in zip(x.detach().requires_grad_(True), w, b,
                                                     strict=True)])
    torch.testing.assert_close(grad_ours, grad_theirs)


@pytest.mark.parametrize("name", FUNCTIONAL)
def test_jacrev_and_reverse_over_reverse_hessian_equal_torch(name):
    ours, theirs = functional_pairs()[name]
    x, w, b = (t.detach() for t in inputs(name, n=4, d=4))
    torch.testing.assert_close(jacrev(ours, argnums=(0, 1, 2))(x, w, b),
                               jacrev(theirs, argnums=(0, 1, 2))(x, w, b))

    def scalar(f):
        return lambda x_: f(x_, w, b).sin().sum()

    # (forward mode, jacfwd and so torch.func.hessian, would need a jvp rule: not written)
    torch.testing.assert_close(jacrev(jacrev(scalar(ours)))(x), jacrev(jacrev(scalar(theirs)))(x))


def test_dropout_under_vmap_draws_a_mask_per_run():
    x = torch.ones(4, 50, 20)
    y = vmap(lambda t: ours_F.dropout(t, 0.5), randomness="different")(x)
    assert y.shape == x.shape and set(y.unique().tolist()) == {0.0, 2.0}
    assert not torch.equal(y[0], y[1])


def test_dropout_one_outputs_zeros_with_a_zero_gradient_as_torch():
    x = torch.randn(4, 5, requires_grad=True)
    ours = Dropout(1.0)(x)
    ours.sum().backward()
    assert torch.equal(ours, torch.zeros(4, 5)) and torch.equal(x.grad, torch.zeros(4, 5))
    x_ref = x.detach().clone().requires_grad_(True)
    nn.Dropout(1.0)(x_ref).sum().backward()
    assert torch.equal(x.grad, x_ref.grad)
