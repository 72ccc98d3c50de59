"""Pooling: max and average, fixed windows (overlapping allowed) and adaptive ones.

Every pool is described by its windows, one list per spatial dim: where each output's window starts,
how many taps it has and their spacing (dilation). Fixed and adaptive pools differ only in how the
windows are computed, so one kernel of each kind serves both. 1-D pools run as 2-D with height 1.

Primitives and their derivatives:

* ``MaxPool`` -> values; backward ``MaxScatter`` (add each gradient at its argmax), whose backward is
  ``MaxGather`` (read at the argmax), whose backward is ``MaxScatter`` again.
* ``AvgPool`` is linear; its backward is its adjoint ``AvgPoolAdjoint``, and the adjoint's backward
  is ``AvgPool``.

Output sizes and average divisors follow PyTorch exactly, ``ceil_mode`` and ``count_include_pad``
included: with ``ceil_mode`` the last window must start inside the input or its left padding; with
``count_include_pad`` the divisor counts padding but not the part of a window past the padding. The
sizes and the checks of the window arguments live in :mod:`gradcnn.geometry`.

As in PyTorch, an unbatched ``(C, *spatial)`` input pools as a batch of one; max pooling takes
integer input too (every integer dtype but bool), average pooling int64 (the means truncated toward
zero); an adaptive ``output_size`` of 0 gives an empty result.
"""

import numpy as np

from .. import geometry
from ..arguments import flag, integer
from ..autograd.function import Function
from ..backends import backend_of
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor
from .shape import reshape

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
]


# -- primitives ---------------------------------------------------------------------------------


class MaxPool(Function):
    @staticmethod
    def forward(ctx, x, *, win, watch=()):
        hstart, hcount, dh, wstart, wcount, dw = win.max_windows
        y, idx = backend_of(x).max_pool2d_forward(x, hstart, hcount, dh, wstart, wcount, dw, win.out_hw)
        # The gradient goes where the input had its maxima: changing the input in place before
        # backward is an error, as in PyTorch (which saves the input).
        ctx.watch(*watch)
        ctx.idx, ctx.in_hw = idx, x.shape[2:]
        ctx.mark_non_differentiable(idx)
        return y, idx

    @staticmethod
    def backward(ctx, g, _g_indices):
        return MaxScatter.apply(g, idx=ctx.idx, in_hw=ctx.in_hw)


class MaxScatter(Function):
    @staticmethod
    def forward(ctx, g, *, idx, in_hw):
        ctx.idx, ctx.in_hw = idx, in_hw
        return backend_of(g).max_pool2d_scatter(g, idx, in_hw)

    @staticmethod
    def backward(ctx, gg):
        return MaxGather.apply(gg, idx=ctx.idx, in_hw=ctx.in_hw)


class MaxGather(Function):
    @staticmethod
    def forward(ctx, gg, *, idx, in_hw):
        ctx.idx, ctx.in_hw = idx, in_hw
        return backend_of(gg).max_pool2d_gather(gg, idx)

    @staticmethod
    def backward(ctx, g):
        return MaxScatter.apply(g, idx=ctx.idx, in_hw=ctx.in_hw)


class AvgPool(Function):
    @staticmethod
    def forward(ctx, x, *, win):
        ctx.win, ctx.in_hw = win, x.shape[2:]
        return backend_of(x).avg_pool2d_forward(x, *win.avg_windows)

    @staticmethod
    def backward(ctx, g):
        return AvgPoolAdjoint.apply(g, win=ctx.win, in_hw=ctx.in_hw)


class AvgPoolAdjoint(Function):
    @staticmethod
    def forward(ctx, g, *, win, in_hw):
        ctx.win = win
        return backend_of(g).avg_pool2d_backward(g, *win.avg_windows, in_hw)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool.apply(gg, win=ctx.win)


# -- windows ------------------------------------------------------------------------------------


class _Windows:
    """The windows of one pooling call, in the arrays the kernels take."""

    __slots__ = ("out_hw", "max_windows", "avg_windows")

    def __init__(self, out_hw, max_windows=None, avg_windows=None):
        self.out_hw = out_hw
        self.max_windows = max_windows
        self.avg_windows = avg_windows


# The dtypes each kind of pool takes, as PyTorch's CPU kernels: max pooling floats and every
# integer dtype (not bool), average pooling floats and int64, adaptive pools floats only.
_KINDS = {"max": "fiu", "avg": "f", "adaptive_max": "f", "adaptive_avg": "f"}
_TAKES = {"max": "floating or integer", "avg": "floating or int64", "adaptive_max": "floating", "adaptive_avg": "floating"}


def _batched(input, op, nd, kind):
    """``(input as (N, C, *spatial), whether a batch dim was added)``: an unbatched ``(C, *spatial)``
    input is pooled as a batch of one, as PyTorch does."""
    if not isinstance(input, Tensor):
        raise DTypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    layout = "(C, L) or (N, C, L)" if nd == 1 else "(C, H, W) or (N, C, H, W)"
    if input.ndim < nd + 1:
        # PyTorch looks up dim -(nd + 1) of it: an IndexError there
        raise IndexOutOfRangeError(f"{op}: input must be {nd + 1}-D or {nd + 2}-D {layout}, got shape {input.shape}")
    if input.ndim > nd + 2:
        raise ShapeError(f"{op}: input must be {nd + 1}-D or {nd + 2}-D {layout}, got shape {input.shape}")
    if input.dtype.kind not in _KINDS[kind] and not (kind == "avg" and input.dtype == np.int64):
        raise DTypeError(f"{op}: input must be {_TAKES[kind]}, got {input.dtype.name}")
    # PyTorch's checks: no channels is an error, except in adaptive average pooling and in an
    # unbatched adaptive max pool (where they stand for the batch)
    if input.shape[-nd - 1] == 0 and kind != "adaptive_avg" and not (kind == "adaptive_max" and input.ndim == nd + 1):
        raise ShapeError(f"{op}: input must have at least one channel (dim {-nd - 1}), got shape {input.shape}")
    if input.ndim == nd + 1:
        return reshape(input, (1,) + input.shape), True
    return input, False


def _unbatched(y, added):
    """``y`` (a tensor, or values and indices) without the batch dim :func:`_batched` added."""
    if not added:
        return y
    if isinstance(y, tuple):
        return tuple(reshape(t, t.shape[1:]) for t in y)
    return reshape(y, y.shape[1:])


def _fixed(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Kernel, stride, padding, dilation and output sizes of a fixed-window pool, validated."""
    ceil_mode = flag(op, "ceil_mode", ceil_mode)
    k, s, p, d = geometry.pool_args(op, nd, kernel_size, stride, padding, dilation)
    out = geometry.pool_output_sizes(op, tuple(input.shape[2:]), k, s, p, d, ceil_mode)
    geometry.check_fits(op, "the output", tuple(input.shape[:2]) + tuple(out), input.dtype.itemsize)
    return k, s, p, d, out


def _max_dim(out, n, k, s, p, d):
    """Per output: the first tap inside the input and the number of taps inside it (the kernel
    then needs no bounds checks). A window wholly in the padding gets no taps."""
    start = np.arange(out, dtype=np.int64) * s - p
    first = np.where(start < 0, -(start // d), 0)  # taps skipped on the left: ceil(-start / d)
    last = np.minimum(k - 1, (n - 1 - start) // d)  # last tap inside the input
    count = np.maximum(last - first + 1, 0)
    return start + first * d, count, d


def _avg_dim(out, n, k, s, p, count_include_pad):
    start = np.arange(out, dtype=np.int64) * s - p
    end_padded = np.minimum(start + k, n + p)
    size_padded = end_padded - start
    lo = np.maximum(start, 0)
    hi = np.minimum(end_padded, n)
    div = size_padded if count_include_pad else hi - lo
    return lo, hi, div.astype(np.float64)


def _unit_dim():
    """The height-1 dim that lifts 1-D pools to 2-D."""
    zero, one = np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64)
    return zero, one, np.ones(1)


def _run_max(input, nd, win, return_indices):
    x = input if nd == 2 else reshape(input, (input.shape[0], input.shape[1], 1, input.shape[2]))
    y, idx = MaxPool.apply(x, win=win, watch=(input,) if input.requires_grad else ())
    if not return_indices:
        return y if nd == 2 else reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
    idx = idx.long()  # int64, as PyTorch returns them
    if nd == 1:
        y = reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
        idx = reshape(idx, (idx.shape[0], idx.shape[1], idx.shape[3]))
    return y, idx


def _run_avg(input, nd, win):
    x = input if nd == 2 else reshape(input, (input.shape[0], input.shape[1], 1, input.shape[2]))
    y = AvgPool.apply(x, win=win)
    if nd == 1:
        y = reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
    return y


# Windows of calls already validated, keyed by everything the checks and the windows depend on
# (the input's shape and dtype, the arguments as given): a network pools the same shapes step
# after step. CPU inputs and plain int arguments only (``True`` is not ``1`` here).
_validated = {}
_VALIDATED_MAX = 1024


def _plain(v):
    t = type(v)
    if t is int or t is bool or v is None:
        return (t, v)
    if t is tuple and all(type(e) is int for e in v):
        return v
    return None


def _window_key(op, input, *args):
    if not isinstance(input, Tensor) or type(input._data) is not np.ndarray:
        return None
    plain = tuple(_plain(a) for a in args)
    if any(p is None for p in plain):
        return None
    return (op, input._data.shape, input._data.dtype) + plain


def _cached_windows(key, make):
    win = _validated.get(key) if key is not None else None
    if win is None:
        win = make()
        if key is not None:
            if len(_validated) >= _VALIDATED_MAX:
                _validated.clear()
            _validated[key] = win
    return win


def _max_pool(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    input, added = _batched(input, op, nd, "max")
    if nd == 1 and input.dtype.kind != "f" and not return_indices:
        # PyTorch's 1-D max pool without indices has no integer kernel
        raise DTypeError(f"{op}: input of dtype {input.dtype.name} is not supported without return_indices "
                         "(floating input, or integer with return_indices=True)")
    key = _window_key(op, input, kernel_size, stride, padding, dilation, ceil_mode)
    win = _cached_windows(key, lambda: _max_windows(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode))
    return _unbatched(_run_max(input, nd, win, return_indices), added)


def _max_windows(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode):
    k, s, p, d, out = _fixed(op, nd, input, kernel_size, stride, padding, dilation, ceil_mode)
    sizes = input.shape[2:]
    dims = [_max_dim(o, n, ki, si, pi, di) for o, n, ki, si, pi, di in zip(out, sizes, k, s, p, d)]
    if nd == 1:
        zero, one, _ = _unit_dim()
        dims = [(zero, one, 1)] + dims
        out = (1,) + out
    return _Windows(out, max_windows=(*dims[0], *dims[1]))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of ``(N, C, L)``; ``stride`` defaults to ``kernel_size``."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over sliding windows of ``(N, C, H, W)``; overlapping when ``stride < kernel_size``.
    ``return_indices=True`` also returns the flat (``h * W + w``) position of each maximum."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    input, added = _batched(input, op, nd, "avg")
    key = _window_key(op, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    win = _cached_windows(key, lambda: _avg_windows(op, nd, input, kernel_size, stride, padding, ceil_mode,
                                                    count_include_pad, divisor_override))
    return _unbatched(_run_avg(input, nd, win), added)


def _avg_windows(op, nd, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    k, s, p, d, out = _fixed(op, nd, input, kernel_size, stride, padding, 1, ceil_mode)
    count_include_pad = flag(op, "count_include_pad", count_include_pad)
    divisor_override = integer(op, "divisor_override", divisor_override, allow_none=True)
    if divisor_override == 0:
        raise ShapeError(f"{op}: divisor_override must not be zero, got divisor_override=0")
    sizes = input.shape[2:]
    dims = [_avg_dim(o, n, ki, si, pi, count_include_pad) for o, n, ki, si, pi in zip(out, sizes, k, s, p)]
    if nd == 1:
        zero, one, ones = _unit_dim()
        dims = [(zero, one, ones)] + dims
    (hs, he, dh), (ws, we, dw) = dims
    div = np.outer(dh, dw) if divisor_override is None else np.full((len(hs), len(ws)), float(divisor_override))
    return _Windows(div.shape, avg_windows=(hs, he, ws, we, div))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """Mean over sliding windows of ``(N, C, L)``."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Mean over sliding windows of ``(N, C, H, W)``; ``count_include_pad`` counts padded zeros in
    the divisor (as PyTorch), ``divisor_override`` replaces the divisor."""
    return _avg_pool("avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override)


def _adaptive_sizes(op, nd, input, output_size):
    sizes = input.shape[2:]
    # PyTorch's 1-D adaptive pools take ints only; the 2-D ones read None as "keep that size"
    out = geometry.adaptive_output_size(op, output_size, nd, allow_none=nd > 1)
    out = tuple(n if o is None else o for o, n in zip(out, sizes))
    if any(n < 1 for n in sizes):
        raise ShapeError(f"{op}: input spatial size {sizes} must be at least 1 in every dim")
    geometry.check_fits(op, "the output", tuple(input.shape[:2]) + tuple(out), input.dtype.itemsize)
    return sizes, out


def adaptive_avg_pool1d(input, output_size):
    """Mean over ``output_size`` windows spread evenly over ``(N, C, L)`` (PyTorch's windows)."""
    return _adaptive_avg("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input, output_size):
    """Mean over windows spread evenly over ``(N, C, H, W)``; ``output_size=1`` is global average
    pooling. ``None`` in ``output_size`` keeps that input size."""
    return _adaptive_avg("adaptive_avg_pool2d", 2, input, output_size)


def _adaptive_avg(op, nd, input, output_size):
    input, added = _batched(input, op, nd, "adaptive_avg")
    sizes, out = _adaptive_sizes(op, nd, input, output_size)
    dims = [geometry.adaptive_windows(n, o) for n, o in zip(sizes, out)]
    if nd == 1:
        dims = [(np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64))] + dims
    (hs, he), (ws, we) = dims
    div = np.outer(he - hs, we - ws).astype(np.float64)
    win = _Windows(div.shape, avg_windows=(hs, he, ws, we, div))
    return _unbatched(_run_avg(input, nd, win), added)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over ``output_size`` windows spread evenly over ``(N, C, L)``; ``output_size=1`` is
    max-over-time pooling."""
    return _adaptive_max("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over windows spread evenly over ``(N, C, H, W)``."""
    return _adaptive_max("adaptive_max_pool2d", 2, input, output_size, return_indices)


def _adaptive_max(op, nd, input, output_size, return_indices):
    input, added = _batched(input, op, nd, "adaptive_max")
    sizes, out = _adaptive_sizes(op, nd, input, output_size)
    dims = []
    for n, o in zip(sizes, out):
        start, end = geometry.adaptive_windows(n, o)
        dims.append((start, end - start, 1))
    if nd == 1:
        dims = [(np.zeros(1, dtype=np.int64), np.ones(1, dtype=np.int64), 1)] + dims
        out = (1,) + out
    win = _Windows(out, max_windows=(*dims[0], *dims[1]))
    return _unbatched(_run_max(input, nd, win, return_indices), added)
