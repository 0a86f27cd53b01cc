import copy
import math

import pytest
import torch

from normreg import MLP, TrainConfig, fit
from normreg.optim import SGD, param_groups
from normreg.train import History, evaluate, make_optimizer, minibatches


def small_model(seed=0, **kwargs):
    return MLP(in_features=8, width=32, depth=2, out_features=3,
               generator=torch.Generator().manual_seed(seed), **kwargs)


def test_the_loop_lowers_the_loss(blobs):
    history = fit(small_model(), blobs, TrainConfig(steps=200, lr=0.05, batch_size=30,
                                                    eval_every=50))
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.final("test_acc") > 0.9
    assert not history.diverged


def test_history_format(blobs):
    config = TrainConfig(steps=120, lr=0.05, batch_size=30, eval_every=50, record_layers=True)
    history = fit(small_model(), blobs, config)
    assert history.step == [0, 50, 100, 120]
    for metric in History.METRICS:
        assert len(getattr(history, metric)) == 4
    assert len(history.batch_loss) == 120
    assert len(history.weight_norm) == 4 and len(history.weight_norm[0]) == 3  # 2 blocks + head
    assert history.weight_change[0] == [0.0, 0.0, 0.0]
    assert all(d > 0 for d in history.weight_change[-1])
    assert history.final("train_loss") == history.train_loss[-1]
    assert "train loss" in history.summary()
    with pytest.raises(ValueError, match="metric must be one of"):
        history.final("loss")


def test_first_record_is_the_untrained_model(blobs):
    model = small_model()
    before = evaluate(model, blobs.x_train, blobs.y_train)
    history = fit(model, blobs, TrainConfig(steps=10, lr=0.05, eval_every=50))
    assert (history.train_loss[0], history.train_acc[0]) == pytest.approx(before)


def test_same_seed_same_run(blobs):
    config = TrainConfig(steps=60, lr=0.05, batch_size=25, seed=3)
    a = fit(small_model(), blobs, config)
    b = fit(small_model(), blobs, config)
    assert a.batch_loss == b.batch_loss
    c = fit(small_model(), blobs, TrainConfig(steps=60, lr=0.05, batch_size=25, seed=4))
    assert c.batch_loss != a.batch_loss


def test_divergence_is_detected_and_stops_training(blobs):
    model = small_model(c=50.0)
    history = fit(model, blobs, TrainConfig(steps=100, lr=1e3, eval_every=10))
    assert history.diverged and history.diverged_at < 100
    assert len(history.batch_loss) == history.diverged_at
    assert math.isnan(history.final("train_loss"))
    assert history.summary().startswith("diverged at step")


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_every_optimizer_trains(blobs, optimizer):
    config = TrainConfig(steps=100, lr=0.01, optimizer=optimizer, momentum=0.0, batch_size=30)
    history = fit(small_model(), blobs, config)
    assert history.train_loss[-1] < history.train_loss[0]


def test_fit_decays_only_what_the_decay_policy_says(blobs):
    model = small_model(norm="batch")
    twin = copy.deepcopy(model)
    config = TrainConfig(steps=5, lr=0.1, weight_decay=0.5, batch_size=30, eval_every=50)
    fit(model, blobs, config)
    # the same run with the policy's groups spelled out by hand, and with every parameter decayed
    fit(twin, blobs, config, optimizer=torch.optim.SGD(param_groups(twin, 0.5), lr=0.1))
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q)
    everything = copy.deepcopy(small_model(norm="batch"))
    fit(everything, blobs, config,
        optimizer=torch.optim.SGD(everything.parameters(), lr=0.1, weight_decay=0.5))
    assert not torch.allclose(everything.blocks[0][2].weight, model.blocks[0][2].weight)


@pytest.mark.parametrize("name", ["sgd", "adam", "adamw"])
def test_make_optimizer_decays_the_weight_matrices_only(name):
    model = small_model(norm="layer")
    optimizer = make_optimizer(model, TrainConfig(optimizer=name, weight_decay=0.3, lr=0.01))
    decayed = {id(p) for group in optimizer.param_groups if group["weight_decay"] == 0.3
               for p in group["params"]}
    weights = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Linear)}
    assert decayed == weights
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(list(model.parameters()))
    # with every gradient zero, one step shrinks the weights and leaves the rest alone
    before = copy.deepcopy(model)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for (name_, p), q in zip(model.named_parameters(), before.parameters(), strict=True):
        if id(p) in weights:
            assert p.norm() < q.norm(), f"{name_} should decay"
        else:
            assert torch.equal(p, q), f"{name_} should not decay"


def test_the_loop_steps_with_the_books_optimizer_bit_for_bit_as_with_torchs(blobs):
    config = TrainConfig(steps=30, lr=0.05, momentum=0.9, weight_decay=0.01, batch_size=30)
    a, b = small_model(norm="batch"), small_model(norm="batch")
    ours = fit(a, blobs, config)
    assert isinstance(make_optimizer(a, config), SGD)
    theirs = fit(b, blobs, config, optimizer=torch.optim.SGD(param_groups(b, 0.01), lr=0.05,
                                                              momentum=0.9))
    assert ours.batch_loss == theirs.batch_loss


def test_minibatches_cover_each_epoch_once_and_skip_the_remainder():
    batches = minibatches(10, 3, torch.Generator().manual_seed(0))
    epoch = torch.cat([next(batches) for _ in range(3)])  # 9 of 10, the 10th skipped
    assert len(set(epoch.tolist())) == 9
    assert not torch.equal(torch.cat([next(batches) for _ in range(3)]), epoch)  # reshuffled


def test_a_given_optimizer_is_used(blobs):
    model = small_model()
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)
    before = [p.clone() for p in model.parameters()]
    fit(model, blobs, TrainConfig(steps=5, lr=1.0), optimizer=frozen)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters(), strict=True))


def test_mse_loss_is_half_the_squared_error_to_one_hot(blobs):
    model = small_model()
    loss, _ = evaluate(model, blobs.x_test, blobs.y_test, loss="mse")
    with torch.no_grad():
        logits = model(blobs.x_test)
    target = torch.nn.functional.one_hot(blobs.y_test, 3).float()
    assert loss == pytest.approx(0.5 * ((logits - target) ** 2).sum(1).mean().item(), rel=1e-6)


def test_evaluate_restores_the_mode(blobs):
    model = small_model(dropout=0.5)
    model.train()
    evaluate(model, blobs.x_test, blobs.y_test)
    assert model.training
    model.eval()
    evaluate(model, blobs.x_test, blobs.y_test)
    assert not model.training


def test_no_progress_output_when_disabled(blobs, capsys, monkeypatch):
    monkeypatch.setenv("NORMREG_PROGRESS", "0")
    fit(small_model(), blobs, TrainConfig(steps=20, lr=0.05))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_when_asked(blobs, capsys):
    fit(small_model(), blobs, TrainConfig(steps=20, lr=0.05), progress=True)
    assert "training" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "steps must be an int >= 1, got 0"),
    (dict(batch_size=1.5), "batch_size must be an int >= 1, got 1.5"),
    (dict(lr=0), "lr must be a number > 0, got 0"),
    (dict(lr=float("inf")), "lr must be a number > 0, got inf"),
    (dict(optimizer="lbfgs"), r"optimizer must be one of \('sgd', 'adam', 'adamw'\), got 'lbfgs'"),
    (dict(loss="hinge"), r"loss must be one of \('cross_entropy', 'mse'\), got 'hinge'"),
    (dict(momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
    (dict(weight_decay=-1e-4), "weight_decay must be a number >= 0, got -0.0001"),
    (dict(seed=1.0), "seed must be an int, got 1.0"),
])
def test_bad_config_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_evaluate_in_batches_matches_all_at_once(blobs):
    model = small_model()
    whole = evaluate(model, blobs.x_test, blobs.y_test)
    batched = evaluate(model, blobs.x_test, blobs.y_test, batch_size=30)  # 100 = 3 * 30 + 10
    assert batched == pytest.approx(whole, rel=1e-5)


def test_train_mode_evaluation_uses_batch_statistics_and_changes_nothing(blobs):
    model = small_model(norm="batch")
    fit(model, blobs, TrainConfig(steps=30, lr=0.05, batch_size=20))
    model.eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    eval_mode = evaluate(model, blobs.x_test, blobs.y_test)
    train_mode = evaluate(model, blobs.x_test, blobs.y_test, mode="train", batch_size=4)
    assert train_mode != eval_mode  # batch statistics of 4 examples differ from running ones
    assert not model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    with pytest.raises(ValueError, match=r"mode must be one of \('eval', 'train'\), got 'test'"):
        evaluate(model, blobs.x_test, blobs.y_test, mode="test")
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        evaluate(model, blobs.x_test, blobs.y_test, batch_size=0)


def test_callback_values_are_recorded_at_every_evaluation(blobs):
    model = small_model()
    seen = []

    def callback(m):
        seen.append((m is model, m.training))
        return {"first_weight": m.blocks[0][0].weight[0, 0].item(), "constant": 3}

    history = fit(model, blobs, TrainConfig(steps=20, batch_size=10, eval_every=5),
                  callback=callback)
    assert history.step == [0, 5, 10, 15, 20]
    assert seen == [(True, True)] * 5  # the model itself, in train mode, at every evaluation
    assert history.extra["constant"] == [3.0] * 5
    last = model.blocks[0][0].weight[0, 0].item()
    assert history.extra["first_weight"][-1] == pytest.approx(last)
    assert len(set(history.extra["first_weight"])) == 5  # the weight moved between evaluations


def test_loss_value_names_the_book_losses_with_torchs_reductions():
    from normreg.losses import LOSSES, loss_value

    logits, y = torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])
    assert loss_value(logits, y).item() == pytest.approx(math.log(3))
    assert loss_value(logits, y, "mse").item() == pytest.approx(0.5)  # 1/2 (1 + 0 + 0)
    for name in LOSSES:
        per_example = loss_value(logits + torch.arange(3.0), y, name, reduction="none")
        assert per_example.shape == (4,)
        total = loss_value(logits + torch.arange(3.0), y, name, reduction="sum")
        torch.testing.assert_close(total, per_example.sum())
    with pytest.raises(ValueError, match=r"loss must be one of \('cross_entropy', 'mse'\), "
                                         r"got 'hinge'"):
        loss_value(logits, y, "hinge")
