"""Batch normalization on CUDA, as CuPy reductions (sums in float64) and elementwise ops; the
names, arguments and results of :mod:`gradcnn.backends.cpu.norm`."""

from .. import get_array_module
from .launch import on_device

__all__ = ["batch_norm_forward", "batch_norm_backward"]


def _layout(x):
    axes = (0,) + tuple(range(2, x.ndim))
    return axes, (1, x.shape[1]) + (1,) * (x.ndim - 2), x.size // max(x.shape[1], 1)


@on_device
def batch_norm_forward(x, weight, bias, eps):
    """``(y, mean, invstd, var)``: the normalized output and the float64 statistics per channel."""
    xp = get_array_module(x)
    axes, shape, _ = _layout(x)
    mean = x.mean(axis=axes, dtype=xp.float64)
    centered = x - mean.astype(x.dtype).reshape(shape)
    var = (centered * centered).mean(axis=axes, dtype=xp.float64)
    invstd = 1.0 / xp.sqrt(var + eps)
    scale = invstd if weight is None else invstd * weight
    y = centered * scale.astype(x.dtype).reshape(shape)
    if bias is not None:
        y += bias.astype(x.dtype, copy=False).reshape(shape)
    return y, mean, invstd, var


@on_device
def batch_norm_backward(g, x, weight, mean, invstd, need_input, need_weight, need_bias):
    """Gradients of :func:`batch_norm_forward` in ``x``, ``weight`` and ``bias`` (None where not needed)."""
    xp = get_array_module(x)
    axes, shape, count = _layout(x)
    g = g.astype(x.dtype, copy=False)
    xhat = (x - mean.astype(x.dtype).reshape(shape)) * invstd.astype(x.dtype).reshape(shape)
    sum_g = g.sum(axis=axes, dtype=xp.float64)
    sum_gxhat = (g * xhat).sum(axis=axes, dtype=xp.float64)
    gx = None
    if need_input:
        k = invstd if weight is None else invstd * weight
        gx = (g - (sum_g / count).astype(x.dtype).reshape(shape)
              - xhat * (sum_gxhat / count).astype(x.dtype).reshape(shape)) * k.astype(x.dtype).reshape(shape)
    dtype = x.dtype if weight is None else weight.dtype
    return gx, sum_gxhat.astype(dtype) if need_weight else None, sum_g.astype(dtype) if need_bias else None
