"""``Function``: the contract of a differentiable primitive.

A primitive is one class with two static methods::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):            # arrays in, one array out; nothing is recorded here
            y = xp.exp(x)
            ctx.save_for_backward(y)    # inputs or the output of this call
            return y

        @staticmethod
        def backward(ctx, gy):          # Tensors in, Tensors out (one per positional input)
            (y,) = ctx.saved_tensors
            return gy * y

``Function.apply(*args, **config)`` unwraps Tensor arguments to arrays, runs ``forward`` and, when
grad mode is on and some input requires grad, records a :class:`~gradcnn.autograd.tape.Node`.
Positional arguments may be Tensors (differentiable) or anything else (scalars, ``None``, arrays:
constants); keyword arguments are configuration and are passed to ``forward`` only.

``backward`` is written with gradcnn ops on Tensors, so with ``create_graph=True`` it is itself
recorded and higher derivatives come free. It returns a gradient, or ``None``, for every positional
input; ``ctx.needs_input_grad`` says which ones are wanted.

``save_for_backward`` accepts inputs and the output of the call (compared by identity); on access
``saved_tensors`` gives them back as the Tensors they are in the graph, so a second derivative reaches
them. Any other array is saved as a constant: fine for masks and indices, wrong for an intermediate
that depends on an input (recompute it from the inputs instead, or split the op in two primitives).
A number (a scalar operand such as the 2 of ``x ** 2``) comes back as that number.

``forward`` may return a tuple of arrays: ``apply`` then returns a tuple of Tensors and ``backward``
receives one gradient per output (``None`` for an output nothing flowed into). Outputs passed to
``ctx.mark_non_differentiable`` (and integer outputs) do not require grad; max-pool returns its
indices that way.

The engine never imports :class:`~gradcnn.Tensor`: ``gradcnn.tensor`` registers the class with
:func:`register_tensor_class` when it is defined.
"""

import contextlib
import numbers
import os
import traceback
import weakref

import numpy as np

from ..errors import AutogradError
from . import tape
from .tape import Node, OutputRef

__all__ = ["Function", "Context", "register_tensor_class", "observe_calls"]

# The Tensor class, registered by gradcnn.tensor when it is defined: the engine sits below Tensor
# and never imports it.
_Tensor = None


def register_tensor_class(cls):
    """Make ``cls`` the class that ``Function.apply`` wraps its outputs in."""
    global _Tensor
    _Tensor = cls


# Callbacks that see every call of a primitive (tracing for export); empty almost always.
_observers = []


@contextlib.contextmanager
def observe_calls(callback):
    """Within the block, call ``callback(fn, args, kwargs, result)`` after every ``Function.apply``
    (``fn`` the Function class, ``args`` as given, ``result`` a Tensor or a tuple of them), whether
    or not grad mode records it. Composite ops show up as the primitives they are made of."""
    _observers.append(callback)
    try:
        yield
    finally:
        _observers.remove(callback)


class Context:
    """What ``forward`` leaves for ``backward``: saved tensors plus any plain attributes."""

    needs_input_grad = ()

    def save_for_backward(self, *arrays):
        self._to_save = arrays

    def watch(self, *tensors):
        """Tensors that ``forward`` read as constants (indices, masks) and ``backward`` relies on:
        changing one in place before backward is then an error, like changing a saved tensor."""
        self._watched = [(t, t._version, t._version.value) for t in tensors]

    def mark_non_differentiable(self, *arrays):
        """Outputs of ``forward`` (given as the arrays it returns) that get no gradient, such as
        indices; they come out as tensors that do not require grad."""
        self._non_differentiable = arrays

    def check_watched(self, name):
        """Raise if a tensor given to :meth:`watch` changed since (the engine calls this)."""
        for i, (tensor, counter, version) in enumerate(self.__dict__.get("_watched", ())):
            if counter.value != version:
                raise AutogradError(
                    f"{name}: a tensor it read (index, mask or input {i}, shape {tuple(tensor.shape)}) was "
                    f"modified in place before backward (version {version} -> {counter.value}); "
                    "clone() it before changing it"
                )

    @property
    def saved_tensors(self):
        saved = self.__dict__.get("_saved")
        if saved is None:
            return ()
        out = []
        for i, (tensor, counter, version) in enumerate(saved):
            if counter is not None and counter.value != version:
                raise AutogradError(
                    f"{self._name}: saved tensor {i} (shape {tensor.shape}) was modified in place "
                    f"after it was saved for backward (version {version} -> {counter.value}); use an "
                    "out-of-place op (x = x + y, not x.add_(y)) or clone() the tensor first"
                )
            if type(tensor) is _SavedOutput:
                tensor = _Tensor._make(tensor.array, tensor.ref(), counter)
            out.append(tensor)
        return tuple(out)


class _SavedOutput:
    """An output of a call, saved without a reference cycle (node -> ctx -> output -> node)."""

    __slots__ = ("array", "ref")

    def __init__(self, array, ref):
        self.array = array
        self.ref = weakref.ref(ref)

    @property
    def shape(self):
        return self.array.shape


class Function:
    """Base class of differentiable primitives; see the module docstring for the contract."""

    #: True when the output may share memory with the first input (reshape, transpose, ...).
    is_view = False

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        tensor_cls = _Tensor
        ctx = Context()
        # One pass over the arguments: this runs for every op, so it is written for speed.
        arrays = []
        needs = []
        edges = []  # an edge is the input's node, or the input itself when it is a leaf that requires grad
        record = False
        for a in args:
            if isinstance(a, tensor_cls):
                arrays.append(a._data)
                if a._requires_grad:
                    needs.append(True)
                    edges.append(a._node or a)
                    record = True
                    continue
            else:
                arrays.append(a)
            needs.append(False)
            edges.append(None)
        ctx.needs_input_grad = needs = tuple(needs)
        out = cls.forward(ctx, *arrays, **kwargs)
        if _observers:
            return _observed(cls, ctx, args, arrays, needs, out, kwargs)
        if type(out) is tuple:
            return _apply_many(cls, ctx, args, arrays, needs, out)
        # A view (reshape, transpose, basic indexing) shares its input's memory, so it shares the
        # input's version counter: changing either in place invalidates what was saved of both.
        result = tensor_cls._make(out, None, args[0]._version if cls.is_view else None)
        if record and tape._state.grad_enabled:
            _record_one(cls, ctx, args, arrays, tuple(edges), out, result)
        return result


def _observed(cls, ctx, args, arrays, needs, out, kwargs):
    if type(out) is tuple:
        result = _apply_many(cls, ctx, args, arrays, needs, out)
    else:
        result = _apply_one(cls, ctx, args, arrays, needs, out)
    for callback in list(_observers):
        callback(cls, args, kwargs, result)
    return result


def _apply_one(cls, ctx, args, arrays, needs, out):
    """``apply`` for a forward that returned one array."""
    result = _Tensor._make(out, None, args[0]._version if cls.is_view else None)
    if True in needs and tape._state.grad_enabled:
        _record_one(cls, ctx, args, arrays, _edges(args, needs), out, result)
    return result


def _edges(args, needs):
    """One edge per input: its node, the input itself for a leaf that requires grad, or None."""
    return tuple([(a._node or a) if n else None for a, n in zip(args, needs)])


def _record_one(cls, ctx, args, arrays, edges, out, result):
    """Put the call that made ``result`` (its only output) on the tape."""
    data = result._data
    node = Node(cls, ctx, edges, data.shape, data.dtype)
    result._node = node
    result._requires_grad = True
    if tape._state.anomaly:
        ctx._anomaly_trace = _caller_trace()
    to_save = ctx.__dict__.pop("_to_save", None)
    if to_save is not None:
        ctx._name = cls.__name__
        outputs = ((out, result, node),)
        ctx._saved = [(None, None, 0) if s is None else _saved_entry(s, args, arrays, outputs) for s in to_save]


def _apply_many(cls, ctx, args, arrays, needs, outs):
    """``apply`` for a forward that returned a tuple: one tensor per output, one node for all."""
    results = tuple([_Tensor._make(o) for o in outs])
    if not (tape._state.grad_enabled and True in needs):
        return results
    skip = ctx.__dict__.pop("_non_differentiable", ())
    differentiable = [
        r._data.dtype.kind == "f" and not any(o is s for s in skip) for o, r in zip(outs, results)
    ]
    if not any(differentiable):
        return results
    edges = _edges(args, needs)
    first = results[0]._data
    node = Node(cls, ctx, edges, first.shape, first.dtype)
    refs = [node] + [OutputRef(node, i, r._data.shape, r._data.dtype) for i, r in enumerate(results)][1:]
    node.outputs = tuple([ref if d else None for ref, d in zip(refs, differentiable)])
    if tape._state.anomaly:
        ctx._anomaly_trace = _caller_trace()
    for r, ref, d in zip(results, refs, differentiable):
        if d:
            r._node = ref
            r._requires_grad = True
    to_save = ctx.__dict__.pop("_to_save", None)
    if to_save is not None:
        ctx._name = cls.__name__
        triples = tuple(zip(outs, results, refs))
        ctx._saved = [_saved_entry(s, args, arrays, triples) for s in to_save]
    return results


def _caller_trace():
    """Where the current forward call came from, without the engine's own frames."""
    frames = [f for f in traceback.extract_stack()[:-1] if "gradcnn" + os.sep + "autograd" not in f.filename]
    return "".join(traceback.format_list(frames[-8:]))


def _saved_entry(array, args, arrays, outputs):
    """(Tensor, version counter, version at save time) for one saved array; ``outputs`` holds
    (array returned by forward, its tensor, its Node or OutputRef) for each output."""
    if array is None:
        return (None, None, 0)
    for out, result, ref in outputs:
        # ``out`` may be a NumPy scalar (a ufunc on a 0-d array) that ``_make`` wrapped in a new array.
        if array is out or array is result._data:
            if result._node is None:  # a non-differentiable output: a constant
                return (result, result._version, result._version.value)
            return (_SavedOutput(result._data, ref), result._version, result._version.value)
    for a, arr in zip(args, arrays):
        if arr is array and a is not arr:
            return (a, a._version, a._version.value)
    if isinstance(array, (numbers.Number, np.generic)):
        # A scalar operand stays a scalar: backward formulas combine it with gradients on any
        # device, where a 0-d NumPy tensor would tie them to the CPU.
        return (array, None, 0)
    return (_Tensor._make(array), None, 0)
