"""Reductions: ``sum`` and ``amax``/``amin`` are primitives; ``mean``, ``var``, ``std``,
``logsumexp``, ``max``/``min`` (values and indices), ``argmax``/``argmin`` are built on them.

``dim`` is an int, a tuple of ints or ``None`` (every dim); ``keepdim`` keeps reduced dims as size 1.
Where several elements share the extreme value, ``amax``/``amin`` (and so ``max``/``min``) split the
gradient equally between them.
"""

from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..autograd.tape import is_grad_enabled
from ..backends import get_array_module
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _dim
from .elementwise import abs, exp, log, maximum, minimum, ne, sqrt, where
from .shape import expand, flip, gather, reshape, squeeze

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
    axes = normalize_dims(dim, input.ndim, "sum")
    if dtype is not None:
        input = input.to(dtype)
    elif input.dtype == np.bool_ or input.dtype.kind in "iu":
        input = input.to(np.int64)
    if not axes and input.ndim:
        return input
    return Sum.apply(input, axes=axes, keepdim=keepdim)


def _count(shape, axes):
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def mean(input, dim=None, keepdim=False):
    """Mean over ``dim`` (all dims by default): ``sum / count``."""
    axes = normalize_dims(dim, input.ndim, "mean")
    if input.dtype.kind != "f":
        input = input.to(np.float32)
    n = _count(input.shape, axes)
    if n == 0:
        raise ShapeError(f"mean: reducing dims {axes} of a tensor of shape {input.shape} with no elements")
    return sum(input, axes, keepdim) / float(n)


def _extreme(cls, op, input, dim, keepdim):
    axes = normalize_dims(dim, input.ndim, op)
    if _count(input.shape, axes) == 0:
        raise ShapeError(f"{op}: reducing dims {axes} of a tensor of shape {input.shape} with no elements")
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
    if dim is None:
        if input._data.size == 0:
            raise ShapeError(f"{op}: the input (shape {input.shape}) has no elements")
        return Tensor._make(getattr(input._data, fn)().astype(np.int64))
    d = _dim(dim, input.ndim, op)
    if input.ndim and input.shape[d] == 0:
        raise ShapeError(f"{op}: dim {d} of the input (shape {input.shape}) is empty")
    idx = getattr(input._data, fn)(axis=d if input.ndim else None, keepdims=keepdim and input.ndim > 0)
    return Tensor._make(idx.astype(np.int64))


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (first one among ties); over the flattened tensor when ``dim=None``."""
    return _arg("argmax", "argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (first one among ties); over the flattened tensor when ``dim=None``."""
    return _arg("argmin", "argmin", input, dim, keepdim)


def max(input, dim=None, keepdim=False):
    """The maximum of all elements (ties share the gradient equally), or with ``dim`` (an int) a
    ``(values, indices)`` pair whose gradient goes to the element each index names, as in PyTorch."""
    if dim is None:
        return amax(input)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    dim = _dim(dim, input.ndim, "max")  # one int, as in PyTorch: indices over several dims are undefined
    return _picked(input, dim, keepdim, argmax(input, dim, True))


def min(input, dim=None, keepdim=False):
    """The minimum of all elements, or with ``dim`` (an int) a ``(values, indices)`` pair."""
    if dim is None:
        return amin(input)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    dim = _dim(dim, input.ndim, "min")  # one int, as in PyTorch: indices over several dims are undefined
    return _picked(input, dim, keepdim, argmin(input, dim, True))


def var(input, dim=None, *, correction=1, keepdim=False, unbiased=None):
    """Variance over ``dim``, dividing by ``count - correction`` (1 by default: unbiased)."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    axes = normalize_dims(dim, input.ndim, "var")
    n = _count(input.shape, axes)
    if n - correction <= 0:
        raise ShapeError(
            f"var: {n} elements per reduction (dims {axes} of shape {input.shape}) with "
            f"correction={correction} leaves {n - correction} degrees of freedom"
        )
    centered = input - mean(input, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / float(n - correction)


def std(input, dim=None, *, correction=1, keepdim=False, unbiased=None):
    """Standard deviation: ``sqrt(var(...))``."""
    return sqrt(var(input, dim, correction=correction, keepdim=keepdim, unbiased=unbiased))


def logsumexp(input, dim, keepdim=False):
    """``log(sum(exp(input), dim))`` without overflow: the maximum is taken out first."""
    axes = normalize_dims(dim, input.ndim, "logsumexp")
    m = amax(input, axes, keepdim=True).detach()
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
    d = _dim(dim, input.ndim, "sort")
    if input.ndim == 0:
        return SortResult(input, Tensor._make(np.zeros((), np.int64)))
    idx = Tensor._make(_sort_indices(input._data, d, descending))
    return SortResult(gather(input, d, idx), idx)


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: ARG001 (always stable)
    """The indices that sort ``input`` along ``dim``: ``sort(...).indices``, without the values."""
    d = _dim(dim, input.ndim, "argsort")
    if input.ndim == 0:
        return Tensor._make(np.zeros((), np.int64))
    return Tensor._make(_sort_indices(input._data, d, descending))


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: ARG001 (always sorted)
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices, always in sorted
    order (PyTorch allows that for ``sorted=False``)."""
    d = _dim(dim, input.ndim, "topk")
    size = input.shape[d] if input.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= size:
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
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise DTypeError(f"norm: input must be floating, got {input.dtype.name}")
    if p == "fro":
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ShapeError(f"norm: p must be 'fro' or a number, got {p!r}")
    a = abs(input)
    if p == float("inf"):
        return amax(a, dim, keepdim)
    if p == float("-inf"):
        return amin(a, dim, keepdim)
    if p == 0:
        return sum(ne(input, 0.0).to(input.dtype), dim, keepdim)
    if p == 1:
        return sum(a, dim, keepdim)
    if p == 2:
        return sqrt(sum(input * input, dim, keepdim))
    return sum(a ** p, dim, keepdim) ** (1.0 / p)
