"""Numba kernels for convolution and pooling. Private: call them through ``backends.cpu``, whose
wrappers validate shapes, make arrays C-contiguous and allocate outputs first (Numba does not check
bounds, so a kernel must never see unvalidated input).

Every kernel is 2-D (NCHW); 1-D work arrives with H = 1. Parallel loops split the work so that no
two threads ever write the same element: im2col by rows of the column matrix, the scatters by
(sample, channel) planes.
"""

import numpy as np
from numba import njit, prange

from ..config import jit_options

_PAR = jit_options(parallel=True)


@njit(**_PAR)
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols):
    """cols[(c, i, j), (n, oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside)."""
    n_, c_, h_, w_ = x.shape
    per = ho * wo
    for r in prange(c_ * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        for n in range(n_):
            for oh in range(ho):
                ih = oh * sh - ph + i * dh
                base = n * per + oh * wo
                if ih < 0 or ih >= h_:
                    for ow in range(wo):
                        cols[r, base + ow] = 0
                    continue
                for ow in range(wo):
                    iw = ow * sw - pw + j * dw
                    if 0 <= iw < w_:
                        cols[r, base + ow] = x[n, c, ih, iw]
                    else:
                        cols[r, base + ow] = 0


@njit(**_PAR)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """The adjoint of ``_im2col``: out[n, c, ...] += cols[(c, i, j), (n, oh, ow)]; ``out`` is zeroed
    here. One thread owns each (n, c) plane."""
    n_, c_, h_, w_ = out.shape
    per = ho * wo
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        for ih in range(h_):
            for iw in range(w_):
                out[n, c, ih, iw] = 0
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                for oh in range(ho):
                    ih = oh * sh - ph + i * dh
                    if ih < 0 or ih >= h_:
                        continue
                    base = n * per + oh * wo
                    for ow in range(wo):
                        iw = ow * sw - pw + j * dw
                        if 0 <= iw < w_:
                            out[n, c, ih, iw] += cols[r, base + ow]


@njit(**_PAR)
def _max_pool_fwd(x, hstart, hcount, dh, wstart, wcount, dw, out, idx):
    """Window (oh, ow) covers rows hstart[oh] + a*dh (a < hcount[oh]) and likewise columns;
    positions outside the input are skipped. ``idx`` gets the flat (ih*W + iw) position of the max
    (-1 for a window with no input element); NaN wins, as in PyTorch."""
    n_, c_, h_, w_ = x.shape
    ho = out.shape[2]
    wo = out.shape[3]
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        for oh in range(ho):
            for ow in range(wo):
                best = x[n, c, 0, 0]
                at = -1
                for a in range(hcount[oh]):
                    ih = hstart[oh] + a * dh
                    if ih < 0 or ih >= h_:
                        continue
                    for b in range(wcount[ow]):
                        iw = wstart[ow] + b * dw
                        if iw < 0 or iw >= w_:
                            continue
                        v = x[n, c, ih, iw]
                        if at < 0 or v > best or (v != v and best == best):
                            best = v
                            at = ih * w_ + iw
                # A dilated window can miss the input entirely: -inf, and no index to route to.
                out[n, c, oh, ow] = best if at >= 0 else -np.inf
                idx[n, c, oh, ow] = at


@njit(**_PAR)
def _max_pool_scatter(g, idx, out):
    """out[n, c].flat[idx[n, c, o]] += g[n, c, o]; ``out`` (N, C, H*W) is zeroed here."""
    n_, c_, hw = out.shape
    m = g.shape[2]
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        for p in range(hw):
            out[n, c, p] = 0
        for o in range(m):
            i = idx[n, c, o]
            if i >= 0:
                out[n, c, i] += g[n, c, o]


@njit(**_PAR)
def _avg_pool_fwd(x, hs, he, ws, we, div, out):
    """out[n, c, oh, ow] = sum of x over rows [hs, he) and columns [ws, we) / div[oh, ow]."""
    n_, c_ = x.shape[0], x.shape[1]
    ho, wo = div.shape
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        for oh in range(ho):
            for ow in range(wo):
                s = 0.0
                for ih in range(hs[oh], he[oh]):
                    for iw in range(ws[ow], we[ow]):
                        s += x[n, c, ih, iw]
                out[n, c, oh, ow] = s / div[oh, ow]


@njit(**_PAR)
def _avg_pool_bwd(g, hs, he, ws, we, div, out):
    """The adjoint of ``_avg_pool_fwd``; ``out`` is zeroed here."""
    n_, c_, h_, w_ = out.shape
    ho, wo = div.shape
    for t in prange(n_ * c_):
        n = t // c_
        c = t % c_
        for ih in range(h_):
            for iw in range(w_):
                out[n, c, ih, iw] = 0
        for oh in range(ho):
            for ow in range(wo):
                v = g[n, c, oh, ow] / div[oh, ow]
                for ih in range(hs[oh], he[oh]):
                    for iw in range(ws[ow], we[ow]):
                        out[n, c, ih, iw] += v


def warmup_calls(dtype):
    """Tiny calls that compile every kernel for ``dtype`` (used by ``gradcnn.warmup``)."""
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    cols = np.empty((4, 4), dtype=dtype)
    _im2col(x, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, cols)
    _col2im(cols, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, np.empty_like(x))
    start = np.array([0, 1], dtype=np.int64)
    count = np.array([2, 2], dtype=np.int64)
    out = np.empty((1, 1, 2, 2), dtype=dtype)
    idx = np.empty((1, 1, 2, 2), dtype=np.int64)
    _max_pool_fwd(x, start, count, 1, start, count, 1, out, idx)
    _max_pool_scatter(out.reshape(1, 1, 4), idx.reshape(1, 1, 4), np.empty((1, 1, 9), dtype=dtype))
    end = start + count
    div = np.full((2, 2), 4.0)  # divisors are always float64
    _avg_pool_fwd(x, start, end, start, end, div, out)
    _avg_pool_bwd(out, start, end, start, end, div, np.empty_like(x))
