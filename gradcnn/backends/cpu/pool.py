"""Pooling on the CPU: the Numba kernels run over slices of the batch on gradcnn's worker pool
(:mod:`.threads`); windows arrive as per-row and per-column bounds that ``gradcnn.ops.pool``
computed."""

import numpy as np

from ..guards import check_plane_fits_int32
from .threads import _k, _over_batch

__all__ = [
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "max_pool2d_gather",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


def _plane_bytes(a):
    return a.dtype.itemsize * int(np.prod(a.shape[1:]))


def max_pool2d_forward(x, hstart, hcount, dh, wstart, wcount, dw, out_hw):
    """Max over windows given per output row/column; returns values and flat argmax indices
    (int32: a position within one H x W plane)."""
    check_plane_fits_int32("max_pool2d_forward", x.shape[2:])  # before any copy of x
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    out = np.empty((n, c) + tuple(out_hw), dtype=x.dtype)
    idx = np.empty((n, c) + tuple(out_hw), dtype=np.int32)  # a position within one plane

    def work(a, b):
        _k()._max_pool_fwd(x[a:b], hstart, hcount, dh, wstart, wcount, dw, out[a:b], idx[a:b])

    _over_batch(work, n, _plane_bytes(x), gemm=False)
    return out, idx


def max_pool2d_scatter(g, idx, in_hw):
    """``zeros(N, C, H, W)`` with ``g`` added at the flat positions ``idx`` (max-pool backward)."""
    n, c = g.shape[:2]
    m = g.shape[2] * g.shape[3]
    g3 = np.ascontiguousarray(g).reshape(n, c, m)
    i3 = np.ascontiguousarray(idx).reshape(n, c, m)
    out = np.empty((n, c, in_hw[0] * in_hw[1]), dtype=g.dtype)

    def work(a, b):
        _k()._max_pool_scatter(g3[a:b], i3[a:b], out[a:b])

    _over_batch(work, n, _plane_bytes(out), gemm=False)
    return out.reshape((n, c) + tuple(in_hw))


def max_pool2d_gather(gg, idx):
    """``gg[n, c].flat[idx[n, c]]``: the backward of ``max_pool2d_scatter``."""
    n, c = gg.shape[:2]
    flat = gg.reshape(n, c, gg.shape[2] * gg.shape[3])
    where = idx.reshape(n, c, idx.shape[2] * idx.shape[3])
    picked = np.take_along_axis(flat, np.maximum(where, 0), axis=2)
    return np.where(where >= 0, picked, 0).astype(gg.dtype, copy=False).reshape(idx.shape)


def avg_pool2d_forward(x, hs, he, ws, we, div):
    """Means over windows ``[hs, he) x [ws, we)`` per output row/column, each divided by its
    ``div`` (float64, shape ``(Ho, Wo)``); sums in float64."""
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    out = np.empty((n, c) + div.shape, dtype=x.dtype)

    def work(a, b):
        _k()._avg_pool_fwd(x[a:b], hs, he, ws, we, div, out[a:b])

    _over_batch(work, n, _plane_bytes(x), gemm=False)
    return out


def avg_pool2d_backward(g, hs, he, ws, we, div, in_hw):
    """The adjoint of ``avg_pool2d_forward``: ``(N, C, Ho, Wo) -> (N, C, H, W)``."""
    g = np.ascontiguousarray(g)
    n, c = g.shape[:2]
    out = np.empty((n, c) + tuple(in_hw), dtype=g.dtype)

    def work(a, b):
        _k()._avg_pool_bwd(g[a:b], hs, he, ws, we, div, out[a:b])

    _over_batch(work, n, _plane_bytes(out), gemm=False)
    return out
