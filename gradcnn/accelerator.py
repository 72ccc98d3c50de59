"""``gradcnn.accelerator``: which accelerator this process can use, as ``torch.accelerator``.

The only accelerator gradcnn knows is a CUDA GPU through CuPy; without CuPy or a visible GPU the
answers are ``False``, ``None`` and ``0``. Asking never imports CuPy when it is not installed.
"""

from .backends import device
from .cuda import device_count as _cuda_device_count
from .cuda import is_available as _cuda_is_available

__all__ = ["is_available", "current_accelerator", "device_count"]


def is_available():
    """Whether an accelerator (a CUDA GPU that CuPy sees) is available."""
    return _cuda_is_available()


def current_accelerator(check_available=False):
    """``device("cuda")`` when gradcnn has a CUDA backend to offer (and, with
    ``check_available=True``, a GPU is visible), else ``None``."""
    if check_available and not is_available():
        return None
    return device("cuda") if is_available() else None


def device_count():
    """How many accelerator devices are visible."""
    return _cuda_device_count() if is_available() else 0
