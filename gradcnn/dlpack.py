"""DLPack: tensors shared with NumPy, PyTorch, CuPy, JAX and any other library that speaks it,
without a copy.

* ``gradcnn.from_dlpack(x)`` makes a Tensor that shares ``x``'s memory: anything with
  ``__dlpack__`` and ``__dlpack_device__`` (a NumPy or CuPy array, a torch or JAX tensor, a gradcnn
  Tensor), or a DLPack capsule (``torch.utils.dlpack.to_dlpack(t)``), as ``torch.from_dlpack``
  accepts. CPU memory becomes a NumPy array, CUDA memory a CuPy array (which needs CuPy).
* ``Tensor.__dlpack__`` and ``Tensor.__dlpack_device__`` (attached to :class:`~gradcnn.Tensor`
  when this module is imported, which ``import gradcnn`` does) let the other libraries'
  ``from_dlpack`` take a gradcnn Tensor: ``torch.from_dlpack(t)``, ``np.from_dlpack(t)``,
  ``cupy.from_dlpack(t)``.

As in PyTorch, a tensor that requires grad is refused (a ``BufferError``: share ``t.detach()``),
and writes through either side are seen by the other, but not by autograd: a change made through
another library does not bump the tensor's version counter.
"""

import ctypes

import numpy as np

from .backends import _cupy_or_error, device_of, parse_device, to_device
from .errors import DeviceError, DLPackError, DTypeError
from .tensor import Tensor, resolve_dtype

__all__ = ["from_dlpack"]

# DLDeviceType codes (dlpack.h) of the memory gradcnn can hold.
_HOST = {1: "kDLCPU", 3: "kDLCUDAHost", 11: "kDLROCMHost"}
_CUDA = {2: "kDLCUDA", 13: "kDLCUDAManaged"}


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """Export this tensor's memory as a DLPack capsule (the array API standard's protocol). A
    tensor that requires grad is refused, as in PyTorch: export ``tensor.detach()``."""
    if self._requires_grad:
        raise DLPackError("Can't export tensors that require gradient, use tensor.detach()")
    options = {"stream": stream, "max_version": max_version, "dl_device": dl_device, "copy": copy}
    return self._data.__dlpack__(**{k: v for k, v in options.items() if v is not None})


def _dlpack_device(self):
    """``(device_type, device_id)`` of this tensor's memory, in DLPack's codes: ``(1, 0)`` for
    the CPU, ``(2, n)`` for ``cuda:n``."""
    device_type, device_id = self._data.__dlpack_device__()
    return int(device_type), int(device_id)


# Attached like the operator table of gradcnn/ops/__init__.py: tensor.py sits below and knows
# nothing of them; ``import gradcnn`` imports this module.
_METHODS = {"__dlpack__": _dlpack, "__dlpack_device__": _dlpack_device}
for _name, _fn in _METHODS.items():
    _fn.__name__ = _name
    setattr(Tensor, _name, _fn)


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A Tensor sharing the memory of ``ext_tensor`` (an object with ``__dlpack__`` or a DLPack
    capsule). ``device``: where the result must live (a copy when that is elsewhere);
    ``copy``: ``True`` always copies, ``False`` never does (an error if a copy is needed), ``None``
    copies only when it must. The dtype must be one gradcnn holds."""
    producer = _Capsule(ext_tensor) if type(ext_tensor).__name__ == "PyCapsule" else ext_tensor
    if not hasattr(producer, "__dlpack__"):
        raise DTypeError(f"from_dlpack: expected an object with __dlpack__ (a NumPy or CuPy array, a "
                         f"torch tensor, ...) or a DLPack capsule, got {type(ext_tensor).__name__}")
    device_type, device_id = producer.__dlpack_device__()
    device_type, device_id = int(device_type), int(device_id)
    options = {} if copy is None else {"copy": bool(copy)}
    if device_type in _HOST or device_type in _CUDA:
        xp = np if device_type in _HOST else _cupy_or_error(f"cuda:{device_id}")
        try:
            array = xp.from_dlpack(producer, **options)
        except RuntimeError as exc:  # NumPy's word for a dtype it has no type for (bfloat16, complex32)
            dtype = getattr(ext_tensor, "dtype", "its dtype")
            raise DTypeError(f"from_dlpack: {xp.__name__} cannot hold {dtype} ({exc}); cast it first, "
                             "to float32 say") from exc
    else:
        raise DeviceError(f"from_dlpack: the tensor lives on DLPack device type {device_type} (id "
                          f"{device_id}); gradcnn holds CPU ({', '.join(_HOST.values())}) and CUDA "
                          f"({', '.join(_CUDA.values())}) memory")
    resolve_dtype(array.dtype, "from_dlpack")
    if device is not None:
        target = parse_device(device)
        if target != device_of(array):
            if copy is False:
                raise DLPackError(f"from_dlpack: copy=False, but the tensor is on {device_of(array)} "
                                  f"and device={device!r} needs a copy")
            array = to_device(array, target)
    return Tensor._make(array)


# -- capsules -------------------------------------------------------------------------------------


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLTensorHead(ctypes.Structure):  # the first two fields of DLTensor
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice)]


class _VersionedHead(ctypes.Structure):  # DLManagedTensorVersioned up to its DLTensor
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p), ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensorHead)]


_get_name = ctypes.pythonapi.PyCapsule_GetName
_get_name.restype, _get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype, _get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]


class _Capsule:
    """A DLPack capsule dressed as a producer, so that NumPy's and CuPy's ``from_dlpack`` take it;
    its device is read from the DLTensor it points to."""

    def __init__(self, capsule):
        name = _get_name(capsule)
        if name not in (b"dltensor", b"dltensor_versioned"):
            used = " (it was already consumed: a capsule can be imported once)" if name and name.startswith(b"used") else ""
            raise DLPackError(f"from_dlpack: a capsule named {name!r} is not a DLPack tensor{used}")
        pointer = _get_pointer(capsule, name)
        if name == b"dltensor":
            device = _DLTensorHead.from_address(pointer).device
        else:
            device = _VersionedHead.from_address(pointer).dl_tensor.device
        self._capsule = capsule
        self._device = (int(device.device_type), int(device.device_id))

    def __dlpack__(self, **_options):
        return self._capsule

    def __dlpack_device__(self):
        return self._device
