"""Every environment variable of normreg.settings.

NORMREG_DEVICE: data and models go where it says; random draws stay the same everywhere.

Without a GPU the "meta" device (shapes only, no data) stands in for "another device": the
package must move the tensors it creates to wherever its inputs are. The CUDA test runs only
where CUDA is available.
"""

import pytest
import torch

from normreg import MLP, MLPConfig, TrainConfig, fit, load_mnist, set_seed
from normreg.data import with_label_noise
from normreg.settings import at_scale, scale, show_progress
from normreg.settings import device as default_device


def test_the_default_is_the_cpu(monkeypatch):
    monkeypatch.delenv("NORMREG_DEVICE", raising=False)
    assert default_device() == torch.device("cpu")
    monkeypatch.setenv("NORMREG_DEVICE", "auto")
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("setting, message", [
    ("gpu", "must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'gpu'"),
    ("meta", "must be 'cpu', 'cuda', 'cuda:N' or 'auto', got 'meta'"),
])
def test_a_setting_that_names_no_usable_device_is_refused(monkeypatch, setting, message):
    monkeypatch.setenv("NORMREG_DEVICE", setting)
    with pytest.raises(ValueError, match=message):
        default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_it_is_refused(monkeypatch):
    monkeypatch.setenv("NORMREG_DEVICE", "cuda")
    with pytest.raises(ValueError, match="torch.cuda.is_available\\(\\) is False"):
        default_device()


def test_data_and_model_go_to_the_requested_device():
    data = load_mnist(n_train_per_class=5, n_test_per_class=2, device="meta")
    tensors = (data.x_train, data.y_train, data.x_test, data.y_test)
    assert {t.device.type for t in tensors} == {"meta"}
    model = MLP(MLPConfig(width=8, depth=2, norm="batch"), device="meta")
    assert {t.device.type for t in [*model.parameters(), *model.buffers()]} == {"meta"}
    noisy = with_label_noise(data, 0.5, seed=1)
    assert noisy.y_train.device.type == "meta"
    on_cpu = load_mnist(n_train_per_class=5, n_test_per_class=2)
    assert on_cpu.x_train.device.type == "cpu" and on_cpu.to("meta").y_test.device.type == "meta"


def test_initial_weights_are_drawn_on_the_cpu_whatever_the_device():
    # the same draws from the same stream: the global generator ends in the same state
    config = MLPConfig(width=8, depth=2)
    set_seed(0)
    MLP(config)
    after_cpu = torch.rand(3)
    set_seed(0)
    MLP(config, device="meta")
    assert torch.equal(torch.rand(3), after_cpu)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_on_cuda_matches_the_cpu():
    config = TrainConfig(steps=50, batch_size=50, lr=0.05, eval_every=50, seed=0)
    finals = []
    for device in ("cpu", "cuda"):
        data = load_mnist(n_train_per_class=50, n_test_per_class=10, device=device)
        set_seed(0)
        model = MLP(MLPConfig(width=64, depth=3, norm="batch"), device=device)
        finals.append(fit(model, data, config).final("train_loss"))
    assert finals[1] == pytest.approx(finals[0], rel=1e-3)


def test_the_book_scale_is_the_default(monkeypatch):
    monkeypatch.delenv("NORMREG_SCALE", raising=False)
    assert scale() == "book" and at_scale(51, 243) == 51


def test_full_scale_is_one_setting_away(monkeypatch):
    monkeypatch.setenv("NORMREG_SCALE", "full")
    assert scale() == "full" and at_scale("executed", "full") == "full"


def test_an_unknown_scale_is_refused(monkeypatch):
    monkeypatch.setenv("NORMREG_SCALE", "huge")
    message = r"NORMREG_SCALE must be one of \('book', 'full'\), got 'huge'"
    with pytest.raises(ValueError, match=message):
        at_scale(1, 2)


def test_progress_is_shown_in_a_kernel_unless_turned_off(monkeypatch):
    import sys

    monkeypatch.delenv("NORMREG_PROGRESS", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    assert not show_progress()  # a script or a test: no bar
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # inside a Jupyter kernel
    assert show_progress()
    monkeypatch.setenv("NORMREG_PROGRESS", "0")  # what every make target sets
    assert not show_progress()
