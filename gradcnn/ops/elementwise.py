"""Elementwise primitives (with NumPy broadcasting) and their composites.

Binary ops accept a Tensor and a Python number or array on either side; only Tensor arguments get
gradients. Operands must share a device: a NumPy array with a CUDA tensor is a DeviceError, as are
tensors on two devices (a NumPy condition of ``where`` is a mask, and moves like an index does). Backward reduces each gradient to its input's shape with :func:`sum_to`.
Composites (``sub``, ``rsub``, ``square``, ...) own no derivative.
"""

import functools
import math
import numbers

import numpy as np

from ..arguments import integer as _integer
from ..arguments import number as _number
from ..autograd.function import Function
from ..backends import backend_of, device_of, get_array_module, is_array, is_cuda_array, parse_device
from ..backends import to_device as _move  # arrays; ``to_device`` below is the differentiable op
from ..errors import DeviceError, DTypeError, ShapeError
from ..tensor import DEFAULT_DTYPE, Tensor, check_devices, resolve_dtype
from .shape import clone, sum_to

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "abs",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "square",
    "clamp",
    "maximum",
    "minimum",
    "where",
    "sigmoid",
    "tanh",
    "relu",
    "cast",
    "to_device",
    "sign",
    "lt",
    "le",
    "gt",
    "ge",
    "eq",
    "ne",
]


def _shape(a):
    return getattr(a, "shape", ())


def _ieee(fn):
    """``fn`` computing as IEEE 754 and PyTorch do, without NumPy's warnings: 1 / 0 is inf, 0 / 0,
    log(-1) and sin(inf) are nan, exp(1000) is inf (the ops a backward calls included)."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return fn(*args, **kwargs)

    return run


def _no_bool(op, x):
    """PyTorch has no kernel of ``op`` for bool tensors ("not implemented for 'Bool'")."""
    if x.dtype == np.bool_:
        raise DTypeError(f"{op}: input must not be a bool tensor (shape {tuple(x.shape)}): {op} is not defined for bool")


def _tensor_input(op, x, name="input"):
    if not isinstance(x, Tensor):
        raise DTypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _check_broadcast(op, *shapes):
    """Raise a ShapeError naming the first dim, from the right, where ``shapes`` do not broadcast."""
    for d in range(1, max(len(s) for s in shapes) + 1):
        sizes = sorted({s[-d] for s in shapes if len(s) >= d} - {1})
        if len(sizes) > 1:
            raise ShapeError(
                f"{op}: shapes {', '.join(map(str, shapes))} do not broadcast: sizes "
                f"{', '.join(map(str, sizes))} meet in dim -{d} (sizes must be equal or 1)"
            ) from None


def _check_operand(op, other):
    if isinstance(other, (Tensor, numbers.Number, np.ndarray, np.generic)):
        return
    if is_cuda_array(other):  # a CuPy array: a constant, like a NumPy one
        return
    raise DTypeError(f"{op}: unsupported operand of type {type(other).__name__}")


_FAST = (Tensor, float, int)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}
_DEFAULT_OF_CATEGORY = {0: np.dtype(np.bool_), 1: np.dtype(np.int64), 2: DEFAULT_DTYPE}


def _operand_rank(x):
    """(category, priority, dtype) of an operand under PyTorch's promotion: a tensor with dims
    outranks a 0-d tensor, which outranks a Python number, within one category."""
    if isinstance(x, bool):
        return 0, 0, _DEFAULT_OF_CATEGORY[0]
    if isinstance(x, numbers.Integral):
        return 1, 0, _DEFAULT_OF_CATEGORY[1]
    if isinstance(x, numbers.Real) and not isinstance(x, np.generic):
        return 2, 0, _DEFAULT_OF_CATEGORY[2]
    arr = x._data if isinstance(x, Tensor) else x
    dt = np.dtype(arr.dtype)
    return _CATEGORY.get(dt.kind, 2), 2 if getattr(arr, "ndim", 0) else 1, dt


def result_type(*operands):
    """The dtype PyTorch gives an elementwise op on ``operands`` (Tensors, arrays, numbers): the
    highest category (bool < integer < floating) wins; within it, tensors with dims outrank 0-d
    tensors, which outrank numbers; numbers alone give the default dtype of their category
    (int64, or float32 for floats)."""
    ranks = [_operand_rank(x) for x in operands]
    top = max(r[0] for r in ranks)
    best = max(r[1] for r in ranks if r[0] == top)
    if best == 0:
        return _DEFAULT_OF_CATEGORY[top]
    return np.result_type(*[r[2] for r in ranks if r[0] == top and r[1] == best])


def _promoted(a, b, floating):
    """``a`` and ``b`` converted so that NumPy computes in PyTorch's result dtype (and in a
    floating one when ``floating``, as true division needs)."""
    dt = result_type(a, b)
    if floating and dt.kind != "f":
        dt = DEFAULT_DTYPE
    return _to_dtype_operand(a, dt), _to_dtype_operand(b, dt)


def _to_dtype_operand(x, dt):
    if isinstance(x, Tensor):
        return x if x._data.dtype == dt else cast(x, dt)
    if isinstance(x, np.ndarray) or is_cuda_array(x) or isinstance(x, np.generic):
        return x if x.dtype == dt else x.astype(dt)
    return x  # a Python number is weak in NumPy: it takes the array's dtype


def _needs_promotion(a, b, floating):
    """False for the common cases where NumPy already gives PyTorch's dtype."""
    ta, tb = type(a), type(b)
    if ta is tb is Tensor:
        da, db = a._data.dtype, b._data.dtype
        return da != db or (floating and da.kind != "f")
    if ta is Tensor and tb in (float, int):
        kind = a._data.dtype.kind
        return not (kind == "f" or (tb is int and kind in "iu" and not floating))
    if tb is Tensor and ta in (float, int):
        kind = b._data.dtype.kind
        return not (kind == "f" or (ta is int and kind in "iu" and not floating))
    return True


def _binary(cls, op, a, b, floating=False):
    ta, tb = type(a), type(b)
    if ta is tb is Tensor:
        da, db = a._data, b._data
        if type(da) is not type(db) or (type(da) is not np.ndarray and da.device.id != db.device.id):
            raise DeviceError(f"{op}: operands are on different devices ({a.device} and {b.device})")
    elif ta not in _FAST or tb not in _FAST:  # the common cases skip the slower checks
        _check_operand(op, a)
        _check_operand(op, b)
        check_devices(op, ("input", a), ("other", b))
    if _needs_promotion(a, b, floating):
        a, b = _promoted(a, b, floating)
    try:
        return cls.apply(a, b)
    except ValueError:
        # Checked only on failure, so the common case pays nothing for it.
        _check_broadcast(op, _shape(a), _shape(b))
        raise


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (getattr(a, "shape", ()), getattr(b, "shape", ()))
        return a + b

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (
            sum_to(g, ctx.shapes[0]) if na else None,
            sum_to(g, ctx.shapes[1]) if nb else None,
        )


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        # Save only what a wanted gradient needs: x.mul_(2.0) on a non-leaf must not save x.
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a if nb else None, b if na else None)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (
            sum_to(g * b, ctx.shapes[0]) if na else None,
            sum_to(g * a, ctx.shapes[1]) if nb else None,
        )


class Div(Function):
    @staticmethod
    @_ieee
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a / b

    @staticmethod
    @_ieee
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = sum_to(g / b, ctx.shapes[0])
        if nb:
            gb = sum_to(-g * a / (b * b), ctx.shapes[1])
        return ga, gb


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class Pow(Function):
    @staticmethod
    @_ieee
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = a**b
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    @_ieee
    def backward(ctx, g):
        a, b, y = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        ga = gb = None
        if na:
            ga = sum_to(g * b * a ** (b - 1), ctx.shapes[0])
        if nb:
            # d(a^b)/db = a^b log a; define it as 0 where a == 0 (the limit along b > 0).
            if isinstance(a, Tensor):
                log_a = log(where(a._data > 0, a, 1.0))
            else:  # a number (saved as itself)
                log_a = math.log(a) if a > 0 else 0.0
            gb = sum_to(g * y * log_a, b.shape)
        return ga, gb


class Exp(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        y = get_array_module(x).exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class Log(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log(x)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class Log1p(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).log1p(x)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (x + 1.0)


class Sqrt(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        y = get_array_module(x).sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g / (y * 2.0)


class _Masked(Function):
    """``y = f(x)`` whose derivative is a constant array ``ctx.slope`` (piecewise linear ops)."""

    @staticmethod
    def backward(ctx, g):
        return g * ctx.slope


class Abs(Function):
    """``|x|``; it saves its input, as PyTorch does, so changing that in place before backward is
    an error."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).abs(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * sign(x)


class Reciprocal(Function):
    """``1 / x``; like PyTorch's it saves its output, not its input."""

    @staticmethod
    @_ieee
    def forward(ctx, x):
        y = get_array_module(x).reciprocal(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -g * y * y


class Clamp(_Masked):
    @staticmethod
    def forward(ctx, x, *, lo, hi):
        xp = get_array_module(x)
        inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            inside &= x >= lo
        if hi is not None:
            inside &= x <= hi
        ctx.slope = inside.astype(x.dtype)
        return xp.clip(x, lo, hi)


class Relu(Function):
    """``max(x, 0)``; NaN stays NaN, as in PyTorch. Like PyTorch it saves its output, not a mask:
    the output usually lives on as the next layer's input, so backward costs no extra memory."""

    @staticmethod
    def forward(ctx, x):
        y = backend_of(x).relu_forward(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return ReluGrad.apply(g, y=y._data)


class ReluGrad(Function):
    """``g`` where ReLU's output ``y`` is positive, else 0 (PyTorch's ``threshold_backward``):
    linear in ``g``, so it is its own derivative."""

    @staticmethod
    def forward(ctx, g, *, y):
        ctx.y = y
        return backend_of(y).relu_backward(g, y)

    @staticmethod
    def backward(ctx, gg):
        return ReluGrad.apply(gg, y=ctx.y)


class _Select(Function):
    """Binary ops that pick one operand per element; ties share the gradient equally."""

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (
            sum_to(g * ctx.wa, ctx.shapes[0]) if na else None,
            sum_to(g * (1.0 - ctx.wa), ctx.shapes[1]) if nb else None,
        )


class Maximum(_Select):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = get_array_module(a if hasattr(a, "shape") else b).maximum(a, b)
        dt = y.dtype if y.dtype.kind == "f" else np.float64
        ctx.wa = (a > b).astype(dt) + 0.5 * (a == b)
        return y


class Minimum(_Select):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        y = get_array_module(a if hasattr(a, "shape") else b).minimum(a, b)
        dt = y.dtype if y.dtype.kind == "f" else np.float64
        ctx.wa = (a < b).astype(dt) + 0.5 * (a == b)
        return y


class Where(Function):
    @staticmethod
    def forward(ctx, a, b, *, cond, watch=()):
        ctx.cond = cond
        if watch:
            ctx.watch(*watch)
        ctx.shapes = (_shape(a), _shape(b))
        return get_array_module(cond).where(cond, a, b)

    @staticmethod
    def backward(ctx, g):
        na, nb = ctx.needs_input_grad
        return (
            sum_to(where(ctx.cond, g, 0.0), ctx.shapes[0]) if na else None,
            sum_to(where(ctx.cond, 0.0, g), ctx.shapes[1]) if nb else None,
        )


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        # 0.5 * tanh(x / 2) + 0.5 never overflows, unlike 1 / (1 + exp(-x)).
        y = get_array_module(x).tanh(x * 0.5) * 0.5 + 0.5
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1.0 - y)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        y = get_array_module(x).tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1.0 - y * y)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, *, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.in_dtype)


class ToDevice(Function):
    @staticmethod
    def forward(ctx, x, *, device):
        ctx.in_device = device_of(x)
        return _move(x, device)

    @staticmethod
    def backward(ctx, g):
        return to_device(g, ctx.in_device)


class Sin(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).sin(x)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * cos(x)


class Cos(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).cos(x)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return -g * sin(x)


class Asin(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arcsin(x)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / sqrt(1.0 - x * x)


class Atan(Function):
    @staticmethod
    @_ieee
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return get_array_module(x).arctan(x)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / (1.0 + x * x)


# -- public functions ---------------------------------------------------------------------------


def add(input, other):
    """``input + other``, broadcasting."""
    return _binary(Add, "add", input, other)


def _is_bool(x):
    if isinstance(x, (bool, np.bool_)):
        return True
    dt = getattr(x, "dtype", None)
    return dt is not None and np.dtype(dt) == np.bool_


def sub(input, other):
    """``input - other``: a composite, ``input + (-other)``. As in PyTorch, a bool operand is
    refused: ``~mask`` or ``logical_not`` inverts a mask."""
    for name, x in (("input", input), ("other", other)):
        if _is_bool(x):
            raise DTypeError(
                f"sub: {name} is a bool {'tensor' if hasattr(x, 'shape') else 'value'} ({x!r}); subtraction "
                "with bools is not supported: use ~ or logical_not() to invert a mask"
            )
    if not isinstance(other, Tensor):
        _check_operand("sub", other)
        return _binary(Add, "sub", input, -other)
    return _binary(Add, "sub", input, neg(other))


def mul(input, other):
    """``input * other``, broadcasting."""
    return _binary(Mul, "mul", input, other)


def div(input, other):
    """``input / other`` (true division), broadcasting. A number divided by a tensor is
    ``reciprocal(other) * input``, as in PyTorch (whose backward then needs no copy of ``other``)."""
    if isinstance(other, Tensor) and isinstance(input, (numbers.Number, np.generic)) and not isinstance(
        input, (bool, np.bool_, complex)
    ):
        return mul(reciprocal(other), input)
    return _binary(Div, "div", input, other, floating=True)


def neg(input):
    return Neg.apply(input)


def pow(input, exponent):
    """``input ** exponent``; either may be a Tensor. An integer tensor to a negative integer
    power is refused, as in PyTorch."""
    if (
        isinstance(input, Tensor)
        and input.dtype.kind in "biu"
        and isinstance(exponent, numbers.Integral)
        and not isinstance(exponent, (bool, np.bool_))
        and exponent < 0
    ):
        raise ShapeError(f"pow: integers to negative integer powers are not allowed (exponent={exponent}, "
                         f"input dtype {input.dtype.name})")
    return _binary(Pow, "pow", input, exponent)


def square(input):
    return mul(input, input)


def _unary(cls, x, op):
    _tensor_input(op, x)
    if x.dtype.kind not in "fc":
        x = cast(x, np.float32)
    return cls.apply(x)


def abs(input):
    """``|input|``; its gradient at 0 is 0. Integer tensors stay integer; bool ones are refused, as
    in PyTorch."""
    _no_bool("abs", _tensor_input("abs", input))
    return Abs.apply(input)


def exp(input):
    return _unary(Exp, input, "exp")


def log(input):
    return _unary(Log, input, "log")


def log1p(input):
    """``log(1 + input)``, accurate for small inputs."""
    return _unary(Log1p, input, "log1p")


def sqrt(input):
    return _unary(Sqrt, input, "sqrt")


def sigmoid(input):
    return _unary(Sigmoid, input, "sigmoid")


def tanh(input):
    return _unary(Tanh, input, "tanh")


def relu(input, inplace=False):
    """``max(input, 0)``; its gradient at 0 is 0, and NaN stays NaN. ``inplace=True`` writes the
    result into ``input`` (refused, as in PyTorch, for a leaf that requires grad)."""
    _no_bool("relu", _tensor_input("relu", input))
    return input._assign(Relu.apply(input), "relu_") if inplace else Relu.apply(input)


def clamp(input, min=None, max=None):
    """Limit values to ``[min, max]`` (numbers or tensors, broadcasting), as ``minimum(maximum(input,
    min), max)``: where ``min > max`` the result is ``max``, as in PyTorch. The gradient passes where
    ``min <= input <= max``; a tensor bound gets it where it was the one picked."""
    _tensor_input("clamp", input)
    if min is None and max is None:
        raise DTypeError("clamp: at least one of min and max must be given (got min=None, max=None)")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _clamp_tensor(input, min, max)
    lo = None if min is None else _number("clamp", "min", min, finite=False)
    hi = None if max is None else _number("clamp", "max", max, finite=False)
    dt = result_type(input, *[v for v in (lo, hi) if v is not None])
    if dt != input.dtype:
        input = cast(input, dt)
    return Clamp.apply(input, lo=lo, hi=hi)


def _clamp_tensor(input, min, max):
    """``clamp`` with a tensor bound: a composite of two ``where``s, so that each bound gets the
    gradient where it was picked. NaN in ``input`` stays NaN."""
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, Tensor):
            raise DTypeError(
                f"clamp: min and max must both be numbers or both be tensors, got {name}={v!r} with a tensor bound"
            )
    _check_broadcast("clamp", input.shape, *[_shape(v) for v in (min, max) if v is not None])
    out = input
    if min is not None:
        below = _data_of(out) < _data_of(min)
        out = where(below, min, out)
    if max is not None:
        above = _data_of(out) > _data_of(max)
        out = where(above, max, out)
    dt = result_type(input, *[v for v in (min, max) if v is not None])
    return out if out.dtype == dt else cast(out, dt)


def _data_of(x):
    return x._data if isinstance(x, Tensor) else x


def _describe(x):
    return f"shape {tuple(x.shape)}" if hasattr(x, "shape") else repr(x)


def _tensor_pair(op, input, other):
    """PyTorch's ``maximum`` and ``minimum`` take two tensors, not a tensor and a number."""
    _tensor_input(op, input)
    _tensor_input(op, other, "other")


def maximum(input, other):
    """Elementwise maximum of two tensors; where the two are equal each gets half the gradient."""
    _tensor_pair("maximum", input, other)
    return _binary(Maximum, "maximum", input, other)


def minimum(input, other):
    """Elementwise minimum of two tensors; where the two are equal each gets half the gradient."""
    _tensor_pair("minimum", input, other)
    return _binary(Minimum, "minimum", input, other)


def where(condition, input, other):
    """``input`` where ``condition`` holds, else ``other`` (broadcasting all three)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    if not is_array(cond):
        cond = np.asarray(cond)
    if cond.dtype == np.uint8:  # PyTorch still takes a uint8 mask (deprecated there)
        cond = cond != 0
    elif cond.dtype != np.bool_:
        raise DTypeError(f"where: condition must be a bool tensor, got {cond.dtype.name}")
    if type(cond) is np.ndarray and not isinstance(condition, Tensor):
        # A NumPy mask (or list) is a constant, like an index: it goes to the operands' device.
        on_gpu = [t for t in (input, other) if isinstance(t, Tensor) and type(t._data) is not np.ndarray]
        if on_gpu:
            cond = _move(cond, on_gpu[0].device)
    _check_operand("where", input)
    _check_operand("where", other)
    check_devices("where", ("condition", cond), ("input", input), ("other", other))
    if _needs_promotion(input, other, False):
        input, other = _promoted(input, other, False)
    watch = (condition,) if isinstance(condition, Tensor) else ()
    try:
        return Where.apply(input, other, cond=cond, watch=watch)
    except ValueError:
        _check_broadcast("where", cond.shape, _shape(input), _shape(other))
        raise


def cast(input, dtype):
    """``input`` converted to ``dtype``; gradients are converted back. A cast to an integer or bool
    dtype is a constant, as in PyTorch: rounding has no useful gradient."""
    dtype = resolve_dtype(dtype, "cast")
    if input.dtype == dtype:
        return input
    if dtype.kind != "f":
        return Tensor._make(input._data.astype(dtype))
    return Cast.apply(input, dtype=dtype)


def to_device(input, device):
    if input.device == device:
        return input
    return ToDevice.apply(input, device=device)


def to(input, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):  # noqa: ARG001
    """``t.to(dtype)``, ``t.to(device)``, ``t.to(device, dtype)``, ``t.to(other)``: differentiable
    moves and casts; ``input`` itself when nothing changes, unless ``copy=True``. ``non_blocking``
    and ``memory_format`` are accepted, as in PyTorch, and change nothing: copies are synchronous
    and tensors are always contiguous."""
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str) or type(a).__name__ == "device":
            device = a
        else:
            dtype = a
    out = input
    if device is not None:
        out = to_device(out, parse_device(device))
    if dtype is not None:
        out = cast(out, resolve_dtype(dtype, "to"))
    return clone(out) if copy and out is input else out


def _to_dtype(dtype):
    def method(self):
        return to(self, dtype=dtype)

    method.__name__ = np.dtype(dtype).name
    method.__doc__ = f"``self.to({np.dtype(dtype).name})``."
    return method


CONVERSIONS = {
    "to": to,
    "cpu": lambda self, memory_format=None: to(self, "cpu"),  # noqa: ARG005 (PyTorch's signature)
    "cuda": lambda self, device=None, non_blocking=False, memory_format=None: to(  # noqa: ARG005
        self, "cuda" if device is None else device if isinstance(device, str) else f"cuda:{device}"),
    "float": _to_dtype(np.float32),
    "double": _to_dtype(np.float64),
    "half": _to_dtype(np.float16),
    "long": _to_dtype(np.int64),
    "int": _to_dtype(np.int32),
    "bool": _to_dtype(np.bool_),
    "type_as": lambda self, other: to(self, other.dtype),
}


def sign(input):
    """-1, 0 or 1 per element (not differentiable: the result never requires grad)."""
    return Tensor._make(get_array_module(input._data).sign(input._data))


def _compare(ufunc_name):
    def compare(input, other):
        a = input._data if isinstance(input, Tensor) else input
        b = other._data if isinstance(other, Tensor) else other
        if type(a) is not type(b):
            check_devices(ufunc_name, ("input", a), ("other", b))
        return Tensor._make(getattr(get_array_module(a if hasattr(a, "shape") else b), ufunc_name)(a, b))

    compare.__name__ = ufunc_name
    compare.__doc__ = f"Elementwise ``{ufunc_name}`` as a bool tensor (not differentiable)."
    return compare


lt = _compare("less")
le = _compare("less_equal")
gt = _compare("greater")
ge = _compare("greater_equal")
eq = _compare("equal")
ne = _compare("not_equal")


# -- trigonometric and hyperbolic functions (sin, cos, asin, atan are primitives) ----------------


def sin(input):
    return _unary(Sin, input, "sin")


def cos(input):
    return _unary(Cos, input, "cos")


def tan(input):
    """``sin / cos``: a composite."""
    input = _unary_input(input, "tan")
    return sin(input) / cos(input)


def asin(input):
    return _unary(Asin, input, "asin")


def acos(input):
    """``pi / 2 - asin``: a composite."""
    return neg(asin(_unary_input(input, "acos"))) + math.pi / 2


def atan(input):
    return _unary(Atan, input, "atan")


def sinh(input):
    input = _unary_input(input, "sinh")
    return (exp(input) - exp(neg(input))) * 0.5


def cosh(input):
    input = _unary_input(input, "cosh")
    return (exp(input) + exp(neg(input))) * 0.5


def reciprocal(input):
    """``1 / input`` (integers and bools compute in the default floating dtype)."""
    return Reciprocal.apply(_unary_input(input, "reciprocal"))


def rsqrt(input):
    """``1 / sqrt(input)``: a composite."""
    return reciprocal(sqrt(_unary_input(input, "rsqrt")))


def _unary_input(x, op):
    """``x`` checked to be a Tensor, as a floating one (integers compute in the default dtype)."""
    if not isinstance(x, Tensor):
        raise DTypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x if x.dtype.kind == "f" else cast(x, DEFAULT_DTYPE)


# -- rounding and predicates: piecewise constant, so not differentiable --------------------------


def _constant(ufunc_name, doc, floating_only=False):
    def fn(input):
        _tensor_input(ufunc_name, input)
        data = input._data
        if floating_only:  # the rounding functions: PyTorch has no bool kernel for them
            _no_bool(ufunc_name, input)
        if floating_only and data.dtype.kind != "f":
            return Tensor._make(data.copy())
        return Tensor._make(getattr(get_array_module(data), ufunc_name)(data))

    fn.__name__ = ufunc_name
    fn.__doc__ = doc
    return fn


floor = _constant("floor", "Elementwise floor (integers are returned unchanged).", True)
ceil = _constant("ceil", "Elementwise ceiling (integers are returned unchanged).", True)
trunc = _constant("trunc", "Elementwise truncation toward zero (integers unchanged).", True)
isnan = _constant("isnan", "Where ``input`` is NaN, as a bool tensor.")
isinf = _constant("isinf", "Where ``input`` is infinite, as a bool tensor.")
isfinite = _constant("isfinite", "Where ``input`` is finite, as a bool tensor.")
logical_not = _constant("logical_not", "Elementwise NOT of the truth values, as a bool tensor.")


def _promoted_ufunc(ufunc_name, doc, integral=False):
    """A non-differentiable elementwise op that NumPy computes in PyTorch's result dtype;
    ``integral`` ones take bool and integer tensors only."""

    def fn(input, other):
        _check_operand(ufunc_name, input)
        _check_operand(ufunc_name, other)
        check_devices(ufunc_name, ("input", input), ("other", other))
        dt = result_type(input, other)
        if integral and dt.kind not in "biu":
            raise DTypeError(f"{fn.__name__}: needs bool or integer tensors, got {dt.name}")
        if ufunc_name == "floor_divide":
            _check_integer_divisor(fn.__name__, dt, other)
        a, b = (x._data if isinstance(x, Tensor) else x for x in _promoted(input, other, False))
        try:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # x // 0 is inf, as in PyTorch
                return Tensor._make(getattr(get_array_module(a if hasattr(a, "shape") else b), ufunc_name)(a, b))
        except ValueError:
            _check_broadcast(fn.__name__, _shape(a), _shape(b))
            raise

    fn.__name__ = ufunc_name
    fn.__doc__ = doc
    return fn


floor_divide = _promoted_ufunc(
    "floor_divide", "``input // other``: the quotient rounded toward minus infinity, as in PyTorch "
    "(not differentiable).")
bitwise_and = _promoted_ufunc("bitwise_and", "``&``: AND of bool tensors, bitwise AND of integer ones.", True)
bitwise_or = _promoted_ufunc("bitwise_or", "``|``: OR of bool tensors, bitwise OR of integer ones.", True)
bitwise_xor = _promoted_ufunc("bitwise_xor", "``^``: XOR of bool tensors, bitwise XOR of integer ones.", True)
logical_and = _promoted_ufunc("logical_and", "Elementwise AND of the truth values, as a bool tensor.")
logical_or = _promoted_ufunc("logical_or", "Elementwise OR of the truth values, as a bool tensor.")
logical_xor = _promoted_ufunc("logical_xor", "Elementwise XOR of the truth values, as a bool tensor.")


def bitwise_not(input):
    """``~``: NOT of a bool tensor, bitwise NOT of an integer one."""
    if not isinstance(input, Tensor):
        raise DTypeError(f"bitwise_not: expected a Tensor, got {type(input).__name__}")
    if input.dtype.kind not in "biu":
        raise DTypeError(f"bitwise_not: needs a bool or integer tensor, got {input.dtype.name}")
    return Tensor._make(get_array_module(input._data).invert(input._data))


class Remainder(Function):
    """Python's modulus, whose sign is the divisor's (PyTorch's ``remainder``, ``%``)."""

    @staticmethod
    @_ieee
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[1] else None)
        return get_array_module(a if hasattr(a, "shape") else b).remainder(a, b)

    @staticmethod
    @_ieee
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (
            sum_to(g, ctx.shapes[0]) if na else None,
            sum_to(-(g * floor_divide(a, b)), ctx.shapes[1]) if nb else None,
        )


def remainder(input, other):
    """``input % other`` with the sign of ``other``; its gradient is 1 for ``input`` and
    ``-(input // other)`` for ``other``. A floating ``x % 0`` is nan; an integer one is an error,
    as in PyTorch."""
    _check_operand("remainder", input)
    _check_operand("remainder", other)
    _check_integer_divisor("remainder", result_type(input, other), other)
    return _binary(Remainder, "remainder", input, other)


def _check_integer_divisor(op, dt, other):
    """Integer division by zero has no result (PyTorch raises "ZeroDivisionError"); bool has no kernel."""
    if dt.kind == "b":
        raise DTypeError(f"{op}: not defined for bool operands")
    if dt.kind in "iu":
        d = _data_of(other)
        if not ((d != 0).all() if hasattr(d, "shape") else d != 0):
            raise ShapeError(f"{op}: integer division by zero: other ({_describe(other)}) has a 0")


def round(input, *, decimals=0):
    """Round half to even, as PyTorch (and NumPy) do; integers are returned unchanged."""
    _no_bool("round", _tensor_input("round", input))
    decimals = _integer("round", "decimals", decimals)
    if input._data.dtype.kind != "f":
        if decimals:
            raise DTypeError(f"round: decimals={decimals} needs a floating input, got {input.dtype.name}")
        return Tensor._make(input._data.copy())
    return Tensor._make(get_array_module(input._data).round(input._data, decimals))


def masked_fill(input, mask, value):
    """``input`` with ``value`` where the bool ``mask`` (broadcast) holds: a composite of where."""
    if not isinstance(input, Tensor):
        raise DTypeError(f"masked_fill: input must be a Tensor, got {type(input).__name__}")
    m = mask._data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) != np.bool_:
        raise DTypeError(f"masked_fill: mask must be a bool tensor, got {getattr(m, 'dtype', type(m).__name__)}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {tuple(value.shape)}")
        value = cast(value, input.dtype)
    elif isinstance(value, (numbers.Real, np.bool_)):
        value = input._data.dtype.type(value)
    else:
        raise DTypeError(f"masked_fill: value must be a number or a 0-d tensor, got {value!r} ({type(value).__name__})")
    _check_broadcast("masked_fill", _shape(m), input.shape)
    out = where(mask, value, input)
    return out if out.dtype == input.dtype else cast(out, input.dtype)
