"""The errors of :mod:`gradcnn.distributed` (PyTorch's names), on gradcnn's base class."""

from ..errors import GradcnnError

__all__ = ["DistError", "DistBackendError", "NotInitializedError"]


class DistError(GradcnnError, RuntimeError):
    """A collective or the process group failed (``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The backend failed or timed out (``torch.distributed.DistBackendError``)."""


class NotInitializedError(GradcnnError, ValueError):
    """No process group: ``init_process_group`` was not called (a ValueError, as in PyTorch)."""
