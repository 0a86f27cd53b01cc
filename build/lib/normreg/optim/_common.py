"""What the book's optimizers share: torch's kernel-selecting options, refused unless default."""

from __future__ import annotations

__all__ = ["KERNEL_OPTIONS", "check_kernel_options"]

# Options of torch.optim that choose *how* torch computes a step (several tensors per kernel,
# one fused kernel, CUDA-graph capture, a step autograd can differentiate), not *what* it
# computes. The book's optimizers have one way to step, written out in their step(); the
# options are kept, at their defaults, in every parameter group, so that state dicts load into
# torch's optimizers and back.
KERNEL_OPTIONS = {"foreach": None, "capturable": False, "differentiable": False, "fused": None}


def check_kernel_options(cls: str, **options: object) -> dict[str, object]:
    """``options`` if every one is at its default (None or False), else a ``ValueError``."""
    for name, value in options.items():
        if value not in (None, False):
            raise ValueError(f"{cls}: {name}={value!r} is not supported: it selects one of "
                             f"torch's kernels, and this optimizer has one way to step, written "
                             f"out in step(); leave {name} at {KERNEL_OPTIONS[name]!r}")
    return {name: KERNEL_OPTIONS[name] for name in options}
