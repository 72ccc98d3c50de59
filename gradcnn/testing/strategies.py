"""Hypothesis strategies for tensors and the arrays behind them.

``arrays`` draws NumPy arrays (for references), ``tensors`` draws gradcnn Tensors; both take a shape
or draw one, bound their elements, can keep values away from kinks (``avoid``), and by default
sometimes return non-contiguous layouts (strided or transposed views), since kernels that assume
contiguity are a classic bug.
"""

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    broadcastable_shapes,
    mutually_broadcastable_shapes,
)

from .. import geometry
from ..tensor import Tensor

__all__ = [
    "arrays",
    "tensors",
    "array_shapes",
    "broadcastable_shapes",
    "mutually_broadcastable_shapes",
    "floats",
    "conv_cases",
    "pool_cases",
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


def _per_dim(draw, nd, lo, hi):
    return tuple(draw(st.integers(lo, hi)) for _ in range(nd))


@st.composite
def conv_cases(draw, nd=2, *, transposed=False, max_batch=2, max_channels=4, max_size=5, max_kernel=3,
               max_stride=3, max_dilation=2, bias=None, padding_strings=True, min_value=-2.0, max_value=2.0):
    """``((x, w, b), config)`` for ``conv{nd}d`` (or ``conv_transpose{nd}d``): float64 arrays of
    consistent shapes (``b`` may be ``None``) and the keyword arguments, drawn over the whole
    configuration space: groups (depthwise included), strides larger than the kernel, dilation,
    int/tuple/string padding, output_padding."""
    groups = draw(st.sampled_from([1, 1, 2]))
    per_in = draw(st.integers(1, max(1, max_channels // groups)))
    per_out = draw(st.integers(1, max(1, max_channels // groups)))
    c_in, c_out = groups * per_in, groups * per_out
    kernel = _per_dim(draw, nd, 1, max_kernel)
    stride = _per_dim(draw, nd, 1, max_stride)
    dilation = _per_dim(draw, nd, 1, max_dilation)
    k_eff = geometry.effective_kernel_size(kernel, dilation)
    config = {"stride": stride, "dilation": dilation, "groups": groups}
    if transposed:
        padding = _per_dim(draw, nd, 0, 2)
        out_pad = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        sizes = _per_dim(draw, nd, 1, max_size)
        out = [geometry.conv_transpose_output_size(n, k, s, p, o, d)
               for n, k, s, p, o, d in zip(sizes, kernel, stride, padding, out_pad, dilation)]
        assume(all(o >= 1 for o in out))
        config.update(padding=padding, output_padding=out_pad)
        w_shape = (c_in, per_out) + kernel
    else:
        choices = [st.integers(0, 2), st.tuples(*[st.integers(0, 2)] * nd)]
        if padding_strings:
            choices.append(st.sampled_from(["valid", "same", "full"]))
        padding = draw(st.one_of(*choices))
        if padding in ("same", "full"):
            lows = [1] * nd
        else:
            pads = (0,) * nd if padding == "valid" else ((padding,) * nd if isinstance(padding, int) else padding)
            lows = [max(1, ke - 2 * p) for ke, p in zip(k_eff, pads)]
        sizes = tuple(draw(st.integers(lo, lo + max_size - 1)) for lo in lows)
        config["padding"] = padding
        w_shape = (c_out, per_in) + kernel
    batch = draw(st.integers(1, max_batch))
    with_bias = draw(st.booleans()) if bias is None else bias
    x = draw(arrays((batch, c_in) + sizes, min_value=min_value, max_value=max_value, noncontiguous=None))
    w = draw(arrays(w_shape, min_value=min_value, max_value=max_value))
    b = draw(arrays((c_out,), min_value=min_value, max_value=max_value)) if with_bias else None
    return (x, w, b), config


def _windows_touch_input(n, k, s, p, d, ceil_mode):
    out = geometry.pool_output_size(n, k, s, p, d, ceil_mode)
    return all(any(0 <= o * s - p + a * d < n for a in range(k)) for o in range(out))


@st.composite
def pool_cases(draw, nd=2, kind="max", *, max_batch=2, max_channels=3, max_size=6, max_kernel=3,
               max_stride=3, max_dilation=2, min_value=-5.0, max_value=5.0):
    """``((x,), config)`` for a pooling function: ``kind`` is ``"max"``, ``"avg"``,
    ``"adaptive_max"`` or ``"adaptive_avg"``. Max pools get tie-free inputs (distinct values), so
    the gradient is defined everywhere."""
    batch = draw(st.integers(1, max_batch))
    channels = draw(st.integers(1, max_channels))
    if kind.startswith("adaptive"):
        sizes = _per_dim(draw, nd, 1, max_size)
        config = {"output_size": tuple(draw(st.integers(1, n + 1)) for n in sizes)}
    else:
        kernel = _per_dim(draw, nd, 1, max_kernel)
        stride = _per_dim(draw, nd, 1, max_stride)
        padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
        dilation = _per_dim(draw, nd, 1, max_dilation) if kind == "max" else (1,) * nd
        ceil_mode = draw(st.booleans())
        lows = [max(1, ke - 2 * p) for ke, p in zip(geometry.effective_kernel_size(kernel, dilation), padding)]
        sizes = tuple(draw(st.integers(lo, lo + max_size - 1)) for lo in lows)
        # A dilated window may fall wholly in the padding (its max is -inf); keep to windows that
        # touch the input, where the gradient is defined.
        assume(all(_windows_touch_input(*a, ceil_mode) for a in zip(sizes, kernel, stride, padding, dilation)))
        config = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
        if kind == "max":
            config["dilation"] = dilation
        else:
            config["count_include_pad"] = draw(st.booleans())
    shape = (batch, channels) + sizes
    if kind.endswith("max"):
        # distinct values spaced well apart: no ties, and finite differences cannot reorder them
        size = int(np.prod(shape))
        order = draw(st.permutations(range(size)))
        x = (np.array(order, dtype=np.float64).reshape(shape) - size / 2) * 0.1
        x = _layout(draw, x, None)
    else:
        x = draw(arrays(shape, min_value=min_value, max_value=max_value))
    return (x,), config
