"""Optimizer updates on the CPU: each parameter's whole update is one pass of a Numba kernel (no
temporary arrays), split between gradcnn's worker threads for large parameters. Every step is the
NumPy expression it replaces, in the same order and precision (the scalars arrive in the
parameter's dtype), so the results are those of the plain array code, bitwise."""

from .threads import _k, over_range

__all__ = ["sgd_step", "adam_step"]


def sgd_step(p, g, buf, lr, weight_decay, momentum, dampening, nesterov, maximize, first):
    """One SGD update of ``p`` in place (flat views of C-contiguous arrays of one dtype); ``buf``
    is the momentum buffer (None without momentum), filled from the gradient when ``first``."""
    t = p.dtype.type
    kernel = _k()._sgd_step
    pf, gf = p.reshape(-1), g.reshape(-1)
    bf = pf if buf is None else buf.reshape(-1)
    args = (t(-lr), weight_decay != 0, t(weight_decay), momentum != 0, t(momentum), t(1 - dampening),
            bool(nesterov), bool(maximize), bool(first))
    over_range(lambda lo, hi: kernel(pf[lo:hi], gf[lo:hi], bf[lo:hi], *args), pf.size)


def adam_step(p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
              step, maximize):
    """One Adam (AdamW when ``decoupled``) update of ``p`` and its buffers in place, at step
    number ``step``; ``max_exp_avg_sq`` is None without AMSGrad."""
    t = p.dtype.type
    kernel = _k()._adam_step
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    weight = 1 - beta1
    pf, gf, mf, vf = p.reshape(-1), g.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1)
    amsgrad = max_exp_avg_sq is not None
    wf = max_exp_avg_sq.reshape(-1) if amsgrad else vf
    args = (weight_decay != 0, bool(decoupled), t(weight_decay), t(1 - lr * weight_decay), t(weight), t(1 - weight),
            t(beta2), t(1 - beta2), t(-(lr / bias_correction1)), t(bias_correction2**0.5), t(eps), amsgrad,
            bool(maximize))
    over_range(lambda lo, hi: kernel(pf[lo:hi], gf[lo:hi], mf[lo:hi], vf[lo:hi], wf[lo:hi], *args), pf.size)
