"""``gradcnn.cuda``: is there a GPU, how many, which one, and waiting for it.

* ``is_available()``: whether tensors can live on ``"cuda"``: CuPy is installed and sees at least one
  CUDA device. Never raises: a missing CuPy, a missing driver or a driver too old for CuPy's CUDA
  runtime all answer ``False``.
* ``device_count()``: the number of CUDA devices CuPy sees (0 when none is available).
* ``current_device()``: the index of the current CUDA device, the one ``"cuda"`` means for new
  arrays (``"cuda"`` as a device string is ``"cuda:0"``; this is CuPy's current device).
* ``synchronize(device=None)``: wait until every kernel queued on ``device`` (an index, ``"cuda"``,
  ``"cuda:N"``, or ``None`` for the current device) has finished; time GPU work only after it.
* ``manual_seed(seed)``, ``manual_seed_all(seed)``: accepted, as PyTorch's are without a GPU, and
  they change nothing: random tensors on every device come from the one generator that
  ``gradcnn.manual_seed`` seeds.
* ``empty_cache()``: hand the blocks CuPy's memory pools keep back to the driver (nothing to do
  without CuPy).

GPU work is asynchronous: an op returns once its kernels are queued. Reading a value on the host
(``item()``, ``float()``, ``numpy()`` after ``cpu()``) waits for it anyway.

The module imports CuPy only inside these functions, so ``import gradcnn`` stays free of it.
Install CuPy with the ``cuda12`` or ``cuda13`` extra (``pip install gradcnn[cuda13]``).
"""

import numbers

from .backends import parse_device
from .errors import DeviceError, DTypeError

__all__ = ["is_available", "device_count", "current_device", "synchronize", "manual_seed", "manual_seed_all",
           "empty_cache"]


def _cupy():
    try:
        import cupy
    except ImportError:
        return None
    return cupy


def is_available():
    """Whether CuPy is installed and sees a CUDA device (never raises)."""
    cupy = _cupy()
    if cupy is None:
        return False
    try:
        return bool(cupy.cuda.is_available())
    except Exception:  # a broken driver or runtime counts as no GPU
        return False


def device_count():
    """How many CUDA devices CuPy sees; 0 without CuPy or a usable driver."""
    if not is_available():
        return 0
    return int(_cupy().cuda.runtime.getDeviceCount())


def _require(op):
    cupy = _cupy()
    if cupy is None:
        raise DeviceError(f"gradcnn.cuda.{op}: CuPy is not installed: install gradcnn[cuda12] or gradcnn[cuda13]")
    if not is_available():
        raise DeviceError(f"gradcnn.cuda.{op}: no CUDA device is visible to CuPy (driver, or CUDA_VISIBLE_DEVICES)")
    return cupy


def current_device():
    """The index of CuPy's current CUDA device."""
    return int(_require("current_device").cuda.runtime.getDevice())


def synchronize(device=None):
    """Block until all work queued on ``device`` (default: the current device) is done."""
    cupy = _require("synchronize")
    if device is None:
        index = int(cupy.cuda.runtime.getDevice())
    elif isinstance(device, numbers.Integral) and not isinstance(device, bool):
        index = int(device)
    else:
        spec = parse_device(device)
        if spec == "cpu":
            raise DeviceError(f"gradcnn.cuda.synchronize: {device!r} is not a CUDA device")
        index = int(spec.split(":")[1])
    count = device_count()
    if not 0 <= index < count:
        raise DeviceError(f"gradcnn.cuda.synchronize: device index {index} is out of range: CuPy sees {count} "
                          f"device{'s' if count != 1 else ''} (0..{count - 1})")
    cupy.cuda.Device(index).synchronize()


def manual_seed(seed):
    """PyTorch seeds its CUDA generator here; gradcnn draws every random tensor, on any device, from
    the generator ``gradcnn.manual_seed`` seeds, so this only checks ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise DTypeError(f"gradcnn.cuda.manual_seed: seed must be an int, got {seed!r}")


manual_seed_all = manual_seed


def empty_cache():
    """Free the unused blocks held by CuPy's memory pools (a no-op without CuPy)."""
    cupy = _cupy()
    if cupy is not None and is_available():
        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()
