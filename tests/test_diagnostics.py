import numpy as np
import pytest
import torch
from torch.nn import functional as F

from normreg.models import MLP, linear_layers
from normreg.probes.diagnostics import (
    activation_norms,
    layer_stats,
    predicted_activation_norms,
    predicted_gradient_norms,
    weight_distances,
    weight_norms,
)


@pytest.fixture
def model_and_batch():
    torch.manual_seed(0)
    model = MLP(depth=3, width=16, in_features=6, out_features=5)
    x, y = torch.randn(9, 6), torch.randint(0, 5, (9,))
    return model, x, y


def rms(t):
    return t.double().pow(2).sum(1).mean().sqrt().item()


def test_layer_stats_equal_a_hand_computation(model_and_batch):
    model, x, y = model_and_batch
    # by hand: the forward pass block by block, keeping every activation
    zs = [x.clone().requires_grad_(True)]
    for block in model.blocks:
        z = block[1](block[0](zs[-1]))  # ReLU(W z + b)
        z.retain_grad()
        zs.append(z)
    zs[0].retain_grad()
    loss = F.cross_entropy(model.head(zs[-1]), y, reduction="sum")
    loss.backward()

    stats = layer_stats(model, x, y)
    np.testing.assert_allclose(stats.activation, [rms(z.detach()) for z in zs], rtol=1e-6)
    np.testing.assert_allclose(stats.activation_grad, [rms(z.grad) for z in zs], rtol=1e-6)
    expected = [lin.weight.grad.double().norm().item() / len(x) for lin in linear_layers(model)]
    np.testing.assert_allclose(stats.weight_grad, expected, rtol=1e-6)
    np.testing.assert_allclose(activation_norms(model, x), stats.activation, rtol=1e-6)


def test_layer_stats_leave_grads_and_hooks_untouched(model_and_batch):
    model, x, y = model_and_batch
    assert all(p.grad is None for p in model.parameters())
    layer_stats(model, x, y)
    assert all(p.grad is None for p in model.parameters())
    assert all(not b._forward_hooks for b in model.blocks)


def test_weight_norms_and_distances(model_and_batch):
    model, _, _ = model_and_batch
    initial = [lin.weight.detach().clone() for lin in linear_layers(model)]
    with torch.no_grad():
        linear_layers(model)[1].weight.add_(1.0)
    expected = [torch.linalg.norm(lin.weight).item() for lin in linear_layers(model)]
    np.testing.assert_allclose(weight_norms(model), expected, rtol=1e-6)
    distances = weight_distances(model, initial)
    assert distances[0] == 0 and distances[2] == 0
    assert distances[1] == pytest.approx(16.0)  # a 16 x 16 matrix of ones
    with pytest.raises(ValueError, match="initial must hold 4 weights .* got 3"):
        weight_distances(model, initial[:3])


def test_models_without_blocks_are_refused():
    with pytest.raises(ValueError, match="model must have a .blocks list"):
        activation_norms(torch.nn.Linear(3, 3), torch.randn(2, 3))


def test_bad_labels_shape_is_refused(model_and_batch):
    model, x, y = model_and_batch
    with pytest.raises(ValueError, match=r"x and y must have shapes \(N, features\) and \(N,\)"):
        layer_stats(model, x, y[:3])


@pytest.mark.parametrize("c", [1.0, 2.0, 3.0])
def test_mean_field_prediction_holds_on_average(c):
    # One layer of width n multiplies ||z||^2 by c/2 * n_out/n_in only on average: the factor of
    # one random layer has a relative spread of about sqrt(5/n) (13% at n = 300). Averaged over
    # 30 networks of 3 layers, the mean factor is within 5% of the prediction (about 4 sd).
    forward, backward = [], []
    for seed in range(30):
        torch.manual_seed(seed)
        model = MLP(depth=3, width=300, in_features=200, c=c)
        stats = layer_stats(model, torch.randn(16, 200), torch.randint(0, 10, (16,)))
        predicted = predicted_activation_norms(stats.activation[0], [200] + [300] * 3, c)
        forward += list((stats.activation[1:] / stats.activation[:-1]) ** 2
                        / (predicted[1:] / predicted[:-1]) ** 2)
        back = predicted_gradient_norms(stats.activation_grad[-1], 3, c)
        backward += list((stats.activation_grad[:-1] / stats.activation_grad[1:]) ** 2
                         / (back[:-1] / back[1:]) ** 2)
    assert np.mean(forward) == pytest.approx(1.0, abs=0.05)
    assert np.mean(backward) == pytest.approx(1.0, abs=0.05)


def test_predictions_have_the_closed_form():
    np.testing.assert_allclose(predicted_activation_norms(2.0, [4, 4, 4], 1.0),
                               [2.0, 2.0 * 0.5 ** 0.5, 1.0])
    np.testing.assert_allclose(predicted_activation_norms(1.0, [100, 400], 2.0), [1.0, 2.0])
    np.testing.assert_allclose(predicted_gradient_norms(1.0, 2, 8.0), [4.0, 2.0, 1.0])


def test_norm_only_accuracy_separates_classes_by_norm_and_not_without_it():
    from normreg.probes.diagnostics import norm_only_accuracy

    g = torch.Generator().manual_seed(0)
    y_train, y_test = torch.arange(3).repeat(100), torch.arange(3).repeat(50)
    # three classes whose norms differ clearly: the rule recovers the class from the norm alone
    separated = lambda y: 10.0 * (y + 1) + torch.randn(len(y), generator=g)  # noqa: E731
    assert norm_only_accuracy(separated(y_train), y_train, separated(y_test), y_test) > 0.95
    # identical norms (as after layer norm) carry nothing: chance level, 1 in 3
    same = lambda y: torch.full((len(y),), 10.0)  # noqa: E731
    assert norm_only_accuracy(same(y_train), y_train, same(y_test), y_test) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"norms_train must be 1D .* got shape \(300, 1\)"):
        norm_only_accuracy(same(y_train)[:, None], y_train, same(y_test), y_test)
    with pytest.raises(ValueError, match="labels must be one per norm"):
        norm_only_accuracy(same(y_train), y_train[:5], same(y_test), y_test)
