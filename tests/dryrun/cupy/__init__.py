"""A strict stand-in for CuPy, for dry runs of the GPU tests on a machine without a GPU.

Arrays wrap NumPy arrays, refuse implicit conversion to NumPy and refuse NumPy arrays as operands,
as CuPy does, so device-generic code that would break on CuPy breaks here too. ``RawModule`` only
hands out kernel names: the dry-run plugin (tests/dryrun/gradcnn_dryrun.py) runs the kernels in the
host emulation. Only importable when tests/dryrun is put on ``sys.path`` on purpose; a dry run is
not a GPU run (no cuBLAS, no NVRTC, no concurrency).
"""
import types as _types

import numpy as _np


def _unwrap(x, strict=True):
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, _np.ndarray):
        if strict:
            raise TypeError(f"Unsupported type {type(x)} (strict fake cupy: a numpy array mixed in)")
        return x
    if isinstance(x, list):
        return [_unwrap(v, strict) for v in x]
    if isinstance(x, tuple):
        return tuple(_unwrap(v, strict) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, strict) for k, v in x.items()}
    return x


def _wrap(x):
    if isinstance(x, _np.ndarray):
        return ndarray(x)
    if isinstance(x, _np.generic):
        return ndarray(_np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list) and x and all(isinstance(v, _np.ndarray) for v in x):
        return [_wrap(v) for v in x]
    return x


class _Dev:
    def __init__(self, i=0):
        self.id = i

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def synchronize(self):
        pass


class ndarray:
    __slots__ = ("_a", "__weakref__")

    def __init__(self, a):
        assert isinstance(a, _np.ndarray)
        self._a = a

    @property
    def __cuda_array_interface__(self):
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "data": (0, False), "version": 3}

    @property
    def device(self):
        return _Dev(0)

    def get(self):
        return self._a.copy()

    def __array__(self, *a, **k):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()`.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **_unwrap(kwargs)))

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        if name in ("data", "ctypes", "base", "__array_interface__", "__array_struct__"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if callable(attr):
            def method(*args, **kwargs):
                return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
            return method
        return _wrap(attr) if isinstance(attr, _np.ndarray) else attr

    @property
    def T(self):
        return ndarray(self._a.T)

    def __len__(self):
        return len(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __bool__(self):
        return bool(self._a)

    def __iter__(self):
        return (ndarray(_np.asarray(v)) for v in self._a)

    def __repr__(self):
        return "strictcupy." + repr(self._a)

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)


def _binop(name):
    def op(self, *args):
        res = getattr(self._a, name)(*_unwrap(args))
        if res is NotImplemented:
            return res
        if name.startswith("__i") and name != "__invert__":  # __invert__ is ~x, not in place
            return self
        return _wrap(res)
    op.__name__ = name
    return op


for _n in ["add", "sub", "mul", "truediv", "floordiv", "pow", "mod", "matmul", "and", "or", "xor"]:
    for _p in ("__%s__", "__r%s__", "__i%s__"):
        setattr(ndarray, _p % _n, _binop(_p % _n))
for _n in ["lt", "le", "gt", "ge", "eq", "ne", "neg", "pos", "abs", "invert"]:
    setattr(ndarray, f"__{_n}__", _binop(f"__{_n}__"))
ndarray.__hash__ = None
ndarray.__module__ = "cupy"


class _Ufunc:
    def __init__(self, uf):
        self._uf = uf

    def __call__(self, *args, **kwargs):
        return _wrap(self._uf(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, name):
        m = getattr(self._uf, name)
        def call(*args, **kwargs):
            return _wrap(m(*_unwrap(args), **_unwrap(kwargs)))
        return call


def asarray(x, dtype=None, order=None):
    if isinstance(x, ndarray):
        return x if dtype is None or x.dtype == dtype else ndarray(x._a.astype(dtype))
    return ndarray(_np.array(_unwrap(x, strict=False), dtype=dtype, order=order or "K", copy=True))


def array(x, dtype=None, copy=True, order="K", **kw):
    if isinstance(x, ndarray):
        return ndarray(_np.array(x._a, dtype=dtype, copy=copy, order=order))
    return asarray(x, dtype, order)


def asfortranarray(x):
    return ndarray(_np.asfortranarray(x._a))


def __getattr__(name):
    attr = getattr(_np, name)
    if isinstance(attr, _np.ufunc):
        return _Ufunc(attr)
    if callable(attr) and not isinstance(attr, type):
        def fn(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **_unwrap(kwargs)))
        fn.__name__ = name
        return fn
    return attr


class RawModule:
    """Compiles nothing: ``get_function`` gives the kernel's name (launches are emulated)."""

    def __init__(self, code=None, options=(), **kwargs):
        self.code = code
        self.options = options

    def get_function(self, name):
        base, suffix = name.rsplit("_", 1)  # the sources define name_##SUFFIX for f32 and f64
        if f"{base}_##SUFFIX(" not in self.code or f"({suffix}," not in self.code:
            raise AttributeError(f"no kernel {name} in this module")
        return name


class _Generator:
    """``cupy.random.Generator``'s ``random``: draws (here by NumPy) returned as device arrays."""

    def __init__(self, seed=None):
        self._rng = _np.random.default_rng(seed)

    def random(self, size=None, dtype=_np.float64, out=None):
        values = self._rng.random(size, dtype=_np.dtype(dtype))
        if out is not None:
            out._a[...] = values
            return out
        return _wrap(values)


random = _types.SimpleNamespace(default_rng=_Generator)

cuda = _types.SimpleNamespace(
    is_available=lambda: True,
    Device=_Dev,
    runtime=_types.SimpleNamespace(getDeviceCount=lambda: 1, getDevice=lambda: 0),
)
__version__ = "0.0-strict-fake"
