"""Reductions: ``sum`` and ``amax``/``amin`` are primitives; ``mean``, ``var``, ``std``,
``logsumexp``, ``max``/``min`` (values and indices), ``argmax``/``argmin`` are built on them.

``dim`` is an int, a tuple of ints or ``None`` (every dim); ``keepdim`` keeps reduced dims as size 1.
Where several elements share the extreme value, ``amax``/``amin`` (and so ``max``/``min``) split the
gradient equally between them.
"""

from collections import namedtuple

import numpy as np

from ..autograd.function import Function
from ..backends import get_array_module
from ..errors import ShapeError
from ..tensor import Tensor, _dim
from .elementwise import exp, log, maximum, minimum, sqrt, where
from .shape import expand, reshape

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
]

MinMax = namedtuple("MinMax", ["values", "indices"])


def normalize_dims(dim, ndim, op):
    """``dim`` as a sorted tuple of non-negative axes (``None`` means all of them)."""
    if dim is None:
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
        return _expand_back(g, ctx.in_shape, ctx.axes, ctx.keepdim)


class _Extreme(Function):
    """``amax``/``amin``: the gradient goes to the extreme elements, split equally between ties."""

    reduce = None

    @classmethod
    def forward(cls, ctx, x, *, axes, keepdim):
        ctx.in_shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        y = getattr(x, cls.reduce)(axis=axes, keepdims=True)
        hit = (x == y).astype(x.dtype)
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
        if input.data.size == 0:
            raise ShapeError(f"{op}: the input (shape {input.shape}) has no elements")
        return Tensor._make(getattr(input.data, fn)().astype(np.int64))
    d = _dim(dim, input.ndim, op)
    if input.ndim and input.shape[d] == 0:
        raise ShapeError(f"{op}: dim {d} of the input (shape {input.shape}) is empty")
    idx = getattr(input.data, fn)(axis=d if input.ndim else None, keepdims=keepdim and input.ndim > 0)
    return Tensor._make(idx.astype(np.int64))


def argmax(input, dim=None, keepdim=False):
    """Index of the maximum (first one among ties); over the flattened tensor when ``dim=None``."""
    return _arg("argmax", "argmax", input, dim, keepdim)


def argmin(input, dim=None, keepdim=False):
    """Index of the minimum (first one among ties); over the flattened tensor when ``dim=None``."""
    return _arg("argmin", "argmin", input, dim, keepdim)


def max(input, dim=None, keepdim=False):
    """The maximum of all elements, or with ``dim`` (an int) a ``(values, indices)`` pair as in
    PyTorch. Ties share the gradient equally."""
    if dim is None:
        return amax(input)
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    dim = _dim(dim, input.ndim, "max")  # one int, as in PyTorch: indices over several dims are undefined
    return MinMax(amax(input, dim, keepdim), argmax(input, dim, keepdim))


def min(input, dim=None, keepdim=False):
    """The minimum of all elements, or with ``dim`` (an int) a ``(values, indices)`` pair."""
    if dim is None:
        return amin(input)
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    dim = _dim(dim, input.ndim, "min")  # one int, as in PyTorch: indices over several dims are undefined
    return MinMax(amin(input, dim, keepdim), argmin(input, dim, keepdim))


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
    m = where(get_array_module(m).isfinite(m.data), m, 0.0)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the answer for a slice of all -inf (CuPy never warns)
        out = log(sum(exp(input - m), axes, keepdim=True)) + m
    if not keepdim:
        out = reshape(out, tuple(s for i, s in enumerate(input.shape) if i not in axes))
    return out
