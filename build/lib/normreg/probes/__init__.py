"""The measurements the chapters make on networks and on training.

- :mod:`normreg.probes.diagnostics`: per-layer activation, gradient and weight norms, and their
  mean-field predictions (chapters 1-3)
- :mod:`normreg.probes.estimators`: dropout's subset sum and the minibatch gradient as unbiased
  estimators (chapter 5)
- :mod:`normreg.probes.dropout`: the penalty that dropout's noise adds to the expected loss
  (chapter 5)
- :mod:`normreg.probes.landscape`: Santurkar et al.'s internal covariate shift and smoothness
  along the gradient (chapter 7)
- :mod:`normreg.probes.sharpness`: the top Hessian eigenvalue by power iteration (chapter 7)
"""
