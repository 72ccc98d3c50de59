"""Matrix products of the fully connected layers on CUDA: one cuBLAS product through ``cupy.matmul``
(a 2-D product with transposed views keeps cuBLAS's transpose flags: no copies)."""

from .. import get_array_module
from .launch import on_device

__all__ = ["matmul2d"]


@on_device
def matmul2d(a, b):
    """``a @ b`` for 2-D arrays of one float dtype."""
    return get_array_module(a).matmul(a, b)
