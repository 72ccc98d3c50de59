"""Activations on the CPU: one pass of a Numba kernel instead of NumPy's several (compare, cast,
multiply), split between gradcnn's worker threads for large arrays (:func:`.threads.over_range`)."""

import numpy as np

from .threads import _k, over_range

__all__ = ["relu_forward", "relu_backward"]


def relu_forward(x):
    """``max(x, 0)``; NaN stays NaN (NumPy's maximum, one pass)."""
    return np.maximum(x, x.dtype.type(0))


def relu_backward(g, y):
    """``g`` where ``y`` (ReLU's output) is positive, else 0: one pass, no mask array."""
    if g.dtype != y.dtype or not g.flags.c_contiguous:
        g = np.ascontiguousarray(g, dtype=y.dtype).reshape(g.shape)  # (0-d stays 0-d)
    if not y.flags.c_contiguous:
        y = np.ascontiguousarray(y)
    out = np.empty(y.shape, dtype=y.dtype)
    gf, yf, of = g.reshape(-1), y.reshape(-1), out.reshape(-1)
    kernel = _k()._relu_bwd
    over_range(lambda lo, hi: kernel(gf[lo:hi], yf[lo:hi], of[lo:hi]), of.size)
    return out
