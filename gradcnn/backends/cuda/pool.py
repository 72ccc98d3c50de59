"""Pooling on CUDA: one kernel launch per call, windows uploaded as small geometry arrays.

The average-pool gradient is a gather (one thread per input element, over the outputs whose windows
can hold it, :func:`_cover`), so its sums do not depend on thread timing; the max-pool gradient adds
with atomics where overlapping windows share a maximum.
"""

import numpy as np

from .. import get_array_module
from ..guards import check_plane_fits_int32
from . import launch

__all__ = [
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "max_pool2d_gather",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
]


@launch.on_device
def max_pool2d_forward(x, hstart, hcount, dh, wstart, wcount, dw, out_hw):
    """Max over windows given per output row/column; returns values and flat argmax indices
    (int32: a position within one H x W plane)."""
    check_plane_fits_int32("max_pool2d_forward", x.shape[2:])  # before any copy of x
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    n, c, h, w = x.shape
    ho, wo = out_hw
    out = xp.empty((n, c, ho, wo), dtype=x.dtype)
    idx = xp.empty((n, c, ho, wo), dtype=np.int32)
    geom = launch._upload(xp, np.concatenate([hstart, hcount, wstart, wcount]).astype(np.int64))
    launch._launch("max_pool_fwd", x.dtype, out.size, x, out, idx, n * c, h, w, ho, wo, geom, dh, dw)
    return out, idx


@launch.on_device
def max_pool2d_scatter(g, idx, in_hw):
    """``zeros(N, C, H, W)`` with ``g`` added at the flat positions ``idx`` (max-pool backward)."""
    xp = get_array_module(g)
    n, c = g.shape[:2]
    m = g.shape[2] * g.shape[3]
    hw = in_hw[0] * in_hw[1]
    out = xp.zeros((n, c) + tuple(in_hw), dtype=g.dtype)
    launch._launch("max_pool_scatter", g.dtype, n * c * m, xp.ascontiguousarray(g), xp.ascontiguousarray(idx), out,
                   n * c, hw, m)
    return out


@launch.on_device
def max_pool2d_gather(gg, idx):
    """``gg[n, c].flat[idx[n, c]]``: the backward of ``max_pool2d_scatter``."""
    xp = get_array_module(gg)
    n, c = gg.shape[:2]
    out = xp.empty(idx.shape, dtype=gg.dtype)
    launch._launch("max_pool_gather", gg.dtype, out.size, xp.ascontiguousarray(gg), xp.ascontiguousarray(idx), out,
                   n * c, gg.shape[2] * gg.shape[3], idx.shape[2] * idx.shape[3])
    return out


@launch.on_device
def avg_pool2d_forward(x, hs, he, ws, we, div):
    """Means over windows ``[hs, he) x [ws, we)`` per output row/column, each divided by its
    ``div`` (float64, shape ``(Ho, Wo)``); sums in float64."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    n, c, h, w = x.shape
    ho, wo = div.shape
    out = xp.empty((n, c, ho, wo), dtype=x.dtype)
    geom = launch._upload(xp, np.concatenate([hs, he, ws, we]).astype(np.int64))
    launch._launch("avg_pool_fwd", x.dtype, out.size, x, out, n * c, h, w, ho, wo, geom,
                   launch._upload(xp, np.asarray(div, dtype=np.float64)))
    return out


def _cover(lo, hi, size):
    """For each input position i in [0, size): a range [first, last) of outputs that holds every
    window [lo[o], hi[o]) containing i (empty where none does)."""
    i = np.arange(size)[:, None]
    inside = (lo[None, :] <= i) & (i < hi[None, :])
    found = inside.any(axis=1)
    first = np.where(found, inside.argmax(axis=1), 0)
    last = np.where(found, len(lo) - inside[:, ::-1].argmax(axis=1), 0)
    return first, last


@launch.on_device
def avg_pool2d_backward(g, hs, he, ws, we, div, in_hw):
    """The adjoint of ``avg_pool2d_forward``: ``(N, C, Ho, Wo) -> (N, C, H, W)``."""
    xp = get_array_module(g)
    g = xp.ascontiguousarray(g)
    n, c = g.shape[:2]
    ho, wo = div.shape
    h, w = in_hw
    out = xp.empty((n, c, h, w), dtype=g.dtype)
    geom = launch._upload(xp, np.concatenate([hs, he, ws, we]).astype(np.int64))
    cover = launch._upload(xp, np.concatenate([*_cover(hs, he, h), *_cover(ws, we, w)]).astype(np.int64))
    launch._launch("avg_pool_bwd", g.dtype, out.size, g, out, n * c, h, w, ho, wo, geom, cover,
                   launch._upload(xp, np.asarray(div, dtype=np.float64)))
    return out
