"""``Tensor``: an array (NumPy on "cpu", CuPy on "cuda") plus what autograd needs.

A tensor is a *leaf* when no recorded call made it (``grad_fn is None``): parameters and inputs. A
leaf that requires grad receives ``.grad`` from ``backward()``; gradients accumulate until
``zero_grad()`` or ``t.grad = None``.

The differentiable methods and operators (``+``, ``sum``, ``reshape``, ``__getitem__``, ``to``,
``copy_``, ...) are attached by :mod:`gradcnn.ops` when it is imported: this module sits below the ops
and never imports them; their docstrings live with the ops. The array lives in ``_data``.

Every tensor carries a version counter, shared with the views made from it, that in-place changes
bump; a backward that needs a saved tensor checks its version first.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import numpy as np

from .arguments import flag
from .autograd import tape
from .autograd.function import Function, register_tensor_class
from .backends import device, device_of, get_array_module, is_array, is_cuda_array, parse_device, to_device
from .errors import AutogradError, DeviceError, DTypeError, IndexOutOfRangeError, ShapeError

__all__ = ["Tensor", "resolve_dtype", "check_devices", "DEFAULT_DTYPE"]

DEFAULT_DTYPE = np.dtype(np.float32)

_SUPPORTED = {
    np.dtype(t)
    for t in (
        np.float16,
        np.float32,
        np.float64,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.bool_,
    )
}


def resolve_dtype(dtype, what="dtype"):
    """``dtype`` as a NumPy dtype, or a DTypeError naming the supported ones."""
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise DTypeError(f"{what}: {dtype!r} is not a dtype") from exc
    if dt not in _SUPPORTED:
        names = ", ".join(sorted(d.name for d in _SUPPORTED))
        raise DTypeError(f"{what}: dtype {dt.name} is not supported; use one of {names}")
    return dt


def is_floating(dtype):
    return dtype.kind == "f"


def as_array(data, dtype=None, device=None, copy=True):
    """``data`` (a number, nested lists, an array or a Tensor) as an array of the resolved dtype on
    ``device``; a fresh copy unless ``copy=False`` and nothing needs converting."""
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.generic) or is_array(data):
        arr = data
    else:
        try:
            arr = np.asarray(data)
        except ValueError as exc:
            raise ShapeError(f"tensor: cannot make a tensor from ragged data ({exc})") from exc
        if arr.dtype == object:
            raise DTypeError(f"tensor: cannot make a tensor from {type(data).__name__} {data!r:.80}")
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(DEFAULT_DTYPE)
        elif dtype is None and arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
    dt = resolve_dtype(arr.dtype if dtype is None else dtype, "tensor")
    arr = to_device(arr, parse_device(device)) if device is not None else arr
    if copy or arr.dtype != dt:
        arr = arr.astype(dt, copy=True)
    if arr.ndim == 0 and isinstance(arr, np.generic):
        arr = np.asarray(arr)
    return arr


class _Version:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """An n-dimensional array that can record the operations made on it.

    Create tensors with :func:`gradcnn.tensor`, :func:`gradcnn.zeros`, :func:`gradcnn.randn` and
    friends; ``Tensor(data)`` is the same as ``gradcnn.tensor(data)``.
    """

    __slots__ = ("_data", "_grad", "_requires_grad", "_node", "_version", "_is_view", "__weakref__")
    # NumPy defers to our reflected operators: ``ndarray + Tensor`` calls ``Tensor.__radd__``.
    __array_ufunc__ = None

    def __init__(self, data: object, *, dtype: object = None, device: str | None = None,
                 requires_grad: bool = False) -> None:
        requires_grad = flag("tensor", "requires_grad", requires_grad)
        self._data = as_array(data, dtype, device)
        self._grad = None
        self._requires_grad = False
        self._node = None
        self._version = _Version()
        self._is_view = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data, node=None, version=None):
        """Wrap an array without copying or checking (the fast path for ops)."""
        t = object.__new__(cls)
        if type(data) is not np.ndarray and not is_cuda_array(data):
            data = np.asarray(data)
        t._data = data
        t._grad = None
        t._requires_grad = node is not None
        t._node = node
        t._version = _Version() if version is None else version
        t._is_view = version is not None
        return t

    @property
    def data(self):
        """This tensor's values as a tensor that shares its memory, is cut from the graph and does
        not require grad, as in PyTorch: ``w.data.sub_(lr * w.grad)`` updates ``w`` unrecorded.
        Unlike :meth:`detach`, changes made through it are not seen by autograd's version checks.
        Assigning a Tensor to ``data`` replaces the values (shape and dtype may change)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise DTypeError(
                f"data: assign a Tensor (shape {self.shape}), not {type(value).__name__}; "
                "use gradcnn.as_tensor(array) for an array"
            )
        self._data = value._data

    # -- autograd ---------------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = flag("requires_grad", "requires_grad", value)
        if value and not is_floating(self._data.dtype):
            raise DTypeError(
                f"requires_grad: only floating tensors can require gradients, this one is "
                f"{self._data.dtype.name} with shape {self.shape}"
            )
        if self._node is not None and not value:
            raise AutogradError(
                "requires_grad: only leaf tensors can change requires_grad; "
                "use detach() for a non-leaf"
            )
        self._requires_grad = value

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()``; ``None`` until then. An assigned gradient
        must be a Tensor (or None) of this tensor's shape, dtype and device, as in PyTorch."""
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise DTypeError(f"grad: the assigned grad must be a Tensor or None, got {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise ShapeError(f"grad: cannot assign a gradient of shape {value.shape} to a tensor of "
                                 f"shape {self.shape}; they must have the same shape")
            if value._data.dtype != self._data.dtype:
                raise DTypeError(f"grad: cannot assign a gradient of dtype {value.dtype.name} to a tensor of "
                                 f"dtype {self.dtype.name}; convert it with .to({self.dtype.name})")
            if type(value._data) is not type(self._data) and value.device != self.device:
                raise DeviceError(f"grad: cannot assign a gradient on {value.device} to a tensor on {self.device}")
        self._grad = value

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return ``self``."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        """The tape node that made this tensor, or ``None`` for a leaf."""
        return tape.node_of(self._node)

    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Tensor | list[Tensor] | None = None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on
        (of ``inputs`` only, when given).

        ``gradient`` is required for a tensor with more than one element (the vector of a
        vector-Jacobian product). The graph is freed afterwards unless ``retain_graph=True``
        (its default is ``create_graph``); ``create_graph=True`` records the backward pass itself,
        for higher derivatives.
        """
        tape.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> tape.RemovableHandle:
        """Call ``hook(grad)`` whenever the gradient with respect to this tensor is computed; a
        hook that returns a tensor replaces it. Returns a handle with ``remove()``."""
        return tape.register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[[Tensor], None]) -> tape.RemovableHandle:
        """Call ``hook(self)`` after backward has accumulated into this leaf's ``.grad``."""
        return tape.register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf in ``.grad`` during backward, as a leaf's is kept."""
        if self._node is None:
            if not self._requires_grad:
                raise AutogradError("retain_grad: cannot retain the gradient of a tensor that does "
                                    f"not require grad (shape {self.shape})")
            return
        if id(self) in _retaining:
            return
        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                g = grad.detach()
                t.grad = Tensor._make(g._data.copy()) if t.grad is None else t.grad + g

        tape.register_hook(self, keep, last=True)
        _retaining.add(id(self))
        weakref.finalize(self, _retaining.discard, id(self))

    @property
    def retains_grad(self) -> bool:
        """Whether :meth:`retain_grad` was called on this non-leaf."""
        return id(self) in _retaining

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph."""
        return Tensor._make(self._data, None, self._version)

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
        self._node = None
        self._requires_grad = False
        return self

    def zero_grad_(self):
        self.grad = None
        return self

    # -- facts ------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> device:
        """Where the data lives: a :class:`gradcnn.device`, which is also the string ``"cpu"`` or
        ``"cuda:N"``."""
        return device(device_of(self._data))

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        if dim is None:
            return self._data.shape
        return self._data.shape[_dim(dim, self.ndim, "size")]

    def numel(self) -> int:
        return int(self._data.size)

    def dim(self) -> int:
        return self._data.ndim

    def __len__(self):
        if self._data.ndim == 0:
            raise DTypeError("len: len() of a 0-d tensor (shape ()); use .item() or .numel()")
        return self._data.shape[0]

    def __iter__(self):
        """The sub-tensors along dim 0, as PyTorch iterates (``self[0]``, ``self[1]``, ...)."""
        if self._data.ndim == 0:
            raise DTypeError("iter: iteration over a 0-d tensor (shape ()); use .item()")
        return (self[i] for i in range(self._data.shape[0]))

    # -- conversion -------------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared memory on the CPU)."""
        if self._requires_grad:
            raise AutogradError(
                "numpy: this tensor requires grad; call tensor.detach().numpy() to read its values"
            )
        if device_of(self._data) != "cpu":
            raise DeviceError("numpy: the tensor is on " + self.device + "; call .cpu() first")
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = self.detach().numpy() if device_of(self._data) == "cpu" else self._data.get()
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ShapeError(
                f"item: only a one-element tensor converts to a Python number, this one has shape "
                f"{self.shape} ({self._data.size} elements)"
            )
        return self._data.reshape(()).item()

    def tolist(self) -> list | float | int | bool:
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise DTypeError(f"__index__: only integer tensors can be used as an index, not {self.dtype.name}")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ShapeError(
                f"the truth value of a tensor with {self._data.size} elements (shape {self.shape}) "
                "is ambiguous; use .any() or .all()"
            )
        return bool(self._data.reshape(()).item())

    __hash__ = object.__hash__

    def __format__(self, spec):
        """A one-element tensor formats as its number (``f"{loss:.3f}"``), as in PyTorch."""
        if self._data.ndim == 0 or (spec and self._data.size == 1):
            return format(self.item(), spec)
        return format(repr(self), spec)

    # -- in place ---------------------------------------------------------------------------

    def _check_inplace(self, op, result_requires_grad=False):
        """Whether an in-place op must be recorded; refuses the cases autograd cannot follow."""
        if not (tape._state.grad_enabled and (self._requires_grad or result_requires_grad)):
            return False
        if self._node is None and self._requires_grad:
            raise AutogradError(
                f"{op}: a leaf tensor that requires grad (shape {self.shape}) cannot be changed in "
                "place while grad mode is on; wrap the update in gradcnn.no_grad()"
            )
        if self._is_view:
            base = "a leaf tensor" if _views_a_leaf(self) else "a tensor"
            raise AutogradError(
                f"{op}: in-place change of a view (shape {self.shape}) of {base} that requires "
                "grad is not supported; use an out-of-place op"
            )
        return True

    def _inplace(self, op, fn, *args, **kwargs):
        """``self`` overwritten by ``fn(self, *args, **kwargs)``: the in-place form of an op. When
        the change is recorded, ``fn`` reads a copy of the values: its backward may need them after
        they are overwritten (``x.sin_()`` saves the old ``x``), as PyTorch saves the original."""
        source = self
        if tape._state.grad_enabled and (self._requires_grad or _any_requires_grad(args, kwargs)):
            self._check_inplace(op, True)
            source = Tensor._make(self._data.copy(), self._node)
        return self._assign(fn(source, *args, **kwargs), op)

    def _assign(self, result, op):
        """Make ``self`` hold ``result`` (same shape): the tail of every in-place op."""
        recording = self._check_inplace(op, result._node is not None)
        if result.shape != self.shape:
            raise ShapeError(
                f"{op}: the result has shape {result.shape} but the tensor changed in place has "
                f"shape {self.shape}; in-place ops cannot broadcast the tensor they change"
            )
        if result.dtype != self.dtype and not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise DTypeError(
                f"{op}: the result has dtype {result.dtype.name}, which cannot be cast to the dtype "
                f"{self.dtype.name} of the tensor changed in place; convert the tensor first"
            )
        get_array_module(self._data).copyto(self._data, result._data, casting="same_kind")
        self._version.value += 1
        if recording:
            if result._node is None:
                # Overwritten by a constant (fill_, zero_, copy_ of a constant): the values no
                # longer depend on the graph, which must still see that (its gradient is zero).
                previous = Tensor._make(self._data, self._node, self._version)
                result = _Overwritten.apply(previous)
            self._node = result._node
            self._requires_grad = True
        return self

    def add_(self, other: Tensor | float, *, alpha: float = 1) -> Tensor:
        return self._inplace("add_", Tensor.add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Tensor | float, *, alpha: float = 1) -> Tensor:
        return self._inplace("sub_", Tensor.sub, other if alpha == 1 else other * alpha)

    def mul_(self, other: Tensor | float) -> Tensor:
        return self._inplace("mul_", Tensor.mul, other)

    def div_(self, other: Tensor | float) -> Tensor:
        return self._inplace("div_", Tensor.div, other)

    # ``w -= lr * w.grad`` changes ``w`` in place, as in PyTorch (Python's fallback would rebind
    # the name to a new tensor and leave the parameter unchanged).
    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", Tensor.clamp, min, max)

    def fill_(self, value: float) -> Tensor:
        """Set every element to ``value`` in place; on a tensor in the graph the gradient that
        reaches its earlier values is zero, as in PyTorch."""
        if not tape._state.grad_enabled or not self._requires_grad:
            self._check_inplace("fill_")
            self._data.fill(value)
            self._version.value += 1
            return self
        filled = get_array_module(self._data).full_like(self._data, value)
        return self._assign(Tensor._make(filled), "fill_")

    def zero_(self) -> Tensor:
        return self.fill_(0)

    # -- display ----------------------------------------------------------------------------

    def __repr__(self):
        """PyTorch's print format, with its default options (4 decimals, 80 columns, the first and
        last 3 rows of a tensor with more than 1000 elements)."""
        arr = np.asarray(self._data if device_of(self._data) == "cpu" else self._data.get())
        suffixes = [f"device='{self.device}'"] if self.device != "cpu" else []
        if arr.size == 0:
            suffixes += [f"size={arr.shape}"] if arr.ndim != 1 else []
            suffixes += [f"dtype={arr.dtype.name}"] if arr.dtype != DEFAULT_DTYPE else []
            body = "[]"
        else:
            if arr.dtype not in (DEFAULT_DTYPE, np.int64, np.bool_):
                suffixes.append(f"dtype={arr.dtype.name}")
            summarize = arr.size > _PRINT_THRESHOLD
            body = _nested_str(arr, len("tensor("), summarize,
                               _Formatter(_summarized(arr) if summarize else arr))
        if self._node is not None:
            suffixes.append(f"grad_fn=<{self._node.name()}>")
        elif self._requires_grad:
            suffixes.append("requires_grad=True")
        return _add_suffixes("tensor(" + body, suffixes, len("tensor("))


# PyTorch's default print options.
_PRINT_PRECISION, _PRINT_THRESHOLD, _PRINT_EDGEITEMS, _PRINT_LINEWIDTH = 4, 1000, 3, 80


class _Formatter:
    """How every element of one tensor prints, as in PyTorch: integers and bools as they are;
    floats all integral as ``2.``, else with 4 decimals, or in scientific notation when the nonzero
    finite magnitudes span more than 1000x, exceed 1e8 or go below 1e-4; one width for all."""

    def __init__(self, arr):
        self.floating = arr.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        if not self.floating:
            self.width = max(len(str(v)) for v in arr.reshape(-1).tolist())
            return
        values = arr.reshape(-1).astype(np.float64)
        values = values[np.isfinite(values) & (values != 0)]
        if values.size == 0:
            return
        magnitudes = np.abs(values)
        self.int_mode = bool(np.all(values == np.ceil(values)))
        self.sci_mode = bool(magnitudes.max() / magnitudes.min() > 1000.0 or magnitudes.max() > 1.0e8
                             or magnitudes.min() < 1.0e-4)
        if self.sci_mode:
            self.width = max(len(f"{v:.{_PRINT_PRECISION}e}") for v in values.tolist())
        elif self.int_mode:
            self.width = max(len(f"{v:.0f}") + 1 for v in values.tolist())
        else:
            self.width = max(len(f"{v:.{_PRINT_PRECISION}f}") for v in values.tolist())

    def __call__(self, value):
        if not self.floating:
            text = f"{value}"
        elif self.sci_mode:
            text = f"{value:{self.width}.{_PRINT_PRECISION}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{_PRINT_PRECISION}f}"
        return text.rjust(self.width)


def _summarized(arr):
    """The elements a summarized print shows (the first and last 3 along every dim)."""
    e = _PRINT_EDGEITEMS
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        return np.concatenate((arr[:e], arr[-e:])) if arr.shape[0] > 2 * e else arr
    rows = [*range(e), *range(arr.shape[0] - e, arr.shape[0])] if arr.shape[0] > 2 * e else range(arr.shape[0])
    return np.stack([_summarized(arr[i]) for i in rows])


def _nested_str(arr, indent, summarize, fmt):
    e = _PRINT_EDGEITEMS
    if arr.ndim == 0:
        return fmt(arr.item())
    if arr.ndim == 1:
        items = arr.tolist()
        if summarize and len(items) > 2 * e:
            data = [*map(fmt, items[:e]), " ...", *map(fmt, items[-e:])]
        else:
            data = [fmt(v) for v in items]
        per_line = max(1, (_PRINT_LINEWIDTH - indent) // (fmt.width + 2))
        lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    if summarize and arr.shape[0] > 2 * e:
        slices = ([_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                  + [_nested_str(arr[i], indent + 1, summarize, fmt) for i in range(arr.shape[0] - e, arr.shape[0])])
    else:
        slices = [_nested_str(row, indent + 1, summarize, fmt) for row in arr]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _add_suffixes(text, suffixes, indent):
    """``, dtype=...`` after the values; a suffix that would pass column 80 starts a new line."""
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _PRINT_LINEWIDTH:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    return "".join(parts) + ")"


_retaining = set()  # ids of the non-leaf tensors that retain their gradient


def _any_requires_grad(args, kwargs):
    return any(isinstance(a, Tensor) and a._requires_grad for a in (*args, *kwargs.values()))


def _views_a_leaf(view):
    """Whether ``view`` (a tensor made by view ops) looks into a leaf that requires grad."""
    node = tape.node_of(view._node)
    while node is not None and node.fn.is_view and node.edges:
        edge = node.edges[0]
        if type(edge) is not tape.Node and type(edge) is not tape.OutputRef:
            return edge is not None
        node = tape.node_of(edge)
    return False


class _Overwritten(Function):
    """The link from a tensor's values before an in-place overwrite by a constant to after it."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return Tensor._make(get_array_module(g._data).zeros_like(g._data))


def check_devices(op, *named):
    """Raise DeviceError unless every Tensor and array among ``named`` (``(name, value)`` pairs)
    lives on one device, naming the first two that differ; numbers and ``None`` are ignored."""
    first = None
    for name, value in named:
        data = value._data if isinstance(value, Tensor) else value
        if not is_array(data):
            continue
        device = device_of(data)
        if first is None:
            first = (name, device)
        elif device != first[1]:
            raise DeviceError(f"{op}: {first[0]} is on {first[1]} but {name} is on {device}")


def _dim(dim, ndim, op):
    """A dim index normalised to ``0 <= dim < ndim`` (a 0-d tensor accepts 0 and -1)."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise DTypeError(f"{op}: dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexOutOfRangeError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-n} <= dim < {n})"
        )
    return int(dim) % n


register_tensor_class(Tensor)
