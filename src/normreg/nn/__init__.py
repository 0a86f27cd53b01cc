"""From-scratch layers, each a drop-in twin of its ``torch.nn`` counterpart.

- :class:`LayerNorm1d`  (``torch.nn.LayerNorm`` on (N, dim) input): normalizes each row
- :class:`BatchNorm1d`  (``torch.nn.BatchNorm1d`` on (N, dim) input): normalizes each column
- :class:`Dropout`      (``torch.nn.Dropout``): inverted dropout
- :class:`NoisyBatchNorm1d` batch norm plus Santurkar et al.'s injected non-stationary noise

Each module also offers its formula as functions (``layer_norm`` with the hand-derived backward,
``layer_norm_naive`` left to autograd, ...), and :mod:`normreg.nn.fused` the formulas compiled
by ``torch.compile``: the ladder that the book's appendix "How fast is this?" measures.
"""

from normreg.nn.batchnorm import BatchNorm1d
from normreg.nn.dropout import Dropout
from normreg.nn.layernorm import LayerNorm1d
from normreg.nn.noisy import NoisyBatchNorm1d

__all__ = ["BatchNorm1d", "Dropout", "LayerNorm1d", "NoisyBatchNorm1d"]
