"""Hypothesis strategies for tensors and the arrays behind them.

``arrays`` draws NumPy arrays (for references), ``tensors`` draws gradcnn Tensors; both take a shape
or draw one, bound their elements, can keep values away from kinks (``avoid``), and by default
sometimes return non-contiguous layouts (strided or transposed views), since kernels that assume
contiguity are a classic bug.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    broadcastable_shapes,
    mutually_broadcastable_shapes,
)

from ..tensor import Tensor

__all__ = [
    "arrays",
    "tensors",
    "array_shapes",
    "broadcastable_shapes",
    "mutually_broadcastable_shapes",
    "floats",
]


def floats(min_value=-10.0, max_value=10.0, *, avoid=(), margin=1e-3, width=64):
    """Finite floats in ``[min_value, max_value]``, at least ``margin`` away from each value in
    ``avoid`` (say ``avoid=(0,)`` for ``abs`` or ``relu``, whose derivative jumps there)."""
    base = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=width)
    if avoid:
        base = base.filter(lambda v: all(abs(v - a) > margin for a in avoid))
    return base


def _layout(draw, values, noncontiguous):
    """``values`` (C-contiguous) possibly re-laid out as a strided or transposed view."""
    if values.ndim == 0 or values.size < 2:
        return values
    if noncontiguous is None:
        noncontiguous = draw(st.booleans())
    if not noncontiguous:
        return values
    if draw(st.booleans()):
        # strided: every other element of a buffer twice as long in the last dim
        buf = np.zeros(values.shape[:-1] + (2 * values.shape[-1],), dtype=values.dtype)
        view = buf[..., ::2]
        view[...] = values
        return view
    # transposed: a Fortran-ordered copy has the same values and a different memory layout
    return np.asfortranarray(values)


@st.composite
def arrays(draw, shape=None, *, dtype=np.float64, min_value=-10.0, max_value=10.0, avoid=(),
           margin=1e-3, elements=None, noncontiguous=None, min_dims=0, max_dims=4, min_side=1, max_side=5,
           unique=False):
    """A NumPy array of ``shape`` (drawn when ``None``; may be a strategy) with values in
    ``[min_value, max_value]``, each more than ``margin`` away from the values in ``avoid``."""
    if shape is None:
        shape = draw(array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))
    elif isinstance(shape, st.SearchStrategy):
        shape = draw(shape)
    dtype = np.dtype(dtype)
    if elements is None:
        if dtype.kind == "f":
            elements = floats(min_value, max_value, avoid=avoid, margin=margin,
                              width=min(64, dtype.itemsize * 8))
        elif dtype.kind == "b":
            elements = st.booleans()
        else:
            elements = st.integers(int(min_value), int(max_value))
    size = int(np.prod(shape))
    values = draw(st.lists(elements, min_size=size, max_size=size, unique=unique))
    arr = np.array(values, dtype=dtype).reshape(shape)
    return _layout(draw, arr, noncontiguous)


@st.composite
def tensors(draw, shape=None, *, dtype=np.float64, requires_grad=False, **kwargs):
    """A Tensor over :func:`arrays` (same arguments); ``requires_grad`` for floating dtypes."""
    arr = draw(arrays(shape, dtype=dtype, **kwargs))
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t
