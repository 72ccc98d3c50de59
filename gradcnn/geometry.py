"""The shape arithmetic of sliding windows: one home for it, with its validation.

Convolutions, transposed convolutions and pools all slide a window over the spatial dims of their
input. Everything about their sizes is worked out here, on Python ints and tuples (no tensors), so
that every floor of the package uses the same rules: ``ops`` to check a call and size its output,
``nn`` to check a layer when it is built, ``summary`` to follow receptive fields, ``data`` and
``optim`` for their int arguments. A layer and its functional form call the same function, so they
reject the same values with the same words (each names itself: ``Conv2d`` or ``conv2d``).

The rules, PyTorch's wherever PyTorch has one:

* **int or tuple.** An int stands for every spatial dim; a tuple (or list) gives one int per dim,
  and a 1-tuple stands for all of them, as PyTorch's functional forms read it. ``bool`` and
  ``float`` (``2.7``, and ``3.0`` too) are rejected with a ``DTypeError``; a wrong length or a value
  out of range is a ``ShapeError``. ``kernel_size``, ``stride`` and ``dilation`` are at least 1,
  ``padding`` and ``output_padding`` at least 0, and ``output_padding`` is smaller than
  ``max(stride, dilation)`` in every dim.
* **Effective kernel.** Dilation ``d`` spreads ``k`` taps over ``d * (k - 1) + 1`` input positions.
* **Padding** of a convolution is an int or tuple (that many zeros on both sides) or a mode:
  ``"valid"`` (none), ``"full"`` (``k_eff - 1`` on both sides) or ``"same"``: output size
  ``ceil(n / stride)``, the total padding ``max((out - 1) * stride + k_eff - n, 0)`` split evenly
  with the odd zero at the end. PyTorch accepts ``"same"`` only at stride 1, where the two agree;
  gradcnn defines it at every stride, as TensorFlow does.
* **Convolution output:** ``(n + before + after - k_eff) // stride + 1``; the effective kernel must
  fit in the padded input. **Transposed:** ``(n - 1) * stride - 2 * padding + k_eff +
  output_padding``, which must be at least 1.
* **Pooling output:** as a convolution's, rounded up with ``ceil_mode``, where the last window must
  still start inside the input or its left padding (PyTorch's rule); padding at most
  ``kernel_size // 2``; the output must have at least one window. An adaptive pool's window ``i``
  of ``out`` over ``n`` positions is ``[floor(i * n / out), ceil((i + 1) * n / out))``.
"""

import numbers
import os

import numpy as np

from .arguments import integer
from .errors import DTypeError, OutOfMemoryError, ShapeError

__all__ = [
    "PADDING_MODES",
    "positive_int",
    "int_tuple",
    "pad_sizes",
    "conv_groups",
    "effective_kernel_size",
    "same_padding",
    "resolve_padding",
    "conv_args",
    "pool_args",
    "adaptive_output_size",
    "adaptive_windows",
    "conv_output_size",
    "conv_output_sizes",
    "conv_transpose_output_size",
    "conv_transpose_output_sizes",
    "pool_output_size",
    "pool_output_sizes",
]

PADDING_MODES = ("valid", "same", "full")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _dims(values):
    return "x".join(str(v) for v in values)


# -- ints and tuples of them ----------------------------------------------------------------------


def positive_int(op, name, value):
    """``value`` as an int of at least 1, or an error naming ``op``, ``name`` and the value."""
    if not _is_int(value):
        raise DTypeError(f"{op}: {name} must be a positive int, got {value!r}")
    if value < 1:
        raise ShapeError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


def _wrong_length(op, name, value, n):
    return ShapeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r} ({len(value)} entries)")


def int_tuple(op, name, value, n, minimum=0):
    """``value`` (an int, or a tuple or list of ``n`` ints or of one) as an ``n``-tuple of ints of at
    least ``minimum``, or an error naming ``op``, ``name`` and the value."""
    if _is_int(value):
        value = (value,) * n
    elif isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) == 1:
            value = tuple(value) * n
        elif len(value) != n:
            raise _wrong_length(op, name, value, n)
    else:
        raise DTypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    value = tuple(int(v) for v in value)
    if any(v < minimum for v in value):
        what = {0: "non-negative", 1: "positive"}.get(minimum, f"at least {minimum}")
        raise ShapeError(f"{op}: {name} must be {what}, got {value}")
    return value


def pad_sizes(op, name, pad):
    """``pad`` (a tuple or list of ints, F.pad's (left, right, ...) pairs) as a tuple of ints; a
    DTypeError names ``op`` and ``name`` for anything else. F.pad and the padding layers check with it."""
    if not isinstance(pad, (tuple, list)):
        raise DTypeError(f"{op}: {name} must be a tuple of ints, got {pad!r} ({type(pad).__name__})")
    for p in pad:
        if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Integral):
            raise DTypeError(f"{op}: {name} must be a tuple of ints, got {tuple(pad)} (an element of type "
                             f"{type(p).__name__})")
    return tuple(int(p) for p in pad)


def conv_groups(op, groups, in_channels, out_channels):
    """``groups`` as a positive int that divides both channel counts, or an error."""
    groups = positive_int(op, "groups", groups)
    if in_channels % groups or out_channels % groups:
        raise ShapeError(
            f"{op}: in_channels ({in_channels}) and out_channels ({out_channels}) must both be "
            f"divisible by groups ({groups})"
        )
    return groups


# -- windows --------------------------------------------------------------------------------------


def effective_kernel_size(kernel, dilation=1):
    """The input positions ``kernel`` taps spread over at ``dilation``: ``d * (k - 1) + 1``. Ints
    give an int; a tuple kernel gives a tuple (``dilation`` an int or a tuple like it)."""
    if _is_int(kernel):
        return dilation * (kernel - 1) + 1
    if _is_int(dilation):
        dilation = (dilation,) * len(kernel)
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))


def same_padding(size, kernel, stride=1, dilation=1):
    """``(before, after)`` padding that gives ``ceil(size / stride)`` outputs along one dim, the odd
    zero at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + effective_kernel_size(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, in_sizes, kernel, stride, dilation):
    """Per-dim ``(before, after)`` padding of a convolution whose ``padding`` went through
    :func:`conv_args` (a tuple of ints or a mode of :data:`PADDING_MODES`)."""
    if padding == "valid":
        return ((0, 0),) * len(in_sizes)
    if padding == "full":
        return tuple((k - 1, k - 1) for k in effective_kernel_size(kernel, dilation))
    if padding == "same":
        return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(in_sizes, kernel, stride, dilation))
    return tuple((p, p) for p in padding)


def conv_args(op, n, kernel_size, stride=1, padding=0, dilation=1, *, output_padding=0, transposed=False):
    """``(kernel_size, stride, padding, dilation, output_padding)`` of a convolution over ``n``
    spatial dims, validated: tuples of ints, except ``padding``, which may stay a mode string (not
    for a transposed convolution)."""
    kernel = int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
    stride = int_tuple(op, "stride", stride, n, minimum=1)
    if isinstance(padding, str):
        if transposed:
            raise DTypeError(
                f"{op}: padding must be an int or a tuple of ints (string padding is for conv{n}d), got {padding!r}"
            )
        if padding not in PADDING_MODES:
            raise ShapeError(f"{op}: padding {padding!r} is not one of {PADDING_MODES} (or an int or tuple)")
    else:
        padding = int_tuple(op, "padding", padding, n, minimum=0)
    dilation = int_tuple(op, "dilation", dilation, n, minimum=1)
    output_padding = int_tuple(op, "output_padding", output_padding, n, minimum=0)
    if any(o >= max(s, d) for o, s, d in zip(output_padding, stride, dilation)):
        raise ShapeError(
            f"{op}: output_padding {output_padding} must be smaller than stride {stride} or dilation "
            f"{dilation} in every dim"
        )
    return kernel, stride, padding, dilation, output_padding


def pool_args(op, n, kernel_size, stride=None, padding=0, dilation=1):
    """``(kernel_size, stride, padding, dilation)`` of a pool over ``n`` spatial dims, validated, as
    tuples of ints; ``stride`` ``None`` (or empty) means ``kernel_size``."""
    kernel = int_tuple(op, "kernel_size", kernel_size, n, minimum=1)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel
    else:
        stride = int_tuple(op, "stride", stride, n, minimum=1)
    padding = int_tuple(op, "padding", padding, n, minimum=0)
    dilation = int_tuple(op, "dilation", dilation, n, minimum=1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ShapeError(
            f"{op}: padding {padding} must be at most half the kernel size {kernel} (kernel // 2 = "
            f"{tuple(k // 2 for k in kernel)})"
        )
    return kernel, stride, padding, dilation


def adaptive_output_size(op, output_size, n, allow_none=True):
    """``output_size`` of an adaptive pool over ``n`` spatial dims: a tuple of non-negative ints (0
    gives an empty output, as in PyTorch), where a ``None`` entry (keep that input size) stays
    ``None`` when ``allow_none``."""
    if not allow_none or not isinstance(output_size, (tuple, list)) or all(v is not None for v in output_size):
        return int_tuple(op, "output_size", output_size, n, minimum=0)
    if len(output_size) != n:
        raise _wrong_length(op, "output_size", output_size, n)
    return tuple(None if v is None else integer(op, f"output_size[{i}]", v, minimum=0)
                 for i, v in enumerate(output_size))


def adaptive_windows(size, out):
    """``(start, end)``, int64 arrays: the ``out`` windows of an adaptive pool over ``size``
    positions, window ``i`` covering ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    i = np.arange(out, dtype=np.int64)
    return (i * size) // out, -((-(i + 1) * size) // out)


# -- output sizes ---------------------------------------------------------------------------------


def conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """Output length of a convolution along one dim: ``(size + before + after - k_eff) // stride + 1``;
    ``padding`` is an int (both sides) or a ``(before, after)`` pair."""
    before, after = (padding, padding) if _is_int(padding) else padding
    return (size + before + after - effective_kernel_size(kernel, dilation)) // stride + 1


def conv_transpose_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length of a transposed convolution along one dim, as PyTorch sizes it:
    ``(size - 1) * stride - 2 * padding + k_eff + output_padding``."""
    return (size - 1) * stride - 2 * padding + effective_kernel_size(kernel, dilation) + output_padding


def pool_output_size(size, kernel, stride, padding=0, dilation=1, ceil_mode=False):
    """Output length of a pool along one dim, PyTorch's rule: with ``ceil_mode`` the count rounds up,
    but a last window that would start in the right padding is dropped."""
    span = size + 2 * padding - effective_kernel_size(kernel, dilation)
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _too_large(op, in_sizes, kernel, dilation, pads):
    """The error for a window that does not fit the padded input, with the arithmetic."""
    padded = [n + before + after for n, (before, after) in zip(in_sizes, pads)]
    return ShapeError(
        f"{op}: kernel ({_dims(kernel)}, dilation {_dims(dilation)} -> "
        f"{_dims(effective_kernel_size(kernel, dilation))}) is larger than padded input ({_dims(padded)} = "
        f"input {_dims(in_sizes)} + padding {_dims(before + after for before, after in pads)})"
    )


def conv_output_sizes(op, in_sizes, kernel, stride, pads, dilation):
    """Output sizes of a convolution (``pads`` per dim ``(before, after)``), or an error when the
    effective kernel is larger than the padded input."""
    padded = [n + before + after for n, (before, after) in zip(in_sizes, pads)]
    if any(k > p for k, p in zip(effective_kernel_size(kernel, dilation), padded)):
        raise _too_large(op, in_sizes, kernel, dilation, pads)
    return tuple(conv_output_size(*a) for a in zip(in_sizes, kernel, stride, pads, dilation))


def conv_transpose_output_sizes(op, in_sizes, kernel, stride, padding, output_padding, dilation):
    """Output sizes of a transposed convolution, or an error when one is not positive."""
    args = list(zip(in_sizes, kernel, stride, padding, output_padding, dilation))
    out = tuple(conv_transpose_output_size(*a) for a in args)
    for o, (n, k, s, p, extra, d) in zip(out, args):
        if o < 1:
            raise ShapeError(
                f"{op}: output size {_dims(out)} is not positive: (input {n} - 1) * stride {s} - 2 * padding "
                f"{p} + kernel {effective_kernel_size(k, d)} (kernel {k}, dilation {d}) + output_padding {extra} "
                f"= {o}"
            )
    return out


def pool_output_sizes(op, in_sizes, kernel, stride, padding, dilation, ceil_mode):
    """Output sizes of a pool, or an error when a dim would have no window (the effective kernel
    is larger than the padded input, and rounding up does not save it)."""
    out = tuple(pool_output_size(*a, bool(ceil_mode)) for a in zip(in_sizes, kernel, stride, padding, dilation))
    if any(o < 1 for o in out):
        raise _too_large(op, in_sizes, kernel, dilation, [(p, p) for p in padding])
    return out


def _memory_bytes():
    """Physical memory of this machine, or ``None`` where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024
    return f"{n:.1f} PiB"


def check_fits(op, what, shape, itemsize):
    """Raise OutOfMemoryError, before anything is allocated, when an array of ``shape`` would need
    more memory than the machine has (or more elements than an index can address)."""
    count = 1
    for s in shape:
        count *= int(s)
    need = count * int(itemsize)
    limit = _memory_bytes()
    if count >= 2**62 or (limit is not None and need > limit):
        have = "" if limit is None else f", more than this machine's {_bytes(limit)} of memory"
        raise OutOfMemoryError(
            f"{op}: {what} of shape {tuple(int(s) for s in shape)} would need {_bytes(need)}{have}"
        )
