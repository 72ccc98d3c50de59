"""Convolution: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``.

Three primitives close over each other's derivatives, so every order of derivative is available:

* ``Conv``       y  = conv(x, w) + b
* ``ConvData``   gx = conv_transpose(gy, w)   (the adjoint of conv in x; the transposed convolution)
* ``ConvWeight`` gw = conv_weight(x, gy)      (the gradient of conv in w)

All three share one :class:`Geometry`, which describes the *forward* convolution: input size, kernel,
stride, per-side padding, dilation, groups and output size. A transposed convolution is the
``ConvData`` of the convolution it is the adjoint of. 1-D work runs as 2-D with height 1.

Padding is an int or a tuple (that many zeros on both sides), ``"valid"`` (none), ``"full"``
(``k_eff - 1`` on both sides) or ``"same"`` (output size ``ceil(input / stride)`` at every stride;
PyTorch accepts it only at stride 1, where the two agree). The definitions, the output sizes and
every check of these arguments live in :mod:`gradcnn.geometry`. An unbatched ``(C, *spatial)``
input convolves as a batch of one, as in PyTorch.
"""

from typing import NamedTuple

import numpy as np

from .. import geometry
from ..autograd.function import Function
from ..backends import backend_of
from ..errors import DeviceError, DTypeError, ShapeError
from ..tensor import Tensor
from .reduction import sum as _sum
from .shape import reshape

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


class Geometry(NamedTuple):
    """What the kernels take for one 2-D convolution, from the input side to the output side; the
    sizes are worked out, and checked, by :mod:`gradcnn.geometry`."""

    in_hw: tuple
    kernel: tuple
    stride: tuple
    pads: tuple  # ((top, bottom), (left, right))
    dilation: tuple
    groups: int
    out_hw: tuple


# -- primitives ---------------------------------------------------------------------------------


class Conv(Function):
    @staticmethod
    def forward(ctx, x, w, b, *, geom):
        ctx.geom = geom
        nx, nw, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if nw else None, w if nx else None)
        g = geom
        with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN spread, as in PyTorch
            y = backend_of(x).conv2d_forward(x, w, b, g.stride, g.pads, g.dilation, g.groups, g.out_hw)
            if (type(y) is np.ndarray and g.groups == 1 and any(p for pair in g.pads for p in pair)
                    and _padding_met_nonfinite(w, y)):
                y = _skipping_padding(x, w, b, g)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        gx = ConvData.apply(gy, w, geom=ctx.geom) if nx else None
        gw = ConvWeight.apply(x, gy, geom=ctx.geom) if nw else None
        gb = _sum(gy, (0, 2, 3)) if nb else None
        return gx, gw, gb


def _padding_met_nonfinite(w, y):
    """Whether a NaN or an infinite weight met the zero padding (0 x inf is NaN there, where
    PyTorch's CPU kernels skip the padded taps of an ungrouped convolution; its grouped ones
    multiply the padding, as gradcnn's GEMM does). Checked on the smaller of the weight and the output
    (a non-finite weight makes the output non-finite), on the CPU only: on a GPU the check would
    wait for the device."""
    if np.isfinite(w if w.size <= y.size else y).all():
        return False
    return not np.isfinite(w).all()


def _skipping_padding(x, w, b, g):
    """The convolution summed tap by tap over the input positions each tap really reads: a padded
    position contributes nothing, whatever the weight (PyTorch's result with NaN or infinite
    weights). Slow; only for weights that are not finite."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    og = o // g.groups
    ho, wo = g.out_hw
    (pt, _), (pl, _) = g.pads
    y = np.zeros((n, o, ho, wo), dtype=np.result_type(x.dtype, w.dtype))
    for i in range(kh):
        rows = np.arange(ho) * g.stride[0] - pt + i * g.dilation[0]
        out_r = np.flatnonzero((rows >= 0) & (rows < h))
        for j in range(kw):
            cols = np.arange(wo) * g.stride[1] - pl + j * g.dilation[1]
            out_c = np.flatnonzero((cols >= 0) & (cols < wd))
            if not out_r.size or not out_c.size:
                continue
            xs = x[:, :, rows[out_r]][:, :, :, cols[out_c]]
            for k in range(g.groups):
                part = np.einsum("nchw,oc->nohw", xs[:, k * cg:(k + 1) * cg], w[k * og:(k + 1) * og, :, i, j])
                y[:, k * og:(k + 1) * og, out_r[:, None], out_c[None, :]] += part
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y.astype(x.dtype, copy=False)


class ConvData(Function):
    @staticmethod
    def forward(ctx, gy, w, *, geom):
        ctx.geom = geom
        ngy, nw = ctx.needs_input_grad
        ctx.save_for_backward(gy if nw else None, w if ngy else None)
        g = geom
        with np.errstate(invalid="ignore", over="ignore"):
            return backend_of(gy).conv2d_backward_data(gy, w, g.stride, g.pads, g.dilation, g.groups, g.in_hw)

    @staticmethod
    def backward(ctx, gx):
        gy, w = ctx.saved_tensors
        ngy, nw = ctx.needs_input_grad
        # <gx, A_w^T gy> = <A_w gx, gy>: its gradient in gy is conv(gx, w), in w conv_weight(gx, gy).
        return (
            Conv.apply(gx, w, None, geom=ctx.geom) if ngy else None,
            ConvWeight.apply(gx, gy, geom=ctx.geom) if nw else None,
        )


class ConvWeight(Function):
    @staticmethod
    def forward(ctx, x, gy, *, geom):
        ctx.geom = geom
        nx, ngy = ctx.needs_input_grad
        ctx.save_for_backward(x if ngy else None, gy if nx else None)
        g = geom
        with np.errstate(invalid="ignore", over="ignore"):
            return backend_of(x).conv2d_backward_weight(x, gy, g.kernel, g.stride, g.pads, g.dilation, g.groups)

    @staticmethod
    def backward(ctx, ggw):
        x, gy = ctx.saved_tensors
        nx, ngy = ctx.needs_input_grad
        # <ggw, conv_weight(x, gy)> = <conv(x, ggw), gy>.
        return (
            ConvData.apply(gy, ggw, geom=ctx.geom) if nx else None,
            Conv.apply(x, ggw, None, geom=ctx.geom) if ngy else None,
        )


# -- validation -----------------------------------------------------------------------------------


def _check_tensor(t, name, op, ndim, layout):
    if not isinstance(t, Tensor):
        raise DTypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        unbatched = f" or {ndim - 1}-D unbatched" if name == "input" else ""
        raise ShapeError(f"{op}: {name} must be {ndim}-D {layout}{unbatched}, got shape {t.shape}")
    if t.dtype.kind != "f":
        raise DTypeError(f"{op}: {name} must be floating, got {t.dtype.name}")


def _check_pair(op, input, weight, bias, out_channels):
    if weight.dtype != input.dtype:
        raise DTypeError(
            f"{op}: input is {input.dtype.name} but weight is {weight.dtype.name}; convert one "
            "(e.g. weight.to(input.dtype))"
        )
    if weight.device != input.device:
        raise DeviceError(f"{op}: input is on {input.device} but weight is on {weight.device}")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise DTypeError(f"{op}: bias must be a Tensor or None, got {type(bias).__name__}")
        if bias.shape != (out_channels,):
            raise ShapeError(f"{op}: bias has shape {bias.shape}, expected ({out_channels},) for weight {weight.shape}")
        if bias.dtype != input.dtype:
            raise DTypeError(f"{op}: bias is {bias.dtype.name} but input is {input.dtype.name}")
        if bias.device != input.device:
            raise DeviceError(f"{op}: input is on {input.device} but bias is on {bias.device}")


def _check_groups(op, groups, in_channels, out_channels, weight, input, transposed):
    groups = geometry.conv_groups(op, groups, in_channels, out_channels)
    if transposed:
        if weight.shape[0] != in_channels:
            raise ShapeError(
                f"{op}: weight {weight.shape} has {weight.shape[0]} input channels (dim 0) but input "
                f"{input.shape} has {in_channels} channels"
            )
    elif weight.shape[1] != in_channels // groups:
        raise ShapeError(
            f"{op}: weight {weight.shape} expects {weight.shape[1]} channels per group but input {input.shape} "
            f"has {in_channels} channels in {groups} group(s) ({in_channels // groups} per group)"
        )
    return groups


def _plan(nd, in_sizes, kernel, stride, pads, dilation, groups, out_sizes):
    """The kernels' :class:`Geometry`; 1-D work runs as 2-D with height 1."""
    if nd == 1:
        return Geometry((1,) + in_sizes, (1,) + kernel, (1,) + stride, ((0, 0),) + pads, (1,) + dilation, groups,
                        (1,) + out_sizes)
    return Geometry(in_sizes, kernel, stride, pads, dilation, groups, out_sizes)


# Geometries of calls already validated: a network calls each layer with the same shapes and
# arguments step after step, and validating them costs more than a small convolution. Keyed by
# everything the checks read (shapes, dtypes, the arguments as given), CPU tensors only.
_validated = {}
_VALIDATED_MAX = 1024


def _plain(v):
    """``v`` if it is an int, a str or a tuple of ints (exact types: ``True`` is not ``1`` here),
    else None: the arguments a cache key can hold without conflating different calls."""
    t = type(v)
    if t is int or t is str:
        return v
    if t is tuple and all(type(e) is int for e in v):
        return v
    return None


def _cache_key(op, input, weight, bias, *args):
    if not (isinstance(input, Tensor) and isinstance(weight, Tensor) and type(input._data) is np.ndarray
            and type(weight._data) is np.ndarray):
        return None
    if bias is not None and not (isinstance(bias, Tensor) and type(bias._data) is np.ndarray):
        return None
    plain = tuple(_plain(a) for a in args)
    if any(p is None for p in plain):
        return None
    b = None if bias is None else (bias._data.shape, bias._data.dtype)
    return (op, input._data.shape, input._data.dtype, weight._data.shape, weight._data.dtype, b) + plain


def _remember(key, geom):
    if key is not None:
        if len(_validated) >= _VALIDATED_MAX:
            _validated.clear()
        _validated[key] = geom


def _batched(input, nd):
    """``(input, True)`` with a batch dim added when it is unbatched ``(C, *spatial)``, as PyTorch
    takes it; else ``(input, False)`` (the checks that follow name what is wrong)."""
    if isinstance(input, Tensor) and input.ndim == nd + 1:
        return reshape(input, (1,) + input.shape), True
    return input, False


def _unbatched(y, added):
    return reshape(y, y.shape[1:]) if added else y


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups):
    input, added = _batched(input, nd)
    key = _cache_key(op, input, weight, bias, stride, padding, dilation, groups)
    geom = _validated.get(key) if key is not None else None
    if geom is None:
        geom = _conv_geometry(op, nd, input, weight, bias, stride, padding, dilation, groups)
        _remember(key, geom)
    if nd == 1:
        x = reshape(input, (input.shape[0], input.shape[1], 1, input.shape[2]))
        w = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
        y = Conv.apply(x, w, bias, geom=geom)
        return _unbatched(reshape(y, (y.shape[0], y.shape[1], y.shape[3])), added)
    return _unbatched(Conv.apply(input, weight, bias, geom=geom), added)


def _conv_geometry(op, nd, input, weight, bias, stride, padding, dilation, groups):
    """Validate a convolution's arguments; its :class:`Geometry`."""
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    _check_tensor(input, "input", op, nd + 2, layout)
    _check_tensor(weight, "weight", op, nd + 2, "(out_channels, in_channels / groups, *kernel)")
    out_channels = weight.shape[0]
    groups = _check_groups(op, groups, input.shape[1], out_channels, weight, input, transposed=False)
    _check_pair(op, input, weight, bias, out_channels)
    kernel, stride, padding, dilation, _ = geometry.conv_args(op, nd, tuple(weight.shape[2:]), stride, padding, dilation)
    in_sizes = tuple(input.shape[2:])
    pads = geometry.resolve_padding(padding, in_sizes, kernel, stride, dilation)
    out = geometry.conv_output_sizes(op, in_sizes, kernel, stride, pads, dilation)
    geometry.check_fits(op, "the output", (input.shape[0], out_channels) + tuple(out), input.dtype.itemsize)
    return _plan(nd, in_sizes, kernel, stride, pads, dilation, groups, out)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: input ``(N, C, L)``, weight ``(O, C / groups, k)``, bias ``(O,)``.
    ``padding``: an int, a 1-tuple, ``"valid"``, ``"same"`` (any stride) or ``"full"``."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation: input ``(N, C, H, W)``, weight ``(O, C / groups, kh, kw)``, bias ``(O,)``.
    ``padding``: an int, a pair, ``"valid"``, ``"same"`` (any stride) or ``"full"``."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    input, added = _batched(input, nd)
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    _check_tensor(input, "input", op, nd + 2, layout)
    _check_tensor(weight, "weight", op, nd + 2, "(in_channels, out_channels / groups, *kernel)")
    groups = geometry.positive_int(op, "groups", groups)  # before it sizes out_channels
    out_channels = weight.shape[1] * groups
    _check_groups(op, groups, input.shape[1], out_channels, weight, input, transposed=True)
    _check_pair(op, input, weight, bias, out_channels)
    kernel, stride, padding, dilation, output_padding = geometry.conv_args(
        op, nd, tuple(weight.shape[2:]), stride, padding, dilation, output_padding=output_padding, transposed=True
    )
    in_sizes = tuple(input.shape[2:])
    out_sizes = geometry.conv_transpose_output_sizes(op, in_sizes, kernel, stride, padding, output_padding, dilation)
    geometry.check_fits(op, "the output", (input.shape[0], out_channels) + tuple(out_sizes), input.dtype.itemsize)
    # The convolution this transposes maps out_sizes back to in_sizes.
    geom = _plan(nd, out_sizes, kernel, stride, tuple((p, p) for p in padding), dilation, groups, in_sizes)
    x, w = input, weight
    if nd == 1:
        x = reshape(input, (input.shape[0], input.shape[1], 1, input.shape[2]))
        w = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    y = ConvData.apply(x, w, geom=geom)
    if nd == 1:
        y = reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
    if bias is not None:
        y = y + reshape(bias, (out_channels,) + (1,) * nd)
    return _unbatched(y, added)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution (the adjoint of ``conv1d``): weight ``(C, O / groups, k)``; output
    length ``(L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the adjoint of ``conv2d``): weight ``(C, O / groups, kh, kw)``."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation)
