"""The autograd engine: the tape (:mod:`.tape`) and the primitive contract (:mod:`.function`)."""

from .function import Context, Function
from .tape import Node, backward, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Context",
    "Function",
    "Node",
    "backward",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
