r"""Distribution shifts of MNIST test images, at severities 1-5 (in the spirit of MNIST-C and
ImageNet-C, Hendrycks and Dietterich 2019).

Each shift acts on the pixels (values in [0, 1], images 28 x 28) and the result is clipped to
[0, 1] and standardized with the *training* set's mean and standard deviation, exactly as the
clean test set was: the network sees shifted inputs through the same preprocessing.

=================  ==========================================================  ==============
kind               what it does                                                severity 1..5
=================  ==========================================================  ==============
``gaussian_noise`` add N(0, s^2) to every pixel                                s = 0.2 .. 1.0
``blur``           convolve with a Gaussian kernel of standard deviation s px  s = 0.6 .. 2.0
``contrast``       move every pixel toward the image's mean: mean + f (x-mean)  f = 0.5 .. 0.1
``rotation``       rotate by s degrees about the centre                         s = 15 .. 75
=================  ==========================================================  ==============

Chapter 8 of the book adapts a batch-norm network to these shifts with Tent.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch.nn import functional as F

from normreg._checks import check_choice, check_tensor
from normreg.data.mnist import Dataset

__all__ = ["SHIFTS", "SEVERITIES", "shift_pixels", "shifted_inputs", "shifted_test_set"]

SEVERITIES = (1, 2, 3, 4, 5)
SHIFTS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.2, 0.4, 0.6, 0.8, 1.0),
    "blur": (0.6, 0.9, 1.2, 1.6, 2.0),
    "contrast": (0.5, 0.35, 0.25, 0.15, 0.1),
    "rotation": (15.0, 30.0, 45.0, 60.0, 75.0),
}
SIDE = 28


def _gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = math.ceil(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-t**2 / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    x = F.pad(images, (radius, radius, radius, radius))  # zero padding: the background is 0
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))  # rows
    return F.conv2d(x, kernel.view(1, 1, -1, 1))  # columns


def _rotate(images: torch.Tensor, degrees: float) -> torch.Tensor:
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=images.dtype,
                         device=images.device)
    grid = F.affine_grid(theta.expand(images.shape[0], 2, 3), list(images.shape),
                         align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def shift_pixels(pixels: torch.Tensor, kind: str, severity: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply shift ``kind`` at ``severity`` (1-5) to images (N, 784) with values in [0, 1].

    ``generator`` (a CPU generator) seeds the noise of ``gaussian_noise``; the other shifts are
    deterministic. Returns (N, 784) in [0, 1], on the device of ``pixels``: the noise is drawn on
    the CPU and moved, so that it is the same on every device.
    """
    check_choice("kind", kind, tuple(SHIFTS))
    check_choice("severity", severity, SEVERITIES)
    check_tensor("pixels", pixels, dims=(2,), floating=True)
    if pixels.shape[1] != SIDE * SIDE:
        raise ValueError(f"pixels must have shape (N, {SIDE * SIDE}), got "
                         f"{tuple(pixels.shape)}")
    level = SHIFTS[kind][severity - 1]
    if kind == "gaussian_noise":
        noise = torch.randn(pixels.shape, generator=generator, dtype=pixels.dtype)
        shifted = pixels + level * noise.to(pixels.device)
    elif kind == "contrast":
        mean = pixels.mean(dim=1, keepdim=True)
        shifted = mean + level * (pixels - mean)
    else:
        images = pixels.view(-1, 1, SIDE, SIDE)
        images = _gaussian_blur(images, level) if kind == "blur" else _rotate(images, level)
        shifted = images.reshape(-1, SIDE * SIDE)
    return shifted.clamp(0.0, 1.0)


def shifted_inputs(x: torch.Tensor, data: Dataset, kind: str, severity: int,
                   seed: int = 0) -> torch.Tensor:
    """Standardized inputs x (N, 784) of ``data`` under the shift: back to pixels, shifted,
    standardized again with the training set's statistics, as a deployed model's inputs are."""
    pixels = (x * data.pixel_std + data.pixel_mean).clamp(0.0, 1.0)
    generator = torch.Generator().manual_seed(seed)
    shifted = shift_pixels(pixels, kind, severity, generator)
    return (shifted - data.pixel_mean) / data.pixel_std


def shifted_test_set(data: Dataset, kind: str, severity: int, seed: int = 0) -> Dataset:
    """``data`` with its test images shifted (training set untouched), standardized as before."""
    return replace(data, x_test=shifted_inputs(data.x_test, data, kind, severity, seed))
