"""The autograd engine: the tape (:mod:`.tape`) and the primitive contract (:mod:`.function`)."""

from .function import Context, Function
from .tape import (
    Node,
    backward,
    detect_anomaly,
    enable_grad,
    grad,
    inference_mode,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_detect_anomaly,
    set_grad_enabled,
)

__all__ = [
    "Context",
    "Function",
    "Node",
    "backward",
    "detect_anomaly",
    "inference_mode",
    "is_anomaly_enabled",
    "is_inference_mode_enabled",
    "set_detect_anomaly",
    "enable_grad",
    "grad",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]
