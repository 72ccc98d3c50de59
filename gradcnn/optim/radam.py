"""RAdam: Adam with the variance of its adaptive rate rectified (Liu et al., 2019)."""

from ..backends import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, implementation_flags

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """PyTorch's RAdam: Adam's moments ``m`` and ``v``; with ``rho_inf = 2 / (1 - beta2) - 1`` and
    ``rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)``, the step is ``lr * m_hat * r_t *
    sqrt(1 - beta2**t) / (sqrt(v) + eps)`` once ``rho_t > 5`` (``r_t`` the rectification term),
    and plain momentum ``lr * m_hat`` before. ``weight_decay`` as in :class:`NAdam`."""

    _ranges = {"lr": (0, None, False), "eps": (0, None, False), "weight_decay": (0, None, False)}
    _flags = ("maximize", "decoupled_weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        **implementation_flags(foreach, None, capturable, differentiable))
        defaults.pop("fused")
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p)
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_avg_sq"] = xp.zeros_like(p._data)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
        (beta1, beta2), lr, weight_decay = group["betas"], group["lr"], group["weight_decay"]
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p._data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * p._data
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = bias_correction2**0.5 / (xp.sqrt(exp_avg_sq) + group["eps"])
            p._data += -(bias_corrected_exp_avg * lr * adaptive_lr * rect)
        else:
            p._data += -(bias_corrected_exp_avg * lr)
