"""Adam and AdamW (decoupled weight decay), with optional AMSGrad."""

from ..backends import backend_of, get_array_module
from .optimizer import Optimizer, fused_update_applies, implementation_flags

__all__ = ["Adam", "AdamW"]


def lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, evaluated the way PyTorch's CPU lerp is (the
    form depends on which side of 0.5 the weight lies)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class Adam(Optimizer):
    """PyTorch's Adam (the single-tensor implementation): ``m = lerp(m, g, 1 - beta1)``,
    ``v = beta2 * v + (1 - beta2) * g * g``, ``p -= lr / (1 - beta1**t) * m /
    (sqrt(v) / sqrt(1 - beta2**t) + eps)``; AMSGrad uses the running maximum of ``v``.
    ``decoupled_weight_decay=True`` is AdamW."""

    _ranges = {"lr": (0, None, False), "eps": (0, None, False), "weight_decay": (0, None, False)}
    _flags = ("amsgrad", "maximize", "decoupled_weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, fused=None, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                        **implementation_flags(foreach, fused, capturable, differentiable))
        super().__init__(params, defaults)

    def _update(self, p, grad, state, group):
        xp = get_array_module(p)
        if not state:
            state["step"] = 0.0
            state["exp_avg"] = xp.zeros_like(p._data)
            state["exp_avg_sq"] = xp.zeros_like(p._data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p._data)
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        vmax = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        if fused_update_applies(p, grad, state["exp_avg"], state["exp_avg_sq"], vmax):
            state["step"] += 1
            backend_of(p._data).adam_step(p._data, grad, state["exp_avg"], state["exp_avg_sq"], vmax, lr, beta1,
                                          beta2, group["eps"], weight_decay, group["decoupled_weight_decay"],
                                          state["step"], group["maximize"])
            return
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
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
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second = state["max_exp_avg_sq"]
        else:
            second = exp_avg_sq
        denom = xp.sqrt(second) / bias_correction2_sqrt
        denom += group["eps"]
        p._data += -step_size * (exp_avg / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p *= 1 - lr * weight_decay`` before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False, foreach=None, capturable=False,
                 differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
