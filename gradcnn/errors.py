"""The exceptions gradcnn raises.

Every error derives from :class:`GradcnnError`, and also from the built-in exceptions a Python user
would expect, so both ``except gradcnn.errors.ShapeError`` and ``except ValueError`` work. A wrong
shape or value is a ``ShapeError``: a ``ValueError``, and also a ``RuntimeError``, which is what
PyTorch raises for most of them (its C++ checks); a wrong type or dtype is a ``DTypeError``: a
``TypeError``, and also a ``RuntimeError`` (PyTorch's word for a dtype a kernel does not take). So a
ported program's ``except RuntimeError`` catches what it caught under PyTorch.

Messages name the operation, the argument, its value and the numbers that made it wrong.
"""

__all__ = [
    "GradcnnError",
    "ShapeError",
    "IndexOutOfRangeError",
    "DTypeError",
    "DeviceError",
    "AutogradError",
    "PluginError",
    "PluginWarning",
    "UnknownNameError",
    "MissingNameError",
    "CheckpointError",
    "DatasetError",
    "GradcheckError",
    "ExportError",
    "DLPackError",
    "OutOfMemoryError",
    "LossValueError",
    "LossDTypeError",
    "SchedulerResumeError",
]


class GradcnnError(Exception):
    """Base class of every error raised by gradcnn."""


class ShapeError(GradcnnError, ValueError, RuntimeError):
    """An argument has the wrong shape, size or value for the operation."""


class IndexOutOfRangeError(ShapeError, IndexError):
    """An index (a tensor subscript, a dim, a class label) lies outside its range."""


class DTypeError(GradcnnError, TypeError, RuntimeError):
    """An argument has the wrong dtype or type for the operation."""


class DeviceError(GradcnnError, RuntimeError):
    """Tensors live on different devices, or a device is unknown or unavailable."""


class AutogradError(GradcnnError, RuntimeError):
    """The graph was used in a way that cannot give correct gradients.

    For example a second backward through a freed graph, or a tensor saved for backward that was
    changed in place afterwards.
    """


class PluginError(GradcnnError, RuntimeError):
    """A plugin failed to load or registered a clashing name."""


class PluginWarning(UserWarning):
    """A plugin failed to load or registered a clashing name, and was skipped.

    ``GRADCNN_STRICT_PLUGINS=1`` raises :class:`PluginError` instead.
    """


class UnknownNameError(GradcnnError, KeyError):
    """No layer, model or dataset is registered under the name asked for."""

    def __str__(self):  # KeyError would show the message in quotes
        return str(self.args[0]) if self.args else ""


class MissingNameError(GradcnnError, AttributeError):
    """A module of gradcnn has no such attribute (``gradcnn.nn.GELU``): PyTorch's name is absent
    here (the message says what to use), or neither library has it."""


class CheckpointError(GradcnnError, OSError):
    """A checkpoint file is missing, truncated, corrupted or not a gradcnn checkpoint."""


class DatasetError(GradcnnError, OSError):
    """A dataset file is missing, truncated, corrupted or not in the format expected."""


class GradcheckError(GradcnnError, AssertionError):
    """Analytical gradients disagree with finite differences."""


class ExportError(GradcnnError, RuntimeError):
    """A model cannot be written in an exchange format (ONNX): an operation without a mapping, or
    a forward pass whose shapes or constants cannot follow a dynamic batch size."""


class DLPackError(GradcnnError, BufferError):
    """A tensor cannot be shared through DLPack: it requires grad, or the other side cannot take it."""


class OutOfMemoryError(GradcnnError, RuntimeError):
    """A result would need more memory than the machine has; raised before anything is allocated
    (PyTorch's ``torch.OutOfMemoryError`` is a RuntimeError too)."""


class LossValueError(ShapeError, RuntimeError):
    """A loss argument with a wrong value or shape that PyTorch reports as a RuntimeError."""


class LossDTypeError(DTypeError, RuntimeError):
    """A loss argument with a wrong dtype that PyTorch reports as a RuntimeError."""


class SchedulerResumeError(GradcnnError, KeyError):
    """A scheduler resumed with ``last_epoch >= 0`` finds no ``initial_lr`` in a param group
    (PyTorch raises a KeyError there)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
