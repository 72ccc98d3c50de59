"""CPU backend: convolution and pooling on Numba kernels, GEMMs through NumPy's BLAS.

The functions here take arrays that the ops in ``gradcnn.ops.conv`` / ``gradcnn.ops.pool`` have
already validated, plus the geometry those ops computed; they make inputs C-contiguous, allocate
outputs and call the kernels of :mod:`.kernels`, which is imported (and Numba with it) on first use.

Convolution is im2col + one GEMM per group over the whole batch: the column matrix is
``(C * kh * kw, N * Ho * Wo)``, so a small convolution (LeNet) still makes one large GEMM instead of N
small ones. Column matrices live in a per-thread workspace that grows and is reused: page-faulting a
fresh buffer of hundreds of MB costs more than filling it.
"""

import threading
import time

import numpy as np

__all__ = [
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "warmup",
]

_kernels = None
_local = threading.local()


def _k():
    global _kernels
    if _kernels is None:
        from . import kernels

        _kernels = kernels
    return _kernels


def workspace(shape, dtype):
    """A C-contiguous scratch array of ``shape``, reused across calls on this thread. Valid until
    the next call; never hand it to a caller."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = {}
    buf = bufs.get(dtype)
    if buf is None or buf.size < size:
        buf = bufs[dtype] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size].reshape(shape)


def release_workspace():
    """Free this thread's scratch buffers (they are re-created on demand)."""
    _local.bufs = {}


def _c(a):
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _im2col(x, ksize, stride, pads, dilation, out_hw):
    n, c = x.shape[:2]
    kh, kw = ksize
    ho, wo = out_hw
    cols = workspace((c * kh * kw, n * ho * wo), x.dtype)
    _k()._im2col(_c(x), kh, kw, stride[0], stride[1], pads[0][0], pads[1][0], dilation[0], dilation[1], ho, wo, cols)
    return cols


def conv2d_forward(x, w, b, stride, pads, dilation, groups, out_hw):
    """``(N, C, H, W) * (O, C/g, kh, kw) -> (N, O, Ho, Wo)``; ``pads`` = ((top, bottom), (left, right))."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    ho, wo = out_hw
    cols = _im2col(x, (kh, kw), stride, pads, dilation, out_hw)
    wm = _c(w).reshape(groups, o // groups, cg * kh * kw)
    y = np.matmul(wm, cols.reshape(groups, cg * kh * kw, n * ho * wo))
    y = np.ascontiguousarray(y.reshape(o, n, ho * wo).transpose(1, 0, 2)).reshape(n, o, ho, wo)
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def _as_rows(gy, groups):
    """``(N, O, Ho, Wo) -> (groups, O/g, N*Ho*Wo)``: the GEMM layout of an output gradient."""
    n, o, ho, wo = gy.shape
    return np.ascontiguousarray(gy.reshape(n, o, ho * wo).transpose(1, 0, 2)).reshape(groups, o // groups, n * ho * wo)


def conv2d_backward_data(gy, w, stride, pads, dilation, groups, in_hw):
    """The adjoint of ``conv2d_forward`` in x: ``(N, O, Ho, Wo) -> (N, C, H, W)`` (conv-transpose)."""
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    wm = _c(w).reshape(groups, o // groups, cg * kh * kw)
    cols = workspace((groups, cg * kh * kw, n * ho * wo), gy.dtype)
    np.matmul(wm.transpose(0, 2, 1), _as_rows(gy, groups), out=cols)
    out = np.empty((n, c) + tuple(in_hw), dtype=gy.dtype)
    _k()._col2im(cols.reshape(c * kh * kw, n * ho * wo), kh, kw, stride[0], stride[1], pads[0][0],
                 pads[1][0], dilation[0], dilation[1], ho, wo, out)
    return out


def conv2d_backward_weight(x, gy, ksize, stride, pads, dilation, groups):
    """The gradient of ``conv2d_forward`` in w: ``x (N, C, H, W), gy (N, O, Ho, Wo) -> (O, C/g, kh, kw)``."""
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    kh, kw = ksize
    cg = c // groups
    cols = _im2col(x, ksize, stride, pads, dilation, (ho, wo))
    rows = _as_rows(gy, groups)
    gw = np.matmul(rows, cols.reshape(groups, cg * kh * kw, n * ho * wo).transpose(0, 2, 1))
    return gw.reshape(o, cg, kh, kw)


def max_pool2d_forward(x, hstart, hcount, dh, wstart, wcount, dw, out_hw):
    """Max over windows given per output row/column; returns values and flat argmax indices."""
    n, c = x.shape[:2]
    out = np.empty((n, c) + tuple(out_hw), dtype=x.dtype)
    idx = np.empty((n, c) + tuple(out_hw), dtype=np.int64)
    _k()._max_pool_fwd(_c(x), hstart, hcount, dh, wstart, wcount, dw, out, idx)
    return out, idx


def max_pool2d_scatter(g, idx, in_hw):
    """``zeros(N, C, H, W)`` with ``g`` added at the flat positions ``idx`` (max-pool backward)."""
    n, c = g.shape[:2]
    out = np.empty((n, c, in_hw[0] * in_hw[1]), dtype=g.dtype)
    m = g.shape[2] * g.shape[3]
    _k()._max_pool_scatter(_c(g).reshape(n, c, m), _c(idx).reshape(n, c, m), out)
    return out.reshape((n, c) + tuple(in_hw))


def max_pool2d_gather(gg, idx):
    """``gg[n, c].flat[idx[n, c]]``: the backward of ``max_pool2d_scatter``."""
    n, c = gg.shape[:2]
    flat = gg.reshape(n, c, gg.shape[2] * gg.shape[3])
    where = idx.reshape(n, c, idx.shape[2] * idx.shape[3])
    picked = np.take_along_axis(flat, np.maximum(where, 0), axis=2)
    return np.where(where >= 0, picked, 0).astype(gg.dtype, copy=False).reshape(idx.shape)


def avg_pool2d_forward(x, hs, he, ws, we, div):
    n, c = x.shape[:2]
    out = np.empty((n, c) + div.shape, dtype=x.dtype)
    _k()._avg_pool_fwd(_c(x), hs, he, ws, we, div, out)
    return out


def avg_pool2d_backward(g, hs, he, ws, we, div, in_hw):
    n, c = g.shape[:2]
    out = np.empty((n, c) + tuple(in_hw), dtype=g.dtype)
    _k()._avg_pool_bwd(_c(g), hs, he, ws, we, div, out)
    return out


def warmup():
    """Compile (or load from the cache) every kernel for float32 and float64; seconds taken."""
    start = time.perf_counter()
    for dtype in (np.float32, np.float64):
        _k().warmup_calls(dtype)
    return time.perf_counter() - start
