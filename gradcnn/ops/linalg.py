"""Matrix products: ``matmul`` (NumPy's rules, batched and 1-D), ``linear`` (``x @ W.T + b``) and
``embedding`` (a one-hot product, done as a row lookup).

``linear`` is a primitive rather than a composite of transpose, matmul and add: it is the hottest op
of small networks and one node instead of three halves its Python overhead.
"""

import numpy as np

from ..arguments import integer
from ..autograd.function import Function
from ..autograd.tape import is_grad_enabled
from ..backends import backend_of
from ..backends import is_array as _is_array
from ..backends.cpu.gemm import INLINE_FLOPS
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor, check_devices
from .elementwise import where
from .shape import as_tensor_arg, getitem, reshape, sum_to, transpose

__all__ = ["matmul", "linear", "embedding", "dot", "mm", "bmm", "outer"]


def _mT(t):
    return transpose(t, -1, -2)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _mm(a, b):
    """``a @ b`` on arrays; 2-D float32/float64 products go through the backend's ``matmul2d``
    (on the CPU: cut between gradcnn's worker threads rather than BLAS's own)."""
    if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _FLOATS and (
            a.shape[1] == 1 or 2 * a.shape[0] * a.shape[1] * b.shape[1] >= INLINE_FLOPS):
        return backend_of(a).matmul2d(a, b)  # outer products and products worth the pool
    return a @ b


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _mm(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        # Lift 1-D operands to matrices as NumPy does, so one formula covers every case.
        a2 = reshape(a, (1, a.shape[0])) if a.ndim == 1 else a
        b2 = reshape(b, (b.shape[0], 1)) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = reshape(g2, g2.shape[:-1] + (1,) + g2.shape[-1:]) if b.ndim > 1 else reshape(g2, (1,) + g2.shape)
        if b.ndim == 1:
            g2 = reshape(g2, g2.shape + (1,))
        ga = gb = None
        if na:
            ga = reshape(sum_to(matmul(g2, _mT(b2)), a2.shape), a.shape)
        if nb:
            gb = reshape(sum_to(matmul(_mT(a2), g2), b2.shape), b.shape)
        return ga, gb


def _same_dtype(op, **named):
    """PyTorch's products take operands of one dtype, and no bool: ``float32 @ float64`` is an error
    there, not a promotion."""
    (na, a), *rest = [(n, t) for n, t in named.items() if t is not None]
    for nb, b in rest:
        if b.dtype != a.dtype:
            raise DTypeError(
                f"{op}: {na} and {nb} must have the same dtype, got {a.dtype.name} ({na}) and {b.dtype.name} ({nb})"
            )
    if a.dtype == np.bool_:
        raise DTypeError(f"{op}: not defined for bool tensors ({na} is bool)")


def _product(op, input, other, name="other"):
    """``input @ other`` after the checks of ``op``, whose messages name ``op`` and ``name``."""
    for n, t in (("input", input), (name, other)):
        if t.ndim == 0:
            raise ShapeError(f"{op}: {n} is 0-d; use * to multiply by a scalar")
    k_a = input.shape[-1]
    k_b = other.shape[0] if other.ndim == 1 else other.shape[-2]
    if k_a != k_b:
        raise ShapeError(
            f"{op}: inner dimensions differ: input {input.shape} has {k_a} columns, {name} "
            f"{other.shape} has {k_b} rows"
        )
    try:
        np.broadcast_shapes(input.shape[:-2], other.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"{op}: batch dims {input.shape[:-2]} and {other.shape[:-2]} do not broadcast "
            f"(shapes {input.shape} and {other.shape})"
        ) from None
    if type(input._data) is not np.ndarray or type(other._data) is not np.ndarray:
        check_devices(op, ("input", input), (name, other))
    return MatMul.apply(input, other)


def matmul(input, other):
    """Matrix product with NumPy's rules: batched over leading dims, 1-D operands as vectors.
    One operand may be an array (a constant on the other's device), so ``ndarray @ tensor`` works.
    Two tensors must share a dtype, as in PyTorch."""
    if _is_array(input) and isinstance(other, Tensor):
        input = Tensor._make(input)
    elif _is_array(other) and isinstance(input, Tensor):
        other = Tensor._make(other)
    else:
        for name, t in (("input", input), ("other", other)):
            if not isinstance(t, Tensor):
                raise DTypeError(f"matmul: {name} must be a Tensor, got {type(t).__name__}")
        _same_dtype("matmul", input=input, other=other)
    return _product("matmul", input, other)


class Linear(Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        y = _mm(x, w.T) if x.ndim == 2 else x @ w.T
        if b is not None:
            ctx.bias_shape = b.shape
            y += b  # b broadcasts to y: checked by linear()
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        if not is_grad_enabled():
            # Not recorded (no create_graph): the same products on the arrays, without the ops'
            # dispatch -- this is the hottest backward of small networks.
            gd = g._data
            g2 = gd.reshape(-1, gd.shape[-1]) if gd.ndim != 2 else gd
            gx = Tensor._make(_mm(gd, w._data) if gd.ndim == 2 else gd @ w._data) if nx else None
            if nw:
                xd = x._data
                gw = Tensor._make(_mm(g2.T, xd.reshape(-1, xd.shape[-1]) if xd.ndim != 2 else xd))
            else:
                gw = None
            gb = None
            if nb:
                gb = Tensor._make(gd.sum(axis=tuple(range(gd.ndim - 1))))
                if ctx.bias_shape != gb.shape:
                    gb = sum_to(Tensor._make(gd), ctx.bias_shape)
            return gx, gw, gb
        gx = gw = gb = None
        if nx:
            gx = matmul(g, w)
        if nw:
            g2 = reshape(g, (-1, g.shape[-1])) if g.ndim != 2 else g
            x2 = reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
            gw = matmul(_mT(g2), x2)
        if nb:
            gb = sum_to(g, ctx.bias_shape)
        return gx, gw, gb


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``: input ``(*, in)``, weight ``(out, in)``, bias ``(out,)``."""
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise DTypeError(f"linear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim == 1 and bias is None:  # one output feature, its dim dropped, as in PyTorch
        if input.ndim == 0 or input.shape[-1] != weight.shape[0]:
            raise ShapeError(f"linear: input {input.shape} does not match the 1-D weight {weight.shape}")
        _same_dtype("linear", input=input, weight=weight)
        return _product("linear", input, weight, "weight")
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input {input.shape} has {input.shape[-1] if input.ndim else 0} features in its "
            f"last dim, weight {weight.shape} expects {weight.shape[1]}"
        )
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise DTypeError(f"linear: bias must be a Tensor or None, got {type(bias).__name__}")
        out = input.shape[:-1] + (weight.shape[0],)
        if bias.shape != (weight.shape[0],) and _broadcast(bias.shape, out) != out:
            raise ShapeError(
                f"linear: bias has shape {bias.shape}, expected ({weight.shape[0]},) (or a shape that "
                f"broadcasts to the output {out}) for weight {weight.shape}"
            )
    _same_dtype("linear", input=input, weight=weight, bias=bias)
    if type(input._data) is not np.ndarray or type(weight._data) is not np.ndarray or (
        bias is not None and type(bias._data) is not np.ndarray
    ):  # the hottest op: all-CPU calls skip the general check
        check_devices("linear", ("input", input), ("weight", weight), ("bias", bias))
    return Linear.apply(input, weight, bias)


def _broadcast(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def embedding(input, weight, padding_idx=None):
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer ``input`` (any shape): the
    output has shape ``input.shape + (dim,)``. As in PyTorch, the row at ``padding_idx`` (negative
    counts from the end) is looked up like any other but receives no gradient."""
    as_tensor_arg(weight, "embedding", "weight")
    as_tensor_arg(input, "embedding", "input")
    check_devices("embedding", ("weight", weight), ("input", input))
    idx = input._data
    if idx.dtype not in (np.int64, np.int32):  # PyTorch's two index dtypes (Long, Int)
        raise DTypeError(f"embedding: input must hold integer indices, got {idx.dtype.name} (int64 or int32 needed)")
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, dim), got {weight.shape}")
    num = weight.shape[0]
    padding_idx = integer("embedding", "padding_idx", padding_idx, allow_none=True)
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise IndexOutOfRangeError(
                f"embedding: padding_idx {padding_idx} is outside [{-num}, {num}) for weight {weight.shape}"
            )
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        bad = int(idx.min() if idx.min() < 0 else idx.max())
        raise IndexOutOfRangeError(f"embedding: index {bad} is outside [0, {num}) for weight {weight.shape} "
                                   f"(num_embeddings {num})")
    out = getitem(weight, (idx,), _checked=True, _watch=(input,))
    if padding_idx is not None and out.requires_grad:
        # The same values, with the padding rows taken from a detached copy: no gradient reaches them.
        keep = (idx != (int(padding_idx) % num))[..., None]
        out = where(keep, out, out.detach())
    return out


def _dims_exactly(op, n, **named):
    for name, t in named.items():
        if not isinstance(t, Tensor):
            raise DTypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim != n:
            raise ShapeError(f"{op}: {name} must be {n}-D, got shape {tuple(t.shape)}")


def dot(input, other):
    """The inner product of two 1-D tensors of one size."""
    _dims_exactly("dot", 1, input=input, other=other)
    if input.shape != other.shape:
        raise ShapeError(f"dot: input has {input.shape[0]} elements but other has {other.shape[0]}")
    _same_dtype("dot", input=input, other=other)
    return _product("dot", input, other)


def mm(input, mat2):
    """The product of two matrices."""
    _dims_exactly("mm", 2, input=input, mat2=mat2)
    _same_dtype("mm", input=input, mat2=mat2)
    return _product("mm", input, mat2, "mat2")


def bmm(input, mat2):
    """Batched matrix products of ``(b, n, m)`` and ``(b, m, p)``."""
    _dims_exactly("bmm", 3, input=input, mat2=mat2)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: input {tuple(input.shape)}, mat2 {tuple(mat2.shape)}")
    _same_dtype("bmm", input=input, mat2=mat2)
    return _product("bmm", input, mat2, "mat2")


def outer(input, vec2):
    """``input[:, None] * vec2[None, :]`` for 1-D tensors."""
    _dims_exactly("outer", 1, input=input, vec2=vec2)
    return reshape(input, (-1, 1)) * reshape(vec2, (1, -1))
