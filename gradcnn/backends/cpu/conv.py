"""Convolution on the CPU: im2col + GEMM chunk by chunk over the batch, or a direct convolution.

Each chunk's column matrix is built by the Numba kernels in a per-thread workspace and multiplied
with NumPy's BLAS (held to one thread), on gradcnn's worker pool (:mod:`.threads`). A 1x1
convolution with stride 1 and no padding skips the column matrix: one GEMM per sample, chunk by
chunk in the same way.

Layers with few input channels and few outputs (LeNet's first) starve a GEMM: its M is the number of
output channels, and the column matrix is many times the input. :func:`use_direct` picks the direct
kernels for them (measured with benchmarks/bench_conv.py): the forward pass and the input gradient
as direct convolutions over a zero-padded input, the weight gradient as one multiply-add per tap
and output position, summed over the samples in order. Kernels five taps wide (LeNet's C3 too, see
:data:`ROW5_MAX_TAPS`) take a row of taps and four output channels per pass.

The weight gradient sums over the batch: chunks of samples give partial sums, added in chunk order.
Deep layers at small batches, whose whole column matrix fits in :data:`.threads.CHUNK_BYTES`, skip
them: one product cut between the threads by output channels or taps (:func:`.gemm.matmul2d`).
"""


import numpy as np

from ..guards import add_bias, pointwise
from .gemm import matmul2d
from .threads import CHUNK_BYTES, _k, _over_batch, chunk_plan, over_range, workspace

__all__ = ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight", "use_direct", "use_direct_forward"]


def _im2col(x, ksize, stride, pads, dilation, out_hw):
    """The column matrix of ``x`` in this thread's workspace: ``(C * kh * kw, N * Ho * Wo)``."""
    n, c = x.shape[:2]
    kh, kw = ksize
    ho, wo = out_hw
    cols = workspace((c * kh * kw, n * ho * wo), x.dtype)
    _k()._im2col(x, kh, kw, stride[0], stride[1], pads[0][0], pads[1][0], dilation[0], dilation[1], ho, wo, cols)
    return cols


def _rows(gy, groups):
    """``(n, O, Ho, Wo) -> (groups, O/g, n*Ho*Wo)`` in this thread's workspace: the GEMM layout of
    an output gradient."""
    n, o, ho, wo = gy.shape
    rows = workspace((o, n, ho * wo), gy.dtype, slot=1)
    rows[...] = gy.reshape(n, o, ho * wo).transpose(1, 0, 2)
    return rows.reshape(groups, o // groups, n * ho * wo)


#: The direct kernels take convolutions with stride 1, one group, at most this many input taps
#: (C * kh * kw) and at most DIRECT_MAX_OUT output channels. Measured (fwd / fwd+bwd, one thread):
#: 64x1x32x32 -> 6, k5 (LeNet C1) 0.52 / 1.7 ms direct, 1.14 / 2.5 ms im2col; with three input
#: channels (64x3x32x32 -> 6, k5: 75 taps) or 27 taps (16x3x32x32 -> 16, k3) im2col is as fast or faster.
DIRECT_MAX_TAPS = 25
DIRECT_MAX_OUT = 16
#: Bytes of per-lane partial sums the direct weight gradient may use (else im2col + GEMM).
DIRECT_WGRAD_BYTES = 8 << 20


#: Kernels five taps wide (at column dilation 1) have faster direct kernels for the forward pass and
#: the weight gradient, a row of taps and four output channels per pass, which beat im2col + GEMM
#: further: up to this many input taps with at most DIRECT_MAX_OUT outputs. Measured (2 threads,
#: 256x6x14x14 -> 16, k5, LeNet C3, 150 taps): forward 1.5 ms direct, 2.4 ms im2col; weight gradient
#: 1.6 against 3.2 ms. Its input gradient stays with im2col + GEMM (the direct form: 3.2 against 2.4).
ROW5_MAX_TAPS = 150


def use_direct(in_channels, out_channels, ksize, stride, groups):
    """Whether a convolution runs on the direct kernels rather than im2col + GEMM."""
    return (tuple(stride) == (1, 1) and groups == 1 and out_channels <= DIRECT_MAX_OUT
            and in_channels * ksize[0] * ksize[1] <= DIRECT_MAX_TAPS)


def _five_wide(ksize, dilation):
    """Whether the kernels taking a row of five taps per pass apply."""
    return ksize[1] == 5 and dilation[1] == 1


def use_direct_forward(in_channels, out_channels, ksize, stride, groups, dilation):
    """Whether the forward pass of a convolution runs on the direct kernels."""
    return use_direct(in_channels, out_channels, ksize, stride, groups) or (
        _five_wide(ksize, dilation) and tuple(stride) == (1, 1) and groups == 1
        and out_channels <= DIRECT_MAX_OUT and in_channels * ksize[0] * ksize[1] <= ROW5_MAX_TAPS)


def _zero_padded(x, pads):
    """``x`` (N, C, H, W) with ``pads`` = ((top, bottom), (left, right)) zeros around, C-contiguous."""
    (pt, pb), (pl, pr) = pads
    if pt == pb == pl == pr == 0:
        return np.ascontiguousarray(x)
    n, c, h, w = x.shape
    xp = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    return xp


def _direct_forward(xp, w, dilation, out_shape):
    """The direct kernel's output of ``out_shape`` from the padded input ``xp``; every tap of every
    output position must lie inside ``xp`` (the kernel does not check bounds)."""
    n, o, ho, wo = out_shape
    kh, kw = w.shape[2:]
    if ho + (kh - 1) * dilation[0] > xp.shape[2] or wo + (kw - 1) * dilation[1] > xp.shape[3]:
        raise AssertionError(f"direct convolution: output {out_shape} reads past the input {xp.shape}")
    y = np.empty(out_shape, dtype=xp.dtype)
    per_sample = o * w.shape[1] * w.shape[2] * w.shape[3] * ho * xp.shape[3]
    if _five_wide((kh, kw), dilation):
        kernel = _k()._conv_direct_fwd_row5
        over_range(lambda a, b: kernel(xp, w, dilation[0], y, a, b), n, per_sample)
    else:
        kernel = _k()._conv_direct_fwd
        over_range(lambda a, b: kernel(xp, w, dilation[0], dilation[1], y, a, b), n, per_sample)
    return y


def conv2d_forward(x, w, b, stride, pads, dilation, groups, out_hw):
    """``(N, C, H, W) * (O, C/g, kh, kw) -> (N, O, Ho, Wo)``; ``pads`` = ((top, bottom), (left, right))."""
    x = np.ascontiguousarray(x)
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    ho, wo = out_hw
    ck = cg * kh * kw
    if use_direct_forward(x.shape[1], o, (kh, kw), stride, groups, dilation) and n:
        y = _direct_forward(_zero_padded(x, pads), np.ascontiguousarray(w), dilation, (n, o, ho, wo))
        return add_bias(y, b)
    wm = np.ascontiguousarray(w).reshape(groups, o // groups, ck)
    y = np.empty((n, o, ho, wo), dtype=x.dtype)
    if pointwise((kh, kw), stride, pads, x.shape[2:], out_hw):
        xs = x.reshape(n, groups, cg, ho * wo)
        ys = y.reshape(n, groups, o // groups, ho * wo)

        def gemm(a, b_):
            np.matmul(wm, xs[a:b_], out=ys[a:b_])

        _over_batch(gemm, n, x.dtype.itemsize * x.shape[1] * ho * wo, flops_per_sample=2 * o * cg * ho * wo)
        return add_bias(y, b)

    def work(a, b_):
        cols = _im2col(x[a:b_], (kh, kw), stride, pads, dilation, out_hw)
        part = np.matmul(wm, cols.reshape(groups, ck, (b_ - a) * ho * wo))
        y[a:b_] = part.reshape(o, b_ - a, ho, wo).transpose(1, 0, 2, 3)

    _over_batch(work, n, x.dtype.itemsize * ck * groups * ho * wo, flops_per_sample=2 * o * ck * ho * wo)
    return add_bias(y, b)


def conv2d_backward_data(gy, w, stride, pads, dilation, groups, in_hw):
    """The adjoint of ``conv2d_forward`` in x: ``(N, O, Ho, Wo) -> (N, C, H, W)`` (conv-transpose)."""
    gy = np.ascontiguousarray(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    ck = cg * kh * kw
    wt = np.ascontiguousarray(w).reshape(groups, o // groups, ck).transpose(0, 2, 1)
    if pointwise((kh, kw), stride, pads, in_hw, (ho, wo)):
        gx = np.empty((n, c) + tuple(in_hw), dtype=gy.dtype)
        gys = gy.reshape(n, groups, o // groups, ho * wo)
        gxs = gx.reshape(n, groups, cg, ho * wo)

        def gemm(a, b_):
            np.matmul(wt, gys[a:b_], out=gxs[a:b_])

        _over_batch(gemm, n, gy.dtype.itemsize * c * ho * wo, flops_per_sample=2 * o * cg * ho * wo)
        return gx
    if use_direct(c, o, (kh, kw), stride, groups) and n:
        # The full correlation of gy with the flipped kernel, over the padded input; then the
        # padding is cut off.
        dh, dw = dilation
        gyp = _zero_padded(gy, (((kh - 1) * dh,) * 2, ((kw - 1) * dw,) * 2))
        flipped = np.ascontiguousarray(np.asarray(w).transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        full_h, full_w = ho + (kh - 1) * dh, wo + (kw - 1) * dw  # the padded input the outputs read
        full = _direct_forward(gyp, flipped, dilation, (n, c, full_h, full_w))
        (pt, _), (pl, _) = pads
        h, wd = in_hw
        rows, cols = min(h, full_h - pt), min(wd, full_w - pl)
        if (rows, cols) == (h, wd):
            return np.ascontiguousarray(full[:, :, pt:pt + h, pl:pl + wd])
        # A transposed convolution's output_padding: positions no output reads get no gradient.
        out = np.zeros((n, c, h, wd), dtype=gy.dtype)
        out[:, :, :rows, :cols] = full[:, :, pt:pt + rows, pl:pl + cols]
        return out
    out = np.empty((n, c) + tuple(in_hw), dtype=gy.dtype)

    def work(a, b_):
        cols = workspace((groups, ck, (b_ - a) * ho * wo), gy.dtype)
        np.matmul(wt, _rows(gy[a:b_], groups), out=cols)
        _k()._col2im(cols.reshape(c * kh * kw, (b_ - a) * ho * wo), kh, kw, stride[0], stride[1],
                     pads[0][0], pads[1][0], dilation[0], dilation[1], ho, wo, out[a:b_])

    _over_batch(work, n, gy.dtype.itemsize * ck * groups * ho * wo, flops_per_sample=2 * o * ck * ho * wo)
    return out


def conv2d_backward_weight(x, gy, ksize, stride, pads, dilation, groups):
    """The gradient of ``conv2d_forward`` in w: ``x (N, C, H, W), gy (N, O, Ho, Wo) -> (O, C/g, kh, kw)``.
    One partial per chunk of the batch, added in chunk order at the end: the chunks and the order
    depend on the problem alone, so the sum is bitwise the same on any number of threads."""
    x = np.ascontiguousarray(x)
    gy = np.ascontiguousarray(gy)
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    kh, kw = ksize
    cg = c // groups
    ck = cg * kh * kw
    if use_direct_forward(c, o, ksize, stride, groups, dilation) and _five_wide(ksize, dilation) and n:
        xp = _zero_padded(x, pads)
        gw = np.zeros((o, c, kh, kw), dtype=x.dtype)
        kernel = _k()._conv_direct_wgrad_row5
        blocks = -(-o // 4)
        over_range(lambda a, b: kernel(xp, gy, dilation[0], gw, a, b), blocks,
                   4 * n * c * kh * kw * ((ho - 1) * xp.shape[3] + wo))
        return gw
    column_bytes = x.dtype.itemsize * ck * ho * wo  # per sample
    if groups == 1 and not use_direct(c, o, ksize, stride, groups) and n * column_bytes <= CHUNK_BYTES and (
            len(chunk_plan(n, column_bytes, 2 * o * ck * ho * wo)) > 1):
        # The whole batch's columns fit in cache, and the work is worth two threads: cut the product
        # by output channels or taps instead of by samples, so that no partial sums are added.
        if pointwise(ksize, stride, pads, x.shape[2:], (ho, wo)):
            cols = workspace((c, n, ho * wo), x.dtype)
            cols[...] = x.reshape(n, c, ho * wo).transpose(1, 0, 2)
            cols = cols.reshape(c, n * ho * wo)
        else:
            cols = _im2col(x, ksize, stride, pads, dilation, (ho, wo))
        return matmul2d(_rows(gy, 1)[0], cols.T).reshape(o, cg, kh, kw)
    if pointwise(ksize, stride, pads, x.shape[2:], (ho, wo)):
        pointwise_partials = {}

        def gemm(a, b_):
            m = b_ - a
            xs = x[a:b_].reshape(m, groups, cg, ho * wo).transpose(1, 2, 0, 3).reshape(groups, cg, m * ho * wo)
            pointwise_partials[a] = np.matmul(_rows(gy[a:b_], groups), xs.transpose(0, 2, 1))

        _over_batch(gemm, n, x.dtype.itemsize * c * ho * wo, flops_per_sample=2 * o * cg * ho * wo)
        return _chunk_sum(pointwise_partials, (o, cg, 1, 1), x.dtype)
    if use_direct(c, o, ksize, stride, groups) and n:
        xp = _zero_padded(x, pads)
        length = (ho - 1) * xp.shape[3] + wo
        if o * c * kh * kw * length * x.dtype.itemsize <= DIRECT_WGRAD_BYTES:
            acc = np.zeros((o, c, kh, kw, length), dtype=x.dtype)
            kernel = _k()._conv_direct_wgrad
            over_range(lambda a, b: kernel(xp, gy, dilation[0], dilation[1], acc, a, b), o,
                       n * c * kh * kw * length)
            return acc.sum(axis=-1)
    partials = {}  # chunk start -> its partial sum; each chunk writes only its own entry

    def work(a, b_):
        cols = _im2col(x[a:b_], ksize, stride, pads, dilation, (ho, wo))
        cols = cols.reshape(groups, ck, (b_ - a) * ho * wo).transpose(0, 2, 1)
        partials[a] = np.matmul(_rows(gy[a:b_], groups), cols)

    _over_batch(work, n, x.dtype.itemsize * ck * groups * ho * wo, flops_per_sample=2 * o * ck * ho * wo)
    return _chunk_sum(partials, (o, cg, kh, kw), x.dtype)


def _chunk_sum(partials, shape, dtype):
    """The partial sums of the chunks (chunk start -> array), added in chunk order, as ``shape``."""
    if not partials:
        return np.zeros(shape, dtype=dtype)
    total = None
    for a in sorted(partials):
        total = partials[a] if total is None else total + partials[a]
    return total.reshape(shape)
