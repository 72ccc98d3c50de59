"""Convolution on the CPU: im2col + GEMM chunk by chunk over the batch.

Each chunk's column matrix is built by the Numba kernels in a per-thread workspace and multiplied
with NumPy's BLAS, on gradcnn's worker pool (:mod:`.threads`). A 1x1 convolution with stride 1 and no
padding skips the column matrix: one batched GEMM, on BLAS's own threads.
"""


import numpy as np

from ..guards import add_bias, pointwise
from .threads import _k, _over_batch, workspace

__all__ = ["conv2d_forward", "conv2d_backward_data", "conv2d_backward_weight"]


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


def conv2d_forward(x, w, b, stride, pads, dilation, groups, out_hw):
    """``(N, C, H, W) * (O, C/g, kh, kw) -> (N, O, Ho, Wo)``; ``pads`` = ((top, bottom), (left, right))."""
    x = np.ascontiguousarray(x)
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    ho, wo = out_hw
    ck = cg * kh * kw
    wm = np.ascontiguousarray(w).reshape(groups, o // groups, ck)
    if pointwise((kh, kw), stride, pads, x.shape[2:], out_hw):
        y = np.matmul(wm, x.reshape(n, groups, cg, ho * wo)).reshape(n, o, ho, wo)
        return add_bias(y, b)
    y = np.empty((n, o, ho, wo), dtype=x.dtype)

    def work(a, b_):
        cols = _im2col(x[a:b_], (kh, kw), stride, pads, dilation, out_hw)
        part = np.matmul(wm, cols.reshape(groups, ck, (b_ - a) * ho * wo))
        y[a:b_] = part.reshape(o, b_ - a, ho, wo).transpose(1, 0, 2, 3)

    _over_batch(work, n, x.dtype.itemsize * ck * groups * ho * wo)
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
        return np.matmul(wt, gy.reshape(n, groups, o // groups, ho * wo)).reshape((n, c) + tuple(in_hw))
    out = np.empty((n, c) + tuple(in_hw), dtype=gy.dtype)

    def work(a, b_):
        cols = workspace((groups, ck, (b_ - a) * ho * wo), gy.dtype)
        np.matmul(wt, _rows(gy[a:b_], groups), out=cols)
        _k()._col2im(cols.reshape(c * kh * kw, (b_ - a) * ho * wo), kh, kw, stride[0], stride[1],
                     pads[0][0], pads[1][0], dilation[0], dilation[1], ho, wo, out[a:b_])

    _over_batch(work, n, gy.dtype.itemsize * ck * groups * ho * wo)
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
    if pointwise(ksize, stride, pads, x.shape[2:], (ho, wo)):
        xs = x.reshape(n, groups, cg, ho * wo).transpose(1, 2, 0, 3).reshape(groups, cg, n * ho * wo)
        gw = np.matmul(_rows(gy, groups), xs.transpose(0, 2, 1))
        return gw.reshape(o, cg, 1, 1)
    partials = {}  # chunk start -> its partial sum; each chunk writes only its own entry

    def work(a, b_):
        cols = _im2col(x[a:b_], ksize, stride, pads, dilation, (ho, wo))
        cols = cols.reshape(groups, ck, (b_ - a) * ho * wo).transpose(0, 2, 1)
        partials[a] = np.matmul(_rows(gy[a:b_], groups), cols)

    _over_batch(work, n, x.dtype.itemsize * ck * groups * ho * wo)
    if not partials:
        return np.zeros((o, cg, kh, kw), dtype=x.dtype)
    total = None
    for a in sorted(partials):
        total = partials[a] if total is None else total + partials[a]
    return total.reshape(o, cg, kh, kw)
