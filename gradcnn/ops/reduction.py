"""Reductions: ``sum`` and ``amax``/``amin`` are primitives; ``mean``, ``var``, ``std``,
``logsumexp``, ``max``/``min`` (values and indices), ``argmax``/``argmin`` are built on them.

``dim`` is an int, a tuple of ints or ``None`` (every dim); ``keepdim`` keeps reduced dims as size 1.
Where several elements share the extreme value, ``amax``/``amin`` (and so ``max``/``min``) split the
gradient equally between them.
"""

from collections import namedtuple

import numpy as np

from ..arguments import flag, integer, number
from ..autograd.function import Function
from ..autograd.tape import is_grad_enabled
from ..backends import get_array_module
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor, _dim
from .elementwise import abs, exp, log, maximum, minimum, ne, sqrt, where
from .shape import as_tensor_arg, expand, flip, gather, reshape, squeeze

__all__ = [
    "sum",
    "mean",
    "amax",
    "amin",
    "max",
    "min",
    "argmax",
    "argmin",
    "var",
    "std",
    "logsumexp",
    "normalize_dims",
    "sort",
    "argsort",
    "topk",
    "cumsum",
    "norm",
]

MinMax = namedtuple("MinMax", ["values", "indices"])
_EVERY_DIM = object()  # ``max(x)``: PyTorch refuses an explicit ``dim=None`` there


def normalize_dims(dim, ndim, op):
    """``dim`` as a sorted tuple of non-negative axes (``None`` means all of them, and so does an
    empty tuple or list: PyTorch reduces every dim for ``dim=()``)."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(ndim))
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    axes = tuple(sorted({_dim(d, ndim, op) for d in dims}))
    if len(axes) != len(dims):
        raise ShapeError(f"{op}: dim {dim} names a dimension twice")
    if ndim == 0:
        return ()
    return axes


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _expand_back(g, in_shape, axes, keepdim):
    if not keepdim:
        g = reshape(g, _kept_shape(in_shape, axes))
    return expand(g, in_shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, *, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return x.sum(axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        if not is_grad_enabled():  # not recorded: the same broadcast view, without the ops' dispatch
            gd = g._data if ctx.keepdim else g._data.reshape(_kept_shape(ctx.in_shape, ctx.axes))
            return Tensor._make(get_array_module(gd).broadcast_to(gd, ctx.in_shape))
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim)


class _Extreme(Function):
    """``amax``/``amin``: the gradient goes to the extreme elements, split equally between ties."""

    reduce = None

    @classmethod
    def forward(cls, ctx, x, *, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        y = getattr(x, cls.reduce)(axis=axes, keepdims=True)
        hit = (x == y).astype(x.dtype)
        with np.errstate(invalid="ignore"):  # a NaN slice has no element equal to its max: NaN, as in PyTorch
            ctx.weight = hit / hit.sum(axis=axes, keepdims=True)
        return y if keepdim else y.reshape(tuple(s for i, s in enumerate(x.shape) if i not in axes))

    @staticmethod
    def backward(ctx, g):
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim) * ctx.weight


class Amax(_Extreme):
    reduce = "max"


class Amin(_Extreme):
    reduce = "min"


def sum(input, dim=None, keepdim=False, *, dtype=None):
    """Sum over ``dim`` (all dims by default)."""
    input, axes, keepdim = _reduction_args("sum", input, dim, keepdim)
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype == np.bool_ or input.dtype.kind in "iu":
        input = input.to(np.int64)
    if not axes and input.ndim:
        return input
    return Sum.apply(input, axes=axes, keepdim=keepdim)


def _reduction_args(op, input, dim, keepdim):
    """``input`` checked to be a Tensor, ``dim`` as sorted axes and ``keepdim`` as a bool."""
    input = as_tensor_arg(input, op)
    keepdim = flag(op, "keepdim", keepdim)
    return input, normalize_dims(dim, input.ndim, op), keepdim


def _all_dims(dim):
    return dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)


def _check_nonempty(op, input, dim, axes):
    """PyTorch's rule for reductions without an identity (max, min, argmax): over every dim the
    input must have an element; over named dims each of them must be non-empty."""
    if _all_dims(dim):
        if input._data.size == 0:
            raise ShapeError(f"{op}: the input (shape {input.shape}) has no elements; name the dim to reduce")
        return
    for a in axes:
        if input.ndim and input.shape[a] == 0:
            raise IndexOutOfRangeError(f"{op}: dim {a} of the input (shape {input.shape}) is empty; "
                                       "the reduction has no identity")


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def mean(input, dim=None, keepdim=False, *, dtype=None):
    """Mean over ``dim`` (all dims by default): ``sum / count``; NaN over no elements, as in PyTorch.
    Integers and bools need ``dtype=`` (a floating one), as there."""
    input, axes, keepdim = _reduction_args("mean", input, dim, keepdim)
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise DTypeError(f"mean: input must have a floating dtype (or give a floating dtype=), got {input.dtype.name}")
    with np.errstate(invalid="ignore"):  # 0 / 0 over no elements: NaN, PyTorch's answer
        return sum(input, axes, keepdim) / float(_count(input.shape, axes))


def _extreme(cls, op, input, dim, keepdim):
    input, axes, keepdim = _reduction_args(op, input, dim, keepdim)
    _check_nonempty(op, input, dim, axes)
    if not axes and input.ndim:
        return input
    return cls.apply(input, axes=axes, keepdim=keepdim)


def amax(input, dim=None, keepdim=False):
    """Maximum over ``dim`` (an int, a tuple, or all dims)."""
    return _extreme(Amax, "amax", input, dim, keepdim)


def amin(input, dim=None, keepdim=False):
    """Minimum over ``dim`` (an int, a tuple, or all dims)."""
    return _extreme(Amin, "amin", input, dim, keepdim)


def _arg(fn, op, input, dim, keepdim):
    input = as_tensor_arg(input, op)
    keepdim = flag(op, "keepdim", keepdim)
    if dim is None:
        if input._data.size == 0:
            raise IndexOutOfRangeError(f"{op}: the input (shape {input.shape}) has no elements; name the dim to reduce")
        idx = getattr(input._data, fn)().astype(np.int64)
        return Tensor._make(idx.reshape((1,) * input.ndim) if keepdim else idx)
    d = _dim(dim, input.ndim, op)
    _check_nonempty(op, input, d, (d,))
    idx = getattr(input._data, fn)(axis=d if input.ndim else None, keepdims=keepdim and input.ndim > 0)
    return Tensor._make(idx.astype(np.int64))


def _not_bool(input, op):
    if input.dtype == np.bool_:
        raise DTypeError(f"{op}: bool input is not supported, as in PyTorch; convert it with .int() or .float()")


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (first one among ties); over the flattened tensor when ``dim=None``."""
    _not_bool(as_tensor_arg(input, "argmax"), "argmax")
    return _arg("argmax", "argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (first one among ties); over the flattened tensor when ``dim=None``."""
    _not_bool(as_tensor_arg(input, "argmin"), "argmin")
    return _arg("argmin", "argmin", input, dim, keepdim)


def max(input, dim=_EVERY_DIM, keepdim=False):
    """The maximum of all elements (ties share the gradient equally), or with ``dim`` (an int) a
    ``(values, indices)`` pair whose gradient goes to the element each index names, as in PyTorch."""
    input = as_tensor_arg(input, "max")
    if dim is _EVERY_DIM:
        if flag("max", "keepdim", keepdim):
            raise DTypeError("max: keepdim=True needs a dim to keep")
        return amax(input)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    if dim is None:
        raise DTypeError("max: dim must be an int (leave it out to reduce every dim), got None")
    dim = _dim(dim, input.ndim, "max")  # one int, as in PyTorch: indices over several dims are undefined
    keepdim = flag("max", "keepdim", keepdim)
    _check_nonempty("max", input, dim, (dim,))
    return _picked(input, dim, keepdim, _arg("argmax", "max", input, dim, True))


def min(input, dim=_EVERY_DIM, keepdim=False):
    """The minimum of all elements, or with ``dim`` (an int) a ``(values, indices)`` pair."""
    input = as_tensor_arg(input, "min")
    if dim is _EVERY_DIM:
        if flag("min", "keepdim", keepdim):
            raise DTypeError("min: keepdim=True needs a dim to keep")
        return amin(input)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    if dim is None:
        raise DTypeError("min: dim must be an int (leave it out to reduce every dim), got None")
    dim = _dim(dim, input.ndim, "min")  # one int, as in PyTorch: indices over several dims are undefined
    keepdim = flag("min", "keepdim", keepdim)
    _check_nonempty("min", input, dim, (dim,))
    return _picked(input, dim, keepdim, _arg("argmin", "min", input, dim, True))


def _var(op, input, dim, unbiased, keepdim, correction):
    input, axes, keepdim = _reduction_args(op, input, dim, keepdim)
    if correction is None:
        correction = 1 if flag(op, "unbiased", unbiased) else 0
    else:
        flag(op, "unbiased", unbiased)
        correction = number(op, "correction", correction)
    if input.dtype.kind != "f":
        raise DTypeError(f"{op}: input must have a floating dtype, got {input.dtype.name}")
    # Over no more elements than the correction the divisor is 0: inf or NaN, as in PyTorch.
    dof = float(_count(input.shape, axes) - correction)
    dof = dof if dof > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):  # inf - inf in an infinite slice: NaN
        centered = input - mean(input, axes, keepdim=True)
        return sum(centered * centered, axes, keepdim) / dof


def var(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Variance over ``dim``, dividing by ``count - correction`` (by default 1, or 0 with
    ``unbiased=False``); inf or NaN where that is not positive, as in PyTorch."""
    return _var("var", input, dim, unbiased, keepdim, correction)


def std(input, dim=None, unbiased=True, keepdim=False, *, correction=None):
    """Standard deviation: ``sqrt(var(...))``."""
    return sqrt(_var("std", input, dim, unbiased, keepdim, correction))


def logsumexp(input, dim=None, keepdim=False):
    """``log(sum(exp(input), dim))`` without overflow: the maximum is taken out first; ``-inf``
    over no elements."""
    input = as_tensor_arg(input, "logsumexp")
    if dim is None:
        raise DTypeError("logsumexp: dim (required, as in PyTorch) must be an int or a tuple of ints, got None")
    if _all_dims(dim) and input.ndim:
        raise ShapeError(f"logsumexp: dim must name at least one dim of the input (shape {input.shape}), got {dim!r}")
    input, axes, keepdim = _reduction_args("logsumexp", input, dim, keepdim)
    if input.dtype.kind != "f":  # integers and bools give the default float dtype, as in PyTorch
        input = input.to(np.float32)
    if _count(input.shape, axes):
        m = amax(input, axes, keepdim=True).detach()
    else:  # nothing to take out: the sum of no terms is 0
        m = Tensor._make(get_array_module(input._data).zeros(_kept_shape(input.shape, axes), input.dtype))
    # A slice of all -inf (or +inf) would give inf - inf = nan; shift by 0 there instead.
    m = where(get_array_module(m).isfinite(m._data), m, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for a slice of all -inf (CuPy never warns)
        out = log(sum(exp(input - m), axes, keepdim=True)) + m
    if not keepdim:
        out = reshape(out, tuple(s for i, s in enumerate(input.shape) if i not in axes))
    return out


def _picked(input, dim, keepdim, indices):
    """``(values, indices)`` with the values gathered at ``indices`` (kept dims), so that the
    gradient reaches exactly the elements named, as PyTorch's ``max(dim)`` and ``sort`` do."""
    if input.ndim == 0:
        return MinMax(input, Tensor._make(indices._data.reshape(())))
    values = gather(input, dim, indices)
    if not keepdim:
        values = squeeze(values, dim)
        indices = Tensor._make(indices._data.squeeze(dim))
    return MinMax(values, indices)


SortResult = namedtuple("SortResult", ["values", "indices"])
TopKResult = namedtuple("TopKResult", ["values", "indices"])


def _sort_indices(data, dim, descending):
    xp = get_array_module(data)
    key = data
    if descending:
        # Negating keeps a stable order among equal values; NaN, PyTorch's largest, goes first.
        key = -data.astype(np.float64) if data.dtype.kind in "biu" else -data
        if data.dtype.kind == "f":
            key = xp.where(xp.isnan(data), -np.inf, key)
    return xp.argsort(key, axis=dim, kind="stable").astype(np.int64)


def sort(input, dim=-1, descending=False, stable=False):  # noqa: ARG001 (always stable)
    """``(values, indices)`` sorted along ``dim``; always stable, whatever ``stable`` says (PyTorch
    allows that), and NaN sorts as the largest value."""
    input = as_tensor_arg(input, "sort")
    d = _dim(dim, input.ndim, "sort")
    descending = flag("sort", "descending", descending)
    flag("sort", "stable", stable, allow_none=True)
    if input.ndim == 0:
        return SortResult(input, Tensor._make(np.zeros((), np.int64)))
    idx = Tensor._make(_sort_indices(input._data, d, descending))
    return SortResult(gather(input, d, idx), idx)


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: ARG001 (always stable)
    """The indices that sort ``input`` along ``dim``: ``sort(...).indices``, without the values."""
    input = as_tensor_arg(input, "argsort")
    d = _dim(dim, input.ndim, "argsort")
    descending = flag("argsort", "descending", descending)
    flag("argsort", "stable", stable)
    if input.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    return Tensor._make(_sort_indices(input._data, d, descending))


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: ARG001 (always sorted)
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, always in sorted
    order (PyTorch allows that for ``sorted=False``)."""
    input = as_tensor_arg(input, "topk")
    _not_bool(input, "topk")
    k = integer("topk", "k", k)
    d = _dim(dim, input.ndim, "topk")
    largest = flag("topk", "largest", largest)
    flag("topk", "sorted", sorted)
    size = input.shape[d] if input.ndim else 1
    if not 0 <= k <= size:
        raise ShapeError(f"topk: k ({k!r}) must be an int in [0, {size}] for dim {d} of shape {tuple(input.shape)}")
    if input.ndim == 0:
        return TopKResult(input, Tensor._make(np.zeros((), np.int64)))
    order = _sort_indices(input._data, d, largest)
    idx = Tensor._make(order[tuple(slice(0, k) if a == d else slice(None) for a in range(input.ndim))])
    return TopKResult(gather(input, d, idx), idx)


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, *, dim):
        ctx.dim = dim
        return get_array_module(x).cumsum(x, axis=dim, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return flip(cumsum(flip(g, ctx.dim), ctx.dim), ctx.dim)


def cumsum(input, dim, *, dtype=None):
    """Running sums along ``dim``; integers and bools sum in int64, as in PyTorch."""
    input = as_tensor_arg(input, "cumsum")
    d = _dim(dim, input.ndim, "cumsum")
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype.kind in "biu":
        input = input.to(np.int64)
    if input.ndim == 0:
        return input * 1
    return CumSum.apply(input, dim=d)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector ``p``-norm over ``dim`` (all elements by default): p = 'fro' or 2, 1, inf, -inf,
    0 (count of non-zeros) or any other number; a composite."""
    input, axes, keepdim = _reduction_args("norm", input, dim, keepdim)
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise DTypeError(f"norm: input must be floating, got {input.dtype.name}")
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ShapeError(f"norm: p must be 'fro' or a number, got {p!r}")
    if (p < 0 or p == float("inf")) and _count(input.shape, axes) == 0:
        raise ShapeError(f"norm: the {p} norm over dims {axes} of the input (shape {input.shape}) has no "
                         "elements to take, and no identity")
    a = abs(input)
    if p == float("inf"):
        return amax(a, axes, keepdim)
    if p == float("-inf"):
        return amin(a, axes, keepdim)
    if p == 0:
        return sum(ne(input, 0.0).to(input.dtype), axes, keepdim)
    if p == 1:
        return sum(a, axes, keepdim)
    if p == 2:
        return sqrt(sum(input * input, axes, keepdim))
    return sum(a ** p, axes, keepdim) ** (1.0 / p)
