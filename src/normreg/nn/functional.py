"""The functional forms of the layers, where PyTorch keeps them (``torch.nn.functional``).

Each has torch's signature and a hand-written backward pass:

- :func:`layer_norm` (``torch.nn.functional.layer_norm``, one normalized dimension)
- :func:`rms_norm`   (``torch.nn.functional.rms_norm``, one normalized dimension)
- :func:`group_norm` (``torch.nn.functional.group_norm``)
- :func:`batch_norm` (``torch.nn.functional.batch_norm``)
- :func:`dropout`    (``torch.nn.functional.dropout``)

They are defined beside their modules (:mod:`normreg.nn.layernorm`, ...), one concept per
file; this module only gathers them, so that ``from normreg.nn import functional as F`` reads
as it does with torch.
"""

from normreg.nn.batchnorm import batch_norm
from normreg.nn.dropout import dropout
from normreg.nn.groupnorm import group_norm
from normreg.nn.layernorm import layer_norm
from normreg.nn.rmsnorm import rms_norm

__all__ = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "dropout"]
