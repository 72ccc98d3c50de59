"""Numba kernels for convolution, pooling, activations, batch normalization and optimizer updates. Private: call them through the wrappers of
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


# -- direct convolution (stride 1, few channels) -------------------------------------------------
# The input is zero-padded first, so every tap reads a contiguous run of it: with the output laid
# out "wide" (``Wp`` columns per row, of which the first ``Wo`` are kept), output position p reads
# input position p + i*dh*Wp + j*dw for tap (i, j). Each tap is then one long vectorizable loop,
# with no column matrix and no bounds checks. Used where im2col + GEMM starves: one to a few input
# channels and few outputs (LeNet's first layer).


@njit(**_OPTS)
def _conv_direct_fwd(xp, w, dh, dw, y, n0, n1):
    """y[n] = sum over c, i, j of w[:, c, i, j] * xp[n, c] shifted, for samples [n0, n1); ``xp``
    (N, C, Hp, Wp) padded, ``w`` (O, C, kh, kw), ``y`` (N, O, Ho, Wo)."""
    _, c_, hp, wp = xp.shape
    o_, _, kh, kw = w.shape
    ho, wo = y.shape[2], y.shape[3]
    length = (ho - 1) * wp + wo
    acc = np.empty(length, dtype=y.dtype)
    for n in range(n0, n1):
        for o in range(o_):
            acc[:] = 0
            for c in range(c_):
                plane = xp[n, c].ravel()
                for i in range(kh):
                    for j in range(kw):
                        wv = w[o, c, i, j]
                        off = i * dh * wp + j * dw
                        xs = plane[off:off + length]
                        for p in range(length):
                            acc[p] += wv * xs[p]
            yo = y[n, o]
            for oh in range(ho):
                row = acc[oh * wp:oh * wp + wo]
                yr = yo[oh]
                for ow in range(wo):
                    yr[ow] = row[ow]


# Kernels five taps wide (LeNet's, and the usual 5x5 layers) take a row of five taps and four output
# channels per pass: each input value loaded feeds twenty multiply-adds, where the loop above loads
# and stores its accumulator for every one. Multiply-adds are fused (``contract``): one rounding each,
# the same on every run and thread count.
_ROW5 = jit_options(contract=True)


@njit(**_ROW5)
def _conv_direct_fwd_row5(xp, w, dh, y, n0, n1):
    """``_conv_direct_fwd`` for kernels five taps wide at column dilation 1."""
    _, c_, hp, wp = xp.shape
    o_, _, kh, _ = w.shape
    ho, wo = y.shape[2], y.shape[3]
    length = (ho - 1) * wp + wo
    acc = np.empty((4, length), dtype=y.dtype)
    a0, a1, a2, a3 = acc[0], acc[1], acc[2], acc[3]
    for n in range(n0, n1):
        for o in range(0, o_, 4):
            block = min(4, o_ - o)
            acc[:] = 0
            for c in range(c_):
                plane = xp[n, c].ravel()
                for i in range(kh):
                    xs = plane[i * dh * wp:i * dh * wp + length + 4]
                    if block == 4:
                        w0, w1, w2, w3, w4 = w[o, c, i, 0], w[o, c, i, 1], w[o, c, i, 2], w[o, c, i, 3], w[o, c, i, 4]
                        v0, v1, v2, v3, v4 = (w[o + 1, c, i, 0], w[o + 1, c, i, 1], w[o + 1, c, i, 2],
                                              w[o + 1, c, i, 3], w[o + 1, c, i, 4])
                        u0, u1, u2, u3, u4 = (w[o + 2, c, i, 0], w[o + 2, c, i, 1], w[o + 2, c, i, 2],
                                              w[o + 2, c, i, 3], w[o + 2, c, i, 4])
                        t0, t1, t2, t3, t4 = (w[o + 3, c, i, 0], w[o + 3, c, i, 1], w[o + 3, c, i, 2],
                                              w[o + 3, c, i, 3], w[o + 3, c, i, 4])
                        for p in range(length):
                            x0, x1, x2, x3, x4 = xs[p], xs[p + 1], xs[p + 2], xs[p + 3], xs[p + 4]
                            a0[p] = a0[p] + w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4
                            a1[p] = a1[p] + v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4
                            a2[p] = a2[p] + u0 * x0 + u1 * x1 + u2 * x2 + u3 * x3 + u4 * x4
                            a3[p] = a3[p] + t0 * x0 + t1 * x1 + t2 * x2 + t3 * x3 + t4 * x4
                    else:  # the last channels, one at a time
                        for q in range(block):
                            w0, w1, w2, w3, w4 = (w[o + q, c, i, 0], w[o + q, c, i, 1], w[o + q, c, i, 2],
                                                  w[o + q, c, i, 3], w[o + q, c, i, 4])
                            a = acc[q]
                            for p in range(length):
                                a[p] = a[p] + w0 * xs[p] + w1 * xs[p + 1] + w2 * xs[p + 2] + w3 * xs[p + 3] + w4 * xs[p + 4]
            for q in range(block):
                yo = y[n, o + q]
                a = acc[q]
                for oh in range(ho):
                    for ow in range(wo):
                        yo[oh, ow] = a[oh * wp + ow]


# The weight gradient of kernels five wide: per sample, one dot product per tap between the output
# gradient (laid out wide) and the shifted input row, a row of five taps and four output channels per
# pass (twenty sums held in registers); dot products are summed in vector lanes (``reassoc``), in an
# order fixed by the code, and the samples are added in order. Output channels go in blocks of four
# from the first, whatever the thread count (the caller splits by blocks), so results are the same
# bits on any number of threads.
_ROW5_SUMS = jit_options(contract=True, reassoc=True)


@njit(**_ROW5_SUMS)
def _conv_direct_wgrad_row5(xp, gy, dh, gw, b0, b1):
    """gw[o, c, i, j] += sum over samples and positions of gy[n, o] * xp[n, c] shifted by tap (i, j),
    for the output channels of blocks [b0, b1) (four channels a block); kernels five wide at
    column dilation 1. ``gw`` starts at zero."""
    n_, c_, hp, wp = xp.shape
    o_, ho, wo = gy.shape[1], gy.shape[2], gy.shape[3]
    kh = gw.shape[2]
    length = (ho - 1) * wp + wo
    wide = np.zeros((4, length), dtype=gw.dtype)  # gy rows at the input's row stride, zeros between
    z = gw.dtype.type(0)
    for blk in range(b0, b1):
        o = 4 * blk
        block = min(4, o_ - o)
        for n in range(n_):
            for q in range(block):
                g = gy[n, o + q]
                for oh in range(ho):
                    for ow in range(wo):
                        wide[q, oh * wp + ow] = g[oh, ow]
            ga, gb, gc, gd = wide[0], wide[1], wide[2], wide[3]
            for c in range(c_):
                plane = xp[n, c].ravel()
                for i in range(kh):
                    xs = plane[i * dh * wp:i * dh * wp + length + 4]
                    if block == 4:
                        s00 = s01 = s02 = s03 = s04 = z
                        s10 = s11 = s12 = s13 = s14 = z
                        s20 = s21 = s22 = s23 = s24 = z
                        s30 = s31 = s32 = s33 = s34 = z
                        for p in range(length):
                            x0, x1, x2, x3, x4 = xs[p], xs[p + 1], xs[p + 2], xs[p + 3], xs[p + 4]
                            g0, g1, g2, g3 = ga[p], gb[p], gc[p], gd[p]
                            s00 += g0 * x0
                            s01 += g0 * x1
                            s02 += g0 * x2
                            s03 += g0 * x3
                            s04 += g0 * x4
                            s10 += g1 * x0
                            s11 += g1 * x1
                            s12 += g1 * x2
                            s13 += g1 * x3
                            s14 += g1 * x4
                            s20 += g2 * x0
                            s21 += g2 * x1
                            s22 += g2 * x2
                            s23 += g2 * x3
                            s24 += g2 * x4
                            s30 += g3 * x0
                            s31 += g3 * x1
                            s32 += g3 * x2
                            s33 += g3 * x3
                            s34 += g3 * x4
                        gw[o + 0, c, i, 0] += s00
                        gw[o + 0, c, i, 1] += s01
                        gw[o + 0, c, i, 2] += s02
                        gw[o + 0, c, i, 3] += s03
                        gw[o + 0, c, i, 4] += s04
                        gw[o + 1, c, i, 0] += s10
                        gw[o + 1, c, i, 1] += s11
                        gw[o + 1, c, i, 2] += s12
                        gw[o + 1, c, i, 3] += s13
                        gw[o + 1, c, i, 4] += s14
                        gw[o + 2, c, i, 0] += s20
                        gw[o + 2, c, i, 1] += s21
                        gw[o + 2, c, i, 2] += s22
                        gw[o + 2, c, i, 3] += s23
                        gw[o + 2, c, i, 4] += s24
                        gw[o + 3, c, i, 0] += s30
                        gw[o + 3, c, i, 1] += s31
                        gw[o + 3, c, i, 2] += s32
                        gw[o + 3, c, i, 3] += s33
                        gw[o + 3, c, i, 4] += s34
                    else:
                        for q in range(block):
                            gq = wide[q]
                            t0 = t1 = t2 = t3 = t4 = z
                            for p in range(length):
                                gp = gq[p]
                                t0 += gp * xs[p]
                                t1 += gp * xs[p + 1]
                                t2 += gp * xs[p + 2]
                                t3 += gp * xs[p + 3]
                                t4 += gp * xs[p + 4]
                            gw[o + q, c, i, 0] += t0
                            gw[o + q, c, i, 1] += t1
                            gw[o + q, c, i, 2] += t2
                            gw[o + q, c, i, 3] += t3
                            gw[o + q, c, i, 4] += t4


@njit(**_OPTS)
def _conv_direct_wgrad(xp, gy, dh, dw, acc, o0, o1):
    """acc[o, c, i, j, p] += gy[n, o] (wide) * xp[n, c] shifted by tap (i, j), for every sample in
    order and output channels [o0, o1): each lane p sums over the samples on its own (no
    reassociation needed to vectorize); the caller sums the lanes. ``acc`` starts at zero."""
    n_, c_, hp, wp = xp.shape
    _, _, ho, wo = gy.shape
    _, _, kh, kw, length = acc.shape
    g = np.zeros(length, dtype=acc.dtype)
    for n in range(n_):
        for o in range(o0, o1):
            gyo = gy[n, o]
            for oh in range(ho):
                gr = gyo[oh]
                for ow in range(wo):
                    g[oh * wp + ow] = gr[ow]
            for c in range(c_):
                plane = xp[n, c].ravel()
                for i in range(kh):
                    for j in range(kw):
                        off = i * dh * wp + j * dw
                        xs = plane[off:off + length]
                        a = acc[o, c, i, j]
                        for p in range(length):
                            a[p] += g[p] * xs[p]

# -- elementwise ----------------------------------------------------------------------------------
# One pass over flat, C-contiguous arrays. The wrappers hand each call a slice (a part of a large
# array, for one thread); the loops run over ``range(size)``, indices LLVM knows are in bounds and
# non-negative, which is what lets it vectorize them.


@njit(**_OPTS)
def _relu_bwd(g, y, out):
    """out = 0 where y <= 0, else g: ReLU's gradient from its output; a NaN output passes the
    gradient on, as PyTorch's does."""
    zero = out.dtype.type(0)
    for i in range(out.size):
        out[i] = zero if y[i] <= zero else g[i]


# -- batch normalization --------------------------------------------------------------------------
# ``x`` is (N, C, M): M values per sample and channel. Each channel is reduced by one thread, in one
# fixed order, in float64: the statistics do not depend on the threads. Four partial sums, over
# positions i = 0, 1, 2, 3 (mod 4) of each sample, added together at the end, keep the adds
# independent of each other (a single running sum waits on every previous add).


@njit(**_OPTS)
def _bn_stats(x, c0, c1, mean, var):
    """Per channel in [c0, c1) of ``x`` (N, C, M): the mean and the biased variance, in float64 (a
    first pass for the mean, a second for the squared deviations from it)."""
    n_, _, m_ = x.shape
    count = n_ * m_
    full = m_ - m_ % 4
    for c in range(c0, c1):
        s0 = s1 = s2 = s3 = 0.0
        for n in range(n_):
            row = x[n, c]
            for i in range(0, full, 4):
                s0 += row[i]
                s1 += row[i + 1]
                s2 += row[i + 2]
                s3 += row[i + 3]
            for i in range(full, m_):
                s0 += row[i]
        mu = ((s0 + s1) + (s2 + s3)) / count
        q0 = q1 = q2 = q3 = 0.0
        for n in range(n_):
            row = x[n, c]
            for i in range(0, full, 4):
                d0 = row[i] - mu
                d1 = row[i + 1] - mu
                d2 = row[i + 2] - mu
                d3 = row[i + 3] - mu
                q0 += d0 * d0
                q1 += d1 * d1
                q2 += d2 * d2
                q3 += d3 * d3
            for i in range(full, m_):
                d = row[i] - mu
                q0 += d * d
        mean[c] = mu
        var[c] = ((q0 + q1) + (q2 + q3)) / count


@njit(**_OPTS)
def _bn_apply(x, c0, c1, mean, scale, bias, out):
    """out = (x - mean) * scale + bias per channel in [c0, c1) (``scale`` = invstd * weight)."""
    n_, _, m_ = x.shape
    for c in range(c0, c1):
        mu = x.dtype.type(mean[c])
        a = x.dtype.type(scale[c])
        b = x.dtype.type(bias[c])
        for n in range(n_):
            xr = x[n, c]
            orow = out[n, c]
            for i in range(m_):
                orow[i] = (xr[i] - mu) * a + b


@njit(**_OPTS)
def _bn_grad_sums(g, x, c0, c1, mean, invstd, sum_g, sum_gxhat):
    """Per channel in [c0, c1): sum(g) and sum(g * xhat), xhat = (x - mean) * invstd, in float64
    (four lanes)."""
    n_, _, m_ = x.shape
    full = m_ - m_ % 4
    for c in range(c0, c1):
        mu = mean[c]
        s0 = s1 = s2 = s3 = 0.0
        q0 = q1 = q2 = q3 = 0.0
        for n in range(n_):
            gr = g[n, c]
            xr = x[n, c]
            for i in range(0, full, 4):
                g0 = gr[i] + 0.0
                g1 = gr[i + 1] + 0.0
                g2 = gr[i + 2] + 0.0
                g3 = gr[i + 3] + 0.0
                s0 += g0
                s1 += g1
                s2 += g2
                s3 += g3
                q0 += g0 * (xr[i] - mu)
                q1 += g1 * (xr[i + 1] - mu)
                q2 += g2 * (xr[i + 2] - mu)
                q3 += g3 * (xr[i + 3] - mu)
            for i in range(full, m_):
                gv = gr[i] + 0.0
                s0 += gv
                q0 += gv * (xr[i] - mu)
        sum_g[c] = (s0 + s1) + (s2 + s3)
        sum_gxhat[c] = ((q0 + q1) + (q2 + q3)) * invstd[c]


@njit(**_OPTS)
def _bn_grad_input(g, x, c0, c1, mean, invstd, weight, sum_g, sum_gxhat, out):
    """gx = (g - sum(g) / M - xhat * sum(g xhat) / M) * invstd * weight per channel in [c0, c1)."""
    n_, _, m_ = x.shape
    count = n_ * m_
    for c in range(c0, c1):
        a = x.dtype.type(invstd[c] * weight[c])
        mg = x.dtype.type(sum_g[c] / count)
        mu = x.dtype.type(mean[c])
        # xhat * sum(g xhat) / M * invstd * weight = (x - mean) * (invstd^2 * weight * sum(g xhat) / M)
        b = x.dtype.type(invstd[c] * sum_gxhat[c] / count)
        for n in range(n_):
            gr = g[n, c]
            xr = x[n, c]
            orow = out[n, c]
            for i in range(m_):
                orow[i] = (gr[i] - mg - (xr[i] - mu) * b) * a


# -- optimizer updates ----------------------------------------------------------------------------
# One pass per parameter over flat arrays, each step in the order and the precision of the NumPy
# expressions it replaces: the scalars come in the arrays' dtype, so float32 parameters are updated
# in float32 arithmetic, as ``p += -lr * g`` on arrays is. The common cases get loops of their own
# (branch-free, so that they vectorize).


@njit(**_OPTS)
def _sgd_step(p, g, buf, neg_lr, use_wd, weight_decay, use_momentum, momentum, damp, nesterov, maximize,
              first):
    """PyTorch's SGD: weight decay, momentum (``buf``; ``first`` copies the gradient in; ``damp``
    = 1 - dampening), Nesterov; ``p += -lr * step``."""
    n = p.size
    if use_momentum and not first and not nesterov and not use_wd and not maximize:
        for i in range(n):
            b = buf[i] * momentum + damp * g[i]
            buf[i] = b
            p[i] = p[i] + neg_lr * b
        return
    if not use_momentum and not use_wd and not maximize:
        for i in range(n):
            p[i] = p[i] + neg_lr * g[i]
        return
    for i in range(n):
        d = -g[i] if maximize else g[i]
        if use_wd:
            d = d + weight_decay * p[i]
        if use_momentum:
            if first:
                b = d
            else:
                b = buf[i] * momentum + damp * d
            buf[i] = b
            d = d + momentum * b if nesterov else b
        p[i] = p[i] + neg_lr * d


@njit(**_OPTS)
def _adam_step(p, g, m, v, vmax, use_wd, decoupled, weight_decay, lr_decay, w, w_comp, beta2, one_minus_beta2,
               neg_step, bc2_sqrt, eps, amsgrad, maximize):
    """PyTorch's Adam/AdamW (single-tensor algorithm), given the step's scalars: ``lr_decay`` =
    1 - lr * weight_decay (decoupled), ``w`` = 1 - beta1 (the lerp weight) and ``w_comp`` = 1 - w,
    ``neg_step`` = -lr / (1 - beta1^t), ``bc2_sqrt`` = sqrt(1 - beta2^t)."""
    small = abs(w) < 0.5
    n = p.size
    if small and not use_wd and not amsgrad and not maximize:
        for i in range(n):
            d = g[i]
            mi = m[i] + w * (d - m[i])
            m[i] = mi
            vi = v[i] * beta2 + one_minus_beta2 * d * d
            v[i] = vi
            p[i] = p[i] + neg_step * (mi / (np.sqrt(vi) / bc2_sqrt + eps))
        return
    for i in range(n):
        d = -g[i] if maximize else g[i]
        if use_wd:
            if decoupled:
                p[i] = p[i] * lr_decay
            else:
                d = d + weight_decay * p[i]
        if small:
            m[i] = m[i] + w * (d - m[i])
        else:
            m[i] = d - (d - m[i]) * w_comp
        v[i] = v[i] * beta2 + one_minus_beta2 * d * d
        second = v[i]
        if amsgrad:
            if second > vmax[i] or second != second:  # np.maximum: a NaN wins
                vmax[i] = second
            second = vmax[i]
        denom = np.sqrt(second) / bc2_sqrt + eps
        p[i] = p[i] + neg_step * (m[i] / denom)


def _warm_conv(dtype):
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    cols = np.empty((4, 4), dtype=dtype)
    _im2col(x, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, cols)
    _col2im(cols, 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, np.empty_like(x))


def _warm_max_pool(dtype):
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    start = np.array([0, 1], dtype=np.int64)
    count = np.array([2, 2], dtype=np.int64)
    out = np.empty((1, 1, 2, 2), dtype=dtype)
    idx = np.empty((1, 1, 2, 2), dtype=np.int32)
    _max_pool_fwd(x, start, count, 1, start, count, 1, out, idx)
    _max_pool_scatter(out.reshape(1, 1, 4), idx.reshape(1, 1, 4), np.empty((1, 1, 9), dtype=dtype))


def _warm_avg_pool(dtype):
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    start = np.array([0, 1], dtype=np.int64)
    end = start + 2
    out = np.empty((1, 1, 2, 2), dtype=dtype)
    div = np.full((2, 2), 4.0)  # divisors are always float64
    _avg_pool_fwd(x, start, end, start, end, div, out)
    _avg_pool_bwd(out, start, end, start, end, div, np.empty_like(x))


def _warm_direct(dtype):
    x = np.ones((1, 1, 3, 3), dtype=dtype)
    w = np.ones((1, 1, 2, 2), dtype=dtype)
    _conv_direct_fwd(x, w, 1, 1, np.empty((1, 1, 2, 2), dtype=dtype), 0, 1)
    _conv_direct_wgrad(x, np.ones((1, 1, 2, 2), dtype=dtype), 1, 1, np.zeros((1, 1, 2, 2, 5), dtype=dtype), 0, 1)


def _warm_row5_forward(dtype):
    _conv_direct_fwd_row5(np.ones((1, 1, 5, 5), dtype=dtype), np.ones((1, 1, 5, 5), dtype=dtype), 1,
                          np.empty((1, 1, 1, 1), dtype=dtype), 0, 1)


def _warm_row5_wgrad(dtype):
    _conv_direct_wgrad_row5(np.ones((1, 1, 5, 5), dtype=dtype), np.ones((1, 1, 1, 1), dtype=dtype), 1,
                            np.zeros((1, 1, 5, 5), dtype=dtype), 0, 1)


def _warm_batch_norm(dtype):
    flat = np.ones(9, dtype=dtype)
    _relu_bwd(flat, flat, np.empty_like(flat))
    x3 = flat.reshape(1, 1, 9)
    stats = np.zeros(1)
    _bn_stats(x3, 0, 1, stats, stats)
    _bn_apply(x3, 0, 1, stats, stats, stats, np.empty_like(x3))
    _bn_grad_sums(x3, x3, 0, 1, stats, stats, stats, stats)
    _bn_grad_input(x3, x3, 0, 1, stats, stats, stats, stats, stats, np.empty_like(x3))


def _warm_optimizers(dtype):
    flat = np.ones(9, dtype=dtype)
    s = flat.dtype.type(0)
    _sgd_step(flat.copy(), flat, flat.copy(), s, True, s, True, s, s, False, False, True)
    _adam_step(flat.copy(), flat, flat.copy(), flat.copy(), flat.copy(), True, False, s, s, s, s, s, s, s, s, s,
               False, False)


#: Tiny calls that compile every kernel, in groups of about equal compile time: ``gradcnn.warmup``
#: may compile some groups in a helper process while it compiles the others.
WARMUPS = {
    "conv": _warm_conv,
    "max_pool": _warm_max_pool,
    "avg_pool": _warm_avg_pool,
    "direct": _warm_direct,
    "row5_forward": _warm_row5_forward,
    "row5_wgrad": _warm_row5_wgrad,
    "batch_norm": _warm_batch_norm,
    "optimizers": _warm_optimizers,
}


def warmup_calls(dtype, groups=None):
    """Compile (or load from the cache) every kernel of ``groups`` (names of :data:`WARMUPS`; all
    by default) for ``dtype``."""
    for name in WARMUPS if groups is None else groups:
        WARMUPS[name](dtype)
