"""Batch normalization on the CPU: the statistics, the normalization and each gradient are one
Numba kernel each, run channel by channel. A channel is always summed by one thread in one order
(samples, then positions) in float64, so results do not depend on the number of threads."""

import numpy as np

from .threads import _k, over_range

__all__ = ["batch_norm_forward", "batch_norm_backward"]


def _as3d(a):
    """``(N, C, *)`` as ``(N, C, M)`` (C-contiguous)."""
    a = np.ascontiguousarray(a)
    return a.reshape(a.shape[0], a.shape[1], -1)


def batch_norm_forward(x, weight, bias, eps):
    """Normalize each channel (dim 1) of ``x`` with its batch statistics, then scale by ``weight``
    and shift by ``bias`` (``(C,)`` arrays or None). Returns ``(y, mean, invstd, var)``: the
    output in ``x``'s dtype, and per channel the mean, ``1 / sqrt(var + eps)`` and the biased
    variance, all float64."""
    x3 = _as3d(x)
    n, c, m = x3.shape
    k = _k()
    mean = np.empty(c)
    var = np.empty(c)
    over_range(lambda lo, hi: k._bn_stats(x3, lo, hi, mean, var), c, n * m)
    invstd = 1.0 / np.sqrt(var + eps)
    scale = invstd if weight is None else invstd * weight
    shift = np.zeros(c) if bias is None else bias.astype(np.float64)
    out = np.empty_like(x3)
    over_range(lambda lo, hi: k._bn_apply(x3, lo, hi, mean, scale, shift, out), c, n * m)
    return out.reshape(x.shape), mean, invstd, var


def batch_norm_backward(g, x, weight, mean, invstd, need_input, need_weight, need_bias):
    """Gradients of :func:`batch_norm_forward` in ``x``, ``weight`` and ``bias`` (``None`` where
    not needed), given the saved ``mean`` and ``invstd``."""
    x3 = _as3d(x)
    g3 = _as3d(g).astype(x3.dtype, copy=False)
    n, c, m = x3.shape
    k = _k()
    sum_g = np.empty(c)
    sum_gxhat = np.empty(c)
    over_range(lambda lo, hi: k._bn_grad_sums(g3, x3, lo, hi, mean, invstd, sum_g, sum_gxhat), c, n * m)
    gx = None
    if need_input:
        w = np.ones(c) if weight is None else weight.astype(np.float64)
        out = np.empty_like(x3)
        over_range(lambda lo, hi: k._bn_grad_input(g3, x3, lo, hi, mean, invstd, w, sum_g, sum_gxhat, out), c,
                   n * m)
        gx = out.reshape(x.shape)
    dtype = x3.dtype if weight is None else weight.dtype
    gw = sum_gxhat.astype(dtype) if need_weight else None
    gb = sum_g.astype(dtype) if need_bias else None
    return gx, gw, gb
