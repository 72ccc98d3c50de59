"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from ..backends import backend_of, get_array_module
from ..errors import ShapeError
from .optimizer import Optimizer, fused_update_applies, implementation_flags

__all__ = ["SGD"]

_NON_NEGATIVE = (0, None, False)


class SGD(Optimizer):
    """PyTorch's SGD: ``g = grad + weight_decay * p``; with momentum ``b = g`` on the first step,
    then ``b = momentum * b + (1 - dampening) * g``; ``g = g + momentum * b`` (Nesterov) or
    ``g = b``; ``p -= lr * g``. ``maximize`` negates the gradient first."""

    _ranges = {"lr": _NON_NEGATIVE, "momentum": _NON_NEGATIVE, "dampening": _NON_NEGATIVE,
               "weight_decay": _NON_NEGATIVE}
    _flags = ("nesterov", "maximize")

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize,
                        **implementation_flags(foreach, fused, differentiable=differentiable))
        defaults.pop("capturable")
        super().__init__(params, defaults)

    def _check_group(self, group):
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ShapeError(
                "SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _update(self, p, grad, state, group):
        momentum = group["momentum"]
        buf = state.get("momentum_buffer")
        if fused_update_applies(p, grad, buf):
            first = momentum != 0 and buf is None
            if first:
                buf = state["momentum_buffer"] = get_array_module(p).empty_like(p._data)
            backend_of(p._data).sgd_step(p._data, grad, buf if momentum != 0 else None, group["lr"],
                                         group["weight_decay"], momentum, group["dampening"], group["nesterov"],
                                         group["maximize"], first)
            return
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # (an array even for 0-d parameters, whose arithmetic gives NumPy scalars)
                buf = state["momentum_buffer"] = get_array_module(p).array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        p._data += -group["lr"] * grad
