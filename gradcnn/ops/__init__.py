"""Differentiable operations, one module per family, and the Tensor methods that call them.

Importing this package attaches the operators and methods below to :class:`gradcnn.Tensor`; the
table is the whole list, so a reader can see every method a tensor has in one place.
"""

import functools
import numbers

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from .activation import elu, leaky_relu, log_softmax, maxout, prelu, rrelu, softmax
from .dropout import dropout, dropout1d, dropout2d
from .elementwise import (
    CONVERSIONS, abs, add, cast, clamp, div, eq, exp, ge, gt, le, log, log1p, lt, maximum, minimum, mul, ne,
    neg, pow, relu, sigmoid, sign, sqrt, square, sub, tanh, to_device, where,
)
from .linalg import embedding, linear, matmul
from .loss import (
    binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss, nll_loss,
)
from .norm import batch_norm, group_norm, layer_norm, local_response_norm
from .reduction import (
    amax, amin, argmax, argmin, logsumexp, max, mean, min, std, sum, var,
)
from .shape import (
    broadcast_to, cat, chunk, clone, copy_, expand, flatten, getitem, index_put, pad, permute, reshape,
    setitem, split, squeeze, stack, sum_to, transpose, unsqueeze, view,
)
from .elementwise import (
    acos, asin, atan, ceil, cos, cosh, floor, isfinite, isinf, isnan, logical_not, masked_fill, reciprocal,
    round, rsqrt, sin, sinh, tan, trunc,
)
from .elementwise import (
    bitwise_and, bitwise_not, bitwise_or, bitwise_xor, floor_divide, logical_and, logical_or, logical_xor,
    remainder,
)
from .linalg import bmm, dot, mm, outer
from .methods import METHODS as _OTHER_METHODS
from .methods import allclose, equal, isclose, unique
from .reduction import argsort, cumsum, norm, sort, topk
from .shape import flip, gather, meshgrid, one_hot, repeat, scatter, scatter_add, t, unflatten
from .upsample import interpolate

__all__ = [
    "acos", "allclose", "argsort", "asin", "atan", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor",
    "bmm", "equal", "floor_divide", "isclose", "logical_and", "logical_or", "logical_xor", "remainder", "unique",
    "ceil", "cos", "cosh", "cumsum", "dot", "flip", "floor", "gather",
    "isfinite", "isinf", "isnan", "logical_not", "masked_fill", "meshgrid", "mm", "norm", "one_hot", "outer",
    "reciprocal", "repeat", "round", "rsqrt", "scatter", "scatter_add", "sin", "sinh", "sort", "t", "tan",
    "topk", "trunc", "unflatten",
    "dropout1d", "dropout2d", "group_norm", "interpolate", "layer_norm",
    "abs", "add", "amax", "amin", "argmax", "argmin", "batch_norm",
    "binary_cross_entropy_with_logits", "broadcast_to", "cast", "cat", "chunk", "clamp", "clone",
    "cross_entropy", "div", "dropout", "elu", "embedding", "eq", "exp", "expand", "flatten", "ge", "getitem",
    "gt", "index_put", "l1_loss", "le", "leaky_relu", "linear", "local_response_norm", "log", "log1p", "log_softmax",
    "logsumexp", "lt", "matmul", "max", "maximum", "maxout", "mean", "min", "minimum", "mse_loss",
    "mul", "ne", "neg", "nll_loss", "pad", "permute", "pow", "prelu", "relu", "reshape", "rrelu",
    "sigmoid", "sign", "softmax", "split", "sqrt", "square", "squeeze", "stack", "std", "sub",
    "sum", "sum_to", "tanh", "to_device", "transpose", "unsqueeze", "var", "view", "where",
]


def _numpy_names(fn):
    """``fn`` also taking NumPy's names ``axis`` and ``keepdims`` for ``dim`` and ``keepdim``, as
    PyTorch's functions and Tensor methods do (``x.sum(axis=1)``, ``torch.argmax(x, axis=1)``)."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if kwargs:
            for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}(): got both {name!r} and its other name {alias!r}")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return call


(sum, mean, amax, amin, argmax, argmin, max, min, var, std, logsumexp, cumsum, sort, argsort, topk, softmax,
 log_softmax, squeeze, unsqueeze, cat, stack) = map(_numpy_names, (
    sum, mean, amax, amin, argmax, argmin, max, min, var, std, logsumexp, cumsum, sort, argsort, topk, softmax,
    log_softmax, squeeze, unsqueeze, cat, stack))


def _swap(fn):
    def reflected(self, other):
        return fn(other, self)

    reflected.__name__ = f"r{fn.__name__}"
    return reflected


_OPERAND_TYPES = frozenset({Tensor, int, float, bool, np.ndarray, np.float32, np.float64})


def _operand_ok(other):
    if type(other) in _OPERAND_TYPES:  # the common cases, without the slower checks below
        return True
    return (isinstance(other, (Tensor, numbers.Number, np.ndarray, np.generic))
            or hasattr(other, "__cuda_array_interface__"))


def _operator(fn):
    """An arithmetic dunder: NotImplemented for an operand no tensor op takes (a str, None, a list),
    so that Python tries the other operand's reflected method and then raises its TypeError, as it
    does for PyTorch's tensors. The named functions (``gradcnn.add``) raise a DTypeError instead."""

    def method(self, other):
        if not _operand_ok(other):
            return NotImplemented
        return fn(self, other)

    method.__name__ = fn.__name__
    return method


def _shape_method(fn):
    def method(self, *shape):
        return fn(self, *shape)

    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


_METHODS = {
    # operators
    "__add__": _operator(add), "__radd__": _operator(_swap(add)), "__sub__": _operator(sub),
    "__rsub__": _operator(_swap(sub)), "__mul__": _operator(mul), "__rmul__": _operator(_swap(mul)),
    "__truediv__": _operator(div), "__rtruediv__": _operator(_swap(div)), "__pow__": _operator(pow),
    "__rpow__": _operator(_swap(pow)), "__neg__": neg, "__abs__": abs,
    "__matmul__": matmul, "__rmatmul__": _swap(matmul), "__getitem__": getitem, "__setitem__": setitem,
    "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge, "__eq__": eq, "__ne__": ne,
    "__mod__": _operator(remainder), "__rmod__": _operator(_swap(remainder)),
    "__floordiv__": _operator(floor_divide), "__rfloordiv__": _operator(_swap(floor_divide)), "__and__": bitwise_and, "__rand__": _swap(bitwise_and),
    "__or__": bitwise_or, "__ror__": _swap(bitwise_or), "__xor__": bitwise_xor, "__rxor__": _swap(bitwise_xor),
    "__invert__": bitwise_not, "__pos__": lambda self: self,
    # elementwise
    "add": add, "sub": sub, "mul": mul, "div": div, "neg": neg, "pow": pow, "abs": abs,
    "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "square": square, "clamp": clamp,
    "clip": clamp, "maximum": maximum, "minimum": minimum, "sigmoid": sigmoid, "tanh": tanh,
    "relu": relu, "sign": sign, "matmul": matmul,
    # reductions
    "sum": sum, "mean": mean, "amax": amax, "amin": amin, "max": max, "min": min,
    "argmax": argmax, "argmin": argmin, "var": var, "std": std, "logsumexp": logsumexp,
    "softmax": softmax, "log_softmax": log_softmax,
    # shape
    "reshape": _shape_method(reshape), "view": _shape_method(view), "flatten": flatten,
    "squeeze": squeeze, "unsqueeze": unsqueeze, "permute": _shape_method(permute),
    "transpose": transpose, "expand": _shape_method(expand), "split": split, "chunk": chunk,
    "clone": clone, "copy_": copy_,
    # moves and casts
    **CONVERSIONS,
}

_METHODS.update({
    # comparisons and predicates by name
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "isnan": isnan, "isinf": isinf,
    "isfinite": isfinite, "logical_not": logical_not,
    # more elementwise
    "sin": sin, "cos": cos, "tan": tan, "asin": asin, "acos": acos, "atan": atan, "sinh": sinh,
    "cosh": cosh, "reciprocal": reciprocal, "rsqrt": rsqrt, "floor": floor, "ceil": ceil, "round": round,
    "trunc": trunc, "masked_fill": masked_fill,
    "remainder": remainder, "floor_divide": floor_divide, "bitwise_and": bitwise_and, "bitwise_or": bitwise_or,
    "bitwise_xor": bitwise_xor, "bitwise_not": bitwise_not, "logical_and": logical_and, "logical_or": logical_or,
    "logical_xor": logical_xor,
    # linear algebra, reductions, shape
    "dot": dot, "mm": mm, "bmm": bmm, "outer": outer, "norm": norm, "sort": sort, "argsort": argsort, "topk": topk,
    "cumsum": cumsum, "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "unflatten": unflatten, "flip": flip, "repeat": repeat, "t": t,
    "view_as": lambda self, other: view(self, other.shape),
    "reshape_as": lambda self, other: reshape(self, other.shape),
    "expand_as": lambda self, other: expand(self, other.shape),
    **_OTHER_METHODS,
})

_METHODS.update({
    # composites of the above, for the in-place forms optimizers and training loops use
    "clamp_min": lambda self, min: clamp(self, min=min),
    "clamp_max": lambda self, max: clamp(self, max=max),
    "lerp": lambda self, end, weight: self + weight * (end - self),
    "addcmul": lambda self, tensor1, tensor2, *, value=1: self + value * tensor1 * tensor2,
    "addcdiv": lambda self, tensor1, tensor2, *, value=1: self + value * tensor1 / tensor2,
})

# ``x.exp_()`` is ``x.exp()`` written into ``x``: its version moves on and, in the graph, ``x`` is
# now the result (Tensor._inplace). add_, sub_, mul_, div_, clamp_, fill_, zero_ and copy_ live on
# Tensor itself.
_IN_PLACE = (
    "abs", "neg", "exp", "log", "log1p", "sqrt", "rsqrt", "square", "reciprocal", "sigmoid", "tanh", "relu",
    "sign", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "floor", "ceil", "round", "trunc",
    "pow", "remainder", "floor_divide", "masked_fill", "clamp_min", "clamp_max", "eq", "ne", "lt", "le", "gt",
    "ge", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "scatter", "scatter_add", "lerp", "addcmul",
    "addcdiv",
)
# PyTorch does not record these on the graph: the tensor keeps its grad_fn, and its gradient passes
# through as if unchanged.
_UNRECORDED = ("logical_not", "logical_and", "logical_or", "logical_xor")


def _in_place(name, fn):
    def method(self, *args, **kwargs):
        return self._inplace(name, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``: the result is written into this tensor, which is returned."
    return method


def _unrecorded(name, fn):
    def method(self, *args, **kwargs):
        self._check_inplace(name)  # a leaf that requires grad is still refused
        with no_grad():
            return self._assign(fn(self, *args, **kwargs), name)

    method.__name__ = name
    method.__doc__ = f"In-place ``{name[:-1]}``, not recorded on the graph (as in PyTorch)."
    return method


_METHODS.update({f"{name}_": _in_place(f"{name}_", _METHODS[name]) for name in _IN_PLACE})
_METHODS.update({f"{name}_": _unrecorded(f"{name}_", _METHODS[name]) for name in _UNRECORDED})
_METHODS["clip_"] = Tensor.clamp_

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: permute(self, *reversed(range(self.ndim))), doc="Dims reversed.")
Tensor.mT = property(lambda self: transpose(self, -2, -1), doc="Last two dims swapped.")


def _contiguous(self):
    return self if self._data.flags.c_contiguous else clone(self)


def _any(self, dim=None):
    return Tensor._make(self._data.any(axis=dim))


def _all(self, dim=None):
    return Tensor._make(self._data.all(axis=dim))


Tensor.contiguous = _contiguous
Tensor.is_contiguous = lambda self, memory_format=None: bool(self._data.flags.c_contiguous)  # noqa: ARG005
Tensor.any = _any
Tensor.all = _all
