"""CPU backend: convolution and pooling on Numba kernels, GEMMs through NumPy's BLAS.

The functions here take arrays that the ops in ``gradcnn.ops.conv`` / ``gradcnn.ops.pool`` have
already validated, plus the geometry those ops computed; they allocate outputs and call the kernels
of :mod:`.kernels`, which is imported (and Numba with it) on first use.

**One owner of the threads.** Convolution is im2col + GEMM, done chunk by chunk over the batch: a
worker turns a few samples into a column matrix small enough to stay in cache, multiplies it with
single-threaded BLAS, and writes its slice of the output. gradcnn's own thread pool runs the chunks;
BLAS is held to one thread meanwhile (through threadpoolctl) and the Numba kernels are serial, so no
two thread pools ever compete for the cores. Two costs measured on 2-core machines disappear with it:
a Numba parallel kernel started right after a multi-threaded GEMM paid a flat ~8 ms while OpenBLAS's
threads spun, and a whole-batch column matrix (231 MB for a VGG layer) cost more to page-fault than to
fill. Column matrices live in per-thread workspaces that are reused from call to call.

``GRADCNN_NUM_THREADS`` sets the pool size (default: the number of CPUs).
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "max_pool2d_gather",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "workspace",
    "release_workspace",
    "num_threads",
    "warmup",
]

#: Bytes of column matrix per chunk: big enough for an efficient GEMM, small enough for the cache.
CHUNK_BYTES = 4 << 20
#: Below this many bytes of work a call runs inline: dispatching to the pool would cost more.
INLINE_BYTES = 8 << 20

_kernels = None
_pool = None
_pool_lock = threading.Lock()
_blas = None


def _k():
    global _kernels
    if _kernels is None:
        from . import kernels

        _kernels = kernels
    return _kernels


def num_threads():
    """Worker threads used for kernels (``GRADCNN_NUM_THREADS``, else the CPU count)."""
    env = os.environ.get("GRADCNN_NUM_THREADS")
    return max(1, int(env)) if env else max(1, os.cpu_count() or 1)


def _executor():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(num_threads(), thread_name_prefix="gradcnn")
    return _pool


def _blas_libraries():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: leave BLAS alone
            _blas = []
    return _blas


class _SingleThreadedBlas:
    """Hold every BLAS library to one thread inside the block, then restore what it was."""

    def __enter__(self):
        self.saved = [(lib, lib.num_threads) for lib in _blas_libraries()]
        for lib, n in self.saved:
            if n != 1:
                lib.set_num_threads(1)

    def __exit__(self, *exc):
        for lib, n in self.saved:
            if n != 1:
                lib.set_num_threads(n)
        return False


_chunk_lock = threading.Lock()


def _over_batch(work, n, bytes_per_sample):
    """Run ``work(a, b)`` over chunks ``[a, b)`` of ``range(n)``, on the pool when it pays."""
    if n == 0:
        return
    threads = num_threads()
    per = max(1, min(CHUNK_BYTES // max(bytes_per_sample, 1), -(-n // threads)))
    chunks = [(a, min(n, a + per)) for a in range(0, n, per)]
    if threads == 1 or len(chunks) == 1 or n * bytes_per_sample <= INLINE_BYTES:
        work(0, n)  # one chunk: BLAS keeps its own threads for the one GEMM
        return
    # One batch at a time owns the pool and the BLAS thread setting.
    with _chunk_lock, _SingleThreadedBlas():
        for future in [_executor().submit(work, a, b) for a, b in chunks]:
            future.result()


_workspaces = {}  # thread id -> {(dtype, slot): buffer}; each thread touches only its own entry


def workspace(shape, dtype, slot=0):
    """A C-contiguous scratch array of ``shape``, reused across calls on this thread (``slot``
    tells apart scratch arrays needed at the same time). Valid until the next call with the same
    slot; never hand it to a caller."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    bufs = _workspaces.get(threading.get_ident())
    if bufs is None:
        bufs = _workspaces[threading.get_ident()] = {}
    buf = bufs.get((dtype, slot))
    if buf is None or buf.size < size:
        buf = bufs[(dtype, slot)] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size].reshape(shape)


def release_workspace():
    """Free every thread's scratch buffers (they are re-created on demand). Not to be called
    while a kernel runs."""
    _workspaces.clear()


# -- convolution --------------------------------------------------------------------------------


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


def _pointwise(ksize, stride, pads, in_hw, out_hw):
    """A 1x1 convolution with stride 1, no padding and equal input and output sizes (a transposed
    one can add output_padding): a plain matrix product per sample, with no column matrix to
    build. It runs as one batched GEMM on BLAS's own threads."""
    return (tuple(ksize) == (1, 1) and tuple(stride) == (1, 1) and tuple(pads) == ((0, 0), (0, 0))
            and tuple(in_hw) == tuple(out_hw))


def conv2d_forward(x, w, b, stride, pads, dilation, groups, out_hw):
    """``(N, C, H, W) * (O, C/g, kh, kw) -> (N, O, Ho, Wo)``; ``pads`` = ((top, bottom), (left, right))."""
    x = np.ascontiguousarray(x)
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    ho, wo = out_hw
    ck = cg * kh * kw
    wm = np.ascontiguousarray(w).reshape(groups, o // groups, ck)
    if _pointwise((kh, kw), stride, pads, x.shape[2:], out_hw):
        y = np.matmul(wm, x.reshape(n, groups, cg, ho * wo)).reshape(n, o, ho, wo)
        if b is not None:
            y += b.reshape(1, o, 1, 1)
        return y
    y = np.empty((n, o, ho, wo), dtype=x.dtype)

    def work(a, b_):
        cols = _im2col(x[a:b_], (kh, kw), stride, pads, dilation, out_hw)
        part = np.matmul(wm, cols.reshape(groups, ck, (b_ - a) * ho * wo))
        y[a:b_] = part.reshape(o, b_ - a, ho, wo).transpose(1, 0, 2, 3)

    _over_batch(work, n, x.dtype.itemsize * ck * groups * ho * wo)
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def conv2d_backward_data(gy, w, stride, pads, dilation, groups, in_hw):
    """The adjoint of ``conv2d_forward`` in x: ``(N, O, Ho, Wo) -> (N, C, H, W)`` (conv-transpose)."""
    gy = np.ascontiguousarray(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    ck = cg * kh * kw
    wt = np.ascontiguousarray(w).reshape(groups, o // groups, ck).transpose(0, 2, 1)
    if _pointwise((kh, kw), stride, pads, in_hw, (ho, wo)):
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
    Each worker sums its chunks into its own partial; the partials are added at the end."""
    x = np.ascontiguousarray(x)
    gy = np.ascontiguousarray(gy)
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    kh, kw = ksize
    cg = c // groups
    ck = cg * kh * kw
    if _pointwise(ksize, stride, pads, x.shape[2:], (ho, wo)):
        xs = x.reshape(n, groups, cg, ho * wo).transpose(1, 2, 0, 3).reshape(groups, cg, n * ho * wo)
        gw = np.matmul(_rows(gy, groups), xs.transpose(0, 2, 1))
        return gw.reshape(o, cg, 1, 1)
    partials = {}

    def work(a, b_):
        cols = _im2col(x[a:b_], ksize, stride, pads, dilation, (ho, wo))
        cols = cols.reshape(groups, ck, (b_ - a) * ho * wo).transpose(0, 2, 1)
        part = np.matmul(_rows(gy[a:b_], groups), cols)
        key = threading.get_ident()
        if key in partials:
            partials[key] += part
        else:
            partials[key] = part

    _over_batch(work, n, x.dtype.itemsize * ck * groups * ho * wo)
    if not partials:
        return np.zeros((o, cg, kh, kw), dtype=x.dtype)
    total = None
    for part in partials.values():
        total = part if total is None else total + part
    return total.reshape(o, cg, kh, kw)


# -- pooling ------------------------------------------------------------------------------------


def _plane_bytes(a):
    return a.dtype.itemsize * int(np.prod(a.shape[1:]))


def max_pool2d_forward(x, hstart, hcount, dh, wstart, wcount, dw, out_hw):
    """Max over windows given per output row/column; returns values and flat argmax indices
    (int32: a position within one H x W plane)."""
    x = np.ascontiguousarray(x)
    if x.shape[2] * x.shape[3] >= 2**31:
        raise ValueError("max_pool2d_forward: planes of 2**31 elements or more are not supported")
    n, c = x.shape[:2]
    out = np.empty((n, c) + tuple(out_hw), dtype=x.dtype)
    idx = np.empty((n, c) + tuple(out_hw), dtype=np.int32)  # a position within one plane

    def work(a, b):
        _k()._max_pool_fwd(x[a:b], hstart, hcount, dh, wstart, wcount, dw, out[a:b], idx[a:b])

    _over_batch(work, n, _plane_bytes(x))
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

    _over_batch(work, n, _plane_bytes(out))
    return out.reshape((n, c) + tuple(in_hw))


def max_pool2d_gather(gg, idx):
    """``gg[n, c].flat[idx[n, c]]``: the backward of ``max_pool2d_scatter``."""
    n, c = gg.shape[:2]
    flat = gg.reshape(n, c, gg.shape[2] * gg.shape[3])
    where = idx.reshape(n, c, idx.shape[2] * idx.shape[3])
    picked = np.take_along_axis(flat, np.maximum(where, 0), axis=2)
    return np.where(where >= 0, picked, 0).astype(gg.dtype, copy=False).reshape(idx.shape)


def avg_pool2d_forward(x, hs, he, ws, we, div):
    x = np.ascontiguousarray(x)
    n, c = x.shape[:2]
    out = np.empty((n, c) + div.shape, dtype=x.dtype)

    def work(a, b):
        _k()._avg_pool_fwd(x[a:b], hs, he, ws, we, div, out[a:b])

    _over_batch(work, n, _plane_bytes(x))
    return out


def avg_pool2d_backward(g, hs, he, ws, we, div, in_hw):
    g = np.ascontiguousarray(g)
    n, c = g.shape[:2]
    out = np.empty((n, c) + tuple(in_hw), dtype=g.dtype)

    def work(a, b):
        _k()._avg_pool_bwd(g[a:b], hs, he, ws, we, div, out[a:b])

    _over_batch(work, n, _plane_bytes(out))
    return out


def warmup():
    """Compile (or load from the cache) every kernel for float32 and float64; seconds taken."""
    start = time.perf_counter()
    for dtype in (np.float32, np.float64):
        _k().warmup_calls(dtype)
    return time.perf_counter() - start
