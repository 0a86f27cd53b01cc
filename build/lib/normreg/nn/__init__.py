"""From-scratch layers, each a drop-in twin of its ``torch.nn`` counterpart.

- :class:`LayerNorm`    (``torch.nn.LayerNorm``): normalizes each example (each row)
- :class:`BatchNorm1d`  (``torch.nn.BatchNorm1d``): normalizes each feature over the batch (each
  column)
- :class:`Dropout`      (``torch.nn.Dropout``): inverted dropout
- :class:`NoisyBatchNorm1d` batch norm plus Santurkar et al.'s injected non-stationary noise

:mod:`normreg.nn.functional` holds their functional forms (``layer_norm``, ``batch_norm``,
``dropout``, with torch's signatures and hand-derived backward passes), :mod:`normreg.nn.init`
the initialization ``scaled_normal_``, and :mod:`normreg.nn.fused` the formulas compiled by
``torch.compile``: the ladder that the book's appendix "How fast is this?" measures. Each
module file also keeps its formula left to autograd (``layer_norm_naive``, ...).
"""

from normreg.nn import functional, init
from normreg.nn.batchnorm import BatchNorm1d
from normreg.nn.dropout import Dropout
from normreg.nn.layernorm import LayerNorm
from normreg.nn.noisy import NoisyBatchNorm1d, hold_noise

__all__ = ["BatchNorm1d", "Dropout", "LayerNorm", "NoisyBatchNorm1d", "functional", "hold_noise",
           "init"]
