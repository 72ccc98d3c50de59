"""Numba kernels for convolution and pooling. Private: call them through the wrappers of
``backends.cpu`` (:mod:`.conv`, :mod:`.pool`), which validate shapes, make arrays C-contiguous and
allocate outputs first (Numba does not check bounds, so a kernel must never see unvalidated input).

Every kernel is 2-D (NCHW); 1-D work arrives with H = 1. Kernels are serial and release the GIL
(``nogil``): the wrappers run them on disjoint slices of the batch from gradcnn's own thread pool
(:mod:`.threads`), so no two threads ever write the same element and Numba never starts a thread pool
of its own.
"""

import numpy as np
from numba import njit

from ..config import jit_options

_OPTS = jit_options()


@njit(**_OPTS)
def _valid_range(out_size, stride, offset, size):
    """The outputs ``o`` in [0, out_size) whose input position ``o * stride + offset`` lies in
    [0, size), as a half-open range ``(lo, hi)``; hoisting it keeps the inner loops branch-free."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = 0
    if size - offset > 0:
        hi = (size - offset + stride - 1) // stride
    hi = min(hi, out_size)
    lo = min(lo, hi)
    return lo, hi


# Indexing note: the kernels address flat views with unsigned offsets. Signed indices make Numba
# test every access for a negative (wrap-around) index, which blocks vectorization and measured
# 4-5x slower on im2col. Every offset below is non-negative by construction (the valid ranges are
# computed first), so the conversion to uint64 is exact.
_u = np.uint64


@njit(**_OPTS)
def _im2col(x, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols):
    """cols[(c, i, j), (n, oh, ow)] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside)."""
    n_, c_, h_, w_ = x.shape
    xf = x.ravel()
    cf = cols.ravel()
    ncol = cols.shape[1]
    per = ho * wo
    for r in range(c_ * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        oh_lo, oh_hi = _valid_range(ho, sh, i * dh - ph, h_)
        ow_lo, ow_hi = _valid_range(wo, sw, j * dw - pw, w_)
        col_off = j * dw - pw
        for n in range(n_):
            for oh in range(ho):
                dst = _u(r * ncol + n * per + oh * wo)
                if oh < oh_lo or oh >= oh_hi:
                    for ow in range(wo):
                        cf[dst + _u(ow)] = 0
                    continue
                src = _u(((n * c_ + c) * h_ + oh * sh - ph + i * dh) * w_)
                for ow in range(ow_lo):
                    cf[dst + _u(ow)] = 0
                for ow in range(ow_lo, ow_hi):
                    cf[dst + _u(ow)] = xf[src + _u(ow * sw + col_off)]
                for ow in range(ow_hi, wo):
                    cf[dst + _u(ow)] = 0


@njit(**_OPTS)
def _col2im(cols, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, out):
    """The adjoint of ``_im2col``: out[n, c, ...] += cols[(c, i, j), (n, oh, ow)]; ``out`` is zeroed
    here."""
    n_, c_, h_, w_ = out.shape
    of = out.ravel()
    cf = cols.ravel()
    ncol = cols.shape[1]
    per = ho * wo
    of[:] = 0
    for c in range(c_):
        for i in range(kh):
            oh_lo, oh_hi = _valid_range(ho, sh, i * dh - ph, h_)
            for j in range(kw):
                ow_lo, ow_hi = _valid_range(wo, sw, j * dw - pw, w_)
                r = (c * kh + i) * kw + j
                col_off = j * dw - pw
                for n in range(n_):
                    for oh in range(oh_lo, oh_hi):
                        src = _u(r * ncol + n * per + oh * wo)
                        dst = _u(((n * c_ + c) * h_ + oh * sh - ph + i * dh) * w_)
                        for ow in range(ow_lo, ow_hi):
                            of[dst + _u(ow * sw + col_off)] += cf[src + _u(ow)]


@njit(**_OPTS)
def _max_pool_fwd(x, hstart, hcount, dh, wstart, wcount, dw, out, idx):
    """Window (oh, ow) covers rows hstart[oh] + a*dh (a < hcount[oh]) and likewise columns, all
    inside the input (the caller clips windows to the input first). ``idx`` gets the flat
    (ih*W + iw) position of the max, or -1 (and the value -inf) for an empty window. The first
    maximum wins; a NaN always wins (the last one seen), as in PyTorch."""
    n_, c_, h_, w_ = x.shape
    ho = out.shape[2]
    wo = out.shape[3]
    xf = x.ravel()
    of = out.ravel()
    idf = idx.ravel()
    for t in range(n_ * c_):
        plane = t * h_ * w_
        for oh in range(ho):
            h0 = hstart[_u(oh)]
            hn = hcount[_u(oh)]
            for ow in range(wo):
                w0 = wstart[_u(ow)]
                wn = wcount[_u(ow)]
                o = _u((t * ho + oh) * wo + ow)
                if hn == 0 or wn == 0:
                    of[o] = -np.inf
                    idf[o] = -1
                    continue
                at = h0 * w_ + w0
                best = xf[_u(plane + at)]
                for a in range(hn):
                    row = (h0 + a * dh) * w_ + w0
                    for b in range(wn):
                        pos = row + b * dw
                        v = xf[_u(plane + pos)]
                        if v > best or v != v:
                            best = v
                            at = pos
                of[o] = best
                idf[o] = at


@njit(**_OPTS)
def _max_pool_scatter(g, idx, out):
    """out[n, c].flat[idx[n, c, o]] += g[n, c, o]; ``out`` (N, C, H*W) is zeroed here."""
    n_, c_, hw = out.shape
    m = g.shape[2]
    gf = g.ravel()
    idf = idx.ravel()
    of = out.ravel()
    of[:] = 0
    for t in range(n_ * c_):
        for o in range(m):
            k = _u(t * m + o)
            i = idf[k]
            if i >= 0:
                of[_u(t * hw + i)] += gf[k]


@njit(**_OPTS)
def _avg_pool_fwd(x, hs, he, ws, we, div, out):
    """out[n, c, oh, ow] = sum of x over rows [hs, he) and columns [ws, we) / div[oh, ow]."""
    n_, c_, h_, w_ = x.shape
    ho, wo = div.shape
    xf = x.ravel()
    of = out.ravel()
    for t in range(n_ * c_):
        plane = t * h_ * w_
        for oh in range(ho):
            for ow in range(wo):
                s = 0.0
                for ih in range(hs[oh], he[oh]):
                    row = _u(plane + ih * w_)
                    for iw in range(ws[ow], we[ow]):
                        s += xf[row + _u(iw)]
                of[_u((t * ho + oh) * wo + ow)] = s / div[oh, ow]


@njit(**_OPTS)
def _avg_pool_bwd(g, hs, he, ws, we, div, out):
    """The adjoint of ``_avg_pool_fwd``; ``out`` is zeroed here."""
    n_, c_, h_, w_ = out.shape
    ho, wo = div.shape
    gf = g.ravel()
    of = out.ravel()
    of[:] = 0
    for t in range(n_ * c_):
        plane = t * h_ * w_
        for oh in range(ho):
            for ow in range(wo):
                v = gf[_u((t * ho + oh) * wo + ow)] / div[oh, ow]
                for ih in range(hs[oh], he[oh]):
                    row = _u(plane + ih * w_)
                    for iw in range(ws[ow], we[ow]):
                        of[row + _u(iw)] += v


def warmup_calls(dtype):
    """Tiny calls that compile every kernel for ``dtype`` (used by ``gradcnn.warmup``)."""
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    cols = np.empty((4, 4), dtype=dtype)
    _im2col(x, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, cols)
    _col2im(cols, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, np.empty_like(x))
    start = np.array([0, 1], dtype=np.int64)
    count = np.array([2, 2], dtype=np.int64)
    out = np.empty((1, 1, 2, 2), dtype=dtype)
    idx = np.empty((1, 1, 2, 2), dtype=np.int32)
    _max_pool_fwd(x, start, count, 1, start, count, 1, out, idx)
    _max_pool_scatter(out.reshape(1, 1, 4), idx.reshape(1, 1, 4), np.empty((1, 1, 9), dtype=dtype))
    end = start + count
    div = np.full((2, 2), 4.0)  # divisors are always float64
    _avg_pool_fwd(x, start, end, start, end, div, out)
    _avg_pool_bwd(out, start, end, start, end, div, np.empty_like(x))
