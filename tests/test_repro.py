import random

import numpy as np
import pytest
import torch

from normreg import set_seed


def test_set_seed_seeds_every_generator():
    def draw(generator):
        return (random.random(), np.random.rand(), torch.rand(1).item(),
                torch.rand(1, generator=generator).item())

    a = draw(set_seed(7))
    b = draw(set_seed(7))
    assert a == b
    set_seed(8)
    assert torch.rand(1).item() != a[2]


@pytest.mark.parametrize("seed", [1.5, "0", True])
def test_bad_seed_raises(seed):
    with pytest.raises(ValueError, match="seed must be an int"):
        set_seed(seed)
