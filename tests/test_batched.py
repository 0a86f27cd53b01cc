"""fit_many: each run of a batch ends where the same run done alone with fit ends."""

import copy

import pytest
import torch

from normreg import MLP, MLPConfig, TrainConfig, fit, set_seed
from normreg.data import Dataset
from normreg.models import ConvNet, ConvNetConfig, ResidualMLP, ResidualMLPConfig, linear_layers
from normreg.train import make_optimizer
from normreg.train.batched import Run, _Group, fit_many


def alone(run, data):
    """The run as a chapter trains it alone."""
    set_seed(run.seed)
    network = {ConvNetConfig: ConvNet, ResidualMLPConfig: ResidualMLP}.get(type(run.model), MLP)
    model = network(run.model)
    if run.initial_state is not None:
        model.load_state_dict(run.initial_state, strict=False)
    optimizer = make_optimizer(model, run.train, run.lr_scale)
    return model, fit(model, run.data or data, run.train, optimizer=optimizer)


def assert_same_run(batched, single, rtol=1e-4, atol=1e-5):
    (model_b, h_b), (model_s, h_s) = batched, single
    assert h_b.diverged_at == h_s.diverged_at and h_b.step == h_s.step
    torch.testing.assert_close(torch.tensor(h_b.batch_loss), torch.tensor(h_s.batch_loss),
                               rtol=rtol, atol=atol)
    for metric in ("train_loss", "train_acc", "test_loss", "test_acc"):
        torch.testing.assert_close(torch.tensor(getattr(h_b, metric)),
                                   torch.tensor(getattr(h_s, metric)), rtol=rtol, atol=1e-2
                                   if metric.endswith("acc") else atol, equal_nan=True)
    for (name, a), b in zip(model_b.state_dict().items(), model_s.state_dict().values(),
                            strict=True):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, equal_nan=True,
                                   msg=lambda m, name=name: f"{name}: {m}")


MODELS = {
    "plain": dict(),
    "layer norm": dict(norm="layer"),
    "rms norm": dict(norm="rms"),
    "batch norm": dict(norm="batch"),
    "batch norm before the ReLU": dict(norm="batch", norm_position="before"),
    "noisy batch norm": dict(norm="noisy_batch"),
    "dropout": dict(dropout=0.3),
    "batch norm and dropout": dict(norm="batch", dropout=0.2),
}
OPTIMIZERS = {
    "sgd": dict(optimizer="sgd"),
    "sgd with momentum": dict(optimizer="sgd", momentum=0.9),
    "adam": dict(optimizer="adam"),
    "adamw": dict(optimizer="adamw"),
}


# Batch norm right after a linear layer makes that layer's bias irrelevant: its gradient is 0 in
# exact arithmetic and rounding noise (1e-9) in floating point. Adam divides a gradient by its
# own running size, so it turns that noise into steps of the full learning rate whose sign is
# the noise's: two correct computations rounded differently then end far apart in that bias
# (and only there). With SGD the noise stays noise.
CASES = [(m, o) for m in MODELS for o in OPTIMIZERS
         if not (m == "batch norm before the ReLU" and o.startswith("adam"))]


@pytest.mark.parametrize(("model", "optimizer"), CASES, ids=[f"{m}-{o}" for m, o in CASES])
def test_every_run_of_a_batch_equals_the_run_alone(blobs, model, optimizer):
    base = MLPConfig(in_features=8, width=16, depth=3, out_features=3, **MODELS[model])
    lr = {"sgd": 0.1, "sgd with momentum": 0.02}.get(optimizer, 0.01)
    runs = [Run(MLPConfig(**{**base.__dict__, "c": c, "dropout": base.dropout and p}),
                TrainConfig(steps=8, batch_size=20, lr=lr * f, weight_decay=wd, eval_every=3,
                            seed=s, **OPTIMIZERS[optimizer]), seed=seed)
            for c, p, f, wd, s, seed in [(2.0, 0.3, 1.0, 0.0, 0, 0), (1.0, 0.5, 0.5, 0.01, 1, 1),
                                         (3.0, 0.1, 1.5, 0.1, 2, 7)]]
    results = fit_many(runs, blobs)
    for run, result in zip(runs, results, strict=True):
        assert_same_run(result, alone(run, blobs))


def test_runs_of_different_shapes_are_grouped_and_returned_in_order(blobs):
    runs = [Run(MLPConfig(in_features=8, width=16, depth=d, out_features=3, norm=n),
                TrainConfig(steps=6, batch_size=20, lr=0.05, eval_every=3), seed=s)
            for d, n, s in [(2, None, 0), (3, "batch", 1), (2, None, 2), (3, "batch", 3)]]
    for run, (model, history) in zip(runs, fit_many(runs, blobs), strict=True):
        assert model.config == run.model and len(history.batch_loss) == 6
        assert_same_run((model, history), alone(run, blobs))


def test_each_run_may_bring_its_own_labels(blobs):
    from dataclasses import replace

    g = torch.Generator().manual_seed(3)
    noisy = replace(blobs, y_train=torch.randint(0, 3, blobs.y_train.shape, generator=g))
    config = MLPConfig(in_features=8, width=16, depth=2, out_features=3)
    train = TrainConfig(steps=8, batch_size=20, lr=0.1, eval_every=4)
    runs = [Run(config, train, seed=0), Run(config, train, seed=0, data=noisy)]
    clean, with_noise = fit_many(runs, blobs)
    assert clean[1].batch_loss != with_noise[1].batch_loss  # the labels differ
    assert_same_run(with_noise, alone(runs[1], blobs))


@pytest.mark.parametrize("optimizer", ["sgd with momentum", "adam"])
def test_a_run_that_diverges_leaves_the_stack_and_the_others_go_on(blobs, optimizer):
    # the run in the middle diverges after a few steps; the one after it has its own inputs, so
    # that every per-run tensor (parameters, running statistics, optimizer state, data, random
    # streams for dropout) must be re-indexed correctly when the stack shrinks
    from dataclasses import replace

    reversed_ = replace(blobs, x_train=blobs.x_train.flip(1), x_test=blobs.x_test.flip(1))
    config = MLPConfig(in_features=8, width=16, depth=3, out_features=3, norm="batch",
                       dropout=0.2)
    train = TrainConfig(steps=10, batch_size=20, lr=0.01, eval_every=3, seed=0,
                        record_layers=True, **OPTIMIZERS[optimizer])
    huge = {"sgd with momentum": 1e6, "adam": 1e30}[optimizer]  # Adam's steps are about lr
    runs = [Run(config, train, seed=0),
            Run(replace(config, c=50.0), replace(train, lr=huge, seed=1), seed=1),
            Run(replace(config, dropout=0.4), replace(train, seed=2), seed=2, data=reversed_)]
    group = _Group(runs, blobs)
    results = group.fit(progress=False, callback=None)
    (_, fine), (_, diverged), _ = results
    assert not fine.diverged and diverged.diverged and 0 < diverged.diverged_at < 10
    assert len(diverged.batch_loss) == diverged.diverged_at
    assert group.rows == [0, 2], "the run that stopped left the stack: it costs nothing more"
    for run, result in zip(runs, results, strict=True):
        assert_same_run(result, alone(run, blobs))
        torch.testing.assert_close(torch.tensor(result[1].weight_change),
                                   torch.tensor(alone(run, blobs)[1].weight_change),
                                   rtol=1e-4, atol=1e-5, equal_nan=True)


def test_a_callback_sees_each_runs_model_and_random_stream(blobs):
    # the callback draws from the global stream, as a measurement of noisy batch norm does: each
    # run must then continue exactly as it would alone
    def callback(model):
        return {"weight": model.head.weight[0, 0].item(), "draw": torch.rand(1).item()}

    config = MLPConfig(in_features=8, width=16, depth=2, out_features=3, norm="noisy_batch")
    runs = [Run(config, TrainConfig(steps=6, batch_size=20, lr=0.05, eval_every=3, seed=s),
                seed=s) for s in (0, 1)]
    for run, result in zip(runs, fit_many(runs, blobs, callback=callback), strict=True):
        set_seed(run.seed)
        model = MLP(run.model)
        single = fit(model, blobs, run.train, callback=callback)
        assert result[1].extra["draw"] == single.extra["draw"]
        torch.testing.assert_close(torch.tensor(result[1].extra["weight"]),
                                   torch.tensor(single.extra["weight"]))
        assert_same_run(result, (model, single))


def test_record_layers_and_the_models_left_in_train_mode(blobs):
    run = Run(MLPConfig(in_features=8, width=16, depth=2, out_features=3),
              TrainConfig(steps=6, batch_size=20, lr=0.05, eval_every=3, record_layers=True))
    (model, history), = fit_many([run], blobs)
    _, single = alone(run, blobs)
    torch.testing.assert_close(torch.tensor(history.weight_norm), torch.tensor(single.weight_norm))
    torch.testing.assert_close(torch.tensor(history.weight_change),
                               torch.tensor(single.weight_change))
    assert model.training


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_a_run_may_start_from_given_weights_with_its_own_rate_per_parameter(blobs, optimizer):
    # chapter 3: the hidden layers' weights and biases times 4, and 16 times the learning rate
    # on exactly those parameters; the other parameters (head, norms) keep theirs. (Layer norm,
    # not chapter 3's batch norm: a unit whose ReLU is open for the whole batch makes its bias's
    # gradient before a batch norm rounding noise, which Adam turns into full steps.)
    config = MLPConfig(in_features=8, width=16, depth=3, out_features=3, norm="layer")
    set_seed(5)
    model = MLP(config)
    hidden = {f"blocks.{i}.0.{kind}" for i in range(3) for kind in ("weight", "bias")}
    state = {name: 4 * t for name, t in model.state_dict().items() if name in hidden}
    lr = 0.001 if optimizer.startswith("adam") else 0.01  # 16x: Adam's steps are about lr
    train = TrainConfig(steps=8, batch_size=20, lr=lr, weight_decay=0.01, eval_every=4,
                        **OPTIMIZERS[optimizer])
    runs = [Run(config, train, seed=5),
            Run(config, train, seed=5, initial_state=state),
            Run(config, train, seed=5, initial_state=state, lr_scale=dict.fromkeys(hidden, 16.0))]
    results = fit_many(runs, blobs)
    for run, result in zip(runs, results, strict=True):
        assert_same_run(result, alone(run, blobs))
    plain, scaled, compensated = (linear_layers(m)[0].weight for m, _ in results)
    assert not torch.allclose(plain * 4, scaled), "the starting weights were used"
    assert not torch.allclose(scaled, compensated), "the learning-rate factor was used"


def test_a_learning_rate_factor_for_a_parameter_the_model_lacks_is_refused(blobs):
    run = Run(MLPConfig(in_features=8, width=16, depth=2, out_features=3),
              TrainConfig(steps=2, batch_size=20), lr_scale={"blocks.9.0.weight": 2.0})
    with pytest.raises(ValueError, match="lr_scale names parameters the model does not have"):
        fit_many([run], blobs)
    with pytest.raises(ValueError, match="lr_scale names parameters the model does not have"):
        make_optimizer(MLP(run.model), run.train, run.lr_scale)


def test_an_empty_list_of_runs_is_refused(blobs):
    with pytest.raises(ValueError, match="runs must be a non-empty sequence of Run"):
        fit_many([], blobs)


def test_the_global_seed_does_not_change_the_result(blobs):
    run = Run(MLPConfig(in_features=8, width=16, depth=2, out_features=3, dropout=0.5),
              TrainConfig(steps=5, batch_size=20, lr=0.05), seed=4)
    torch.manual_seed(123)
    (a, _), = fit_many([run], blobs)
    torch.manual_seed(456)
    (b, _), = fit_many([copy.deepcopy(run)], blobs)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.fixture(scope="module")
def images():
    """A small 3-class problem of 28 x 28 images (flattened, as MNIST's): a class is a pattern
    plus noise; 60 training and 30 test images."""
    g = torch.Generator().manual_seed(1)
    patterns = torch.rand(3, 784, generator=g)

    def sample(n):
        y = torch.randint(0, 3, (n,), generator=g)
        return patterns[y] + 0.5 * torch.randn(n, 784, generator=g), y

    (x_train, y_train), (x_test, y_test) = sample(60), sample(30)
    return Dataset(x_train, y_train, x_test, y_test)


CONV_CASES = [(norm, optimizer, batch_size) for norm in (None, "batch", "group")
              for optimizer in OPTIMIZERS for batch_size in (1, 5)
              if not (norm == "batch" and optimizer.startswith("adam"))]  # see the note above


@pytest.mark.parametrize(("norm", "optimizer", "batch_size"), CONV_CASES,
                         ids=[f"{n}-{o}-batch{b}" for n, o, b in CONV_CASES])
def test_every_convnet_run_of_a_batch_equals_the_run_alone(images, norm, optimizer, batch_size):
    # the K runs as groups of one grouped convolution, their norms as sets of channels: batch
    # size 1 makes batch norm's statistics those of one image's positions
    base = ConvNetConfig(channels=4, norm=norm, num_groups=2)
    lr = {"sgd": 0.05, "sgd with momentum": 0.02}.get(optimizer, 0.005)
    runs = [Run(ConvNetConfig(**{**base.__dict__, "c": c}),
                TrainConfig(steps=6, batch_size=batch_size, lr=lr * f, weight_decay=wd,
                            eval_every=4, seed=s, **OPTIMIZERS[optimizer]), seed=seed)
            for c, f, wd, s, seed in [(2.0, 1.0, 0.0, 0, 0), (1.0, 0.5, 0.01, 1, 1),
                                      (3.0, 1.5, 0.1, 2, 7)]]
    for run, result in zip(runs, fit_many(runs, images), strict=True):
        assert_same_run(result, alone(run, images))


def test_a_convnet_run_that_diverges_leaves_the_stack(images):
    config = ConvNetConfig(channels=4)  # (batch norm would keep the minibatch loss finite)
    train = TrainConfig(steps=8, batch_size=5, lr=0.02, momentum=0.9, eval_every=3)
    from dataclasses import replace

    runs = [Run(config, train, seed=0),
            Run(replace(config, c=50.0), replace(train, lr=1e8, seed=1), seed=1),
            Run(config, replace(train, seed=2), seed=2)]
    group = _Group(runs, images)
    results = group.fit(progress=False, callback=None)
    assert results[1][1].diverged and group.rows == [0, 2]
    for run, result in zip(runs, results, strict=True):
        assert_same_run(result, alone(run, images))


def test_runs_of_mlps_and_convnets_are_grouped_apart(images):
    train = TrainConfig(steps=4, batch_size=5, lr=0.02, eval_every=2)
    runs = [Run(ConvNetConfig(channels=4), train, seed=0),
            Run(MLPConfig(width=8, depth=2, out_features=3), train, seed=1),
            Run(ConvNetConfig(channels=4, norm="group", num_groups=2), train, seed=2)]
    for run, result in zip(runs, fit_many(runs, images), strict=True):
        assert type(result[0]) is (ConvNet if isinstance(run.model, ConvNetConfig) else MLP)
        assert_same_run(result, alone(run, images))
    with pytest.raises(ValueError, match="record_layers .* is for MLP runs"):
        fit_many([Run(ConvNetConfig(channels=4), TrainConfig(steps=2, record_layers=True))],
                 images)


RESIDUAL = {
    "no norm": dict(),
    "pre-norm, layer norm": dict(norm="layer", norm_position="pre"),
    "post-norm, layer norm": dict(norm="layer", norm_position="post"),
    "pre-norm, rms norm": dict(norm="rms", norm_position="pre"),
    "pre-norm, batch norm": dict(norm="batch", norm_position="pre"),
    "post-norm, batch norm": dict(norm="batch", norm_position="post"),
}
# (post-norm batch norm follows the branch's bias at once: Adam's note above)
RESIDUAL_CASES = [(m, o) for m in RESIDUAL for o in OPTIMIZERS
                  if not (m == "post-norm, batch norm" and o.startswith("adam"))]


@pytest.mark.parametrize(("model", "optimizer"), RESIDUAL_CASES,
                         ids=[f"{m}-{o}" for m, o in RESIDUAL_CASES])
def test_every_residual_run_of_a_batch_equals_the_run_alone(blobs, model, optimizer):
    base = ResidualMLPConfig(in_features=8, width=16, depth=3, out_features=3, **RESIDUAL[model])
    lr = {"sgd": 0.05, "sgd with momentum": 0.02}.get(optimizer, 0.01)
    runs = [Run(ResidualMLPConfig(**{**base.__dict__, "c": c}),
                TrainConfig(steps=8, batch_size=20, lr=lr * f, weight_decay=wd, eval_every=3,
                            seed=s, record_layers=True, **OPTIMIZERS[optimizer]), seed=seed)
            for c, f, wd, s, seed in [(2.0, 1.0, 0.0, 0, 0), (0.5, 0.5, 0.01, 1, 1),
                                      (1.0, 1.5, 0.1, 2, 7)]]
    for run, result in zip(runs, fit_many(runs, blobs), strict=True):
        single = alone(run, blobs)
        assert_same_run(result, single)
        torch.testing.assert_close(torch.tensor(result[1].weight_norm),
                                   torch.tensor(single[1].weight_norm))
