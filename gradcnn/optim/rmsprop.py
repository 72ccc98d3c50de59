"""RMSprop, optionally centered and with momentum."""

from ..backends import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, implementation_flags

__all__ = ["RMSprop"]

_NON_NEGATIVE = (0, None, False)


class RMSprop(Optimizer):
    """PyTorch's RMSprop: ``v = alpha * v + (1 - alpha) * g * g``; centered subtracts the square of
    ``a = lerp(a, g, 1 - alpha)``; ``d = sqrt(v [- a*a]) + eps``; with momentum ``b = momentum * b +
    g / d`` and ``p -= lr * b``, else ``p -= lr * g / d``."""

    _ranges = {name: _NON_NEGATIVE for name in ("lr", "alpha", "eps", "weight_decay", "momentum")}
    _flags = ("centered", "maximize")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False, differentiable=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize,
                        **implementation_flags(foreach, None, capturable, differentiable))
        defaults.pop("fused")
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p)
        if not state:
            state["step"] = 0.0
            state["square_avg"] = xp.zeros_like(p._data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p._data)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1 - alpha)
            avg = xp.sqrt(square_avg + -1 * grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / avg
            p._data += -group["lr"] * buf
        else:
            p._data += -group["lr"] * (grad / avg)
