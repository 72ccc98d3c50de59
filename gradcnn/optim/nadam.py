"""NAdam: Adam with Nesterov momentum (Dozat, 2016)."""

import numpy as np

from ..backends import get_array_module
from .adam import lerp_
from .optimizer import Optimizer, implementation_flags

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """PyTorch's NAdam: momentum coefficients ``mu_t = beta1 (1 - 0.5 * 0.96**(t *
    momentum_decay))``, their running product ``M_t``; ``m = lerp(m, g, 1 - beta1)``, ``v = beta2
    v + (1 - beta2) g g``, ``d = sqrt(v / (1 - beta2**t)) + eps``, and ``p -= lr (1 - mu_t) / (1 -
    M_t) * g / d + lr mu_{t+1} / (1 - M_t mu_{t+1}) * m / d``.

    ``weight_decay`` adds ``weight_decay * p`` to the gradient, or with ``decoupled_weight_decay``
    scales ``p`` by ``1 - lr * weight_decay`` first (NAdamW). ``mu_product`` is kept in float32,
    as PyTorch keeps it (in its default dtype), so that trajectories agree.
    """

    _ranges = {"lr": (0, None, False), "eps": (0, None, False), "weight_decay": (0, None, False),
               "momentum_decay": (0, None, False)}
    _flags = ("maximize", "decoupled_weight_decay")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                        maximize=maximize, **implementation_flags(foreach, None, capturable, differentiable))
        defaults.pop("fused")
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p)
        if not state:
            state["step"] = 0.0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_avg_sq"] = xp.zeros_like(p._data)
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
        (beta1, beta2), lr, weight_decay = group["betas"], group["lr"], group["weight_decay"]
        bias_correction2 = 1 - beta2**step
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                p._data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * p._data
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
        state["mu_product"] = mu_product
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        denom = xp.sqrt(exp_avg_sq / bias_correction2)
        denom += group["eps"]
        mu_product_next = mu_product * mu_next
        p._data += (-lr * (1.0 - mu) / (1.0 - mu_product)) * grad / denom
        p._data += ((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg / denom
