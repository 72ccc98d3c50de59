"""Resampling: ``interpolate`` (``nearest``, ``nearest-exact``, ``linear``, ``bilinear``, ``bicubic``,
``trilinear``, ``area``), of 1, 2 or 3 spatial dims.

Resizing one spatial dim is a linear map ``y = A x`` whose matrix ``A`` (output length x input
length) has a few entries per row: one for nearest (a copy of the chosen input), two for linear
interpolation (the neighbours ``i0`` and ``i1`` with weights ``1 - l`` and ``l``), four for
bicubic (Keys' kernel with ``A = -0.75``, the taps clamped to the input, as PyTorch). A
:class:`Table` holds those rows as ``(out, K)`` index and weight arrays; ``Resample`` applies it
along one axis, and ``bilinear`` is ``Resample`` along W, then along H. That is the order and the
association PyTorch's CPU kernel uses (``h0 * (w0 * x00 + w1 * x01) + h1 * (...)``), so float64
results agree to rounding.

``Resample`` is the one primitive, and it is its own family: its backward is ``Resample`` with
the transposed table (a scatter written as a gather: for each input position, the outputs that
read it, in increasing order, padded to a common count with a slot that reads an appended zero),
and the transpose of that is the original table. Every pass is therefore a fixed sequence of
gathers, multiplies and adds: deterministic, the same on NumPy and CuPy, with higher derivatives
free. Zero weights are kept where PyTorch keeps them, so ``0 * inf`` and ``0 * nan`` give NaN
exactly where PyTorch's do.

Source positions follow PyTorch's formulas: linear modes read ``scale * (o + 0.5) - 0.5`` clamped
at 0 (rounded once, as PyTorch's fused multiply-add gives it), or ``o * (in - 1) / (out - 1)`` with
``align_corners=True``, in float32 for float16/float32 input and in float64 for float64; ``scale``
is ``1 / scale_factor`` when a scale factor was given (and not recomputed), else ``in / out``.
``nearest`` reads ``floor(o * scale)`` and ``nearest-exact`` ``floor((o + 0.5) * scale)``, both
rounded to float32 before the floor as PyTorch's kernels do, with 2-D ``nearest``'s shortcuts for
an output of the same size (a copy) or twice the size (``o // 2``). Where ``o * scale`` lies within
float32 rounding of an integer, PyTorch's own CPU kernels disagree with each other (their choice
depends on the dtype and even on the tensor's size), so the neighbouring index may be picked
there. ``area`` is adaptive average pooling (of a volume: one axis at a time, the means of its
adaptive windows).
"""

import functools
import math
import numbers

import numpy as np

from .. import geometry
from ..autograd.function import Function
from ..backends import device_of, get_array_module, to_device
from ..errors import DTypeError, ShapeError
from .elementwise import cast
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from .shape import as_tensor_arg

__all__ = ["interpolate", "interpolate_config", "MODES"]

MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
# the number of spatial dims each interpolating mode needs
_LINEAR = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_NOT_PROVIDED = ("lanczos",)


# -- the primitive ------------------------------------------------------------------------------


class Table:
    """Row ``o`` of a resampling matrix along one axis: ``y[o] = sum_k weight[o, k] * x[index[o, k]]``.

    ``weight`` is ``None`` when every entry is 1 (nearest). ``padded`` tables point some entries
    at position ``size`` (one past the input), which reads an appended zero.
    """

    __slots__ = ("index", "weight", "size", "padded", "_transposed", "_on_device")

    def __init__(self, index, weight, size, padded=False):
        self.index, self.weight, self.size, self.padded = index, weight, size, padded
        self._transposed = None
        self._on_device = {}

    def transpose(self):
        """The table of the adjoint map (``A^T``), built once; its transpose is ``self``."""
        if self._transposed is None:
            self._transposed = _transpose(self)
            self._transposed._transposed = self
        return self._transposed

    def arrays(self, like):
        """``(index, weight)`` on the device of the array ``like``."""
        if type(like) is np.ndarray:
            return self.index, self.weight
        device = device_of(like)
        cached = self._on_device.get(device)
        if cached is None:
            weight = None if self.weight is None else to_device(self.weight, device)
            cached = self._on_device[device] = (to_device(self.index, device), weight)
        return cached

    def apply(self, x, axis):
        xp = get_array_module(x)
        index, weight = self.arrays(x)
        if self.padded:
            zero = xp.zeros(x.shape[:axis] + (1,) + x.shape[axis + 1:], dtype=x.dtype)
            x = xp.concatenate([x, zero], axis=axis)
        # Weights in the precision PyTorch computes with: float32 for float16 and float32.
        wdtype = np.float64 if x.dtype == np.float64 else np.float32
        bshape = (-1,) + (1,) * (x.ndim - axis - 1)
        out = None
        for k in range(self.index.shape[1]):
            term = xp.take(x, index[:, k], axis=axis)
            if weight is not None:
                term = term * weight[:, k].astype(wdtype, copy=False).reshape(bshape)
            out = term if out is None else out + term
        return out.astype(x.dtype, copy=False)


def _transpose(table):
    """Rows of ``A^T``: for each input position the (output, weight) pairs that read it, in the
    order of the outputs, padded with reads of the zero slot ``out``."""
    out, k = table.index.shape
    flat = table.index.ravel()
    # entries that read the zero slot of a padded table (position ``size``) carry no gradient
    order = np.argsort(flat, kind="stable")  # by input position, then output, then k
    order = order[flat[order] < table.size]
    counts = np.bincount(flat[order], minlength=table.size)
    width = max(int(counts.max()), 1) if counts.size else 1
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    slot = np.arange(order.size) - np.repeat(first, counts)
    index = np.full((table.size, width), out, dtype=np.int64)
    index[flat[order], slot] = order // k
    if table.weight is None:
        weight = None
    else:
        weight = np.zeros((table.size, width), dtype=table.weight.dtype)
        weight[flat[order], slot] = table.weight.ravel()[order]
    padded = bool((counts < width).any())
    return Table(index, weight, out, padded)


class Resample(Function):
    """``x`` resampled along ``axis`` by ``table``; linear, so its backward is the transpose."""

    @staticmethod
    def forward(ctx, x, *, table, axis):
        ctx.table, ctx.axis = table, axis
        return table.apply(x, axis)

    @staticmethod
    def backward(ctx, g):
        return Resample.apply(g, table=ctx.table.transpose(), axis=ctx.axis)


# -- tables, PyTorch's formulas -------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _nearest_table(size, out, scale, exact, double, two_d):
    # 2-D: PyTorch's nearest_idx (float32, with its shortcuts); 1-D: its generic kernel (the
    # input's precision). Both round the source position to float32 before the floor.
    ft = np.float64 if double and not two_d else np.float32
    s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(size) / ft(out)
    o = np.arange(out)
    if two_d and not exact and out == size:
        src = o
    elif two_d and not exact and out == 2 * size:
        src = o >> 1
    elif exact:
        src = np.floor(((o + 0.5) * np.float64(s)).astype(np.float32))  # a double product, as in C++
    else:
        src = np.floor((o.astype(ft) * s).astype(np.float32))
    index = np.minimum(src.astype(np.int64), size - 1)
    return Table(index.reshape(out, 1), None, size)


@functools.lru_cache(maxsize=256)
def _linear_table(size, out, scale, align_corners, double):
    ft = np.float64 if double else np.float32
    o = np.arange(out)
    if out == size:
        i0, lam1 = o, np.zeros(out, dtype=ft)
        i1 = i0
    else:
        src = _source_positions(size, out, scale, align_corners, ft)
        if not align_corners:
            src = np.where(src < 0, ft(0), src)
        i0 = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), size - 1)
        lam1 = np.clip(src - i0.astype(ft), ft(0), ft(1))
        i1 = i0 + (i0 < size - 1)
    index = np.stack([i0, i1], axis=1)
    weight = np.stack([ft(1) - lam1, lam1], axis=1)
    return Table(index, weight, size)


def _source_positions(size, out, scale, align_corners, ft):
    """PyTorch's source position of each output of an interpolating mode, not clamped."""
    o = np.arange(out)
    if align_corners:
        s = ft(size - 1) / ft(out - 1) if out > 1 else ft(0)
        return s * o.astype(ft)
    s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(size) / ft(out)
    # One rounding of s * (o + 0.5) - 0.5, as PyTorch's fused multiply-add gives it.
    return (np.float64(s) * (o + 0.5) - 0.5).astype(ft)


@functools.lru_cache(maxsize=256)
def _cubic_table(size, out, scale, align_corners, double):
    """PyTorch's bicubic rows: the four inputs around ``floor(src)`` (clamped to the input) with
    Keys' cubic convolution weights, ``A = -0.75``."""
    ft = np.float64 if double else np.float32
    src = _source_positions(size, out, scale, align_corners, ft)
    i0 = np.floor(src).astype(np.int64)
    t = src - i0.astype(ft)
    a = ft(-0.75)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    weight = np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1).astype(ft)
    index = np.clip(i0[:, None] + np.arange(-1, 3), 0, size - 1)
    return Table(index, weight, size)


@functools.lru_cache(maxsize=256)
def _area_table(size, out):
    """Rows of the mean over each adaptive window (``geometry.adaptive_windows``); shorter windows
    read the zero slot with weight 0."""
    start, end = geometry.adaptive_windows(size, out)
    count = end - start
    taps = start[:, None] + np.arange(max(int(count.max()), 1))
    inside = taps < end[:, None]
    index = np.where(inside, taps, size)
    weight = np.where(inside, 1.0 / count[:, None], 0.0)
    return Table(index, weight, size, padded=bool((~inside).any()))


# -- arguments ------------------------------------------------------------------------------------


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def interpolate_config(op, size=None, scale_factor=None, mode="nearest", align_corners=None,
                       recompute_scale_factor=None, antialias=False):
    """Check the arguments of ``interpolate`` that do not depend on the input (``nn.Upsample``
    checks them at construction with this function); returns ``align_corners`` with PyTorch's
    default (``False`` for the linear modes)."""
    if not isinstance(mode, str) or mode not in MODES:
        if mode in _NOT_PROVIDED:
            raise ShapeError(f"{op}: mode {mode!r} is not provided by gradcnn; use one of {MODES}")
        raise ShapeError(f"{op}: mode {mode!r} is not one of {MODES}")
    if mode in _LINEAR:
        align_corners = False if align_corners is None else align_corners
        if not isinstance(align_corners, (bool, np.bool_)):
            raise DTypeError(f"{op}: align_corners must be a bool, got {align_corners!r}")
    elif align_corners is not None:
        raise ShapeError(
            f"{op}: align_corners={align_corners!r} is only for the interpolating modes {' | '.join(_LINEAR)}, "
            f"not mode {mode!r}"
        )
    if size is not None and scale_factor is not None:
        raise ShapeError(f"{op}: give size or scale_factor, not both (got size={size!r}, scale_factor={scale_factor!r})")
    if size is None and scale_factor is None:
        raise ShapeError(f"{op}: give size or scale_factor")
    if size is not None:
        values = size if isinstance(size, (tuple, list)) else (size,)
        if not all(_is_int(v) for v in values):
            raise DTypeError(f"{op}: size must be an int or a tuple of ints, got {size!r}")
        if not all(v > 0 for v in values):
            raise ShapeError(f"{op}: output size must be positive, got size={size!r}")
        if recompute_scale_factor:
            raise ShapeError(f"{op}: recompute_scale_factor=True is not meaningful with an explicit size")
    else:
        values = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            raise DTypeError(f"{op}: scale_factor must be a number or a tuple of numbers, got {scale_factor!r}")
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ShapeError(f"{op}: scale_factor must be positive and finite, got scale_factor={scale_factor!r}")
    if antialias:
        raise ShapeError(f"{op}: antialias=True is not provided by gradcnn, got antialias={antialias!r}")
    return align_corners


def _per_dim(op, name, value, in_sizes):
    if not isinstance(value, (tuple, list)):
        return (value,) * len(in_sizes)
    if len(value) != len(in_sizes):
        raise ShapeError(
            f"{op}: {name} {tuple(value)} has {len(value)} entries but the input has {len(in_sizes)} "
            f"spatial dims {tuple(in_sizes)}; give one per spatial dim of the (N, C, *spatial) input"
        )
    return tuple(value)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)`` input, as
    ``torch.nn.functional.interpolate``: to ``size``, or by ``scale_factor`` (output
    ``floor(n * scale_factor)``). Modes ``nearest``, ``nearest-exact``, ``area`` (any of 1 to 3
    spatial dims), ``linear`` (3-D input), ``bilinear`` and ``bicubic`` (4-D input) and
    ``trilinear`` (5-D input), with ``align_corners`` for the interpolating ones. ``recompute_scale_factor=True`` sizes the output from the scale factor,
    then samples as if that size had been asked for."""
    op = "interpolate"
    as_tensor_arg(input, op)
    align_corners = interpolate_config(op, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    if input.ndim not in (3, 4, 5):
        raise ShapeError(
            f"{op}: input must be 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W), got shape {input.shape}"
        )
    nd = input.ndim - 2
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise ShapeError(
            f"{op}: got {input.ndim}-D input {input.shape}, but {mode} mode needs {_LINEAR[mode] + 2}-D input"
        )
    if input.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be floating, got {input.dtype.name}")
    in_sizes = input.shape[2:]
    if size is not None:
        out_sizes, scales = _per_dim(op, "size", size, in_sizes), (None,) * nd
    else:
        factors = tuple(float(f) for f in _per_dim(op, "scale_factor", scale_factor, in_sizes))
        if recompute_scale_factor or mode == "area":
            out_sizes, scales = tuple(int(n * f) for n, f in zip(in_sizes, factors)), (None,) * nd
        else:
            out_sizes, scales = tuple(math.floor(n * f) for n, f in zip(in_sizes, factors)), factors
    if any(n < 1 for n in in_sizes) or any(o < 1 for o in out_sizes):
        names = (("L",), ("H", "W"), ("D", "H", "W"))[nd - 1]
        raise ShapeError(
            f"{op}: input and output sizes must be positive, got input "
            f"({', '.join(f'{a}: {n}' for a, n in zip(names, in_sizes))}) and output "
            f"({', '.join(f'{a}: {n}' for a, n in zip(names, out_sizes))})"
        )
    if input.shape[1] == 0:
        raise ShapeError(f"{op}: input of shape {input.shape} has no channels")
    geometry.check_fits(op, "the output", tuple(input.shape[:2]) + tuple(out_sizes), input.dtype.itemsize)
    if mode == "area" and nd < 3:
        return (adaptive_avg_pool1d if nd == 1 else adaptive_avg_pool2d)(input, out_sizes)
    if input.dtype == np.float16:  # computed in float32 and rounded once, as PyTorch does
        return cast(_resample(cast(input, np.float32), out_sizes, scales, mode, align_corners), np.float16)
    return _resample(input, out_sizes, scales, mode, align_corners)


def _resample(input, out_sizes, scales, mode, align_corners):
    nd = input.ndim - 2
    out = input
    # The last spatial dim first: PyTorch's association of the bilinear sum.
    for axis in reversed(range(2, input.ndim)):
        n, o, s = input.shape[axis], out_sizes[axis - 2], scales[axis - 2]
        if mode == "bicubic":
            table = _cubic_table(n, o, s, bool(align_corners), input.dtype == np.float64)
        elif mode in _LINEAR:
            table = _linear_table(n, o, s, bool(align_corners), input.dtype == np.float64)
        elif mode == "area":  # of a volume: adaptive average pooling, one axis at a time
            table = _area_table(n, o)
        else:
            exact = mode == "nearest-exact"
            table = _nearest_table(n, o, s, exact, input.dtype == np.float64, nd >= 2)
        out = Resample.apply(out, table=table, axis=axis)
    return out
