"""The networks the chapters train.

- :mod:`normreg.models.mlp`      the MLP of chapters 1-8 (depth, width, c, norm and its place,
  dropout), :class:`MLP` and :class:`MLPConfig`
- :mod:`normreg.models.residual` chapter 9's residual MLP, the norm before the branch or after
  the sum: :class:`ResidualMLP` and :class:`ResidualMLPConfig`
- :mod:`normreg.models.convnet`  chapter 9's small convolutional network with batch norm or group
  norm: :class:`ConvNet` and :class:`ConvNetConfig`
"""

from normreg.models.convnet import CONV_NORMS, ConvNet, ConvNetConfig
from normreg.models.mlp import (
    ACTIVATIONS,
    MLP,
    NORM_POSITIONS,
    NORMS,
    MLPConfig,
    linear_layers,
    with_torch_layers,
)
from normreg.models.residual import (
    RESIDUAL_NORM_POSITIONS,
    RESIDUAL_NORMS,
    ResidualBlock,
    ResidualMLP,
    ResidualMLPConfig,
)

__all__ = ["ACTIVATIONS", "CONV_NORMS", "ConvNet", "ConvNetConfig", "MLP", "MLPConfig",
           "NORMS", "NORM_POSITIONS", "RESIDUAL_NORMS", "RESIDUAL_NORM_POSITIONS",
           "ResidualBlock", "ResidualMLP", "ResidualMLPConfig", "linear_layers",
           "with_torch_layers"]
