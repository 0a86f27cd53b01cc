import pytest
import torch

from normreg.nn import BatchNorm1d, NoisyBatchNorm1d, hold_noise


def test_eval_mode_is_plain_batch_norm_and_train_mode_is_shifted_and_scaled():
    torch.manual_seed(0)
    noisy, plain = NoisyBatchNorm1d(5, shift=1.0, scale=3.0), BatchNorm1d(5)
    x = torch.randn(64, 5) * 2 + 1
    for _ in range(3):
        y_noisy, y_plain = noisy(x), plain(x)
    torch.testing.assert_close(noisy.running_mean, plain.running_mean)
    # per feature, the noisy output is s * bn + m with m in [-1, 1] and s in [1, 3]
    s = y_noisy.std(dim=0) / y_plain.std(dim=0)
    m = y_noisy.mean(dim=0) - s * y_plain.mean(dim=0)
    assert ((s >= 1) & (s <= 3)).all() and (m.abs() <= 1).all()
    torch.testing.assert_close(y_noisy, s * y_plain + m, rtol=1e-4, atol=1e-4)
    # the noise changes at every step
    assert not torch.allclose(noisy(x), noisy(x))
    plain(x), plain(x)  # the same number of running-statistics updates
    noisy.eval(), plain.eval()
    torch.testing.assert_close(noisy(x), plain(x))


def test_hold_noise_keeps_one_draw_for_every_pass_and_then_lets_go():
    torch.manual_seed(1)
    model = torch.nn.Sequential(NoisyBatchNorm1d(5), NoisyBatchNorm1d(5))
    x = torch.randn(16, 5)
    with hold_noise(model):
        first = model(x)
        torch.testing.assert_close(model(x), first, rtol=0, atol=0)  # the same draw
        held = model[0].noise_scale.clone()
    assert not torch.equal(held, torch.ones(5))  # a real draw, not the initial no-noise
    assert not torch.allclose(model(x), first)  # outside the block: a new draw per pass
    assert all(layer.resample for layer in model)
    assert list(model[0].state_dict()) == list(BatchNorm1d(5).state_dict())  # noise not saved


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="shift must be a number >= 0"):
        NoisyBatchNorm1d(3, shift=-1)
    with pytest.raises(ValueError, match="scale must be a number >= 1"):
        NoisyBatchNorm1d(3, scale=0.5)
