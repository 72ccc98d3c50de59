"""Activations beyond the elementwise primitives (relu, sigmoid, tanh live in ``elementwise``).

``leaky_relu`` and ``log_softmax`` are primitives; ``prelu``, ``rrelu``, ``elu``, ``softmax`` (the
exp of log_softmax) and ``maxout`` are composites and own no derivative.
"""

import numbers

import numpy as np

from .. import random as _random
from ..arguments import flag, number
from ..autograd.function import Function
from ..autograd.tape import is_grad_enabled
from ..backends import get_array_module
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _dim, resolve_dtype
from .dropout import random_uniform
from .elementwise import _Masked, cast, clamp, exp, log1p, sigmoid, tanh, where
from .reduction import amax, sum
from .shape import as_tensor_arg, reshape

__all__ = ["leaky_relu", "prelu", "rrelu", "elu", "softmax", "log_softmax", "maxout", "silu", "relu6", "hardtanh",
           "hardsigmoid", "hardswish", "softplus", "mish"]


class LeakyRelu(_Masked):
    @staticmethod
    def forward(ctx, x, *, slope):
        pos = x > 0
        ctx.slope = get_array_module(x).where(pos, 1.0, slope).astype(x.dtype)
        return get_array_module(x).where(pos, x, x * slope).astype(x.dtype, copy=False)


def _float_input(x, op):
    as_tensor_arg(x, op)
    if x.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be floating, got {x.dtype.name} (shape {x.shape})")
    return x


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """``input`` where positive, ``negative_slope * input`` elsewhere; ``inplace=True`` writes the
    result into ``input``."""
    _float_input(input, "leaky_relu")
    if not isinstance(negative_slope, numbers.Real):
        raise DTypeError(f"leaky_relu: negative_slope must be a number, got {negative_slope!r}")
    out = LeakyRelu.apply(input, slope=float(negative_slope))
    return input._assign(out, "leaky_relu_") if inplace else out


def prelu(input, weight):
    """Leaky ReLU with a learned slope: ``weight`` has one entry (or is 0-d), or one per channel
    (dim 1); it has the input's dtype, as in PyTorch, which does not promote here."""
    _float_input(input, "prelu")
    as_tensor_arg(weight, "prelu", "weight")
    if weight.dtype != input.dtype:
        raise DTypeError(f"prelu: input and weight must have the same dtype, got {input.dtype.name} and "
                         f"{weight.dtype.name}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.ndim == 0:
        weight = reshape(weight, (1,))
    if weight.ndim != 1 or weight.shape[0] not in (1, channels):
        raise ShapeError(
            f"prelu: weight has shape {weight.shape}; expected (1,) or ({channels},), one slope "
            f"per channel of the input {input.shape}"
        )
    # A single slope becomes 0-d, so that it broadcasts without adding a dim to a 0-d input.
    weight = reshape(weight, (1, channels) + (1,) * (input.ndim - 2) if weight.shape[0] > 1 else ())
    return where(input._data > 0, input, weight * input)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """Randomized leaky ReLU: in training each negative element gets a slope drawn uniformly from
    ``[lower, upper]`` (from the seeded generator); in eval the slope is ``(lower + upper) / 2``.
    Unlike PyTorch, a negative ``lower`` is refused."""
    _float_input(input, "rrelu")
    lower, upper = number("rrelu", "lower", lower), number("rrelu", "upper", upper)
    if not 0 <= lower <= upper:
        raise ShapeError(f"rrelu: need 0 <= lower <= upper, got lower={lower}, upper={upper}")
    training = flag("rrelu", "training", training)
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    # From the seeded generator, on the input's device (a GPU draws its own: see gradcnn.random).
    if type(input._data) is np.ndarray:
        slope = _random.generator().uniform(lower, upper, input.shape).astype(input.dtype)
    else:
        slope = (random_uniform(input, input.shape) * (upper - lower) + lower).astype(input.dtype, copy=False)
    return where(input._data >= 0, input, input * slope)


def elu(input, alpha=1.0, inplace=False):
    """``input`` where positive, ``alpha * (exp(input) - 1)`` elsewhere; ``inplace=True`` writes
    the result into ``input``."""
    _float_input(input, "elu")
    alpha = number("elu", "alpha", alpha, finite=False)
    pos = input._data > 0
    negative = where(pos, 0.0, input)
    with np.errstate(invalid="ignore", over="ignore"):  # alpha = inf: 0 * inf is nan in the branch not taken
        out = where(pos, input, (exp(negative) - 1.0) * alpha)
    return input._assign(out, "elu_") if inplace else out


def _softmax_input(input, dim, op, dtype):
    """``input`` (cast to ``dtype`` first, when given) and ``dim`` checked for softmax-like ops."""
    as_tensor_arg(input, op)
    if dtype is not None:
        if isinstance(dtype, str):  # a dtype object, as in PyTorch, not its name
            raise DTypeError(f"{op}: dtype must be a dtype such as gradcnn.float64, got {dtype!r}")
        input = cast(input, resolve_dtype(dtype, f"{op}: dtype"))
    _float_input(input, op)
    if dim is None:
        raise ShapeError(f"{op}: pass dim= (the class dim; 1 for an (N, C) input of shape {input.shape})")
    return input, _dim(dim, input.ndim, op)


def softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: ARG001 (PyTorch's signature)
    """``exp(x) / sum(exp(x), dim)``, computed with the maximum subtracted so it cannot overflow;
    ``dtype`` casts the input first."""
    input, d = _softmax_input(input, dim, "softmax", dtype)
    # exp saves its output, so changing the result in place before backward is an error, as in
    # PyTorch (whose softmax saves its output too); log_softmax makes it stable and exact at 1.
    return exp(LogSoftmax.apply(input, dim=d))


class LogSoftmax(Function):
    """``x - logsumexp(x, dim)`` as one primitive, as in PyTorch (the loss of every classifier goes
    through it); its gradient ``g - exp(y) * sum(g, dim)`` reads the saved output."""

    @staticmethod
    def forward(ctx, x, *, dim):
        xp = get_array_module(x)
        # Subtract the maximum before the log-sum-exp, not after: x - (m + log(s)) rounds to the
        # precision of |m| (1e-3 for float32 logits of 1e4), (x - m) - log(s) keeps that of the
        # result. A slice of all -inf (or +inf) gives nan, as in PyTorch.
        if not x.size:  # an empty slice has no maximum, and its result is empty
            y = x.copy()
        else:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                shifted = x - x.max(axis=dim, keepdims=True)
                m = shifted.max(axis=dim, keepdims=True)
                m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)
                y = shifted - (xp.log(xp.exp(shifted - m).sum(axis=dim, keepdims=True)) + m)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if not is_grad_enabled():
            gd, yd = g._data, y._data
            return Tensor._make(gd - get_array_module(yd).exp(yd) * gd.sum(axis=ctx.dim, keepdims=True))
        return g - exp(y) * sum(g, ctx.dim, keepdim=True)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):  # noqa: ARG001 (PyTorch's signature)
    """``x - logsumexp(x, dim)``: finite even for logits of +-1e4; ``dtype`` casts the input first."""
    input, d = _softmax_input(input, dim, "log_softmax", dtype)
    return LogSoftmax.apply(input, dim=d)


def maxout(input, pieces, dim=1):
    """Maximum over groups of ``pieces`` consecutive channels along ``dim``: ``(N, C, ...)`` gives
    ``(N, C // pieces, ...)``. Ties share the gradient equally."""
    as_tensor_arg(input, "maxout")
    if not isinstance(pieces, numbers.Integral) or pieces < 1:
        raise ShapeError(f"maxout: pieces must be a positive int, got {pieces!r}")
    if input.ndim == 0:
        raise ShapeError(f"maxout: input must have a dim to group, got a 0-d tensor (pieces={pieces})")
    d = _dim(dim, input.ndim, "maxout")
    c = input.shape[d]
    if c % pieces:
        raise ShapeError(
            f"maxout: dim {d} of the input (shape {input.shape}) has {c} channels, not a multiple "
            f"of pieces={pieces} ({c} % {pieces} = {c % pieces})"
        )
    grouped = reshape(input, input.shape[:d] + (c // pieces, pieces) + input.shape[d + 1 :])
    return amax(grouped, d + 1)


# -- smooth and hard variants, composites of primitives (as PyTorch defines them) -----------------


def _number(op, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise DTypeError(f"{op}: {name} must be a finite number, got {value!r}")
    return float(value)


def _maybe_inplace(input, out, inplace, op):
    return input._assign(out, f"{op}_") if inplace else out


def _clipped(x, lo, hi, nan_passes=True):
    """``x`` clamped to ``[lo, hi]`` with PyTorch's gradient for the hard functions: it passes
    strictly inside the interval (``clamp``'s passes at the ends too), and at NaN where PyTorch's
    does (hardtanh and relu6 yes, hardsigmoid no)."""
    d = x._data
    inside = ~((d <= lo) | (d >= hi)) if nan_passes else (d > lo) & (d < hi)
    return where(inside, x, clamp(x, lo, hi).detach())


def silu(input, inplace=False):
    """``input * sigmoid(input)`` (also called swish)."""
    _float_input(input, "silu")
    return _maybe_inplace(input, input * sigmoid(input), inplace, "silu")


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``input`` clamped to ``[min_val, max_val]``."""
    _float_input(input, "hardtanh")
    lo, hi = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ShapeError(f"hardtanh: min_val ({lo}) must not exceed max_val ({hi})")
    return _maybe_inplace(input, _clipped(input, lo, hi), inplace, "hardtanh")


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)``."""
    _float_input(input, "relu6")
    return _maybe_inplace(input, _clipped(input, 0.0, 6.0), inplace, "relu6")


def hardsigmoid(input, inplace=False):
    """``clamp(input / 6 + 1 / 2, 0, 1)``."""
    _float_input(input, "hardsigmoid")
    return _maybe_inplace(input, _clipped(input / 6.0 + 0.5, 0.0, 1.0, nan_passes=False), inplace, "hardsigmoid")


def hardswish(input, inplace=False):
    """``input * hardsigmoid(input)``."""
    _float_input(input, "hardswish")
    x = input._data
    # The quadratic piece (slope x / 3 + 1 / 2), on inputs zeroed outside it so that a NaN there
    # cannot reach the gradient through the branch not taken.
    safe = where((x > -3) & (x < 3), input, 0.0)
    middle = safe * (safe + 3.0) / 6.0
    # PyTorch's pieces: 0 up to -3 included, the quadratic strictly inside, x from 3 on (and at NaN).
    out = where(x <= -3, input * 0.0, where(x < 3, middle, input))
    return _maybe_inplace(input, out, inplace, "hardswish")


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``, and ``input`` itself where ``beta * input`` exceeds
    ``threshold`` (PyTorch's switch to the linear function, which also avoids overflow)."""
    _float_input(input, "softplus")
    beta, threshold = _number("softplus", "beta", beta), _number("softplus", "threshold", threshold)
    scaled = input * beta
    linear = scaled._data > threshold
    smooth = log1p(exp(where(linear, 0.0, scaled))) / beta
    return where(linear, input, smooth)


def mish(input, inplace=False):
    """``input * tanh(softplus(input))``."""
    _float_input(input, "mish")
    return _maybe_inplace(input, input * tanh(softplus(input)), inplace, "mish")
