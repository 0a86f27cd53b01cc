import pytest
import torch

from normreg.data import Dataset


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global torch seed: random inputs are reproducible."""
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def blobs():
    """A small, easy 3-class problem: Gaussian blobs in 8 dimensions (300 training and 100 test
    examples), for the tests that train."""
    g = torch.Generator().manual_seed(0)
    centers = 3 * torch.randn(3, 8, generator=g)

    def sample(n):
        y = torch.randint(0, 3, (n,), generator=g)
        return centers[y] + torch.randn(n, 8, generator=g), y

    (x_train, y_train), (x_test, y_test) = sample(300), sample(100)
    return Dataset(x_train, y_train, x_test, y_test)
