import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global torch seed: random inputs are reproducible."""
    torch.manual_seed(0)
