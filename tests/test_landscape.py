import pytest
import torch
from torch.nn import functional as F

from normreg import MLP, MLPConfig
from normreg.landscape import internal_covariate_shift, loss_along_gradient


def net(norm=None):
    torch.manual_seed(0)
    return MLP(MLPConfig(in_features=6, width=12, depth=3, out_features=3, norm=norm)).double()


def batch():
    torch.manual_seed(1)
    return torch.randn(20, 6, dtype=torch.float64), torch.randint(0, 3, (20,))


@pytest.mark.parametrize("norm", [None, "batch"])
def test_internal_covariate_shift_by_hand(norm):
    model, (x, y) = net(norm), batch()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    shift = internal_covariate_shift(model, x, y, lr=0.1)
    distances, cosines = shift["distance"], shift["cosine"]
    assert len(distances) == 4 and distances[0] == 0.0 and cosines[0] == pytest.approx(1.0)
    # by hand for the last layer (the head): step every hidden block, recompute the head's grad
    params = list(model.parameters())
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), params)
    head_before = next(g for p, g in zip(params, grads, strict=True) if p is model.head.weight)
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            if all(p is not q for q in model.head.parameters()):
                p.sub_(0.1 * g)
    (head_after,) = torch.autograd.grad(F.cross_entropy(model(x), y), [model.head.weight])
    assert distances[-1] == pytest.approx((head_before - head_after).norm().item(), rel=1e-9)
    assert shift["relative"][-1] == pytest.approx(distances[-1] / head_before.norm().item())
    model.load_state_dict(state)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])
    assert all(d > 0 for d in distances[1:])
    assert internal_covariate_shift(model, x, y, lr=1e-8)["distance"][-1] < 1e-6  # no step


def test_loss_along_gradient_is_a_first_order_descent():
    model, (x, y) = net(), batch()
    loss0 = F.cross_entropy(model(x), y).item()
    g = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    g2 = sum((t**2).sum() for t in g).item()
    out = loss_along_gradient(model, x, y, [1e-4, 1e-3])
    # L(W - eta g) = L(W) - eta ||g||^2 + O(eta^2)
    assert out["loss"][0] == pytest.approx(loss0 - 1e-4 * g2, abs=1e-6)
    assert out["grad_change"][0] < out["grad_change"][1]
    assert out["beta"][0] == pytest.approx(out["grad_change"][0] / (1e-4 * g2**0.5))
    with pytest.raises(ValueError, match="step_sizes must be"):
        loss_along_gradient(model, x, y, [])
    with pytest.raises(ValueError, match=r"\.blocks and \.head"):
        internal_covariate_shift(torch.nn.Linear(6, 3), x, y, lr=0.1)
