"""Array modules and kernels per device.

``get_array_module(x)`` gives NumPy or CuPy for an array (or Tensor); ``backend_of(x)`` gives the
kernel module of its device (``gradcnn.backends.cpu`` or ``gradcnn.backends.cuda``), which expose the
same function names. Nothing here imports CuPy or Numba until a CUDA array or a kernel is needed.
"""

import importlib
import re

import numpy as np

from ..errors import DeviceError
from . import cudnn  # noqa: F401  (gradcnn.backends.cudnn.benchmark = True, as in PyTorch)

__all__ = [
    "device",
    "parse_device",
    "device_of",
    "is_array",
    "is_cuda_array",
    "get_array_module",
    "backend_of",
    "to_device",
]

_DEVICE_RE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def parse_device(device):
    """Normalise a device spec: ``None``/``"cpu"`` -> ``"cpu"``, ``"cuda"`` -> ``"cuda:0"``."""
    if device is None:
        return "cpu"
    if not isinstance(device, str):
        device = str(device)
    m = _DEVICE_RE.match(device.strip())
    if m is None:
        raise DeviceError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    kind, index = m.groups()
    if kind == "cpu":
        if index not in (None, "0"):
            raise DeviceError(f"unknown device {device!r}: there is one cpu device, 'cpu'")
        return "cpu"
    return f"cuda:{int(index or 0)}"


class device(str):
    """A device, as ``torch.device``: ``device("cuda")``, ``device("cuda", 1)``, ``device("cpu")``.

    It is also the normalised device string (``"cpu"``, ``"cuda:0"``), so it compares equal to one
    and goes wherever a device string does; ``.type`` and ``.index`` are PyTorch's attributes.
    Unlike PyTorch, ``device("cuda")`` means device 0 and equals ``device("cuda:0")``.
    """

    _cache = {}

    def __new__(cls, type_or_spec="cpu", index=None):
        if isinstance(type_or_spec, device) and index is None:
            return type_or_spec
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise DeviceError(f"device: index must be a non-negative int, got {index!r}")
            type_or_spec = f"{type_or_spec}:{index}"
        spec = parse_device(type_or_spec)
        made = cls._cache.get(spec)
        if made is None:
            made = cls._cache[spec] = str.__new__(cls, spec)
        return made

    @property
    def type(self):
        return self.partition(":")[0]

    @property
    def index(self):
        return int(self.partition(":")[2]) if ":" in self else None

    def __repr__(self):
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __reduce__(self):
        return (device, (str(self),))


def is_cuda_array(x):
    """Whether ``x`` is a CuPy array (answered without importing CuPy)."""
    return type(x).__module__.startswith("cupy")


def is_array(x):
    """Whether ``x`` is an array a Tensor can hold: a NumPy or a CuPy ndarray."""
    return isinstance(x, np.ndarray) or is_cuda_array(x)


def device_of(array):
    """The device an array lives on, as a normalised string."""
    if is_cuda_array(array):
        return f"cuda:{array.device.id}"
    return "cpu"


def _array(x):
    """The array of ``x``: ``x`` itself, or a Tensor's array."""
    if isinstance(x, np.ndarray) or is_cuda_array(x):
        return x
    return getattr(x, "_data", x)


def get_array_module(x):
    """NumPy or CuPy, whichever owns ``x`` (an array or a Tensor)."""
    if type(x) is np.ndarray:  # the hot path of every op on the CPU
        return np
    data = _array(x)
    if is_cuda_array(data):
        import cupy

        return cupy
    return np


_cpu = None  # gradcnn.backends.cpu, once imported: the answer of almost every call below


def backend_of(x):
    """The kernel module for the device of ``x``. For float16 data it is that module seen through
    :class:`_Float16ViaFloat32`: the kernels exist for float32 and float64 only, so half precision
    computes in float32 (accumulating there, as PyTorch does on the CPU) and rounds the results."""
    global _cpu
    data = _array(x)
    if type(data) is np.ndarray and data.dtype != np.float16 and _cpu is not None:
        return _cpu
    module = importlib.import_module(f"{__name__}.{'cuda' if is_cuda_array(data) else 'cpu'}")
    if module.__name__ == f"{__name__}.cpu":
        _cpu = module
    return _Float16ViaFloat32(module) if data.dtype == np.float16 else module


class _Float16ViaFloat32:
    """A kernel module whose functions take float16 arrays as float32 and give float16 back."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        fn = getattr(self._module, name)
        if not callable(fn):
            return fn

        def in_float32(*args, **kwargs):
            args = [a.astype(np.float32) if getattr(a, "dtype", None) == np.float16 else a for a in args]
            out = fn(*args, **kwargs)
            if isinstance(out, tuple):
                return tuple(_to_half(o) for o in out)
            return _to_half(out)

        return in_float32


def _to_half(a):
    return a.astype(np.float16) if getattr(a, "dtype", None) == np.float32 else a


def _cupy_or_error(device):
    try:
        import cupy
    except ImportError as exc:
        raise DeviceError(
            f"device {device!r} needs CuPy, which is not installed: install gradcnn[cuda12] or "
            "gradcnn[cuda13]"
        ) from exc
    if not cupy.cuda.is_available():
        raise DeviceError(f"device {device!r} is not available: CuPy sees no CUDA device")
    return cupy


def to_device(array, device):
    """``array`` on ``device`` (a normalised device string); no copy when it is already there."""
    current = device_of(array)
    if current == device:
        return array
    if device == "cpu":
        return array.get()
    cupy = _cupy_or_error(device)
    with cupy.cuda.Device(int(device.split(":")[1])):
        return cupy.asarray(array)
