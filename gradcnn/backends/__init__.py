"""Array modules and kernels per device.

``get_array_module(x)`` gives NumPy or CuPy for an array (or Tensor); ``backend_of(x)`` gives the
kernel module of its device (``gradcnn.backends.cpu`` or ``gradcnn.backends.cuda``), which expose the
same function names. Nothing here imports CuPy or Numba until a CUDA array or a kernel is needed.
"""

import importlib
import re

import numpy as np

from ..errors import DeviceError

__all__ = [
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


def backend_of(x):
    """The kernel module for the device of ``x``."""
    data = _array(x)
    name = "cuda" if is_cuda_array(data) else "cpu"
    return importlib.import_module(f"{__name__}.{name}")


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
