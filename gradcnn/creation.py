"""Creating tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``, ``randn``, ...

Dtype rules, as in PyTorch: Python floats become float32 (the default dtype), Python ints int64,
bools bool; a NumPy array keeps its dtype. ``requires_grad=True`` needs a floating dtype.
Random tensors draw from the one generator of :mod:`gradcnn.random` (seed it with
``gradcnn.manual_seed``).
"""

import numbers

import numpy as np

from . import geometry
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
    "normal",
    "randperm",
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


def _checked_shape(size, op, keyword, dtype):
    shape = _shape(size, op, keyword)
    geometry.check_fits(op, "the tensor", shape, dtype.itemsize)
    return shape


def _shape(size, op, keyword=None):
    if keyword is not None:
        if size:
            raise DTypeError(f"{op}: give the size either positionally or as size=, not both")
        size = (keyword,) if isinstance(keyword, (tuple, list)) else (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)) or (len(size) == 1 and type(size[0]).__name__ == "Size"):
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


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False):
    dt = _dt(dtype, "zeros")
    return _finish(np.zeros(_checked_shape(shape, "zeros", size, dt), dt), device, requires_grad)


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False):
    dt = _dt(dtype, "ones")
    return _finish(np.ones(_checked_shape(shape, "ones", size, dt), dt), device, requires_grad)


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False):
    dt = _dt(dtype, "empty")
    return _finish(np.empty(_checked_shape(shape, "empty", size, dt), dt), device, requires_grad)


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


def rand(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator (or ``generator``)."""
    dt = _dt(dtype, "rand")
    _require_float(dt, "rand")
    arr = _rng(generator).random(_checked_shape(shape, "rand", size, np.dtype(np.float64)), dtype=np.float64).astype(dt)
    return _finish(arr, device, requires_grad)


def randn(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the seeded generator (or ``generator``)."""
    dt = _dt(dtype, "randn")
    _require_float(dt, "randn")
    arr = _rng(generator).standard_normal(_checked_shape(shape, "randn", size, np.dtype(np.float64))).astype(dt)
    return _finish(arr, device, requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples: ``mean`` and ``std`` numbers with ``size``, or tensors (broadcast) giving one
    sample per element, as ``torch.normal``."""
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (mean_t or std_t):
        if size is None:
            raise ShapeError("normal: with a number mean and std, give size=")
        shape = _shape((), "normal", size)
        mean_a, std_a = float(mean), float(std)
    else:
        mean_a = mean._data if mean_t else float(mean)
        std_a = std._data if std_t else float(std)
        shape = np.broadcast_shapes(np.shape(mean_a), np.shape(std_a))
    if np.any(np.asarray(std_a) < 0):
        raise ShapeError(f"normal: std must be non-negative, got {std!r:.60}")
    dt = _dt(dtype, "normal", mean.dtype if mean_t else std.dtype if std_t else DEFAULT_DTYPE)
    _require_float(dt, "normal")
    arr = (_rng(generator).standard_normal(shape) * std_a + mean_a).astype(dt)
    return _finish(arr, device, requires_grad)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 by default)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ShapeError(f"randperm: n must be a non-negative int, got {n!r}")
    arr = _rng(generator).permutation(int(n)).astype(_dt(dtype, "randperm", np.dtype(np.int64)))
    return _finish(arr, device, requires_grad)


def _rng(generator):
    """The NumPy generator to draw from: ``generator``'s (a :class:`gradcnn.random.Generator`) or
    the global one."""
    return _random.generator() if generator is None else _random.numpy_generator_of(generator)


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
