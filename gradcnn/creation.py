"""Creating tensors: ``tensor``, ``zeros``, ``ones``, ``full``, ``arange``, ``rand``, ``randn``, ...

Dtype rules, as in PyTorch: Python floats become float32 (the default dtype), Python ints int64,
bools bool; a NumPy array keeps its dtype. ``requires_grad=True`` needs a floating dtype.
Random tensors draw from the one generator of :mod:`gradcnn.random` (seed it with
``gradcnn.manual_seed``).
"""

import math
import numbers

import numpy as np

from . import geometry
from . import random as _random
from .arguments import flag, integer, number
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
    requires_grad = flag("tensor", "requires_grad", requires_grad)
    if dtype is None and isinstance(data, (list, tuple)):
        dtype = _sequence_dtype(data)
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}


def _sequence_dtype(data):
    """PyTorch's dtype for nested lists that hold tensors: the highest kind present (bool < int <
    float), at the widest size among the elements of that kind, a Python int counting as int64
    and a float as the default dtype; None where no tensor is held (the usual inference then)."""
    found, stack, has_tensor = [], [data], False
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Tensor):
            found.append(item.dtype)
            has_tensor = True
        elif isinstance(item, (bool, int, float)):
            found.append(np.dtype(bool if isinstance(item, bool) else np.int64 if isinstance(item, int) else DEFAULT_DTYPE))
    if not has_tensor:
        return None
    top = max(_KIND_RANK.get(d.kind, 2) for d in found)
    return max((d for d in found if _KIND_RANK.get(d.kind, 2) == top), key=lambda d: d.itemsize)


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


def _finish(arr, device, requires_grad, op):
    # PyTorch's factories take requires_grad=None as False (``tensor`` does not).
    requires_grad = flag(op, "requires_grad", requires_grad, allow_none=True)
    if device is not None:
        arr = to_device(arr, parse_device(device))
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def _dt(dtype, op, default=DEFAULT_DTYPE):
    return default if dtype is None else resolve_dtype(dtype, op)


def _not_bool(dt, op):
    """PyTorch has no bool kernel for ranges and permutations."""
    if dt == np.bool_:
        raise DTypeError(f"{op}: dtype bool is not supported; use an integer or floating dtype")
    return dt


def _real(op, name, value):
    """``value`` as a Python number, NaN and infinities included (PyTorch computes with them)."""
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise DTypeError(f"{op}: {name} must be a number, got a tensor of shape {value.shape}")
        value = value.item()
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return float(value)
    return number(op, name, value, finite=False)


def _size_tuple(op, size):
    """``size`` given as a tuple or list of ints, as PyTorch's ``full``, ``randint`` and ``normal``
    take it (an int alone is a TypeError there)."""
    if not isinstance(size, (tuple, list)) and type(size).__name__ != "Size":
        raise DTypeError(f"{op}: size must be a tuple of ints, got {size!r} ({type(size).__name__})")
    return _shape((tuple(size),), op)


def zeros(*shape, size=None, dtype=None, device=None, requires_grad=False):
    dt = _dt(dtype, "zeros")
    return _finish(np.zeros(_checked_shape(shape, "zeros", size, dt), dt), device, requires_grad, "zeros")


def ones(*shape, size=None, dtype=None, device=None, requires_grad=False):
    dt = _dt(dtype, "ones")
    return _finish(np.ones(_checked_shape(shape, "ones", size, dt), dt), device, requires_grad, "ones")


def empty(*shape, size=None, dtype=None, device=None, requires_grad=False):
    dt = _dt(dtype, "empty")
    return _finish(np.empty(_checked_shape(shape, "empty", size, dt), dt), device, requires_grad, "empty")


def _fill(op, value):
    """``fill_value`` as a Python bool, int or float (a one-element tensor gives its value)."""
    if isinstance(value, (Tensor, np.ndarray)):
        if value.ndim:
            raise DTypeError(f"{op}: fill_value must be a number, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (complex, np.complexfloating)):
        raise DTypeError(f"{op}: fill_value {value!r} is complex; complex tensors are not supported")
    return _real(op, "fill_value", value)


def _filled(op, shape, value, dt):
    """An array of ``shape`` holding ``value`` as ``dt``, or a ShapeError where ``dt`` cannot hold it."""
    if dt.kind in "iu":
        info = np.iinfo(dt)
        # unsigned types wrap a negative value around, as PyTorch does
        low = -info.max - 1 if dt.kind == "u" else info.min
        if not low <= value <= info.max:  # NaN and infinities too
            raise ShapeError(f"{op}: fill_value={value} does not fit dtype {dt.name} ({info.min} .. {info.max})")
        value = int(value)
    elif dt.kind == "f" and math.isfinite(value) and abs(value) > np.finfo(dt).max:
        raise ShapeError(f"{op}: fill_value={value} overflows dtype {dt.name} (at most {np.finfo(dt).max})")
    elif dt.kind == "f" and isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ShapeError(f"{op}: fill_value={value} is out of the int64 range a fill value converts through")
    arr = np.empty(shape, dt)
    arr[...] = np.array(value).astype(dt) if dt.kind == "u" else value
    return arr


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False):
    shape = _size_tuple("full", size)
    value = _fill("full", fill_value)
    if dtype is None:
        dtype = np.bool_ if isinstance(value, bool) else np.int64 if isinstance(value, int) else DEFAULT_DTYPE
    dt = _dt(dtype, "full")
    geometry.check_fits("full", "the tensor", shape, dt.itemsize)
    return _finish(_filled("full", shape, value, dt), device, requires_grad, "full")


# An argument left out (``arange(5)``, ``eye(3)``), told apart from an explicit None, which PyTorch refuses.
_UNSET = object()


def arange(start, end=_UNSET, step=1, *, dtype=None, device=None, requires_grad=False):
    if end is _UNSET:
        start, end = 0, start
    start, end = number("arange", "start", start), number("arange", "end", end)
    step = number("arange", "step", step, finite=False)  # an infinite step leaves only start, or nothing
    if step == 0:
        raise ShapeError("arange: step must be non-zero")
    if (end - start) * step < 0:
        raise ShapeError(f"arange: the range from start={start} to end={end} goes against the sign of step={step}")
    integral = all(isinstance(v, int) for v in (start, end, step))
    dt = _not_bool(_dt(np.int64 if integral and dtype is None else dtype, "arange"), "arange")
    count = -((start - end) // step) if integral else math.ceil((end - start) / step)
    geometry.check_fits("arange", "the range", (count,), dt.itemsize)
    arr = (np.arange(start, end, step) if count else np.zeros(0)).astype(dt)
    return _finish(arr, device, requires_grad, "arange")


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    start, end = _real("linspace", "start", start), _real("linspace", "end", end)
    steps = integer("linspace", "steps", steps, minimum=0)
    dt = _not_bool(_dt(dtype, "linspace"), "linspace")
    geometry.check_fits("linspace", "the result", (steps,), dt.itemsize)
    i = np.arange(steps, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: NaN, as PyTorch computes it
        delta = (end - start) / (steps - 1) if steps > 1 else 0.0
        # PyTorch's formula: the first half counts up from start, the second half down from end.
        arr = np.where(i < max(steps // 2, 1), start + delta * i, end - delta * (steps - 1 - i)).astype(dt)
    return _finish(arr, device, requires_grad, "linspace")


def eye(n, m=_UNSET, *, dtype=None, device=None, requires_grad=False):
    n = integer("eye", "n", n, minimum=0)
    m = n if m is _UNSET else integer("eye", "m", m, minimum=0)
    dt = _dt(dtype, "eye")
    geometry.check_fits("eye", "the matrix", (n, m), dt.itemsize)
    return _finish(np.eye(n, m, dtype=dt), device, requires_grad, "eye")


def rand(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1) from the seeded generator (or ``generator``)."""
    dt = _dt(dtype, "rand")
    _require_float(dt, "rand")
    arr = _rng(generator).random(_checked_shape(shape, "rand", size, np.dtype(np.float64)), dtype=np.float64).astype(dt)
    return _finish(arr, device, requires_grad, "rand")


def randn(*shape, size=None, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the seeded generator (or ``generator``)."""
    dt = _dt(dtype, "randn")
    _require_float(dt, "randn")
    arr = _rng(generator).standard_normal(_checked_shape(shape, "randn", size, np.dtype(np.float64))).astype(dt)
    return _finish(arr, device, requires_grad, "randn")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Normal samples: ``mean`` and ``std`` numbers with ``size``, or tensors (broadcast) giving one
    sample per element, as ``torch.normal``."""
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not (mean_t or std_t):
        mean_a = _real("normal", "mean", mean)
        std_a = number("normal", "std", std, low=0, finite=False)
        shape = _size_tuple("normal", size)
        geometry.check_fits("normal", "the tensor", shape, 8)
    else:
        if size is not None:
            raise DTypeError(f"normal: size goes with a number mean and std only, got size={size!r} with a tensor")
        mean_a = mean._data if mean_t else _real("normal", "mean", mean)
        std_a = std._data if std_t else number("normal", "std", std, low=0, finite=False)
        shape = np.broadcast_shapes(np.shape(mean_a), np.shape(std_a))
        if np.any(np.asarray(std_a) < 0):
            raise ShapeError("normal: std must be non-negative in every element")
    dt = _dt(dtype, "normal", mean.dtype if mean_t else std.dtype if std_t else DEFAULT_DTYPE)
    _require_float(dt, "normal")
    with np.errstate(invalid="ignore"):  # inf * 0 or a NaN mean: NaN samples, as in PyTorch
        arr = (_rng(generator).standard_normal(shape) * std_a + mean_a).astype(dt)
    return _finish(arr, device, requires_grad, "normal")


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 by default)."""
    n = integer("randperm", "n", n, minimum=0)
    dt = _not_bool(_dt(dtype, "randperm", np.dtype(np.int64)), "randperm")
    largest = _exact_ints(dt)[1]
    if n - 1 > largest:
        raise ShapeError(f"randperm: n={n} is too large for dtype {dt.name} (values up to {largest})")
    geometry.check_fits("randperm", "the permutation", (n,), 8)
    arr = _rng(generator).permutation(n).astype(dt)
    return _finish(arr, device, requires_grad, "randperm")


def _rng(generator):
    """The NumPy generator to draw from: ``generator``'s (a :class:`gradcnn.random.Generator`) or
    the global one."""
    return _random.generator() if generator is None else _random.numpy_generator_of(generator)


def randint(low, high=None, size=(), *, dtype=None, device=None):
    """Integers drawn uniformly from [low, high) by the seeded generator; ``randint(high, size)``
    draws from [0, high), as in PyTorch."""
    if isinstance(high, (tuple, list)):
        high, size = None, high
    if high is None:
        low, high = 0, low
    low, high = integer("randint", "low", low), integer("randint", "high", high)
    if high <= low:
        raise ShapeError(f"randint: high ({high}) must be greater than low ({low})")
    shape = _size_tuple("randint", size)
    dt = _dt(dtype, "randint", np.dtype(np.int64))
    lowest, largest = _exact_ints(dt)
    if low < lowest or high - 1 > largest:
        raise ShapeError(f"randint: the range [low, high) = [{low}, {high}) does not fit dtype {dt.name} "
                         f"({lowest} .. {largest})")
    geometry.check_fits("randint", "the tensor", shape, 8)
    arr = _random.generator().integers(low, high, shape)
    return _finish(arr.astype(dt), device, False, "randint")


def _exact_ints(dt):
    """The range of integers ``dt`` holds exactly: PyTorch's bounds for random integers."""
    if dt == np.bool_:
        return 0, 1
    if dt.kind in "iu":
        return int(np.iinfo(dt).min), int(np.iinfo(dt).max)
    largest = 2 ** (np.finfo(dt).nmant + 1)
    return -largest, largest


def _require_float(dt, op):
    if dt.kind != "f":
        raise DTypeError(f"{op}: needs a floating dtype, got {dt.name}")


def _like(fn, op, t, dtype, device, requires_grad, *args):
    # The device goes to ``fn`` (not ``.to()`` afterwards), so a result that requires grad is a leaf.
    if not isinstance(t, Tensor):
        raise DTypeError(f"{op}: input must be a Tensor, got {type(t).__name__}")
    if fn in (rand, randn):
        _require_float(_dt(dtype, op, t.dtype), op)
    return fn(t.shape, *args, dtype=t.dtype if dtype is None else dtype,
              device=t.device if device is None else device, requires_grad=requires_grad)


def zeros_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(zeros, "zeros_like", t, dtype, device, requires_grad)


def ones_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(ones, "ones_like", t, dtype, device, requires_grad)


def empty_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(empty, "empty_like", t, dtype, device, requires_grad)


def rand_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(rand, "rand_like", t, dtype, device, requires_grad)


def randn_like(t, *, dtype=None, device=None, requires_grad=False):
    return _like(randn, "randn_like", t, dtype, device, requires_grad)


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _like(full, "full_like", t, dtype, device, requires_grad, fill_value)
