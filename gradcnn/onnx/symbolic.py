"""ONNX nodes for gradcnn's primitives: one function per :class:`~gradcnn.autograd.Function` class,
collected in :data:`TABLE`.

Each function takes the graph being written (``g``), the traced call, its positional arguments
(a :class:`~gradcnn.onnx.graph.Value` for each tensor, numbers and arrays as they were given) and
one :class:`Out` per output, and returns one graph name per output (``None`` for an output with no
ONNX counterpart, such as max-pool indices). Operands are cast to the dtype of the result, as
NumPy's promotion made it, because ONNX's arithmetic takes one type.

Pools are described in gradcnn by their windows, not by kernel, stride and padding, so
:func:`_regular` finds an ONNX pool (kernel, stride, padding before and after) whose windows,
clipped to the input, take exactly the same elements. ``ceil_mode`` becomes extra padding at the
end; an average pool's divisor (``count_include_pad``, ``divisor_override``, windows cut by
``ceil_mode``) becomes a constant factor after the pool. Windows no ONNX pool has (adaptive pools
whose output does not divide the input) are written exactly in other ops: an average as two
matrix products with 0/1 matrices, a maximum as one reduction per window along each axis.
"""

from typing import NamedTuple

import numpy as np

from ..backends import is_cuda_array
from ..nn.module import _HookIdentity
from ..ops import activation, conv, elementwise, linalg, pool, reduction, shape, upsample

__all__ = ["TABLE", "Out", "host"]

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def host(array):
    """``array`` as a NumPy array (a copy from the GPU for a CuPy one)."""
    return array.get() if is_cuda_array(array) else np.asarray(array)


class Out(NamedTuple):
    shape: tuple
    dtype: np.dtype
    dyn: tuple  # dims whose size follows the batch


# -- elementwise ----------------------------------------------------------------------------------


def _unary(op):
    def emit(g, _call, ins, outs):
        return [g.node(op, [g.ref(ins[0], outs[0].dtype)])]

    emit.__name__ = op
    return emit


def _binary(op):
    def emit(g, _call, ins, outs):
        dtype = outs[0].dtype
        return [g.node(op, [g.operand(ins[0], dtype), g.operand(ins[1], dtype)])]

    emit.__name__ = op
    return emit


def _log1p(g, _call, ins, outs):
    dtype = outs[0].dtype
    return [g.node("Log", [g.node("Add", [g.ref(ins[0], dtype), g.scalar(1, dtype)])])]


def _clamp(g, call, ins, outs):
    dtype = outs[0].dtype
    lo, hi = call.kwargs["lo"], call.kwargs["hi"]
    bounds = ["" if b is None else g.scalar(b, dtype) for b in (lo, hi)]
    return [g.node("Clip", [g.ref(ins[0], dtype), *bounds])]


def _leaky_relu(g, call, ins, outs):
    return [g.node("LeakyRelu", [g.ref(ins[0], outs[0].dtype)], alpha=float(call.kwargs["slope"]))]


def _log_softmax(g, call, ins, outs):
    return [g.node("LogSoftmax", [g.ref(ins[0], outs[0].dtype)], axis=int(call.kwargs["dim"]))]


def _cast(g, _call, ins, outs):
    return [g.node("Cast", [g.ref(ins[0])], to=g.dtype_code(outs[0].dtype))]


def _identity(g, _call, ins, _outs):
    return [g.node("Identity", [g.ref(ins[0])])]


# ``where``'s condition is an array computed outside the traced ops. gradcnn's own composites make
# it from one of their tensor arguments in a known way; the export rebuilds it in the graph, after
# checking on the traced values that the rebuilt condition is exactly the one used.
_CONDITIONS = {
    reduction.logsumexp.__code__: "isfinite",
    activation.prelu.__code__: "positive",
    activation.elu.__code__: "positive",
}


def _where(g, call, ins, outs):
    cond = host(call.kwargs["cond"])
    kind = _CONDITIONS.get(call.caller)
    if kind is None:
        g.fail("where's condition was computed outside the traced ops (comparisons make no node), so "
               "it cannot be rebuilt in the graph; only the conditions of gradcnn's logsumexp, prelu "
               "and elu are known")
    dtype = outs[0].dtype
    for v in ins:
        if not hasattr(v, "array") or v.const:
            continue
        arr = host(v.array)
        with np.errstate(invalid="ignore"):
            rebuilt = np.isfinite(arr) if kind == "isfinite" else arr > 0
        if rebuilt.shape == cond.shape and np.array_equal(rebuilt, cond):
            x = g.ref(v)
            if kind == "isfinite":
                bad = g.node("Or", [g.node("IsInf", [x]), g.node("IsNaN", [x])])
                mask = g.node("Not", [bad])
            else:
                mask = g.node("Greater", [x, g.scalar(0, v.dtype)])
            return [g.node("Where", [mask, g.operand(ins[0], dtype), g.operand(ins[1], dtype)])]
    return g.fail(f"where's condition does not match the {kind} test of any of its tensor arguments")


# -- linear algebra -------------------------------------------------------------------------------


def _matmul(g, _call, ins, outs):
    dtype = outs[0].dtype
    return [g.node("MatMul", [g.ref(ins[0], dtype), g.ref(ins[1], dtype)])]


def _linear(g, _call, ins, outs):
    x, w, b = ins
    dtype = outs[0].dtype
    if len(x.shape) == 2:
        inputs = [g.ref(x, dtype), g.ref(w, dtype)] + ([g.ref(b, dtype)] if b is not None else [])
        return [g.node("Gemm", inputs, transB=1)]
    wt = g.node("Transpose", [g.ref(w, dtype)], perm=[1, 0])  # the weight keeps its name
    y = g.node("MatMul", [g.ref(x, dtype), wt])
    return [g.node("Add", [y, g.ref(b, dtype)]) if b is not None else y]


# -- reductions -----------------------------------------------------------------------------------


def _reduce_node(g, op, x, axes, keepdims):
    if op == "ReduceSum" or g.opset >= 18:  # axes became an input: ReduceSum's at 13, the others' at 18
        return g.node(op, [x, g.ints(axes)], keepdims=int(keepdims))
    return g.node(op, [x], axes=list(axes), keepdims=int(keepdims))


def _reduce(op):
    def emit(g, call, ins, outs):
        axes = list(call.kwargs["axes"])
        x = g.ref(ins[0], outs[0].dtype)
        if not axes:
            return [g.node("Identity", [x])]
        return [_reduce_node(g, op, x, axes, call.kwargs["keepdim"])]

    emit.__name__ = op
    return emit


# -- shapes ---------------------------------------------------------------------------------------


def _reshape(g, _call, ins, outs):
    return [g.reshape(g.ref(ins[0]), outs[0].shape, outs[0].dyn)]


def _permute(g, call, ins, _outs):
    return [g.node("Transpose", [g.ref(ins[0])], perm=list(call.kwargs["dims"]))]


def _expand(g, _call, ins, outs):
    x, out = ins[0], outs[0]
    lead = len(out.shape) - len(x.shape)
    for i, d in enumerate(out.dyn):
        if d and (i < lead or not x.dyn[i - lead]):
            g.fail(f"expanding {x.shape} to {out.shape} makes dim {i} follow the batch; ONNX's Expand "
                   "can broadcast to it only from an input whose dim already does")
    target = [1 if d else s for s, d in zip(out.shape, out.dyn)]
    return [g.node("Expand", [g.ref(x), g.ints(target)])]


def _sum_to(g, _call, ins, outs):
    x, out = ins[0], outs[0]
    lead = len(x.shape) - len(out.shape)
    axes = list(range(lead)) + [lead + i for i, s in enumerate(out.shape) if s == 1 and x.shape[lead + i] != 1]
    y = g.ref(x)
    if axes:
        y = g.node("ReduceSum", [y, g.ints(axes)], keepdims=1)
    return [g.reshape(y, out.shape, out.dyn) if lead else y]


def _getitem(g, call, ins, outs):
    x, out = ins[0], outs[0]
    key = call.kwargs["key"]
    arrays = [i for i, k in enumerate(key) if hasattr(k, "dtype") and hasattr(k, "shape")]
    if arrays:
        return [_gather(g, x, key, arrays)]
    if any(k is Ellipsis for k in key):
        at = next(i for i, k in enumerate(key) if k is Ellipsis)
        used = sum(1 for k in key if k is not None and k is not Ellipsis)
        key = key[:at] + (slice(None),) * (len(x.shape) - used) + key[at + 1:]
    starts, ends, axes, steps = [], [], [], []
    axis, reshaped = 0, False
    for k in key:
        if k is None:
            reshaped = True
            continue
        if isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            if k != slice(None) and (k.start, k.stop, step) != (None, None, 1):
                lo = k.start if k.start is not None else (0 if step > 0 else -1)
                hi = k.stop if k.stop is not None else (INT64_MAX if step > 0 else INT64_MIN)
                starts.append(int(lo)), ends.append(int(hi)), axes.append(axis), steps.append(step)
        else:  # an int: a slice of one, its axis dropped by the reshape below
            k = int(k)
            starts.append(k), ends.append(k + 1 if k != -1 else INT64_MAX), axes.append(axis), steps.append(1)
            reshaped = True
        axis += 1
    y = g.ref(x)
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if reshaped:
        y = g.reshape(y, out.shape, out.dyn)
    elif not axes:
        y = g.node("Identity", [y])
    return [y]


def _gather(g, x, key, arrays):
    """``x[..., idx, ...]`` with one integer index array and whole slices elsewhere: a Gather."""
    (at,) = arrays if len(arrays) == 1 else (None,)
    idx = key[at] if at is not None else None
    rest = [k for i, k in enumerate(key) if i != at]
    whole = all(isinstance(k, slice) and k == slice(None) for k in rest)
    if idx is None or idx.dtype.kind not in "iu" or not whole:
        g.fail(f"indexing with {key!r:.120} is not exported: only one integer index array with whole "
               "slices elsewhere (a lookup, as embedding does) maps to ONNX's Gather")
    v = g.lookup(idx)
    name = g.ref(v) if v is not None else g.const(host(idx).astype(np.int64), f"{g.scope}/indices")
    return g.node("Gather", [g.ref(x), name], axis=at)


def _cat(g, call, ins, outs):
    dtype = outs[0].dtype
    return [g.node("Concat", [g.ref(v, dtype) for v in ins], axis=int(call.kwargs["dim"]))]


def _pad(g, call, ins, outs):
    widths = call.kwargs["widths"]
    pads = [lo for lo, _ in widths] + [hi for _, hi in widths]
    dtype = outs[0].dtype
    value = g.scalar(call.kwargs["value"], dtype)
    return [g.node("Pad", [g.ref(ins[0], dtype), g.ints(pads), value], mode="constant")]


# -- convolution ----------------------------------------------------------------------------------


def _conv_attrs(geom):
    (top, bottom), (left, right) = geom.pads
    return dict(kernel_shape=list(geom.kernel), strides=list(geom.stride), pads=[top, left, bottom, right],
                dilations=list(geom.dilation), group=int(geom.groups))


def _conv(g, call, ins, outs):
    x, w, b = ins
    dtype = outs[0].dtype
    inputs = [g.ref(x, dtype), g.ref(w, dtype)] + ([g.ref(b, dtype)] if b is not None else [])
    return [g.node("Conv", inputs, **_conv_attrs(call.kwargs["geom"]))]


def _conv_transpose(g, call, ins, outs):
    gy, w = ins
    geom = call.kwargs["geom"]
    attrs = _conv_attrs(geom)
    # ONNX's output size is stride * (n - 1) + output_padding + d * (k - 1) + 1 - pads; gradcnn's is
    # the input size of the convolution this one transposes.
    extra = []
    for n, o, k, s, d, (lo, hi) in zip(geom.in_hw, geom.out_hw, geom.kernel, geom.stride, geom.dilation, geom.pads):
        extra.append(n - (s * (o - 1) + d * (k - 1) + 1 - lo - hi))
    if any(extra):
        attrs["output_padding"] = extra
    dtype = outs[0].dtype
    return [g.node("ConvTranspose", [g.ref(gy, dtype), g.ref(w, dtype)], **attrs)]


# -- pooling --------------------------------------------------------------------------------------


def _regular(starts, counts, n, d):
    """``(kernel, stride, pad_begin, pad_end)`` of an ONNX pool along one axis of size ``n`` whose
    windows, clipped to the input, take the elements ``starts[i] + t * d`` for ``t < counts[i]``,
    and no more windows than those; ``None`` when no such pool exists. Pads stay below the kernel
    (onnxruntime refuses larger ones)."""
    starts, counts = np.asarray(starts, dtype=np.int64), np.asarray(counts, dtype=np.int64)
    o = len(starts)
    if o == 0 or (counts < 1).any():
        return None
    strides = sorted({int(s) for s in np.diff(starts) if s > 0}) if o > 1 else [1, max(n, 1)]
    i = np.arange(o, dtype=np.int64)
    top = int(counts.max())
    for k in range(top, top + 3):
        span = d * (k - 1) + 1
        for s in strides:
            for pb in range(k):
                u = i * s - pb
                first = np.where(u < 0, -(u // d), 0)
                last = np.minimum(k - 1, (n - 1 - u) // d)
                if not (np.array_equal(last - first + 1, counts) and np.array_equal(u + first * d, starts)):
                    continue
                pe = max(0, (o - 1) * s + span - n - pb)
                if pe < k and (n + pb + pe - span) // s + 1 == o:
                    return k, s, pb, pe
    return None


def _max_pool(g, call, ins, outs):
    x, out = ins[0], outs[0]
    win = call.kwargs["win"]
    hstart, hcount, dh, wstart, wcount, dw = win.max_windows
    (n_h, n_w), dtype = x.shape[2:], out.dtype
    dims = [(hstart, hcount, int(dh), n_h), (wstart, wcount, int(dw), n_w)]
    found = [_regular(st, ct, n, d) for st, ct, d, n in dims]
    if all(found):
        (kh, sh, th, bh), (kw, sw, tw, bw) = found
        y = g.node("MaxPool", [g.ref(x, dtype)], kernel_shape=[kh, kw], strides=[sh, sw],
                   pads=[th, tw, bh, bw], dilations=[int(dh), int(dw)])
        return [y, None]
    y = g.ref(x, dtype)
    for axis, (st, ct, d, n) in zip((2, 3), dims):
        st, ct = np.asarray(st).tolist(), np.asarray(ct).tolist()
        if st == list(range(n)) and all(c == 1 for c in ct):
            continue
        if min(ct) < 1:
            g.fail(f"a max-pool window along axis {axis} lies wholly in the padding")
        pieces = []
        for s0, c in zip(st, ct):
            piece = g.node("Slice", [y, g.ints([s0]), g.ints([s0 + (c - 1) * d + 1]), g.ints([axis]), g.ints([d])])
            pieces.append(_reduce_node(g, "ReduceMax", piece, [axis], True))
        y = g.node("Concat", pieces, axis=axis) if len(pieces) > 1 else pieces[0]
    return [y, None]


def _avg_pool(g, call, ins, outs):
    x, out = ins[0], outs[0]
    hs, he, ws, we, div = call.kwargs["win"].avg_windows
    (n_h, n_w), dtype = x.shape[2:], out.dtype
    hs, he, ws, we, div = (host(a) for a in (hs, he, ws, we, div))
    found = [_regular(hs, he - hs, n_h, 1), _regular(ws, we - ws, n_w, 1)]
    if all(found):
        (kh, sh, th, bh), (kw, sw, tw, bw) = found
        y = g.node("AveragePool", [g.ref(x, dtype)], kernel_shape=[kh, kw], strides=[sh, sw],
                   pads=[th, tw, bh, bw], count_include_pad=1)
        factor = (kh * kw) / div  # the pool divides by the kernel's size; gradcnn by ``div``
        if np.allclose(factor, 1.0, rtol=0, atol=1e-12):
            return [y]
        factor = factor.flat[0] if np.all(factor == factor.flat[0]) else factor
        return [g.node("Mul", [y, g.const(np.asarray(factor, dtype=dtype), f"{g.scope}/divisor")])]
    # Windows no pool has: sums as products with 0/1 matrices, then the divisors.
    rows = np.zeros((len(hs), n_h), dtype=dtype)
    cols = np.zeros((n_w, len(ws)), dtype=dtype)
    for i, (a, b) in enumerate(zip(hs, he)):
        rows[i, a:b] = 1
    for i, (a, b) in enumerate(zip(ws, we)):
        cols[a:b, i] = 1
    y = g.node("MatMul", [g.ref(x, dtype), g.const(cols, f"{g.scope}/window_cols")])
    y = g.node("MatMul", [g.const(rows, f"{g.scope}/window_rows"), y])
    return [g.node("Div", [y, g.const(div.astype(dtype), f"{g.scope}/divisor")])]


def _cumsum(g, call, ins, outs):
    axis = g.const(np.array(int(call.kwargs["dim"]), dtype=np.int64), f"{g.scope}/axis")
    return [g.node("CumSum", [g.ref(ins[0], outs[0].dtype), axis])]


def _gather_elements(g, call, ins, _outs):
    index = host(call.kwargs["index"]).astype(np.int64)
    return [g.node("GatherElements", [g.ref(ins[0]), g.const(index, f"{g.scope}/index")],
                   axis=int(call.kwargs["dim"]))]


def _resample(g, call, ins, outs):
    """A resampling along one axis is a matrix product: move the axis last, MatMul, move it back."""
    table, axis = call.kwargs["table"], int(call.kwargs["axis"])
    index = host(table.index)
    n_out, taps = index.shape
    weight = np.ones(index.shape) if table.weight is None else host(table.weight).astype(np.float64)
    matrix = np.zeros((table.size + 1, n_out))
    for k in range(taps):
        np.add.at(matrix, (index[:, k], np.arange(n_out)), weight[:, k])
    matrix = matrix[: table.size].astype(outs[0].dtype)  # the padded row reads a zero: drop it
    rank = len(ins[0].shape)
    perm = [d for d in range(rank) if d != axis] + [axis]
    back = [perm.index(d) for d in range(rank)]
    y = g.node("Transpose", [g.ref(ins[0], outs[0].dtype)], perm=perm)
    y = g.node("MatMul", [y, g.const(matrix, f"{g.scope}/resample")])
    return [g.node("Transpose", [y], perm=back)]


def _identities(g, _call, ins, _outs):
    return [g.node("Identity", [g.ref(i)]) for i in ins]


TABLE = {
    elementwise.Add: _binary("Add"),
    elementwise.Mul: _binary("Mul"),
    elementwise.Div: _binary("Div"),
    elementwise.Pow: _binary("Pow"),
    elementwise.Maximum: _binary("Max"),
    elementwise.Minimum: _binary("Min"),
    elementwise.Neg: _unary("Neg"),
    elementwise.Exp: _unary("Exp"),
    elementwise.Log: _unary("Log"),
    elementwise.Log1p: _log1p,
    elementwise.Sqrt: _unary("Sqrt"),
    elementwise.Abs: _unary("Abs"),
    elementwise.Reciprocal: _unary("Reciprocal"),
    elementwise.Relu: _unary("Relu"),
    elementwise.Sigmoid: _unary("Sigmoid"),
    elementwise.Tanh: _unary("Tanh"),
    elementwise.Clamp: _clamp,
    elementwise.Where: _where,
    elementwise.Cast: _cast,
    elementwise.ToDevice: _identity,
    activation.LeakyRelu: _leaky_relu,
    activation.LogSoftmax: _log_softmax,
    linalg.MatMul: _matmul,
    linalg.Linear: _linear,
    reduction.Sum: _reduce("ReduceSum"),
    reduction.Amax: _reduce("ReduceMax"),
    reduction.Amin: _reduce("ReduceMin"),
    shape.Reshape: _reshape,
    shape.Permute: _permute,
    shape.Expand: _expand,
    shape.SumTo: _sum_to,
    shape.GetItem: _getitem,
    shape._BasicGetItem: _getitem,
    shape.Cat: _cat,
    shape.Pad: _pad,
    shape.Clone: _identity,
    conv.Conv: _conv,
    conv.ConvData: _conv_transpose,
    pool.MaxPool: _max_pool,
    pool.AvgPool: _avg_pool,
    elementwise.Sin: _unary("Sin"),
    elementwise.Cos: _unary("Cos"),
    elementwise.Asin: _unary("Asin"),
    elementwise.Atan: _unary("Atan"),
    reduction.CumSum: _cumsum,
    shape.Gather: _gather_elements,
    upsample.Resample: _resample,
    _HookIdentity: _identities,
}
