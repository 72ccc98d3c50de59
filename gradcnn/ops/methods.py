"""Tensor methods that are not differentiable ops: in-place random fills (``normal_``,
``uniform_``), ``new_*`` constructors on the tensor's device, ``type()``.

The in-place fills change values the graph cannot follow, so like PyTorch they refuse a leaf that
requires grad outside ``no_grad`` (``nn.init`` wraps them in ``no_grad``).
"""

import numbers

import numpy as np

from .. import random as _random
from ..backends import get_array_module, to_device
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, resolve_dtype

__all__ = ["METHODS"]

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


METHODS = {
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
