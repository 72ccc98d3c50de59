"""Tensor methods that are not differentiable ops: in-place random fills (``normal_``,
``uniform_``), ``new_*`` constructors on the tensor's device, ``type()``, and the comparisons
that answer with a bool (``equal``, ``allclose``) or a bool tensor (``isclose``); ``unique``.

The in-place fills change values the graph cannot follow, so like PyTorch they refuse a leaf that
requires grad outside ``no_grad`` (``nn.init`` wraps them in ``no_grad``).
"""

import numbers

import numpy as np

from .. import random as _random
from ..backends import get_array_module, to_device
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _dim, check_devices, resolve_dtype

__all__ = ["METHODS", "allclose", "equal", "isclose", "unique"]

# PyTorch's legacy type names, for ``t.type()``.
_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
    "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


def _random_fill(self, op, draw):
    if self.dtype.kind != "f":
        raise DTypeError(f"{op}: needs a floating tensor, got {self.dtype.name}")
    values = draw(_random.generator(), self.shape).astype(self.dtype, copy=False)
    if type(self._data) is not np.ndarray:
        values = to_device(values, self.device)
    return self._assign(Tensor._make(values), op)


def _finite(op, name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise DTypeError(f"{op}: {name} must be a finite number, got {value!r}")
    return float(value)


def normal_(self, mean=0.0, std=1.0):
    """Fill with samples of N(mean, std^2) from the seeded generator."""
    mean, std = _finite("normal_", "mean", mean), _finite("normal_", "std", std)
    if std < 0:
        raise ShapeError(f"normal_: std must be non-negative, got {std}")
    return _random_fill(self, "normal_", lambda g, shape: g.standard_normal(shape) * std + mean)


def uniform_(self, a=0.0, b=1.0):
    """Fill with samples of U(a, b) from the seeded generator."""
    a, b = _finite("uniform_", "from", a), _finite("uniform_", "to", b)
    if a > b:
        raise ShapeError(f"uniform_: expects from <= to, got from={a} > to={b}")
    return _random_fill(self, "uniform_", lambda g, shape: g.uniform(a, b, shape))


def _new(fill):
    def make(self, *size, dtype=None, device=None, requires_grad=False):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        dt = self.dtype if dtype is None else resolve_dtype(dtype, "new")
        xp = get_array_module(self._data)
        out = Tensor._make(fill(xp, size, dt))
        if device is not None:
            out = out.to(device)
        if requires_grad:
            out.requires_grad = True
        return out

    return make


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _new(lambda xp, s, dt: xp.full(s, fill_value, dt))(self, size, dtype=dtype, device=device,
                                                                 requires_grad=requires_grad)


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    out = Tensor(data, dtype=self.dtype if dtype is None else dtype, device=self.device if device is None else device)
    if requires_grad:
        out.requires_grad = True
    return out


def type_(self, dtype=None):
    """Without an argument the PyTorch type name (``'torch.FloatTensor'``); with a dtype (or such a
    name) the tensor converted to it."""
    if dtype is None:
        name = _TYPE_NAMES.get(self.dtype.name, self.dtype.name)
        return f"torch.{'cuda.' if self.device != 'cpu' else ''}{name}"
    if isinstance(dtype, str) and dtype.startswith("torch."):
        names = {v: k for k, v in _TYPE_NAMES.items()}
        key = dtype.rsplit(".", 1)[1]
        if key not in names:
            raise DTypeError(f"type: unknown tensor type {dtype!r}")
        dtype = names[key]
    return self.to(resolve_dtype(dtype, "type"))


def equal(input, other):
    """Whether both have the same shape and the same values (NaN equals nothing); the dtypes may
    differ, as in PyTorch."""
    check_devices("equal", ("input", input), ("other", other))
    if input.shape != other.shape:
        return False
    return bool(get_array_module(input._data).array_equal(input._data, other._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Elementwise ``|input - other| <= atol + rtol * |other|`` (broadcast), infinities of one sign
    equal; both must have one dtype, as in PyTorch."""
    if not isinstance(other, Tensor):
        raise DTypeError(f"isclose: other must be a Tensor, not {type(other).__name__}")
    if input.dtype != other.dtype:
        raise DTypeError(f"isclose: input is {input.dtype.name} but other is {other.dtype.name}; "
                         "convert one of them with .to(dtype)")
    check_devices("isclose", ("input", input), ("other", other))
    try:
        shape = np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        raise ShapeError(f"isclose: shapes {input.shape} and {other.shape} do not broadcast") from None
    xp = get_array_module(input._data)
    close = xp.isclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return Tensor._make(xp.broadcast_to(close, shape).copy())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether :func:`isclose` holds everywhere."""
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: ARG001
    """The distinct values (or, with ``dim``, the distinct slices along it) in ascending order,
    which ``sorted=False`` also gives, as PyTorch may; with ``return_inverse`` the index of each
    element's value among them, with ``return_counts`` how often each occurs. Each NaN counts as
    a value of its own, as in PyTorch."""
    xp = get_array_module(input._data)
    data, axis = input._data, None
    if dim is None:
        data = data.reshape(-1)
    else:
        axis = _dim(dim, input.ndim, "unique")
    nan_apart = {"equal_nan": False} if xp is np else {}
    values, inverse, counts = xp.unique(data, return_inverse=True, return_counts=True, axis=axis, **nan_apart)
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(Tensor._make(inverse.reshape(input.shape if dim is None else (-1,)).astype(np.int64)))
    if return_counts:
        out.append(Tensor._make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


METHODS = {
    "unique": unique,
    "equal": equal,
    "isclose": isclose,
    "allclose": allclose,
    "normal_": normal_,
    "uniform_": uniform_,
    "new_zeros": _new(lambda xp, s, dt: xp.zeros(s, dt)),
    "new_ones": _new(lambda xp, s, dt: xp.ones(s, dt)),
    "new_empty": _new(lambda xp, s, dt: xp.empty(s, dt)),
    "new_full": new_full,
    "new_tensor": new_tensor,
    "type": type_,
    "is_cuda": property(lambda self: self.device != "cpu"),
    "is_floating_point": lambda self: self.dtype.kind == "f",
    "element_size": lambda self: self.dtype.itemsize,
    "nelement": lambda self: self.numel(),
    "ndimension": lambda self: self.ndim,
}
