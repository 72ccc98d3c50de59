"""RMSprop, optionally centered and with momentum."""

from ..backends import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, check_range

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """PyTorch's RMSprop: ``v = alpha * v + (1 - alpha) * g * g``; centered subtracts the square of
    ``a = lerp(a, g, 1 - alpha)``; ``d = sqrt(v [- a*a]) + eps``; with momentum ``b = momentum * b +
    g / d`` and ``p -= lr * b``, else ``p -= lr * g / d``."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, group):
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_range("RMSprop", name, group[name], 0)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p)
        if not state:
            state["step"] = 0.0
            state["square_avg"] = xp.zeros_like(p.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p.data
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
            p.data += -group["lr"] * buf
        else:
            p.data += -group["lr"] * (grad / avg)
