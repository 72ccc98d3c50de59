"""Shape primitives: reshape, permute, expand / sum_to, indexing, index_put, cat, pad; and the
composites built on them (view, flatten, squeeze, unsqueeze, transpose, stack, split, chunk).

Pairs that are each other's derivative: ``expand`` / ``sum_to``, ``getitem`` / ``index_add``
(a scatter whose backward is a gather), ``pad`` / ``getitem``, ``cat`` / ``getitem``.
"""

import numbers

import numpy as np

from .. import arguments, geometry
from ..autograd.function import Function
from ..backends import get_array_module, is_array, to_device
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor, _dim, check_devices

__all__ = [
    "reshape",
    "view",
    "flatten",
    "squeeze",
    "unsqueeze",
    "permute",
    "transpose",
    "expand",
    "broadcast_to",
    "sum_to",
    "getitem",
    "index_add",
    "index_put",
    "cat",
    "stack",
    "split",
    "chunk",
    "pad",
    "clone",
    "copy_",
    "setitem",
    "as_tensor_arg",
    "gather",
    "scatter",
    "scatter_add",
    "one_hot",
    "unflatten",
    "meshgrid",
    "flip",
    "repeat",
    "t",
]


def as_tensor_arg(x, op, name="input"):
    if isinstance(x, Tensor):
        return x
    raise DTypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")


def _shape_of(value):
    """The shape of an array, Tensor or number, without converting a CuPy array to NumPy."""
    value = value._data if isinstance(value, Tensor) else value
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


def _on_device_of(x, array, op, name):
    """``array`` (a constant: an index or a value) on the device of ``x``. A NumPy array, like a
    list, moves to a CUDA tensor's device; an array on another GPU, or a CuPy array for a CPU
    tensor, is a DeviceError, as is a Tensor on another device."""
    if type(array) is np.ndarray:
        return array if type(x._data) is np.ndarray else to_device(array, x.device)
    check_devices(op, ("the tensor", x), (name, array))
    return array


# -- reshape ------------------------------------------------------------------------------------


class Reshape(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return reshape(g, ctx.in_shape)


def _resolve_shape(shape, numel, what, op, name="shape"):
    """``shape`` (ints, one of them may be -1) checked against the ``numel`` elements of ``what``
    (words for the message), -1 resolved."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(shape)
    for s in shape:
        if not isinstance(s, numbers.Integral) or isinstance(s, (bool, np.bool_)):
            raise DTypeError(f"{op}: {name} must be a tuple of ints, got {shape} (an element of type "
                             f"{type(s).__name__})")
    if sum(1 for s in shape if s == -1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1 (inferred), got {name}={shape}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ShapeError(f"{op}: invalid size {s} in {name} {shape}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise ShapeError(
                f"{op}: {name} {shape} is invalid for {what} ({numel} elements; "
                f"{numel} is not a multiple of {known})"
            )
        shape = tuple(numel // known if s == -1 else int(s) for s in shape)
    elif known != numel:
        raise ShapeError(
            f"{op}: {name} {shape} ({known} elements) is invalid for {what} "
            f"({numel} elements)"
        )
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    """``x`` with a new shape of the same number of elements; one size may be -1."""
    shape = _resolve_shape(shape, x._data.size, f"input of shape {x.shape}", "reshape")
    if shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def view(x, *shape):
    """Same as :func:`reshape` (gradcnn does not distinguish views from copies here)."""
    return reshape(x, *shape)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` (inclusive) into one."""
    if x.ndim == 0:
        return reshape(x, 1)
    s = _dim(start_dim, x.ndim, "flatten")
    e = _dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim})")
    shape = x.shape[:s] + (-1,) + x.shape[e + 1 :]
    if 0 in x.shape:
        shape = x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :]
    return reshape(x, shape)


def _dims(dims, ndim, op, name="dims"):
    """``dims`` (ints) normalised to ``0 <= d < ndim``, each named once at most."""
    for d in dims:
        arguments.integer(op, name, d)
    out = [_dim(d, ndim, op) for d in dims]
    for n in out:
        if out.count(n) > 1:
            raise ShapeError(f"{op}: dim {n} appears multiple times in {name}={tuple(dims)}")
    return out


_ALL = object()  # squeeze's default: every size-1 dim (an explicit None is refused, as in PyTorch)


def squeeze(x, dim=_ALL):
    """Drop size-1 dims (all of them, or ``dim``, an int or a tuple; other sizes are kept).
    ``dim=None`` is an error, as in PyTorch: leave it out to drop every size-1 dim."""
    if dim is _ALL:
        dims = {i for i, s in enumerate(x.shape) if s == 1}
    else:
        if not isinstance(dim, (tuple, list)) and (isinstance(dim, (bool, np.bool_)) or
                                                   not isinstance(dim, numbers.Integral)):
            raise DTypeError(f"squeeze: dim must be an int or a tuple of ints, got {dim!r} "
                             f"({type(dim).__name__})")
        dims = set(_dims(tuple(dim) if isinstance(dim, (tuple, list)) else (dim,), x.ndim, "squeeze", "dim"))
        dims = {d for d in dims if x.ndim and x.shape[d] == 1}
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in dims))


def unsqueeze(x, dim):
    """Insert a size-1 dim at ``dim`` (``-1`` appends)."""
    d = _dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


# -- permute ------------------------------------------------------------------------------------


class Permute(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return permute(g, *np.argsort(ctx.dims).tolist())


def permute(x, *dims):
    """Reorder the dims of ``x``: ``permute(x, 2, 0, 1)``."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    for d in dims:
        arguments.integer("permute", "dims", d)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: {len(dims)} dims {dims} given for a tensor of shape {x.shape}")
    norm = tuple(_dim(d, x.ndim, "permute") for d in dims)
    if sorted(norm) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {dims} are not a permutation of 0..{x.ndim - 1}")
    if norm == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, dims=norm)


def transpose(x, dim0, dim1):
    """Swap two dims."""
    arguments.integer("transpose", "dim0", dim0)
    arguments.integer("transpose", "dim1", dim1)
    d0, d1 = _dim(dim0, x.ndim, "transpose"), _dim(dim1, x.ndim, "transpose")
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return permute(x, *dims)


# -- broadcasting -------------------------------------------------------------------------------


class Expand(Function):
    is_view = True

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.in_shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.in_shape)


class SumTo(Function):
    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
        )
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape) if lead else y

    @staticmethod
    def backward(ctx, g):
        return expand(g, ctx.in_shape)


def expand(x, *shape):
    """Broadcast ``x`` to ``shape`` without copying; ``-1`` keeps a size."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(arguments.integer("expand", "size", s) for s in shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: shape {shape} has fewer dims than the input's {x.shape}")
    for i, s in enumerate(shape):
        if s == -1 and i < lead:
            raise ShapeError(
                f"expand: -1 (keep the size) is not allowed in new leading dim {i} of shape {shape} "
                f"(input shape {x.shape})"
            )
        if s < -1:
            raise ShapeError(f"expand: invalid size {s} in shape {shape}")
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            raise ShapeError(
                f"expand: the input's size {s} at dim {i} (shape {x.shape}) cannot broadcast to "
                f"{shape[lead + i]} (target shape {shape}); only size-1 dims expand"
            )
    if shape == x.shape:
        return x
    return Expand.apply(x, shape=shape)


broadcast_to = expand


def sum_to(x, shape):
    """Sum ``x`` down to ``shape`` (the inverse of broadcasting): how gradients reach inputs."""
    shape = tuple(shape)
    if x.shape == shape:
        return x
    return SumTo.apply(x, shape=shape)


# -- indexing -----------------------------------------------------------------------------------


def _is_basic(key):
    return all(k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral)) for k in key)


def _as_tuple(key):
    """The subscript as a tuple. A list holding a sequence, a slice, a Tensor, None or Ellipsis is a
    tuple of indices (``x[[[0, 1], [1, 2]]]`` is ``x[[0, 1], [1, 2]]``), as PyTorch and old NumPy read it."""
    if isinstance(key, tuple):
        return key
    if isinstance(key, list) and len(key) < 32 and any(
            k is None or k is Ellipsis or isinstance(k, (slice, list, tuple, str, Tensor)) or is_array(k)
            for k in key):
        return tuple(key)
    return (key,)


def _slice_bound(x, value, op, what):
    """A slice's start, stop or step as an int or None (a one-element integer Tensor or NumPy
    integer is its value)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        value = value._data
    if hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 and value.dtype.kind in "iu":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DTypeError(
            f"{op}: slice {what} must be an int or None, got {value!r} ({type(value).__name__}) "
            f"(indexing a tensor of shape {x.shape})"
        )
    return int(value)


def _norm_slice(x, k, op):
    start, stop, step = (_slice_bound(x, v, op, w) for v, w in ((k.start, "start"), (k.stop, "stop"),
                                                              (k.step, "step")))
    if step is not None and step <= 0:
        raise ShapeError(
            f"{op}: slice step must be greater than zero, got step={step} (indexing a tensor of shape "
            f"{x.shape}); flip reverses a dim"
        )
    return slice(start, stop, step)


def _specified(k):
    """How many dims of the tensor an (already normalised) index uses."""
    if k is None or k is Ellipsis or isinstance(k, bool):
        return 0
    if hasattr(k, "dtype") and k.dtype.kind == "b":
        return k.ndim
    return 1


def _expand_ellipses(x, key):
    """``key`` with several Ellipses read as PyTorch reads them: each stands for the full slices
    of the dims the other indices leave (full slices past the last dim are dropped)."""
    if sum(1 for k in key if k is Ellipsis) < 2:
        return key
    fill = max(x.ndim - sum(_specified(k) for k in key), 0)
    out = [s for k in key for s in ((slice(None),) * fill if k is Ellipsis else (k,))]
    while out and sum(_specified(k) for k in out) > x.ndim and isinstance(out[-1], slice) and out[-1] == slice(None):
        out.pop()
    return tuple(out)


def _norm_key(x, key, op, tensors=None):
    """The subscript as a tuple NumPy understands, with Tensors turned into arrays, validated;
    the index Tensors are appended to ``tensors`` (for a version check in backward). A uint8
    index is a mask, as in PyTorch."""
    out = []
    for k in _as_tuple(key):
        if isinstance(k, Tensor):
            check_devices(op, ("the tensor", x), ("the index", k))
            if tensors is not None:
                tensors.append(k)
            k = k._data
        elif isinstance(k, list):
            k = np.asarray(k) if k else np.zeros(0, dtype=np.intp)  # [] selects nothing, as in NumPy
        if isinstance(k, bool):
            k = np.asarray(k)
        if isinstance(k, slice):
            k = _norm_slice(x, k, op)
        elif hasattr(k, "dtype") and not isinstance(k, np.generic):
            if k.dtype.kind not in "iub" or k.dtype.itemsize < 4 and k.dtype not in (np.uint8, np.bool_):
                raise DTypeError(
                    f"{op}: index tensors must be int64, int32, uint8 or bool, got {k.dtype.name} "
                    f"(indexing a tensor of shape {x.shape})"
                )
            if k.dtype == np.uint8:
                k = k.astype(np.bool_)
            k = _on_device_of(x, k, op, "the index")
        elif isinstance(k, np.generic):
            k = k.item()
        if not (k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral)) or hasattr(k, "dtype")):
            raise DTypeError(
                f"{op}: index {k!r} ({type(k).__name__}) is not an int, slice, None, Ellipsis or "
                f"integer or bool array (indexing a tensor of shape {x.shape})"
            )
        out.append(k)
    return _expand_ellipses(x, tuple(out))


def _has_integer_array(key):
    return any(getattr(k, "dtype", None) is not None and k.dtype.kind in "iu" for k in key)


def _index_error(x, exc, op):
    return IndexOutOfRangeError(f"{op}: {exc} (indexing a tensor of shape {x.shape})")


class GetItem(Function):
    @staticmethod
    def forward(ctx, x, *, key, watch=()):
        ctx.in_shape = x.shape
        ctx.key = key
        if watch:
            ctx.watch(*watch)
        return x[key]

    @staticmethod
    def backward(ctx, g):
        return index_add(g, ctx.key, ctx.in_shape)


class _BasicGetItem(GetItem):
    is_view = True


class IndexAdd(Function):
    """``zeros(shape)`` with ``g`` added at ``key`` (repeated indices add up)."""

    @staticmethod
    def forward(ctx, g, *, key, shape):
        ctx.key = key
        out = get_array_module(g).zeros(shape, dtype=g.dtype)
        if not _has_integer_array(key):
            out[key] = g  # ints, slices and boolean masks pick every element at most once
        else:
            get_array_module(g).add.at(out, key, g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return getitem(gg, ctx.key, _checked=True)


def getitem(x, key, _checked=False, _watch=()):
    """``x[key]``: ints, slices, None, Ellipsis, integer arrays and boolean masks, as NumPy, with
    PyTorch's rules where the two differ: slice steps are positive (``flip`` reverses), a uint8
    index is a mask, a list holding sequences is a tuple of indices. An index Tensor changed in
    place before backward is an error, as in PyTorch."""
    if _checked:
        return (_BasicGetItem if _is_basic(key) else GetItem).apply(x, key=key, watch=_watch)
    watch = []
    key = _norm_key(x, key, "getitem", watch)
    try:
        return (_BasicGetItem if _is_basic(key) else GetItem).apply(x, key=key, watch=tuple(watch))
    except IndexError as exc:
        raise _index_error(x, exc, "getitem") from None


def index_add(g, key, shape):
    return IndexAdd.apply(g, key=key, shape=tuple(shape))


class IndexPut(Function):
    """A copy of ``x`` with ``value`` written at ``key``; the functional form of ``x[key] = value``."""

    @staticmethod
    def forward(ctx, x, value, *, key, watch=()):
        ctx.key = key
        ctx.value_shape = _shape_of(value)
        if watch:
            ctx.watch(*watch)
        out = x.copy()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = IndexPut.apply(g, 0.0, key=ctx.key)
        if ctx.needs_input_grad[1]:
            gv = getitem(g, ctx.key, _checked=True)
            gv = sum_to(gv, ctx.value_shape) if gv.shape != ctx.value_shape else gv
        return gx, gv


def _check_index_put_dtype(x, key, value):
    """Writing through integer or mask arrays needs the value's dtype to be the tensor's, as in
    PyTorch; a one-element value under a single bool mask is a fill, which casts."""
    arrays = [k for k in key if hasattr(k, "dtype") and (k.ndim or k.dtype.kind == "b")]
    if not arrays:
        return
    if len(arrays) == 1 and arrays[0].dtype.kind == "b" and value.numel() == 1:
        return
    raise DTypeError(
        f"__setitem__: value has dtype {value.dtype.name} but the tensor has dtype {x.dtype.name}; "
        f"writing through index tensors needs the same dtype (use value.to({x.dtype.name}))"
    )


def index_put(x, key, value):
    """A copy of ``x`` with ``value`` (broadcast) written at ``key``; ``x[key] = value`` uses it.
    ``value`` is a Tensor or a real number; written through index arrays, a Tensor must have the
    dtype of ``x`` (a one-element value under one bool mask is a fill and casts), as in PyTorch."""
    if not (isinstance(value, (Tensor, numbers.Real, np.bool_)) or is_array(value)):
        raise DTypeError(
            f"__setitem__: value must be a Tensor or a real number, got {value!r} ({type(value).__name__}) "
            f"for a tensor of dtype {x.dtype.name}"
        )
    whole = isinstance(key, bool)  # x[True] = v writes x itself, as PyTorch's simple path does
    watch = []
    key = _norm_key(x, key, "__setitem__", watch)
    if isinstance(value, Tensor) and value.dtype != x.dtype and not whole:
        _check_index_put_dtype(x, key, value)
    if isinstance(value, Tensor):
        check_devices("__setitem__", ("the tensor", x), ("the value", value))
    elif is_array(value):
        value = _on_device_of(x, value, "__setitem__", "the value")
    try:
        region = get_array_module(x._data).empty(x.shape, dtype=np.bool_)[key].shape
    except IndexError as exc:
        raise _index_error(x, exc, "__setitem__") from None
    vshape = _shape_of(value)
    try:
        ok = np.broadcast_shapes(vshape, region) == region
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(
            f"__setitem__: value of shape {vshape} cannot be broadcast to the indexed region of "
            f"shape {region} (tensor shape {x.shape})"
        )
    return IndexPut.apply(x, value, key=key, watch=tuple(watch))


def setitem(x, key, value):
    """``x[key] = value``: ``x`` takes the values of :func:`index_put` in place."""
    x._assign(index_put(x, key, value), "__setitem__")


def copy_(x, src):
    """Copy ``src`` (broadcast, cast, and moved across devices, differentiably) into ``x``."""
    if not isinstance(src, Tensor):
        src = Tensor._make(src if is_array(src) else np.asarray(src))
    return x._assign(expand(src.to(x.device, x.dtype), x.shape), "copy_")


# -- concatenation ------------------------------------------------------------------------------


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, dim):
        ctx.dim = dim
        ctx.sizes = [a.shape[dim] for a in arrays]
        return get_array_module(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        grads = []
        start = 0
        lead = (slice(None),) * ctx.dim
        for size, need in zip(ctx.sizes, ctx.needs_input_grad):
            grads.append(getitem(g, lead + (slice(start, start + size),), _checked=True) if need else None)
            start += size
        return tuple(grads)


def _check_seq(tensors, op):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise DTypeError(f"{op}: expected a list or tuple of tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ShapeError(f"{op}: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        as_tensor_arg(t, op, f"tensors[{i}]")


def cat(tensors, dim=0):
    """Join tensors along an existing dim; all other sizes must match. The result has the
    promoted dtype, as in PyTorch."""
    _check_seq(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ShapeError(f"cat: tensors[{i}] is 0-d; 0-d tensors cannot be concatenated (use stack)")
    dtype = _cat_dtype(tensors)
    # As in PyTorch, 1-D empty tensors join anything: they count for the dtype only.
    if any(t.shape != (0,) for t in tensors):
        tensors = [t for t in tensors if t.shape != (0,)]
    ref = tensors[0]
    d = _dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(
            a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape)) if j != d
        ):
            raise ShapeError(
                f"cat: tensors[{i}] has shape {t.shape} but tensors[0] has shape {ref.shape}; "
                f"sizes must match except in dim {d}"
            )
    if len(tensors) == 1:
        return tensors[0] if tensors[0].dtype == dtype else tensors[0].to(dtype)
    check_devices("cat", *((f"tensors[{i}]", t) for i, t in enumerate(tensors)))
    return Cat.apply(*(t if t.dtype == dtype else t.to(dtype) for t in tensors), dim=d)


def _cat_dtype(tensors):
    """PyTorch's dtype for joined tensors (all with dims): the highest category (bool < integer <
    floating) wins, then NumPy's promotion within it."""
    rank = {"b": 0, "u": 1, "i": 1}
    top = max(rank.get(t.dtype.kind, 2) for t in tensors)
    return np.result_type(*[t.dtype for t in tensors if rank.get(t.dtype.kind, 2) == top])


def stack(tensors, dim=0):
    """Join tensors of one shape along a new dim."""
    _check_seq(tensors, "stack")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(
                f"stack: tensors[{i}] has shape {t.shape} but tensors[0] has shape "
                f"{tensors[0].shape}; stack needs equal shapes"
            )
    check_devices("stack", *((f"tensors[{i}]", t) for i, t in enumerate(tensors)))
    d = _dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``x`` along ``dim``: of size ``split_size`` (the last may be smaller) or of the
    listed sizes, which must add up to the dim's size."""
    arguments.integer("split", "dim", dim)
    d = _dim(dim, x.ndim, "split")
    n = x.shape[d]
    sections = split_size_or_sections
    if isinstance(sections, (tuple, list)):
        sizes = [arguments.integer("split", "split_size_or_sections", s) for s in sections]
        if any(s < 0 for s in sizes):
            raise ShapeError(f"split: split_size_or_sections must be non-negative, got {list(sections)}")
        if sum(sizes) != n:
            raise ShapeError(
                f"split: split_size_or_sections {list(sections)} add up to {sum(sizes)}, but dim {d} of "
                f"the input (shape {x.shape}) has size {n}"
            )
    else:
        if isinstance(sections, Tensor) or not isinstance(sections, numbers.Integral) or isinstance(
                sections, (bool, np.bool_)):
            raise DTypeError(f"split: split_size_or_sections must be an int or a list of ints, got "
                             f"{sections!r} ({type(sections).__name__})")
        size = int(sections)
        if size < 0 or size == 0 and n:
            raise ShapeError(f"split: split_size must be positive (split_size_or_sections={size}) for dim "
                             f"{d} of size {n}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if size else []
        sizes = sizes or [0]
    out, start = [], 0
    lead = (slice(None),) * d
    for s in sizes:
        out.append(getitem(x, lead + (slice(start, start + s),), _checked=True))
        start += s
    return tuple(out)


def chunk(x, chunks, dim=0):
    """Split into ``chunks`` pieces of (nearly) equal size, as ``torch.chunk``."""
    chunks = arguments.integer("chunk", "chunks", chunks, minimum=1)
    arguments.integer("chunk", "dim", dim)
    n = x.shape[_dim(dim, x.ndim, "chunk")]
    return split(x, max(1, -(-n // chunks)), dim)


# -- padding ------------------------------------------------------------------------------------


class Pad(Function):
    @staticmethod
    def forward(ctx, x, *, widths, value):
        ctx.slices = tuple(slice(lo, lo + s) for (lo, _), s in zip(widths, x.shape))
        return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return getitem(g, ctx.slices, _checked=True)


def pad(input, pad, mode="constant", value=0.0):
    """Pad with a constant, ``torch.nn.functional.pad`` style: ``pad`` lists (left, right) pairs
    starting from the last dim, e.g. ``(1, 1, 2, 2)`` pads the last dim by 1 and the one before by 2."""
    as_tensor_arg(input, "pad")
    if not isinstance(mode, str):
        raise DTypeError(f"pad: mode must be a str, got {mode!r} ({type(mode).__name__})")
    if mode != "constant":
        raise ShapeError(f"pad: mode {mode!r} is not supported; gradcnn pads with mode='constant'")
    pad = geometry.pad_sizes("pad", "pad", pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(
            f"pad: pad {pad} must hold (left, right) pairs for at most {input.ndim} dims "
            f"(input shape {input.shape})"
        )
    if value is None:
        value = 0.0  # PyTorch's meaning of value=None
    elif isinstance(value, (bool, np.bool_)):
        value = float(value)  # PyTorch takes a bool for a number here
    else:
        value = arguments.number("pad", "value", value, finite=False)
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for d, (lo, hi) in enumerate(widths):
        if input.shape[d] + lo + hi < 0:
            raise ShapeError(f"pad: padding ({lo}, {hi}) makes dim {d} of size {input.shape[d]} negative "
                             f"({input.shape[d] + lo + hi}) for input shape {tuple(input.shape)}")
    # Negative sizes crop, as in PyTorch: crop first, then pad what is positive.
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        input = getitem(input, tuple(slice(max(-lo, 0), input.shape[d] - max(-hi, 0))
                                     for d, (lo, hi) in enumerate(widths)))
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if not any(lo or hi for lo, hi in widths):
        return input
    geometry.check_fits("pad", "the output", tuple(n + lo + hi for n, (lo, hi) in zip(input.shape, widths)),
                        input.dtype.itemsize)
    return Pad.apply(input, widths=tuple(widths), value=value)


class Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, g):
        return g


def clone(x):
    """A copy of ``x`` with its own memory; gradients flow through."""
    return Clone.apply(x)


# -- gather and scatter along a dim ---------------------------------------------------------------


def _along(index, dim):
    """The fancy-index tuple that picks ``x[..., index[i, j, k], ...]`` (``index`` at ``dim``, the
    position itself elsewhere): what ``gather`` reads and ``scatter`` writes."""
    xp = get_array_module(index)
    grids = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (index.ndim - d - 1))
             for d, n in enumerate(index.shape)]
    grids[dim] = index
    return tuple(grids)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, *, dim, index, watch=()):
        ctx.dim, ctx.index, ctx.in_shape = dim, index, x.shape
        if watch:
            ctx.watch(*watch)
        return x[_along(index, dim)]

    @staticmethod
    def backward(ctx, g):
        return GatherAdjoint.apply(g, dim=ctx.dim, index=ctx.index, shape=ctx.in_shape)


class GatherAdjoint(Function):
    """``zeros(shape)`` with ``g`` added at the gathered positions (repeats add up)."""

    @staticmethod
    def forward(ctx, g, *, dim, index, shape):
        ctx.dim, ctx.index = dim, index
        out = get_array_module(g).zeros(shape, dtype=g.dtype)
        get_array_module(g).add.at(out, _along(index, dim), g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return Gather.apply(gg, dim=ctx.dim, index=ctx.index)


class Scatter(Function):
    """A copy of ``x`` with ``src`` (cut to the index's shape) written at the scattered positions."""

    @staticmethod
    def forward(ctx, x, src, *, dim, index, watch=()):
        ctx.dim, ctx.index = dim, index
        ctx.src_shape = _shape_of(src)
        if watch:
            ctx.watch(*watch)
        out = x.copy()
        if hasattr(src, "shape") and src.ndim:
            src = src[tuple(slice(0, n) for n in index.shape)]
        out[_along(index, dim)] = src
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gs = None
        if ctx.needs_input_grad[0]:
            gx = Scatter.apply(g, 0.0, dim=ctx.dim, index=ctx.index)
        if ctx.needs_input_grad[1]:
            gs = Gather.apply(g, dim=ctx.dim, index=ctx.index)
            if gs.shape != ctx.src_shape:
                gs = pad(gs, [w for d in reversed(range(gs.ndim))
                              for w in (0, ctx.src_shape[d] - gs.shape[d])])
        return gx, gs


def _gather_args(op, input, dim, index):
    as_tensor_arg(input, op)
    if not isinstance(index, Tensor):
        raise DTypeError(f"{op}: index must be a Tensor, got {type(index).__name__}")
    if index.dtype.kind not in "iu":
        raise DTypeError(f"{op}: index must be an integer tensor, got {index.dtype.name}")
    check_devices(op, ("input", input), ("index", index))
    d = _dim(dim, input.ndim, op)
    if index.ndim != input.ndim:
        raise ShapeError(f"{op}: index (shape {tuple(index.shape)}) must have as many dims as the "
                         f"input (shape {tuple(input.shape)})")
    for k in range(input.ndim):
        if k != d and index.shape[k] > input.shape[k]:
            raise ShapeError(f"{op}: index size {index.shape[k]} exceeds the input's {input.shape[k]} "
                             f"in dim {k} (index {tuple(index.shape)}, input {tuple(input.shape)})")
    idx = index._data
    if idx.size and (idx.min() < 0 or idx.max() >= input.shape[d]):
        bad = int(idx.min() if idx.min() < 0 else idx.max())
        raise IndexOutOfRangeError(f"{op}: index {bad} is out of bounds for dim {d} of size {input.shape[d]}")
    return d, idx.astype(np.intp, copy=False)


def gather(input, dim, index):
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim=0`` (and so on), as PyTorch."""
    d, idx = _gather_args("gather", input, dim, index)
    return Gather.apply(input, dim=d, index=idx, watch=(index,))


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (or the number ``value``) written where ``index`` points
    along ``dim``; ``reduce='add'`` adds instead (repeats add up); 'multiply' is not supported."""
    if reduce is not None and not isinstance(reduce, str):
        raise DTypeError(f"scatter: reduce must be a str, got {reduce!r} ({type(reduce).__name__})")
    if reduce == "multiply":
        raise ShapeError("scatter: reduce='multiply' is not supported; gradcnn takes reduce='add' or none")
    if reduce not in (None, "add"):
        raise ShapeError(f"scatter: reduce must be 'add' or 'multiply', got reduce={reduce!r}")
    if (src is None) == (value is None):
        raise DTypeError("scatter: give exactly one of src (a Tensor) and value (a number)")
    if src is None or not isinstance(src, Tensor):
        name, number = ("value", value) if src is None else ("src", src)
        src = arguments.number("scatter", name, number, finite=False) if not isinstance(number, bool) else number
    d, idx = _gather_args("scatter", input, dim, index)
    if reduce == "add":
        if not isinstance(src, Tensor):
            src = Tensor._make(get_array_module(idx).full(index.shape, src, dtype=input.dtype))
        return scatter_add(input, dim, index, src)
    if isinstance(src, Tensor):
        check_devices("scatter", ("input", input), ("src", src))
        if src.ndim != input.ndim or any(index.shape[k] > src.shape[k] for k in range(src.ndim)):
            raise ShapeError(f"scatter: src (shape {tuple(src.shape)}) must have the input's dims and "
                             f"be at least as large as index (shape {tuple(index.shape)})")
        _same_dtype("scatter", input, src)
    return Scatter.apply(input, src, dim=d, index=idx, watch=(index,))


def _same_dtype(op, input, src):
    if src.dtype != input.dtype:
        raise DTypeError(f"{op}: src has dtype {src.dtype.name} but input has dtype {input.dtype.name}; "
                         f"they must match (use src.to({input.dtype.name}))")


def scatter_add(input, dim, index, src):
    """``input`` plus ``src`` added where ``index`` points along ``dim`` (repeats add up)."""
    d, idx = _gather_args("scatter_add", input, dim, index)
    as_tensor_arg(src, "scatter_add", "src")
    check_devices("scatter_add", ("input", input), ("src", src))
    if src.ndim != input.ndim or any(index.shape[k] > src.shape[k] for k in range(src.ndim)):
        raise ShapeError(f"scatter_add: src (shape {tuple(src.shape)}) must have the input's dims and "
                         f"be at least as large as index (shape {tuple(index.shape)})")
    _same_dtype("scatter_add", input, src)
    region = getitem(src, tuple(slice(0, n) for n in index.shape), _checked=True)
    return input + GatherAdjoint.apply(region, dim=d, index=idx, shape=input.shape)


def one_hot(tensor, num_classes=-1):
    """Integer class indices to int64 one-hot rows: shape ``tensor.shape + (num_classes,)``;
    ``num_classes=-1`` means one more than the largest index."""
    if not isinstance(tensor, Tensor) or tensor.dtype.kind not in "iu":
        raise DTypeError(f"one_hot: expected an integer Tensor of class indices, got "
                         f"{getattr(tensor, 'dtype', type(tensor).__name__)}")
    idx = tensor._data
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise DTypeError(f"one_hot: num_classes must be an int, got {num_classes!r}")
    if num_classes == -1:
        if idx.size == 0:
            raise ShapeError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise IndexOutOfRangeError(f"one_hot: class values must be in [0, {num_classes}), got "
                                   f"{int(idx.min()) if idx.min() < 0 else int(idx.max())}")
    xp = get_array_module(idx)
    return Tensor._make((idx[..., None] == xp.arange(num_classes)).astype(np.int64))


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    as_tensor_arg(input, "unflatten")
    arguments.integer("unflatten", "dim", dim)
    d = _dim(dim, input.ndim, "unflatten")
    if not isinstance(sizes, (tuple, list)):
        raise DTypeError(f"unflatten: sizes must be a tuple of ints, got {sizes!r} ({type(sizes).__name__})")
    if not sizes:
        raise ShapeError(f"unflatten: sizes must be non-empty, got {tuple(sizes)}")
    sizes = _resolve_shape((tuple(sizes),), input.shape[d], f"dim {d} of the input (shape {input.shape})",
                           "unflatten", "sizes")
    return reshape(input, input.shape[:d] + sizes + input.shape[d + 1:])


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors, ``indexing`` 'ij' (matrix, PyTorch's default) or 'xy'."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        indexing = "ij"  # PyTorch's default
    if not isinstance(indexing, str):
        raise DTypeError(f"meshgrid: indexing must be a str, got {indexing!r} ({type(indexing).__name__})")
    if indexing not in ("ij", "xy"):
        raise ShapeError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ShapeError("meshgrid: expects a non-empty list of tensors")
    for i, t in enumerate(tensors):
        as_tensor_arg(t, "meshgrid", f"tensors[{i}]")
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: tensors[{i}] must be 0-d or 1-D, got shape {tuple(t.shape)}")
        if t.dtype != tensors[0].dtype:
            raise DTypeError(f"meshgrid: tensors[{i}] has dtype {t.dtype.name} but tensors[0] has "
                             f"{tensors[0].dtype.name}; all tensors must have the same dtype")
    if len(tensors) > 1:
        check_devices("meshgrid", *((f"tensors[{i}]", t) for i, t in enumerate(tensors)))
    flat = [reshape(t, (-1,)) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    shape = tuple(t.shape[0] for t in flat)
    grids = [expand(reshape(t, (1,) * i + (-1,) + (1,) * (len(flat) - i - 1)), shape) for i, t in enumerate(flat)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def flip(input, dims):
    """``input`` reversed along ``dims`` (an int or a sequence)."""
    as_tensor_arg(input, "flip")
    if isinstance(dims, numbers.Integral) and not isinstance(dims, (bool, np.bool_)):
        dims = (dims,)  # the method's flip(0)
    if not isinstance(dims, (tuple, list)):
        raise DTypeError(f"flip: dims must be a tuple of ints, got {dims!r} ({type(dims).__name__})")
    axes = set(_dims(tuple(dims), input.ndim, "flip"))
    key = tuple(slice(None, None, -1) if k in axes else slice(None) for k in range(input.ndim))
    return getitem(input, key, _checked=True)


def repeat(input, *sizes):
    """Tile ``input``: ``sizes[i]`` copies along dim i (leading sizes add dims), as Tensor.repeat."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < input.ndim:
        raise ShapeError(f"repeat: {len(sizes)} repeat counts for a tensor with {input.ndim} dims; "
                         "give at least one per dim")
    for r in sizes:
        if arguments.integer("repeat", "repeats", r) < 0:
            raise ShapeError(f"repeat: repeat counts must be non-negative ints, got repeats={sizes}")
    shape = (1,) * (len(sizes) - input.ndim) + tuple(input.shape)
    paired = [v for n in shape for v in (1, n)]
    out = reshape(input, tuple(paired))
    out = expand(out, tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
    return reshape(out, tuple(r * n for r, n in zip(sizes, shape)))


def t(input):
    """Transpose of a tensor with at most 2 dims (PyTorch's ``t``)."""
    as_tensor_arg(input, "t")
    if input.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got {input.ndim} (shape {tuple(input.shape)})")
    return input if input.ndim < 2 else transpose(input, 0, 1)
