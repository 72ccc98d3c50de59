"""CUDA backend: convolution and pooling on CuPy RawKernels, GEMMs through ``cupy.matmul`` (cuBLAS).

The functions here have the names, arguments and results of :mod:`gradcnn.backends.cpu` and take
arrays that the ops in ``gradcnn.ops.conv`` / ``gradcnn.ops.pool`` have already validated. The kernels
are CUDA C in ``conv.cu`` and ``pool.cu`` next to this file (package data); CuPy compiles each file
with NVRTC on first use on a device and caches the result on disk (``CUPY_CACHE_DIR``).

**Launching.** Every kernel is a grid-stride loop over its outputs with int64 indices, so a launch
is ``(total elements, every argument)``; :func:`_launch` turns that into a grid, converts Python ints
to int64 and picks the float32 or float64 instantiation (``name_f32`` / ``name_f64``). All array
math goes through ``xp = get_array_module(x)``, never through ``cupy`` by name: the same code then
runs on NumPy arrays with a host emulation of the kernels in the test suite, which checks this
launcher and the kernels against the CPU backend on machines without a GPU.

**Convolution** is im2col + GEMM per chunk of the batch (at most :data:`CHUNK_BYTES` of column
matrix at a time; CuPy's memory pool reuses the buffers between calls). The forward pass and the
input gradient use one ``(C*kh*kw, Ho*Wo)`` matrix per sample and a batched GEMM whose result is
already NCHW; the weight gradient uses one ``(C*kh*kw, N*Ho*Wo)`` matrix so that each group is a
single GEMM with a long reduction. 1x1 convolutions with stride 1 and no padding skip the column
matrix. Where the GEMM would be degenerate -- a reduction of at most :data:`DIRECT_MAX_TAPS` terms
per result element (:func:`conv_taps`), as in a depthwise layer or a first layer on one channel --
the forward pass and the input gradient run as direct convolutions instead (one kernel, no column
matrix); the weight gradient always takes im2col + GEMM. :data:`CONV_ALGORITHM` (or
:func:`use_conv_algorithm` for a block of code) overrides the choice.

The input gradient's col2im and the average-pool gradient are gathers (one thread per input
element), so their sums do not depend on thread timing; the max-pool gradient adds with atomics
where overlapping windows share a maximum.
"""

import contextlib
import importlib.resources
import threading
import time

import numpy as np

from .. import get_array_module
from ..cpu import _pointwise  # the same 1x1 shortcut (no column matrix) on both backends

__all__ = [
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "max_pool2d_gather",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "SOURCES",
    "KERNELS",
    "COMPILE_OPTIONS",
    "CONV_ALGORITHM",
    "DIRECT_MAX_TAPS",
    "conv_algorithm",
    "conv_taps",
    "use_conv_algorithm",
    "source",
    "warmup",
]

#: The CUDA C files of this backend and the ``extern "C"`` kernels each defines (per dtype suffix).
KERNELS = {
    "conv.cu": ("im2col", "col2im", "conv_direct_fwd", "conv_direct_bwd_data"),
    "pool.cu": ("max_pool_fwd", "max_pool_scatter", "max_pool_gather", "avg_pool_fwd", "avg_pool_bwd"),
}
SOURCES = tuple(KERNELS)
#: Options given to ``cupy.RawModule``; CuPy adds its own (``-ftz=true``, the arch, include dirs).
COMPILE_OPTIONS = ("--std=c++17",)
#: Bytes of column matrix per chunk of the batch.
CHUNK_BYTES = 256 << 20
#: How convolutions run: "auto" (direct where the reduction per output element has at most
#: DIRECT_MAX_TAPS terms, im2col + GEMM elsewhere), "direct" or "im2col" (always). Applies to the
#: forward pass and the input gradient; the weight gradient is always im2col + GEMM.
CONV_ALGORITHM = "auto"
#: Longest reduction per output element that "auto" gives to the direct kernels.
DIRECT_MAX_TAPS = 64
_ALGORITHMS = ("auto", "direct", "im2col")
#: Threads per block for every launch.
BLOCK = 256
#: At most this many blocks per launch (BLOCK * MAX_BLOCKS = 2**27 threads, an assumption of the
#: 32-bit index path of conv.cu); the grid-stride loops cover the rest.
MAX_BLOCKS = 1 << 19

_SUFFIX = {np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}
_modules = {}  # (device id, file) -> cupy.RawModule
_modules_lock = threading.Lock()


def source(name):
    """The CUDA C source of ``name`` (one of :data:`SOURCES`), read from the package data."""
    return importlib.resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def _module(cupy, name):
    key = (cupy.cuda.Device().id, name)
    mod = _modules.get(key)
    if mod is None:
        with _modules_lock:
            mod = _modules.get(key)
            if mod is None:
                mod = _modules[key] = cupy.RawModule(code=source(name), options=COMPILE_OPTIONS)
    return mod


def _file_of(kernel):
    for name, kernels in KERNELS.items():
        if kernel in kernels:
            return name
    raise KeyError(kernel)


def _launch(kernel, dtype, total, *args):
    """Run ``kernel`` (its name without the dtype suffix) over ``total`` elements."""
    if total <= 0:
        return
    import cupy

    fn = _module(cupy, _file_of(kernel)).get_function(f"{kernel}_{_SUFFIX[np.dtype(dtype)]}")
    grid = min(MAX_BLOCKS, -(-total // BLOCK))
    fn((grid,), (BLOCK,), tuple(np.int64(a) if isinstance(a, (int, np.integer)) else a for a in args))


_uploads = {}  # (device id, bytes, dtype) -> device copy of a small geometry array
_UPLOADS_MAX = 512


def _upload(xp, array):
    """A small host array (window geometry) on the current device, cached by content."""
    array = np.ascontiguousarray(array)
    if xp is np:
        return array
    key = (xp.cuda.Device().id, array.dtype.str, array.tobytes())
    dev = _uploads.get(key)
    if dev is None:
        if len(_uploads) >= _UPLOADS_MAX:
            _uploads.clear()
        dev = _uploads[key] = xp.asarray(array)
    return dev


def _chunks(n, bytes_per_sample):
    per = max(1, CHUNK_BYTES // max(1, bytes_per_sample))
    return [(a, min(n, a + per)) for a in range(0, n, per)]


# -- convolution --------------------------------------------------------------------------------


def _geometry(x_shape, ksize, stride, pads, dilation, out_hw):
    n, c, h, w = x_shape
    return (n, c, h, w, ksize[0], ksize[1], stride[0], stride[1], pads[0][0], pads[1][0], dilation[0],
            dilation[1], out_hw[0], out_hw[1])


def _check_algorithm(name):
    if name not in _ALGORITHMS:
        raise ValueError(f"gradcnn.backends.cuda.CONV_ALGORITHM is {name!r}; expected one of {_ALGORITHMS}")


def conv_taps(in_per_group, out_per_group, ksize, stride):
    """Terms summed per element of the forward result, ``Cg*kh*kw``, and per element of the input
    gradient, about ``Og*kh*kw / (sh*sw)`` (the taps that land on it): what "auto" decides on."""
    kh, kw = ksize
    return in_per_group * kh * kw, -(-out_per_group * kh * kw // (stride[0] * stride[1]))


def conv_algorithm(taps):
    """"direct" or "im2col": how a convolution pass whose every result element sums ``taps`` terms
    runs under the current :data:`CONV_ALGORITHM`."""
    _check_algorithm(CONV_ALGORITHM)
    if CONV_ALGORITHM == "auto":
        return "direct" if taps <= DIRECT_MAX_TAPS else "im2col"
    return CONV_ALGORITHM


@contextlib.contextmanager
def use_conv_algorithm(name):
    """Within the ``with`` block, convolutions run through ``name`` ("auto", "direct" or "im2col")."""
    global CONV_ALGORITHM
    _check_algorithm(name)
    saved, CONV_ALGORITHM = CONV_ALGORITHM, name
    try:
        yield
    finally:
        CONV_ALGORITHM = saved


def _direct_geometry(n, c, in_hw, o, groups, ksize, stride, pads, dilation, out_hw):
    return (n, c, in_hw[0], in_hw[1], o, groups, ksize[0], ksize[1], stride[0], stride[1], pads[0][0],
            pads[1][0], dilation[0], dilation[1], out_hw[0], out_hw[1])


def _im2col(x, cols, ksize, stride, pads, dilation, out_hw, s_n, s_r):
    n, c = x.shape[:2]
    total = n * c * ksize[0] * ksize[1] * out_hw[0] * out_hw[1]
    _launch("im2col", x.dtype, total, x, cols, *_geometry(x.shape, ksize, stride, pads, dilation, out_hw),
            s_n, s_r)


def conv2d_forward(x, w, b, stride, pads, dilation, groups, out_hw):
    """``(N, C, H, W) * (O, C/g, kh, kw) -> (N, O, Ho, Wo)``; ``pads`` = ((top, bottom), (left, right))."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    ho, wo = out_hw
    hw = ho * wo
    ck = cg * kh * kw
    wm = xp.ascontiguousarray(w).reshape(groups, o // groups, ck)
    if _pointwise((kh, kw), stride, pads, x.shape[2:], out_hw):
        y = xp.matmul(wm, x.reshape(n, groups, cg, hw)).reshape(n, o, ho, wo)
    elif conv_algorithm(conv_taps(cg, o // groups, (kh, kw), stride)[0]) == "direct":
        y = xp.empty((n, o, ho, wo), dtype=x.dtype)
        _launch("conv_direct_fwd", x.dtype, y.size, x, xp.ascontiguousarray(w), y,
                *_direct_geometry(n, c, x.shape[2:], o, groups, (kh, kw), stride, pads, dilation, out_hw))
    else:
        y = xp.empty((n, o, ho, wo), dtype=x.dtype)
        for a, e in _chunks(n, x.dtype.itemsize * c * kh * kw * hw):
            cols = xp.empty((e - a, c * kh * kw, hw), dtype=x.dtype)
            _im2col(x[a:e], cols, (kh, kw), stride, pads, dilation, out_hw, c * kh * kw * hw, hw)
            xp.matmul(wm, cols.reshape(e - a, groups, ck, hw), out=y[a:e].reshape(e - a, groups, o // groups, hw))
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y


def conv2d_backward_data(gy, w, stride, pads, dilation, groups, in_hw):
    """The adjoint of ``conv2d_forward`` in x: ``(N, O, Ho, Wo) -> (N, C, H, W)`` (conv-transpose)."""
    xp = get_array_module(gy)
    gy = xp.ascontiguousarray(gy)
    n, o, ho, wo = gy.shape
    _, cg, kh, kw = w.shape
    c = cg * groups
    hw = ho * wo
    ck = cg * kh * kw
    wt = xp.ascontiguousarray(w).reshape(groups, o // groups, ck).transpose(0, 2, 1)
    if _pointwise((kh, kw), stride, pads, in_hw, (ho, wo)):
        return xp.matmul(wt, gy.reshape(n, groups, o // groups, hw)).reshape((n, c) + tuple(in_hw))
    out = xp.empty((n, c) + tuple(in_hw), dtype=gy.dtype)
    if conv_algorithm(conv_taps(cg, o // groups, (kh, kw), stride)[1]) == "direct":
        _launch("conv_direct_bwd_data", gy.dtype, out.size, gy, xp.ascontiguousarray(w), out,
                *_direct_geometry(n, c, in_hw, o, groups, (kh, kw), stride, pads, dilation, (ho, wo)))
        return out
    for a, e in _chunks(n, gy.dtype.itemsize * c * kh * kw * hw):
        cols = xp.ascontiguousarray(xp.matmul(wt, gy[a:e].reshape(e - a, groups, o // groups, hw)))
        part = out[a:e]
        _launch("col2im", gy.dtype, part.size, cols, part,
                *_geometry(part.shape, (kh, kw), stride, pads, dilation, (ho, wo)), c * kh * kw * hw, hw)
    return out


def conv2d_backward_weight(x, gy, ksize, stride, pads, dilation, groups):
    """The gradient of ``conv2d_forward`` in w: ``x (N, C, H, W), gy (N, O, Ho, Wo) -> (O, C/g, kh, kw)``."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    gy = xp.ascontiguousarray(gy)
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    kh, kw = ksize
    hw = ho * wo
    cg = c // groups
    ck = cg * kh * kw
    gw = None
    for a, e in _chunks(n, x.dtype.itemsize * c * kh * kw * hw):
        m = e - a
        cols = xp.empty((c * kh * kw, m * hw), dtype=x.dtype)
        _im2col(x[a:e], cols, ksize, stride, pads, dilation, (ho, wo), hw, m * hw)
        rows = xp.ascontiguousarray(gy[a:e].reshape(m, o, hw).transpose(1, 0, 2)).reshape(groups, o // groups, m * hw)
        part = xp.matmul(rows, cols.reshape(groups, ck, m * hw).transpose(0, 2, 1))
        gw = part if gw is None else gw + part  # one chunk (the usual case): no zeros, no sum
    if gw is None:  # an empty batch
        gw = xp.zeros((groups, o // groups, ck), dtype=x.dtype)
    return gw.reshape(o, cg, kh, kw)


# -- pooling ------------------------------------------------------------------------------------


def max_pool2d_forward(x, hstart, hcount, dh, wstart, wcount, dw, out_hw):
    """Max over windows given per output row/column; returns values and flat argmax indices
    (int32: a position within one H x W plane)."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    if x.shape[2] * x.shape[3] >= 2**31:
        raise ValueError("max_pool2d_forward: planes of 2**31 elements or more are not supported")
    n, c, h, w = x.shape
    ho, wo = out_hw
    out = xp.empty((n, c, ho, wo), dtype=x.dtype)
    idx = xp.empty((n, c, ho, wo), dtype=np.int32)
    geom = _upload(xp, np.concatenate([hstart, hcount, wstart, wcount]).astype(np.int64))
    _launch("max_pool_fwd", x.dtype, out.size, x, out, idx, n * c, h, w, ho, wo, geom, dh, dw)
    return out, idx


def max_pool2d_scatter(g, idx, in_hw):
    """``zeros(N, C, H, W)`` with ``g`` added at the flat positions ``idx`` (max-pool backward)."""
    xp = get_array_module(g)
    n, c = g.shape[:2]
    m = g.shape[2] * g.shape[3]
    hw = in_hw[0] * in_hw[1]
    out = xp.zeros((n, c) + tuple(in_hw), dtype=g.dtype)
    _launch("max_pool_scatter", g.dtype, n * c * m, xp.ascontiguousarray(g), xp.ascontiguousarray(idx), out,
            n * c, hw, m)
    return out


def max_pool2d_gather(gg, idx):
    """``gg[n, c].flat[idx[n, c]]``: the backward of ``max_pool2d_scatter``."""
    xp = get_array_module(gg)
    n, c = gg.shape[:2]
    out = xp.empty(idx.shape, dtype=gg.dtype)
    _launch("max_pool_gather", gg.dtype, out.size, xp.ascontiguousarray(gg), xp.ascontiguousarray(idx), out,
            n * c, gg.shape[2] * gg.shape[3], idx.shape[2] * idx.shape[3])
    return out


def avg_pool2d_forward(x, hs, he, ws, we, div):
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    n, c, h, w = x.shape
    ho, wo = div.shape
    out = xp.empty((n, c, ho, wo), dtype=x.dtype)
    geom = _upload(xp, np.concatenate([hs, he, ws, we]).astype(np.int64))
    _launch("avg_pool_fwd", x.dtype, out.size, x, out, n * c, h, w, ho, wo, geom,
            _upload(xp, np.asarray(div, dtype=np.float64)))
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


def avg_pool2d_backward(g, hs, he, ws, we, div, in_hw):
    xp = get_array_module(g)
    g = xp.ascontiguousarray(g)
    n, c = g.shape[:2]
    ho, wo = div.shape
    h, w = in_hw
    out = xp.empty((n, c, h, w), dtype=g.dtype)
    geom = _upload(xp, np.concatenate([hs, he, ws, we]).astype(np.int64))
    cover = _upload(xp, np.concatenate([*_cover(hs, he, h), *_cover(ws, we, w)]).astype(np.int64))
    _launch("avg_pool_bwd", g.dtype, out.size, g, out, n * c, h, w, ho, wo, geom, cover,
            _upload(xp, np.asarray(div, dtype=np.float64)))
    return out


def warmup():
    """Compile (or load from CuPy's cache) every kernel on the current device; seconds taken."""
    import cupy

    start = time.perf_counter()
    for name, kernels in KERNELS.items():
        mod = _module(cupy, name)
        for kernel in kernels:
            for suffix in _SUFFIX.values():
                mod.get_function(f"{kernel}_{suffix}")
    return time.perf_counter() - start
