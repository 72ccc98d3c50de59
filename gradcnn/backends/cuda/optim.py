"""Optimizer updates on CUDA, as in-place CuPy array expressions: the same steps, in the same
order, as :mod:`gradcnn.backends.cpu.optim`'s kernels."""

from .. import get_array_module
from .launch import on_device

__all__ = ["sgd_step", "adam_step"]


@on_device
def sgd_step(p, g, buf, lr, weight_decay, momentum, dampening, nesterov, maximize, first):
    """One SGD update of ``p`` in place; ``buf`` (the momentum buffer, None without momentum) is
    filled from the gradient when ``first``."""
    if maximize:
        g = -g
    if weight_decay != 0:
        g = g + weight_decay * p
    if momentum != 0:
        if first:
            buf[...] = g
        else:
            buf *= momentum
            buf += (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    p += -lr * g


@on_device
def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
              step, maximize):
    """One Adam (AdamW when ``decoupled``) update of ``p`` and its buffers in place."""
    xp = get_array_module(p)
    if maximize:
        g = -g
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            g = g + weight_decay * p
    weight = 1 - beta1
    if abs(weight) < 0.5:
        exp_avg += weight * (g - exp_avg)
    else:
        exp_avg[...] = g - (g - exp_avg) * (1 - weight)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * g * g
    second = exp_avg_sq
    if max_exp_avg_sq is not None:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    denom = xp.sqrt(second) / (1 - beta2**step) ** 0.5
    denom += eps
    p += -(lr / (1 - beta1**step)) * (exp_avg / denom)
