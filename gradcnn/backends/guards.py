"""What the CPU and CUDA backends decide and check alike, in one place.

Both backends take arrays that the ops have already validated; what is left to decide is about the
kernels themselves: when a convolution needs no column matrix at all, and which sizes the kernels'
index types can address. This module imports NumPy only (neither Numba nor CuPy), so either backend
can use it without importing the other. Its helpers work on NumPy and CuPy arrays alike.
"""

from ..errors import ShapeError

__all__ = ["INT32_LIMIT", "pointwise", "check_plane_fits_int32", "add_bias"]

#: Positions that an int32 index can hold: ``[0, INT32_LIMIT)``.
INT32_LIMIT = 2**31


def pointwise(ksize, stride, pads, in_hw, out_hw):
    """Whether a convolution is 1x1 with stride 1, no padding and equal input and output sizes (a
    transposed one can add output_padding, which then differs): a plain matrix product per sample,
    with no column matrix to build. Both backends run it as one batched GEMM."""
    return (tuple(ksize) == (1, 1) and tuple(stride) == (1, 1) and tuple(pads) == ((0, 0), (0, 0))
            and tuple(in_hw) == tuple(out_hw))


def check_plane_fits_int32(op, hw):
    """Raise unless every position within one ``H x W`` plane fits an int32 (the max-pool argmax
    indices are such positions)."""
    h, w = hw
    if h * w >= INT32_LIMIT:
        raise ShapeError(f"{op}: a plane of {h}x{w} = {h * w} elements has positions beyond int32 "
                         f"(at most 2**31 = {INT32_LIMIT} elements per plane)")


def add_bias(y, b):
    """``y += b`` over the channels of an ``(N, C, H, W)`` result, in place; nothing when ``b`` is
    None. Returns ``y``."""
    if b is not None:
        y += b.reshape(1, y.shape[1], 1, 1)
    return y
