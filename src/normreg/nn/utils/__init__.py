"""Utilities for the layers, where PyTorch keeps them (``torch.nn.utils``): :mod:`.fusion`
folds an eval-mode batch norm into the linear or convolution layer beside it."""

from normreg.nn.utils import fusion
from normreg.nn.utils.fusion import fuse_bn_linear_eval, fuse_conv_bn_eval, fuse_linear_bn_eval

__all__ = ["fusion", "fuse_bn_linear_eval", "fuse_conv_bn_eval", "fuse_linear_bn_eval"]
