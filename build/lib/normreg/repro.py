"""Seeding, so that every experiment in the book is a function of one integer."""

import random

import numpy as np
import torch

from normreg._checks import check_int

__all__ = ["set_seed"]


def set_seed(seed: int) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global generators, and return a fresh torch generator.

    The returned ``torch.Generator`` is seeded with ``seed`` too; pass it to code that should
    draw from its own stream (for example the minibatch order) so that adding a random call
    elsewhere does not change it.
    """
    check_int("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
