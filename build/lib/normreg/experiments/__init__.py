r"""Experiments that belong to one chapter.

- :mod:`normreg.experiments.ridge`: ridge regression with more features than examples, where the
  :math:`\ell_2` penalty helps (chapter 4)
- :mod:`normreg.experiments.sweep`: a grid of training runs over several factors, and 2-D
  tables of its results (chapter 6)
- :mod:`normreg.experiments.tent`: test-time adaptation of a batch-norm network, test-batch
  statistics and Tent (chapter 8)
"""
