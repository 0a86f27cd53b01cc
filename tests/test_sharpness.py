import pytest
import torch
from torch import nn

from normreg.probes.sharpness import hessian_vector_product, sharpness, top_eigenvalue


def test_power_iteration_finds_the_top_eigenvalue_of_a_known_spectrum():
    q, _ = torch.linalg.qr(torch.randn(30, 30, dtype=torch.float64))
    spectrum = torch.linspace(0.1, 5.0, 30, dtype=torch.float64)
    spectrum[-1] = 10.0  # a clear gap, so that 100 iterations converge
    a = q @ torch.diag(spectrum) @ q.T
    value, vector = top_eigenvalue(lambda v: a @ v, torch.randn(30, dtype=torch.float64),
                                   iters=100, tol=1e-12)
    assert value == pytest.approx(10.0, rel=1e-8)
    assert abs(float(vector @ q[:, -1])) == pytest.approx(1.0, abs=1e-6)


def test_sharpness_of_least_squares_is_the_top_eigenvalue_of_the_data_covariance():
    # A linear model with squared loss 1/2 ||W x - onehot(y)||^2 averaged over N examples has
    # Hessian (I_C kron X^T X / N) in W (plus the bias block): a quadratic with a known spectrum.
    x = torch.randn(64, 5, dtype=torch.float64) * torch.tensor([3.0, 1.0, 1.0, 0.5, 0.2],
                                                               dtype=torch.float64)
    y = torch.randint(0, 3, (64,))
    model = nn.Linear(5, 3).double()
    x1 = torch.cat([x, torch.ones(64, 1, dtype=torch.float64)], dim=1)  # the bias as a feature
    expected = torch.linalg.eigvalsh(x1.T @ x1 / 64)[-1].item()
    value, _ = sharpness(model, x, y, loss="mse", iters=200,
                         generator=torch.Generator().manual_seed(0))
    assert value == pytest.approx(expected, rel=1e-5)


def test_hessian_vector_product_matches_finite_differences():
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    x, y = torch.randn(10, 4, dtype=torch.float64), torch.randint(0, 3, (10,))
    params = list(model.parameters())
    v = torch.randn(sum(p.numel() for p in params), dtype=torch.float64)

    def grad_at(shift):
        with torch.no_grad():
            offset = 0
            for p in params:
                p.add_(shift * v[offset:offset + p.numel()].view_as(p))
                offset += p.numel()
        loss = nn.functional.cross_entropy(model(x), y)
        g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, params)])
        with torch.no_grad():
            offset = 0
            for p in params:
                p.sub_(shift * v[offset:offset + p.numel()].view_as(p))
                offset += p.numel()
        return g

    h = 1e-5
    finite = (grad_at(h) - grad_at(-h)) / (2 * h)
    torch.testing.assert_close(hessian_vector_product(model, x, y, v), finite, rtol=1e-5,
                               atol=1e-7)


def test_bad_arguments_raise():
    model = nn.Linear(2, 2)
    x, y = torch.randn(3, 2), torch.zeros(3, dtype=torch.long)
    with pytest.raises(ValueError, match="flat vector of the 6 parameters"):
        hessian_vector_product(model, x, y, torch.ones(5))
    with pytest.raises(ValueError, match="nonzero"):
        top_eigenvalue(lambda v: v, torch.zeros(3))
    with pytest.raises(ValueError, match="iters must be"):
        top_eigenvalue(lambda v: v, torch.ones(3), iters=0)
