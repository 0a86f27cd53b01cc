"""From-scratch layers, each a drop-in twin of its ``torch.nn`` counterpart.

- :class:`LayerNorm`    (``torch.nn.LayerNorm``): normalizes each example (each row)
- :class:`RMSNorm`      (``torch.nn.RMSNorm``): layer norm without the centring (no mean
  subtracted, no bias)
- :class:`GroupNorm`    (``torch.nn.GroupNorm``): normalizes each example's channels in groups
- :class:`BatchNorm1d`  (``torch.nn.BatchNorm1d``): normalizes each feature over the batch (each
  column)
- :class:`BatchNorm2d`  (``torch.nn.BatchNorm2d``): normalizes each channel of images over the
  batch and every pixel
- :class:`Dropout`      (``torch.nn.Dropout``): inverted dropout
- :class:`NoisyBatchNorm1d` batch norm plus Santurkar et al.'s injected non-stationary noise

:mod:`normreg.nn.functional` holds their functional forms (``layer_norm``, ``rms_norm``,
``group_norm``, ``batch_norm``, ``dropout``, with torch's signatures and hand-derived backward
passes), :mod:`normreg.nn.init` the initialization ``scaled_normal_``,
:mod:`normreg.nn.utils.fusion` the folding of an eval-mode batch norm into the linear layer
beside it (``torch.nn.utils.fusion``), and :mod:`normreg.nn.fused` the formulas compiled by
``torch.compile``: the ladder that the book's appendix "How fast is this?" measures. Each
module file also keeps its formula left to autograd (``layer_norm_naive``, ...).
"""

from normreg.nn import functional, init, utils
from normreg.nn.batchnorm import BatchNorm1d, BatchNorm2d
from normreg.nn.dropout import Dropout
from normreg.nn.groupnorm import GroupNorm
from normreg.nn.layernorm import LayerNorm
from normreg.nn.noisy import NoisyBatchNorm1d, hold_noise
from normreg.nn.rmsnorm import RMSNorm

__all__ = ["BatchNorm1d", "BatchNorm2d", "Dropout", "GroupNorm", "LayerNorm", "NoisyBatchNorm1d",
           "RMSNorm", "functional", "hold_noise", "init", "utils"]
