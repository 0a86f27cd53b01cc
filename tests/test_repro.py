import random

import numpy as np
import pytest
import torch

from normreg import set_seed


def test_set_seed_seeds_every_generator():
    g1 = set_seed(7)
    a = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=g1).item())
    g2 = set_seed(7)
    b = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=g2).item())
    assert a == b
    set_seed(8)
    assert torch.rand(1).item() != a[2]


@pytest.mark.parametrize("seed", [1.5, "0", True])
def test_bad_seed_raises(seed):
    with pytest.raises(ValueError, match="seed must be an int"):
        set_seed(seed)
