"""Activations on CUDA: CuPy's elementwise ops (each one kernel over the array)."""

from .. import get_array_module
from .launch import on_device

__all__ = ["relu_forward", "relu_backward"]


@on_device
def relu_forward(x):
    """``max(x, 0)``; NaN stays NaN."""
    return get_array_module(x).maximum(x, x.dtype.type(0))


@on_device
def relu_backward(g, y):
    """``g`` where ``y`` (ReLU's output) is positive or NaN, else 0."""
    xp = get_array_module(y)
    return xp.where(y <= 0, y.dtype.type(0), g.astype(y.dtype, copy=False))  # NaN passes g, as in PyTorch
