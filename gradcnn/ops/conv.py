"""Convolution: ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``.

Three primitives close over each other's derivatives, so every order of derivative is available:

* ``Conv``       y  = conv(x, w) + b
* ``ConvData``   gx = conv_transpose(gy, w)   (the adjoint of conv in x; the transposed convolution)
* ``ConvWeight`` gw = conv_weight(x, gy)      (the gradient of conv in w)

All three share one :class:`Geometry`, which describes the *forward* convolution: input size, kernel,
stride, per-side padding, dilation, groups and output size. A transposed convolution is the
``ConvData`` of the convolution it is the adjoint of. 1-D work runs as 2-D with height 1.

Padding, one definition everywhere: an int or a tuple (that many zeros on both sides), ``"valid"``
(none), ``"full"`` (``k_eff - 1`` on both sides, ``k_eff = dilation * (k - 1) + 1``) or ``"same"``:
output size ``ceil(input / stride)`` for every stride, the total padding split evenly with the odd
zero at the end. PyTorch accepts ``"same"`` only at stride 1 (where the two agree); gradcnn defines
it for every stride, as TensorFlow does.
"""

import numbers
from typing import NamedTuple

from ..autograd.function import Function
from ..backends import backend_of
from ..errors import DeviceError, DTypeError, ShapeError
from ..tensor import Tensor
from .reduction import sum as _sum
from .shape import reshape

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "conv_output_size"]


class Geometry(NamedTuple):
    """A 2-D convolution's shape arithmetic, from the input side to the output side."""

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
        return backend_of(x).conv2d_forward(x, w, b, g.stride, g.pads, g.dilation, g.groups, g.out_hw)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        gx = ConvData.apply(gy, w, geom=ctx.geom) if nx else None
        gw = ConvWeight.apply(x, gy, geom=ctx.geom) if nw else None
        gb = _sum(gy, (0, 2, 3)) if nb else None
        return gx, gw, gb


class ConvData(Function):
    @staticmethod
    def forward(ctx, gy, w, *, geom):
        ctx.geom = geom
        ngy, nw = ctx.needs_input_grad
        ctx.save_for_backward(gy if nw else None, w if ngy else None)
        g = geom
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


# -- validation and geometry --------------------------------------------------------------------

_PADDING_STRINGS = ("valid", "same", "full")


def _ints(value, n, name, op, minimum):
    """``value`` as an n-tuple of ints >= ``minimum``, or an error naming ``name``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),) * n
    elif isinstance(value, (tuple, list)) and len(value) == n and all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        value = tuple(int(v) for v in value)
    else:
        raise DTypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in value):
        what = "positive" if minimum == 1 else "non-negative"
        raise ShapeError(f"{op}: {name} must be {what}, got {value}")
    return value


def _dims(values):
    return "x".join(str(v) for v in values)


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one dim: ``(size + 2p - d(k - 1) - 1) // stride + 1``.
    ``padding`` may be an int or a (before, after) pair."""
    before, after = (padding, padding) if isinstance(padding, numbers.Integral) else padding
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


def _pads(padding, in_sizes, kernel, stride, dilation, op):
    k_eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    nd = len(in_sizes)
    if isinstance(padding, str):
        if padding not in _PADDING_STRINGS:
            raise ShapeError(f"{op}: padding {padding!r} is not one of {_PADDING_STRINGS} (or an int or tuple)")
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "full":
            return tuple((k - 1, k - 1) for k in k_eff)
        pads = []
        for size, k, s in zip(in_sizes, k_eff, stride):
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    return tuple((p, p) for p in _ints(padding, nd, "padding", op, 0))


def _check_tensor(t, name, op, ndim, layout):
    if not isinstance(t, Tensor):
        raise DTypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if t.ndim != ndim:
        raise ShapeError(f"{op}: {name} must be {ndim}-D {layout}, got shape {t.shape}")
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
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    if in_channels % groups or out_channels % groups:
        raise ShapeError(
            f"{op}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
            f"divisible by groups ({groups})"
        )
    expected = in_channels // groups
    got = weight.shape[0] if transposed else weight.shape[1]
    if transposed:
        if weight.shape[0] != in_channels:
            raise ShapeError(
                f"{op}: weight {weight.shape} has {weight.shape[0]} input channels (dim 0) but input "
                f"{input.shape} has {in_channels} channels"
            )
    elif got != expected:
        raise ShapeError(
            f"{op}: weight {weight.shape} expects {got} channels per group but input {input.shape} "
            f"has {in_channels} channels in {groups} group(s) ({expected} per group)"
        )


def _geometry(op, in_sizes, kernel, stride, pads, dilation, groups, nd):
    out = []
    for i in range(nd):
        k_eff = dilation[i] * (kernel[i] - 1) + 1
        padded = in_sizes[i] + pads[i][0] + pads[i][1]
        if k_eff > padded:
            raise ShapeError(
                f"{op}: dilated kernel {_dims(kernel_eff(kernel, dilation))} (kernel {_dims(kernel)}, "
                f"dilation {_dims(dilation)}) is larger than padded input "
                f"{_dims([s + p[0] + p[1] for s, p in zip(in_sizes, pads)])} (input {_dims(in_sizes)})"
            )
        out.append((padded - k_eff) // stride[i] + 1)
    return tuple(out)


def kernel_eff(kernel, dilation):
    return [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]


def _lift(nd, geom_parts):
    """1-D arguments as the 2-D ones the kernels take (height 1)."""
    if nd == 2:
        return geom_parts
    in_sizes, kernel, stride, pads, dilation, out = geom_parts
    return ((1,) + in_sizes, (1,) + kernel, (1,) + stride, ((0, 0),) + pads, (1,) + dilation, (1,) + out)


def _conv(op, nd, input, weight, bias, stride, padding, dilation, groups):
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    _check_tensor(input, "input", op, nd + 2, layout)
    _check_tensor(weight, "weight", op, nd + 2, "(out_channels, in_channels / groups, *kernel)")
    out_channels = weight.shape[0]
    _check_groups(op, groups, input.shape[1], out_channels, weight, input, transposed=False)
    _check_pair(op, input, weight, bias, out_channels)
    kernel = weight.shape[2:]
    if any(k < 1 for k in kernel):
        raise ShapeError(f"{op}: kernel size must be positive, got weight {weight.shape}")
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    in_sizes = input.shape[2:]
    pads = _pads(padding, in_sizes, kernel, stride, dilation, op)
    out = _geometry(op, in_sizes, kernel, stride, pads, dilation, groups, nd)
    parts = _lift(nd, (tuple(in_sizes), tuple(kernel), stride, pads, dilation, out))
    geom = Geometry(parts[0], parts[1], parts[2], parts[3], parts[4], int(groups), parts[5])
    if nd == 1:
        x = reshape(input, (input.shape[0], input.shape[1], 1, input.shape[2]))
        w = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
        y = Conv.apply(x, w, bias, geom=geom)
        return reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
    return Conv.apply(input, weight, bias, geom=geom)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: input ``(N, C, L)``, weight ``(O, C / groups, k)``, bias ``(O,)``.
    ``padding``: an int, a 1-tuple, ``"valid"``, ``"same"`` (any stride) or ``"full"``."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation: input ``(N, C, H, W)``, weight ``(O, C / groups, kh, kw)``, bias ``(O,)``.
    ``padding``: an int, a pair, ``"valid"``, ``"same"`` (any stride) or ``"full"``."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(op, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    layout = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    _check_tensor(input, "input", op, nd + 2, layout)
    _check_tensor(weight, "weight", op, nd + 2, "(in_channels, out_channels / groups, *kernel)")
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups < 1:
        raise ShapeError(f"{op}: groups must be a positive int, got {groups!r}")
    out_channels = weight.shape[1] * groups
    _check_groups(op, groups, input.shape[1], out_channels, weight, input, transposed=True)
    _check_pair(op, input, weight, bias, out_channels)
    kernel = tuple(weight.shape[2:])
    if any(k < 1 for k in kernel):
        raise ShapeError(f"{op}: kernel size must be positive, got weight {weight.shape}")
    if isinstance(padding, str):
        raise ShapeError(f"{op}: padding must be an int or a tuple (string padding is for conv{nd}d), got {padding!r}")
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    pad = _ints(padding, nd, "padding", op, 0)
    out_pad = _ints(output_padding, nd, "output_padding", op, 0)
    for op_, s, d in zip(out_pad, stride, dilation):
        if op_ >= max(s, d):
            raise ShapeError(
                f"{op}: output_padding {out_pad} must be smaller than stride {stride} or dilation "
                f"{dilation} in every dim"
            )
    in_sizes = tuple(input.shape[2:])
    out_sizes = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + o + 1
        for n, s, p, d, k, o in zip(in_sizes, stride, pad, dilation, kernel, out_pad)
    )
    if any(o < 1 for o in out_sizes):
        raise ShapeError(
            f"{op}: output size {_dims(out_sizes)} = (input {_dims(in_sizes)} - 1) * stride {_dims(stride)} "
            f"- 2 * padding {_dims(pad)} + dilation * (kernel - 1) + output_padding + 1 is not positive"
        )
    pads = tuple((p, p) for p in pad)
    # The convolution this transposes maps out_sizes back to in_sizes.
    parts = _lift(nd, (out_sizes, kernel, stride, pads, dilation, in_sizes))
    geom = Geometry(parts[0], parts[1], parts[2], parts[3], parts[4], int(groups), parts[5])
    x, w = input, weight
    if nd == 1:
        x = reshape(input, (input.shape[0], input.shape[1], 1, input.shape[2]))
        w = reshape(weight, (weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    y = ConvData.apply(x, w, geom=geom)
    if nd == 1:
        y = reshape(y, (y.shape[0], y.shape[1], y.shape[3]))
    if bias is not None:
        y = y + reshape(bias, (out_channels,) + (1,) * nd)
    return y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution (the adjoint of ``conv1d``): weight ``(C, O / groups, k)``; output
    length ``(L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the adjoint of ``conv2d``): weight ``(C, O / groups, kh, kw)``."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation)
