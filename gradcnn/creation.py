"""Creating tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``, ``randn``, ...

Dtype rules, as in PyTorch: Python floats become float32 (the default dtype), Python ints int64,
bools bool; a NumPy array keeps its dtype. ``requires_grad=True`` needs a floating dtype.
Random tensors draw from the one generator of :mod:`gradcnn.random` (seed it with
``gradcnn.manual_seed``).
"""

import numbers

import numpy as np

from . import random as _random
from .backends import parse_device, to_device
from .errors import DTypeError, ShapeError
from .tensor import DEFAULT_DTYPE, Tensor, as_array, resolve_dtype

__all__ = [
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "arange",
    "linspace",
    "eye",
    "rand",
    "randn",
    "randint",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "rand_like",
    "randn_like",
]


def tensor(data, *, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists, an array or a Tensor)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is an array of that dtype/device."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor._make(as_array(data, dtype, device, copy=False))


def from_numpy(array):
    """A tensor sharing memory with the NumPy ``array`` (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise DTypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    resolve_dtype(array.dtype, "from_numpy")
    return Tensor._make(array)


def _shape(size, op):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, numbers.Integral) or isinstance(s, bool):
            raise DTypeError(f"{op}: size must be ints, got {size!r}")
        if s < 0:
            raise ShapeError(f"{op}: size must be non-negative, got {tuple(size)}")
    return tuple(int(s) for s in size)


def _finish(arr, device, requires_grad):
    if device is not None:
        arr = to_device(arr, parse_device(device))
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def _dt(dtype, op, default=DEFAULT_DTYPE):
    return default if dtype is None else resolve_dtype(dtype, op)


def zeros(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.zeros(_shape(size, "zeros"), _dt(dtype, "zeros")), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.ones(_shape(size, "ones"), _dt(dtype, "ones")), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    return _finish(np.empty(_shape(size, "empty"), _dt(dtype, "empty")), device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    if dtype is None:
        dtype = (
            np.bool_
            if isinstance(fill_value, bool)
            else np.int64
            if isinstance(fill_value, numbers.Integral)
            else DEFAULT_DTYPE
        )
    arr = np.full(_shape((size,) if isinstance(size, int) else (tuple(size),), "full"), fill_value, _dt(dtype, "full"))
    return _finish(arr, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ShapeError("arange: step must be non-zero")
    if dtype is None:
        integral = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = np.int64 if integral else DEFAULT_DTYPE
    arr = np.arange(start, end, step).astype(_dt(dtype, "arange"))
    return _finish(arr, device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    arr = np.linspace(start, end, int(steps)).astype(_dt(dtype, "linspace"))
    return _finish(arr, device, requires_grad)


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    return _finish(np.eye(n, m, dtype=_dt(dtype, "eye")), device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator."""
    dt = _dt(dtype, "rand")
    _require_float(dt, "rand")
    arr = _random.generator().random(_shape(size, "rand"), dtype=np.float64).astype(dt)
    return _finish(arr, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the seeded generator."""
    dt = _dt(dtype, "randn")
    _require_float(dt, "randn")
    arr = _random.generator().standard_normal(_shape(size, "randn")).astype(dt)
    return _finish(arr, device, requires_grad)


def randint(low, high=None, size=(), *, dtype=None, device=None):
    """Integers drawn uniformly from [low, high) by the seeded generator."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ShapeError(f"randint: high ({high}) must be greater than low ({low})")
    arr = _random.generator().integers(low, high, _shape((tuple(size),), "randint"))
    return _finish(arr.astype(_dt(dtype, "randint", np.dtype(np.int64))), device, False)


def _require_float(dt, op):
    if dt.kind != "f":
        raise DTypeError(f"{op}: needs a floating dtype, got {dt.name}")


def _like(fn, t, dtype, device, requires_grad, *args):
    # The device goes to ``fn`` (not ``.to()`` afterwards), so a result that requires grad is a leaf.
    return fn(*args, t.shape, dtype=t.dtype if dtype is None else dtype,
              device=t.device if device is None else device, requires_grad=requires_grad)


def zeros_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(ones, t, dtype, device, requires_grad)


def empty_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(empty, t, dtype, device, requires_grad)


def rand_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(rand, t, dtype, device, requires_grad)


def randn_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(randn, t, dtype, device, requires_grad)


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False):
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype,
                device=t.device if device is None else device, requires_grad=requires_grad)
