import copy

import pytest
import torch
from torch.nn import functional as F

from normreg import MLP, MLPConfig
from normreg.probes.landscape import internal_covariate_shift, loss_along_gradient


def net(norm=None):
    torch.manual_seed(0)
    return MLP(MLPConfig(in_features=6, width=12, depth=3, out_features=3, norm=norm)).double()


def batch():
    torch.manual_seed(1)
    return torch.randn(20, 6, dtype=torch.float64), torch.randint(0, 3, (20,))


def state_of(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("norm", [None, "batch"])
def test_internal_covariate_shift_by_hand_and_the_model_left_alone(norm):
    model, (x, y) = net(norm), batch()
    before = state_of(model)
    shift = internal_covariate_shift(model, x, y, lr=0.1)
    for k, v in model.state_dict().items():  # parameters and running statistics untouched
        assert torch.equal(v, before[k]), f"{k} was modified"
    distances, cosines = shift["distance"], shift["cosine"]
    assert len(distances) == 4 and distances[0] == 0.0 and cosines[0] == pytest.approx(1.0)
    assert all(d > 0 for d in distances[1:])
    # by hand for every layer i, each on a fresh copy: step the layers below i, recompute i's
    # gradient
    for i in range(4):
        twin = copy.deepcopy(model)
        layers = [*twin.blocks, twin.head]
        below = {id(p) for layer in layers[:i] for p in layer.parameters()}
        weight = layers[i].weight if i == 3 else layers[i][0].weight
        params = list(twin.parameters())
        grads = torch.autograd.grad(F.cross_entropy(twin(x), y), params)
        before = next(g for p, g in zip(params, grads, strict=True) if p is weight)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                if id(p) in below:
                    p.sub_(0.1 * g)
        (after,) = torch.autograd.grad(F.cross_entropy(twin(x), y), [weight])
        assert distances[i] == pytest.approx((before - after).norm().item(), rel=1e-9, abs=1e-12)
        assert shift["relative"][i] == pytest.approx(distances[i] / before.norm().item())


@pytest.mark.parametrize("norm", [None, "batch", "noisy_batch"])
def test_with_learning_rate_zero_there_is_no_shift_even_with_noisy_batch_norm(norm):
    # The control: nothing moves, so G' = G exactly. Noise redrawn between the two passes
    # would make them differ (by about the size of G itself).
    model, (x, y) = net(norm), batch()
    shift = internal_covariate_shift(model, x, y, lr=0.0)
    assert shift["distance"] == [0.0] * 4
    along = loss_along_gradient(model, x, y, [1e-12])  # a step far below float64 resolution
    assert along["grad_change"][0] < 1e-9


def test_noise_is_held_within_one_measurement_and_redrawn_between_measurements():
    model, (x, y) = net("noisy_batch"), batch()
    torch.manual_seed(2)
    first = internal_covariate_shift(model, x, y, lr=0.1)["distance"]
    second = internal_covariate_shift(model, x, y, lr=0.1)["distance"]
    assert first != second  # each measurement draws its own noise, as each training step does
    assert all(layer.resample for layer in model.modules() if hasattr(layer, "resample"))


def test_loss_along_gradient_is_a_first_order_descent():
    model, (x, y) = net(), batch()
    loss0 = F.cross_entropy(model(x), y).item()
    g = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    g2 = sum((t**2).sum() for t in g).item()
    before = state_of(model)
    out = loss_along_gradient(model, x, y, [1e-4, 1e-3])
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    # L(W - eta g) = L(W) - eta ||g||^2 + O(eta^2)
    assert out["loss"][0] == pytest.approx(loss0 - 1e-4 * g2, abs=1e-6)
    assert out["grad_change"][0] < out["grad_change"][1]
    assert out["kappa"][0] == pytest.approx(out["grad_change"][0] / (1e-4 * g2**0.5))
    with pytest.raises(ValueError, match="step_sizes must be"):
        loss_along_gradient(model, x, y, [])
    with pytest.raises(ValueError, match=r"\.blocks and \.head"):
        internal_covariate_shift(torch.nn.Linear(6, 3), x, y, lr=0.1)
