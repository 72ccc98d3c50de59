"""Convolution on CUDA: im2col + GEMM (``cupy.matmul``, cuBLAS) or a direct kernel, per shape.

im2col + GEMM runs per chunk of the batch (at most :data:`.launch.CHUNK_BYTES` of column matrix at
a time; CuPy's memory pool reuses the buffers between calls). The column matrix is ``(C*kh*kw,
n*Ho*Wo)`` for the chunk's n samples, so that every GEMM is a 2-D product, one per group, whose
transposed operands are views handed to cuBLAS with its transpose flags: CuPy's matmul makes the
operands of a batched (> 2-D) product contiguous first, which copied the whole column matrix of the
weight gradient (and the broadcast weight of the other two passes) on every call. The price is one
copy of the chunk's output (forward) or output gradient (the other two) between the NCHW layout and
``(O, n*Ho*Wo)``. 1x1 convolutions with stride 1 and no padding skip the column matrix.

Where the GEMM would be degenerate -- a reduction of at most :data:`DIRECT_MAX_TAPS` terms per
result element (:func:`conv_taps`), as in a depthwise layer or a first layer on one channel -- the
forward pass and the input gradient run as direct convolutions instead (one kernel, no column
matrix); the weight gradient always takes im2col + GEMM. :data:`CONV_ALGORITHM` (set it here, as
``gradcnn.backends.cuda.conv.CONV_ALGORITHM``, or use :func:`use_conv_algorithm` for a block of
code) overrides the choice.

The input gradient's col2im is a gather (one thread per input element), so its sums do not depend
on thread timing.
"""

import contextlib

from .. import get_array_module
from ..guards import add_bias, pointwise
from . import launch

__all__ = [
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "CONV_ALGORITHM",
    "DIRECT_MAX_TAPS",
    "conv_algorithm",
    "conv_taps",
    "use_conv_algorithm",
]

#: How convolutions run: "auto" (direct where the reduction per output element has at most
#: DIRECT_MAX_TAPS terms, im2col + GEMM elsewhere), "direct" or "im2col" (always). Applies to the
#: forward pass and the input gradient; the weight gradient is always im2col + GEMM.
CONV_ALGORITHM = "auto"
#: Longest reduction per output element that "auto" gives to the direct kernels.
DIRECT_MAX_TAPS = 64
_ALGORITHMS = ("auto", "direct", "im2col")


def _check_algorithm(name):
    if name not in _ALGORITHMS:
        raise ValueError(f"gradcnn.backends.cuda.conv.CONV_ALGORITHM is {name!r}; expected one of {_ALGORITHMS}")


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


def _geometry(x_shape, ksize, stride, pads, dilation, out_hw):
    n, c, h, w = x_shape
    return (n, c, h, w, ksize[0], ksize[1], stride[0], stride[1], pads[0][0], pads[1][0], dilation[0],
            dilation[1], out_hw[0], out_hw[1])


def _direct_geometry(n, c, in_hw, o, groups, ksize, stride, pads, dilation, out_hw):
    return (n, c, in_hw[0], in_hw[1], o, groups, ksize[0], ksize[1], stride[0], stride[1], pads[0][0],
            pads[1][0], dilation[0], dilation[1], out_hw[0], out_hw[1])


def _im2col(x, cols, ksize, stride, pads, dilation, out_hw, s_n, s_r):
    n, c = x.shape[:2]
    total = n * c * ksize[0] * ksize[1] * out_hw[0] * out_hw[1]
    launch._launch("im2col", x.dtype, total, x, cols, *_geometry(x.shape, ksize, stride, pads, dilation, out_hw),
                   s_n, s_r)


@launch.on_device
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
    if pointwise((kh, kw), stride, pads, x.shape[2:], out_hw):
        y = xp.matmul(wm, x.reshape(n, groups, cg, hw)).reshape(n, o, ho, wo)
    elif conv_algorithm(conv_taps(cg, o // groups, (kh, kw), stride)[0]) == "direct":
        y = xp.empty((n, o, ho, wo), dtype=x.dtype)
        launch._launch("conv_direct_fwd", x.dtype, y.size, x, xp.ascontiguousarray(w), y,
                       *_direct_geometry(n, c, x.shape[2:], o, groups, (kh, kw), stride, pads, dilation, out_hw))
    else:
        y = xp.empty((n, o, ho, wo), dtype=x.dtype)
        og = o // groups
        for a, e in launch._chunks(n, x.dtype.itemsize * c * kh * kw * hw):
            m = e - a
            cols = xp.empty((c * kh * kw, m * hw), dtype=x.dtype)
            _im2col(x[a:e], cols, (kh, kw), stride, pads, dilation, out_hw, hw, m * hw)
            part = xp.empty((o, m * hw), dtype=x.dtype)
            for g in range(groups):
                xp.matmul(wm[g], cols[g * ck:(g + 1) * ck], out=part[g * og:(g + 1) * og])
            y[a:e] = part.reshape(o, m, ho, wo).transpose(1, 0, 2, 3)
    return add_bias(y, b)


def _rows(xp, gy, hw):
    """``(n, O, Ho, Wo) -> (O, n*Ho*Wo)``, contiguous: the GEMM layout of an output gradient."""
    n, o = gy.shape[:2]
    return xp.ascontiguousarray(gy.reshape(n, o, hw).transpose(1, 0, 2)).reshape(o, n * hw)


@launch.on_device
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
    if pointwise((kh, kw), stride, pads, in_hw, (ho, wo)):
        return xp.matmul(wt, gy.reshape(n, groups, o // groups, hw)).reshape((n, c) + tuple(in_hw))
    out = xp.empty((n, c) + tuple(in_hw), dtype=gy.dtype)
    if conv_algorithm(conv_taps(cg, o // groups, (kh, kw), stride)[1]) == "direct":
        launch._launch("conv_direct_bwd_data", gy.dtype, out.size, gy, xp.ascontiguousarray(w), out,
                       *_direct_geometry(n, c, in_hw, o, groups, (kh, kw), stride, pads, dilation, (ho, wo)))
        return out
    og = o // groups
    for a, e in launch._chunks(n, gy.dtype.itemsize * c * kh * kw * hw):
        m = e - a
        rows = _rows(xp, gy[a:e], hw)
        cols = xp.empty((c * kh * kw, m * hw), dtype=gy.dtype)
        for g in range(groups):
            xp.matmul(wt[g], rows[g * og:(g + 1) * og], out=cols[g * ck:(g + 1) * ck])
        part = out[a:e]
        launch._launch("col2im", gy.dtype, part.size, cols, part,
                       *_geometry(part.shape, (kh, kw), stride, pads, dilation, (ho, wo)), hw, m * hw)
    return out


@launch.on_device
def conv2d_backward_weight(x, gy, ksize, stride, pads, dilation, groups):
    """The gradient of ``conv2d_forward`` in w: ``x (N, C, H, W), gy (N, O, Ho, Wo) -> (O, C/g, kh, kw)``.
    Chunks of the batch are summed in order."""
    xp = get_array_module(x)
    x = xp.ascontiguousarray(x)
    gy = xp.ascontiguousarray(gy)
    n, c = x.shape[:2]
    o, ho, wo = gy.shape[1:]
    kh, kw = ksize
    hw = ho * wo
    cg = c // groups
    ck = cg * kh * kw
    og = o // groups
    gw = None
    for a, e in launch._chunks(n, x.dtype.itemsize * c * kh * kw * hw):
        m = e - a
        cols = xp.empty((c * kh * kw, m * hw), dtype=x.dtype)
        _im2col(x[a:e], cols, ksize, stride, pads, dilation, (ho, wo), hw, m * hw)
        rows = _rows(xp, gy[a:e], hw)
        part = xp.empty((o, ck), dtype=x.dtype)
        for g in range(groups):
            xp.matmul(rows[g * og:(g + 1) * og], cols[g * ck:(g + 1) * ck].T, out=part[g * og:(g + 1) * og])
        gw = part if gw is None else gw + part  # one chunk (the usual case): no zeros, no sum
    if gw is None:  # an empty batch
        gw = xp.zeros((o, ck), dtype=x.dtype)
    return gw.reshape(o, cg, kh, kw)
