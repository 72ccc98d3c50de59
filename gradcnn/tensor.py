"""``Tensor``: an array (NumPy on "cpu", CuPy on "cuda") plus what autograd needs.

A tensor is a *leaf* when no recorded call made it (``grad_fn is None``): parameters and inputs. A
leaf that requires grad receives ``.grad`` from ``backward()``; gradients accumulate until
``zero_grad()`` or ``t.grad = None``.

The differentiable methods and operators (``+``, ``sum``, ``reshape``, ``__getitem__``, ...) are
attached by :mod:`gradcnn.ops` when it is imported, so this module stays free of ops and there is no
import cycle; their docstrings live with the ops.

Every tensor carries a version counter, shared with the views made from it, that in-place changes
bump; a backward that needs a saved tensor checks its version first.
"""

import numpy as np

from .autograd import tape
from .backends import device_of, parse_device
from .errors import AutogradError, DeviceError, DTypeError, ShapeError

__all__ = ["Tensor", "grad", "resolve_dtype", "check_devices", "DEFAULT_DTYPE"]

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


class _Version:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


class Tensor:
    """An n-dimensional array that can record the operations made on it.

    Create tensors with :func:`gradcnn.tensor`, :func:`gradcnn.zeros`, :func:`gradcnn.randn` and
    friends; ``Tensor(data)`` is the same as ``gradcnn.tensor(data)``.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_node", "_version", "_is_view", "__weakref__")
    # NumPy defers to our reflected operators: ``ndarray + Tensor`` calls ``Tensor.__radd__``.
    __array_ufunc__ = None

    def __init__(self, data, *, dtype=None, device=None, requires_grad=False):
        from .creation import _as_array

        self.data = _as_array(data, dtype, device)
        self.grad = None
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
        if type(data) is not np.ndarray and not hasattr(data, "__cuda_array_interface__"):
            data = np.asarray(data)
        t.data = data
        t.grad = None
        t._requires_grad = node is not None
        t._node = node
        t._version = _Version() if version is None else version
        t._is_view = version is not None
        return t

    # -- autograd ---------------------------------------------------------------------------

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        flag = bool(flag)
        if flag and not is_floating(self.data.dtype):
            raise DTypeError(
                f"requires_grad: only floating tensors can require gradients, this one is "
                f"{self.data.dtype.name} with shape {self.shape}"
            )
        if self._node is not None and not flag:
            raise AutogradError(
                "requires_grad: only leaf tensors can change requires_grad; "
                "use detach() for a non-leaf"
            )
        self._requires_grad = flag

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return ``self``."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self):
        return self._node is None

    @property
    def grad_fn(self):
        """The tape node that made this tensor, or ``None`` for a leaf."""
        return self._node

    def backward(self, gradient=None, retain_graph=False, create_graph=False):
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it depends on.

        ``gradient`` is required for a tensor with more than one element (the vector of a
        vector-Jacobian product). The graph is freed afterwards unless ``retain_graph=True``;
        ``create_graph=True`` records the backward pass itself, for higher derivatives.
        """
        if not self._requires_grad:
            raise AutogradError(
                "backward: this tensor does not require grad and has no grad_fn; did you create "
                "it under no_grad() or from tensors with requires_grad=False?"
            )
        gradient = _root_grad(self, gradient, "backward")
        tape.run_backward(
            [self], [gradient], retain_graph=retain_graph or create_graph, create_graph=create_graph
        )

    def detach(self):
        """A tensor sharing this one's data, cut from the graph."""
        return Tensor._make(self.data, None, self._version)

    def detach_(self):
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
        self._node = None
        self._requires_grad = False
        return self

    def zero_grad_(self):
        self.grad = None
        return self

    # -- facts ------------------------------------------------------------------------------

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return device_of(self.data)

    def size(self, dim=None):
        if dim is None:
            return self.data.shape
        return self.data.shape[_dim(dim, self.ndim, "size")]

    def numel(self):
        return int(self.data.size)

    def dim(self):
        return self.data.ndim

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # -- conversion -------------------------------------------------------------------------

    def numpy(self):
        """The data as a NumPy array (shared memory on the CPU)."""
        if self._requires_grad:
            raise AutogradError(
                "numpy: this tensor requires grad; call tensor.detach().numpy() to read its values"
            )
        if device_of(self.data) != "cpu":
            raise DeviceError("numpy: the tensor is on " + self.device + "; call .cpu() first")
        return self.data

    def __array__(self, dtype=None, copy=None):
        arr = self.detach().numpy() if device_of(self.data) == "cpu" else self.data.get()
        return arr if dtype is None else arr.astype(dtype)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ShapeError(
                f"item: only a one-element tensor converts to a Python number, this one has shape "
                f"{self.shape} ({self.data.size} elements)"
            )
        return self.data.reshape(()).item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise DTypeError(f"__index__: only integer tensors can be used as an index, not {self.dtype.name}")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ShapeError(
                f"the truth value of a tensor with {self.data.size} elements (shape {self.shape}) "
                "is ambiguous; use .any() or .all()"
            )
        return bool(self.data.reshape(()).item())

    __hash__ = object.__hash__

    def to(self, *args, dtype=None, device=None):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``: differentiable moves and casts."""
        for a in args:
            if isinstance(a, str):
                device = a
            else:
                dtype = a
        from . import ops

        out = self
        if device is not None:
            out = ops.to_device(out, parse_device(device))
        if dtype is not None:
            out = ops.cast(out, resolve_dtype(dtype, "to"))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # -- in place ---------------------------------------------------------------------------

    def _check_inplace(self, op, result_requires_grad=False):
        """Whether an in-place op must be recorded; refuses the cases autograd cannot follow."""
        if not (tape._grad_enabled and (self._requires_grad or result_requires_grad)):
            return False
        if self._node is None and self._requires_grad:
            raise AutogradError(
                f"{op}: a leaf tensor that requires grad (shape {self.shape}) cannot be changed in "
                "place while grad mode is on; wrap the update in gradcnn.no_grad()"
            )
        if self._is_view:
            raise AutogradError(
                f"{op}: in-place change of a view (shape {self.shape}) of a tensor that requires "
                "grad is not supported; use an out-of-place op"
            )
        return True

    def _assign(self, result, op):
        """Make ``self`` hold ``result`` (same shape): the tail of every in-place op."""
        recording = self._check_inplace(op, result._node is not None)
        if result.shape != self.shape:
            raise ShapeError(
                f"{op}: the result has shape {result.shape} but the tensor changed in place has "
                f"shape {self.shape}; in-place ops cannot broadcast the tensor they change"
            )
        xp = np if type(self.data) is np.ndarray else __import__("cupy")
        xp.copyto(self.data, result.data, casting="same_kind")
        self._version.value += 1
        if recording and result._node is not None:
            self._node = result._node
            self._requires_grad = True
        return self

    def add_(self, other, *, alpha=1):
        return self._assign(self + (other if alpha == 1 else other * alpha), "add_")

    def sub_(self, other, *, alpha=1):
        return self._assign(self - (other if alpha == 1 else other * alpha), "sub_")

    def mul_(self, other):
        return self._assign(self * other, "mul_")

    def div_(self, other):
        return self._assign(self / other, "div_")

    def clamp_(self, min=None, max=None):
        return self._assign(self.clamp(min, max), "clamp_")

    def copy_(self, src):
        from .ops import shape as shape_ops

        if not isinstance(src, Tensor):
            src = Tensor._make(src if hasattr(src, "__cuda_array_interface__") else np.asarray(src))
        # As in PyTorch, copy_ also copies across devices (differentiably, through to()).
        return self._assign(shape_ops.expand(src.to(self.device, self.dtype), self.shape), "copy_")

    def fill_(self, value):
        self._check_inplace("fill_")
        self.data.fill(value)
        self._version.value += 1
        return self

    def zero_(self):
        return self.fill_(0)

    def __setitem__(self, key, value):
        from .ops import shape as shape_ops

        self._assign(shape_ops.index_put(self, key, value), "__setitem__")

    # -- display ----------------------------------------------------------------------------

    def __repr__(self):
        body = np.array2string(
            np.asarray(self.data if device_of(self.data) == "cpu" else self.data.get()),
            separator=", ",
            prefix="tensor(",
            threshold=200,
        )
        extras = []
        if self.data.dtype != DEFAULT_DTYPE and not (
            self.data.dtype == np.int64 or self.data.dtype == np.bool_
        ):
            extras.append(f"dtype={self.data.dtype.name}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"


def check_devices(op, *named):
    """Raise DeviceError unless every Tensor and array among ``named`` (``(name, value)`` pairs)
    lives on one device, naming the first two that differ; numbers and ``None`` are ignored."""
    first = None
    for name, value in named:
        data = value.data if isinstance(value, Tensor) else value
        if type(data) is np.ndarray:
            device = "cpu"
        elif hasattr(data, "__cuda_array_interface__"):
            device = device_of(data)
        else:
            continue
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
        from .errors import IndexOutOfRangeError

        raise IndexOutOfRangeError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-n} <= dim < {n})"
        )
    return int(dim) % n


def _root_grad(root, gradient, op):
    """The seed gradient of a backward from ``root``, validated."""
    if gradient is None:
        if root.data.size != 1:
            raise ShapeError(
                f"{op}: gradient can be omitted only for a one-element output, this one has shape "
                f"{root.shape}; pass gradient= (a tensor of that shape)"
            )
        xp = np if type(root.data) is np.ndarray else __import__("cupy")
        return Tensor._make(xp.ones(root.shape, dtype=root.dtype))
    if not isinstance(gradient, Tensor):
        # A plain array or number is a constant: it goes where the output is (a CuPy array given
        # for a CPU output is refused below, like a Tensor on another device).
        gradient = Tensor._make(gradient if hasattr(gradient, "__cuda_array_interface__")
                                else np.asarray(gradient, dtype=root.dtype))
        if type(root.data) is not np.ndarray:
            gradient = gradient.to(root.device)
    if gradient.device != root.device:
        raise DeviceError(f"{op}: gradient is on {gradient.device} but the output is on {root.device}")
    if gradient.shape != root.shape:
        raise ShapeError(
            f"{op}: gradient has shape {gradient.shape} but the output has shape {root.shape}"
        )
    if gradient.dtype != root.dtype:
        gradient = gradient.to(root.dtype)
    return gradient


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    ``outputs`` and ``inputs`` are Tensors or sequences of them; ``grad_outputs`` gives the vector
    of the vector-Jacobian product for each output (optional for one-element outputs).
    ``retain_graph`` defaults to ``create_graph``. An input the outputs do not depend on raises an
    error unless ``allow_unused=True``, which gives ``None`` for it.
    """
    single = isinstance(outputs, Tensor)
    outputs = [outputs] if single else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ShapeError(f"grad: {len(grad_outputs)} grad_outputs given for {len(outputs)} outputs")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise AutogradError(f"grad: inputs[{i}] does not require grad")
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise AutogradError(
                f"grad: outputs[{i}] does not require grad; it does not depend on any input that does"
            )
    seeds = [_root_grad(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    results = tape.run_backward(
        outputs, seeds, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs
    )
    for i, r in enumerate(results):
        if r is None and not allow_unused:
            raise AutogradError(
                f"grad: inputs[{i}] (shape {inputs[i].shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
    return tuple(results)
