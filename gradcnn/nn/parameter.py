"""``torch.nn.parameter``'s path: :class:`Parameter`, :class:`Buffer` and the uninitialized ones of
lazy modules. They live in :mod:`gradcnn.nn.module`; this module only gives them PyTorch's address
(``from torch.nn.parameter import Parameter``)."""

from .module import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter"]
