"""The tape: nodes, grad mode and the backward pass.

Every differentiable call made while grad mode is on, with some input that requires grad, creates one
:class:`Node`: the function that made it, its context (what forward saved), one *edge* per positional
input and a sequence number taken from a global counter. An edge is the input's own node, the input
tensor itself when it is a leaf that requires grad, or ``None``.

Sequence numbers grow monotonically, so a node is always numbered after every node it consumes: the
tape order is a topological order. ``backward()`` therefore collects the nodes reachable from its
roots and replays them in decreasing sequence number. There is no recursion (deep networks cannot hit
the recursion limit) and no global list of nodes (a graph lives exactly as long as some tensor refers
to it).

After a backward pass without ``retain_graph`` every visited node drops its context, which releases the
arrays saved for backward; walking such a node again raises :class:`~gradcnn.errors.AutogradError`.

A leaf's gradient is complete once the last node that feeds it (the lowest-numbered one) has run, so
``backward()`` accumulates it into ``.grad`` right there, mid-pass, and then calls the leaf's
post-accumulate-grad hooks (:func:`register_post_accumulate_grad_hook`): data-parallel training
starts averaging a layer's gradients while the layers below it are still back-propagating.

A call with several outputs (max-pool's values and indices) has one node; output 0 refers to the node
itself and output ``i > 0`` to ``node.outputs[i]``, an :class:`OutputRef`. Backward receives one
gradient per output, ``None`` for an output that received none.

This module knows nothing of :class:`~gradcnn.Tensor`: it uses the class of the tensors it is given.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ..arguments import flag, integer
from ..backends import get_array_module, is_cuda_array
from ..errors import AutogradError, DeviceError, DTypeError, ShapeError

__all__ = [
    "Node",
    "OutputRef",
    "is_grad_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "run_backward",
    "backward",
    "grad",
    "register_post_accumulate_grad_hook",
    "inference_mode",
    "is_inference_mode_enabled",
    "set_detect_anomaly",
    "detect_anomaly",
    "is_anomaly_enabled",
    "RemovableHandle",
    "register_hook",
    "AccumulateGrad",
]

class TensorLike(Protocol):
    """What the engine needs of a tensor (gradcnn.Tensor is one; the engine never imports it):
    its array, the node that made it, whether it requires grad, and its gradient."""

    _data: object
    _node: object
    grad: TensorLike | None

    @property
    def requires_grad(self) -> bool: ...

    @property
    def shape(self) -> tuple[int, ...]: ...


class _ThreadState(threading.local):
    """Grad mode and anomaly mode belong to a thread, as in PyTorch: a model trained in one thread
    is not switched off by ``no_grad`` in another."""

    grad_enabled = True
    anomaly = False


_state = _ThreadState()
_next_seq = itertools.count().__next__


def is_grad_enabled() -> bool:
    """Whether calls made now, in this thread, are recorded on the tape."""
    return _state.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    mode = True

    def __enter__(self):
        self.__dict__.setdefault("_prev", []).append(_state.grad_enabled)
        _state.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        # An exit without an enter restores what PyTorch's would: the mode before the call for
        # set_grad_enabled, else off.
        prev = self.__dict__.get("_prev")
        _state.grad_enabled = prev.pop() if prev else self.__dict__.get("_before", False)
        return False


class set_grad_enabled(_GradMode):
    """Turn recording on or off: at once when called (``set_grad_enabled(False)``), or inside a
    ``with`` block or a decorated function, restoring the previous mode on exit."""

    def __init__(self, mode):
        self.mode = flag("set_grad_enabled", "mode", mode)
        self._before = _state.grad_enabled
        _state.grad_enabled = self.mode

    def __enter__(self):
        self.__dict__.setdefault("_prev", []).append(self.__dict__.pop("_before", _state.grad_enabled))
        _state.grad_enabled = self.mode
        return self


class no_grad(_GradMode):
    """Context manager and decorator: nothing inside is recorded, as in ``torch.no_grad``."""

    mode = False


class enable_grad(_GradMode):
    """Context manager and decorator: recording is on inside, even within ``no_grad``."""

    mode = True


class inference_mode(_GradMode):
    """``torch.inference_mode``: with ``mode=True`` (the default) nothing inside is recorded; gradcnn
    has no separate inference tensors, so it is ``no_grad``."""

    def __init__(self, mode=True):
        self.mode = not bool(mode)


def is_inference_mode_enabled():
    return not _state.grad_enabled


class set_detect_anomaly(contextlib.ContextDecorator):
    """Anomaly mode on or off (at once when called, or inside a ``with`` block): while on, the
    first backward formula that produces NaN or Inf raises an AutogradError naming the op."""

    def __init__(self, mode, check_nan=True):
        self.mode = flag("set_detect_anomaly", "mode", mode) and flag("set_detect_anomaly", "check_nan", check_nan)
        self._before = _state.anomaly
        _state.anomaly = self.mode

    def __enter__(self):
        self.__dict__.setdefault("_prev", []).append(self.__dict__.pop("_before", _state.anomaly))
        _state.anomaly = self.mode
        return self

    def __exit__(self, *exc):
        _state.anomaly = self._prev.pop()
        return False


class detect_anomaly(set_detect_anomaly):
    """``with detect_anomaly():`` -- anomaly mode inside the block (see :class:`set_detect_anomaly`)."""

    def __init__(self, check_nan=True):
        self.mode = bool(check_nan)

    def __enter__(self):
        self.__dict__.setdefault("_prev", []).append(_state.anomaly)
        _state.anomaly = self.mode
        return self


def is_anomaly_enabled():
    return _state.anomaly


class Node:
    """One recorded call: ``fn.backward(ctx, *grads)`` gives the gradients for ``edges``.

    ``shape`` and ``dtype`` describe output 0, so that a backward returning a gradient of the wrong
    shape is reported with the name of the function at fault. ``outputs`` is ``None`` for a call with
    one output, else one entry per output: the node itself for output 0, an :class:`OutputRef` for
    the others (``None`` for an output marked non-differentiable).
    """

    __slots__ = ("fn", "ctx", "edges", "seq", "shape", "dtype", "outputs", "__weakref__")

    def __init__(self, fn, ctx, edges, shape, dtype):
        self.fn = fn
        self.ctx = ctx
        self.edges = edges
        self.shape = shape
        self.dtype = dtype
        self.outputs = None
        self.seq = _next_seq()

    def name(self):
        """The primitive's name, as ``grad_fn.name()`` in PyTorch."""
        return self.fn.__name__

    @property
    def next_functions(self):
        """One ``(node, output index)`` pair per input, as PyTorch's: ``(None, 0)`` for an input
        that needs no gradient, an :class:`AccumulateGrad` for a leaf that requires grad."""
        out = []
        for edge in self.edges:
            if edge is None:
                out.append((None, 0))
            elif type(edge) is Node:
                out.append((edge, 0))
            elif type(edge) is OutputRef:
                out.append((edge.node, edge.index))
            else:
                out.append((AccumulateGrad(edge), 0))
        return tuple(out)

    def register_hook(self, hook):
        """Call ``hook(grad_inputs, grad_outputs)`` after this node's backward (its return value
        is ignored). Returns a handle whose ``remove()`` unregisters it."""
        return _add_hook(_node_hooks, self, hook)

    def __repr__(self):
        return f"<Node {self.name()} #{self.seq}>"


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: its gradient is accumulated into ``variable.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self):
        return f"<AccumulateGrad shape={tuple(self.variable.shape)}>"


class OutputRef:
    """Output ``index > 0`` of a node with several outputs: what a tensor made by it refers to."""

    __slots__ = ("node", "index", "shape", "dtype", "__weakref__")

    def __init__(self, node, index, shape, dtype):
        self.node = node
        self.index = index
        self.shape = shape
        self.dtype = dtype

    def name(self):
        return self.node.name()

    def __repr__(self):
        return f"<Node {self.name} #{self.node.seq} output {self.index}>"


def node_of(ref):
    """The node behind a tensor's ``_node`` (a Node or an OutputRef)."""
    return ref.node if type(ref) is OutputRef else ref


def _freed_error(node):
    return AutogradError(
        f"backward through {node.name()} (node #{node.seq}) a second time: its saved tensors were "
        "freed after the first backward; pass retain_graph=True to the first backward() or "
        "gradcnn.grad() to backward through the same graph again"
    )


def _reachable(root_nodes):
    """Nodes reachable from ``root_nodes``, in decreasing sequence number (reverse tape order)."""
    seen = set()
    order = []
    stack = list(root_nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.ctx is None:
            raise _freed_error(node)
        order.append(node)
        for edge in node.edges:
            if type(edge) is Node:
                if id(edge) not in seen:
                    stack.append(edge)
            elif type(edge) is OutputRef:
                stack.append(edge.node)
    order.sort(key=_seq, reverse=True)
    return order


_seq = operator.attrgetter("seq")


class RemovableHandle:
    """What registering a hook returns: ``remove()`` unregisters it (twice is harmless); as a
    context manager, on exit."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


# id(leaf) -> its hooks. Tensors have no slot for hooks and compare elementwise (no WeakKeyDictionary):
# a finalizer drops the entry with the tensor.
_post_accumulate_hooks = {}


def register_post_accumulate_grad_hook(tensor: TensorLike, hook: Callable[[TensorLike], None]) -> RemovableHandle:
    """Call ``hook(tensor)`` each time ``backward()`` has accumulated a gradient into the ``.grad``
    of ``tensor``, a leaf that requires grad (``torch.Tensor.register_post_accumulate_grad_hook``).
    Hooks run in the order registered, mid-pass, once the leaf's gradient is complete; ``grad()``
    does not accumulate and does not call them. Returns a handle whose ``remove()`` unregisters."""
    if tensor._node is not None:
        raise AutogradError("register_post_accumulate_grad_hook: hooks can be registered on leaf "
                            f"tensors only; this one was made by {node_of(tensor._node).name()}")
    if not tensor.requires_grad:
        raise AutogradError("register_post_accumulate_grad_hook: the tensor does not require grad "
                            f"(shape {tuple(tensor.shape)}); set requires_grad=True first")
    hooks = _post_accumulate_hooks.get(id(tensor))
    if hooks is None:
        hooks = _post_accumulate_hooks[id(tensor)] = []
        weakref.finalize(tensor, _post_accumulate_hooks.pop, id(tensor), None)
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


# id(tensor, Node or OutputRef) -> hooks: gradient hooks of tensors (``Tensor.register_hook``; a
# non-leaf's live on the node output that made it) and hooks of nodes. Entries die with their key.
_tensor_hooks = {}
_node_hooks = {}
_retain_hooks = {}  # retain_grad's, which run after every other hook of the tensor, as in PyTorch


def _add_hook(table, key, hook):
    # As in PyTorch, any object registers; one that is not callable fails when backward calls it.
    hooks = table.get(id(key))
    if hooks is None:
        hooks = table[id(key)] = []
        weakref.finalize(key, table.pop, id(key), None)
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def register_hook(tensor: TensorLike, hook: Callable[[TensorLike], TensorLike | None], *,
                  last: bool = False) -> RemovableHandle:
    """``Tensor.register_hook``: call ``hook(grad)`` when the gradient with respect to ``tensor`` is
    computed; a hook that returns a tensor replaces the gradient (for what flows on, and for what a
    leaf accumulates). ``last=True`` (retain_grad) runs after all the others. Returns a handle whose
    ``remove()`` unregisters it."""
    if not tensor.requires_grad:
        raise AutogradError(f"register_hook: cannot register a hook on a tensor that does not require "
                            f"grad (shape {tuple(tensor.shape)})")
    key = tensor if tensor._node is None else tensor._node
    return _add_hook(_retain_hooks if last else _tensor_hooks, key, hook)


def _call(op, hook, *args):
    if not callable(hook):
        raise DTypeError(f"{op}: the hook registered, {hook!r} ({type(hook).__name__}), is not callable")
    return hook(*args)


def _run_tensor_hooks(key, grad):
    if grad is None or key is None:
        return grad
    for hook in (*_tensor_hooks.get(id(key), ()), *_retain_hooks.get(id(key), ())):
        out = _call("register_hook", hook, grad)
        if out is not None:
            grad = _checked_hook_grad(hook, out, grad)
    return grad


def _checked_hook_grad(hook, out, grad):
    """What a gradient hook returned, refused unless it can stand for ``grad``, as in PyTorch."""
    name = getattr(hook, "__name__", type(hook).__name__)
    if not (hasattr(out, "_data") and hasattr(out, "_node")):
        raise DTypeError(f"register_hook: hook '{name}' returned {type(out).__name__}; a gradient hook "
                         "must return a Tensor or None")
    if out.shape != grad.shape:
        raise ShapeError(f"register_hook: hook '{name}' changed the shape of the gradient from "
                         f"{tuple(grad.shape)} to {tuple(out.shape)}")
    if out.dtype != grad.dtype:
        raise DTypeError(f"register_hook: hook '{name}' changed the dtype of the gradient from "
                         f"{grad.dtype.name} to {out.dtype.name}")
    if type(out._data) is not type(grad._data):
        raise DeviceError(f"register_hook: hook '{name}' moved the gradient to another device")
    return out


# References to a gradient tensor that the engine holds at the two places it asks :func:`_owned`
# (measured in tests/autograd/test_grad_buffers.py): a partial sum about to be added to, and a
# leaf's complete gradient.
_PENDING_REFS = 4
_LEAF_REFS = 4


def _owned(t, refs):
    """Whether gradient ``t`` can be changed in place or handed over: the engine holds all ``refs``
    references to the tensor (counting the caller's and ``getrefcount``'s), and nothing else -- no
    hook, no view, no other gradient -- refers to its array or the memory below it. PyTorch's
    AccumulateGrad steals a gradient on the same test. NumPy arrays only."""
    if sys.getrefcount(t) > refs:
        return False
    a = t._data
    # References to ``a``: the tensor's ``_data``, the local name and getrefcount's argument.
    if type(a) is not np.ndarray or sys.getrefcount(a) > 3 or not a.flags.writeable:
        return False
    base = a.base
    while base is not None:  # a view (a reshape, say) of arrays nobody else holds is fine too
        if type(base) is not np.ndarray or sys.getrefcount(base) > 3:
            return False
        base = base.base
    return True


def _sum_into(old, new, refs):
    """``old + new`` for two gradients of one shape and dtype, added into ``old`` when the engine
    is its only holder (the same additions, so the same bits, without a new array)."""
    if _owned(old, refs) and new._data.shape == old._data.shape and type(new._data) is np.ndarray:
        old._data += new._data
        return old
    return old + new


def _fresh_layout(a):
    """C-contiguous and not a window on a larger buffer (which ``.grad`` would keep alive)."""
    return a.flags.c_contiguous and (a.base is None or a.base.nbytes == a.nbytes)


def _accumulate(leaf, grad, create_graph, tensor_cls, hooks=True):
    """Add ``grad`` into ``leaf.grad``, then call the leaf's post-accumulate hooks; ``hooks``: run
    the leaf's gradient hooks on ``grad`` first."""
    if hooks and (_tensor_hooks or _retain_hooks):
        grad = _run_tensor_hooks(leaf, grad)
    if create_graph:
        leaf.grad = grad if leaf.grad is None else leaf.grad + grad
    elif leaf.grad is None:
        # The engine's own array becomes ``.grad`` when nothing else can see it (references: the
        # caller's, this frame's and getrefcount's) and it is laid out like a fresh one; a shared
        # array (Add passes one gradient to both inputs, a hook may keep one) is copied.
        if _owned(grad, _LEAF_REFS) and _fresh_layout(grad._data):
            leaf.grad = tensor_cls._make(grad._data)
        else:
            leaf.grad = tensor_cls._make(grad._data.copy())
    else:
        old = leaf.grad._data
        if old.shape != grad._data.shape or not np.can_cast(grad._data.dtype, old.dtype, "same_kind"):
            # possible only through ``leaf.grad.data = ...``, which does not check
            raise ShapeError(
                f"backward: the .grad of a leaf of shape {tuple(leaf.shape)} holds a tensor of shape "
                f"{tuple(old.shape)} and dtype {old.dtype.name}, which cannot accumulate its gradient "
                f"(shape {tuple(grad.shape)}, dtype {grad.dtype.name}); set .grad to None first"
            )
        old += grad._data
    for hook in tuple(_post_accumulate_hooks.get(id(leaf), ())):
        _call("register_post_accumulate_grad_hook", hook, leaf)


def _check_finite(node, grads):
    for i, g in enumerate(grads):
        if g is not None and g._data.dtype.kind == "f":
            xp = get_array_module(g._data)
            if not bool(xp.isfinite(g._data).all()):
                bad = "NaN" if bool(xp.isnan(g._data).any()) else "Inf"
                where = getattr(node.ctx, "_anomaly_trace", "")
                raise AutogradError(
                    f"{node.name()}.backward returned {bad} in its gradient for input {i} "
                    f"(shape {tuple(g.shape)}); the forward call was made at:\n{where}".rstrip()
                )


def _check_grad(node, index, grad, shape, dtype):
    if grad.shape != shape:
        raise AutogradError(
            f"{node.name()}.backward returned a gradient of shape {grad.shape} for input {index}, "
            f"which has shape {shape}"
        )
    if grad.dtype != dtype:
        grad = grad.to(dtype)
    return grad


def run_backward(roots, root_grads, *, retain_graph, create_graph, inputs=None):
    """Back-propagate ``root_grads`` from ``roots`` (Tensors with the same shapes).

    With ``inputs=None`` gradients accumulate into the ``.grad`` of every leaf that requires grad.
    Otherwise nothing is accumulated and the gradients of ``inputs`` are returned as a list (``None``
    where an input is not reached).

    Gradients that meet (several uses of one tensor) are summed in place when the engine holds the
    only reference to the partial sum and ``create_graph`` is off (:func:`_owned`); the additions,
    and their order, are the same either way.
    """
    tensor_cls = type(roots[0])
    # id(Node or OutputRef) -> gradient flowing into that output. The refs of a node are made once
    # and held by it, so their ids are stable keys.
    pending = {}
    leaf_grads = {}  # id(leaf) -> [leaf, gradient]
    in_place = not create_graph

    def add_leaf(leaf, grad):
        entry = leaf_grads.get(id(leaf))
        if entry is None:
            leaf_grads[id(leaf)] = [leaf, grad]
        elif in_place:
            old = entry[1]
            entry[1] = None
            entry[1] = _sum_into(old, grad, _PENDING_REFS)
        else:
            entry[1] = entry[1] + grad

    def add_pending(key, grad):
        old = pending.pop(id(key), None)
        if old is None:
            pending[id(key)] = grad
        elif in_place:
            pending[id(key)] = _sum_into(old, grad, _PENDING_REFS)
        else:
            pending[id(key)] = old + grad

    root_nodes = []
    for root, grad in zip(roots, root_grads):
        ref = root._node
        if ref is None:
            if root.requires_grad:
                add_leaf(root, grad)
            continue
        root_nodes.append(node_of(ref))
        add_pending(ref, grad)

    wanted = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            wanted.setdefault(id(t._node if t._node is not None else t), []).append(i)
    results = [None] * (0 if inputs is None else len(inputs))

    order = _reachable(root_nodes)
    # id(node) -> the leaves whose gradient is complete once that node has run (it is the last
    # node of the pass, in tape order, that feeds them).
    finishes = {}
    if inputs is None:
        last_use = {}
        for node in order:
            for edge in node.edges:
                if edge is not None and type(edge) is not Node and type(edge) is not OutputRef:
                    last_use[id(edge)] = (node, edge)
        for node, leaf in last_use.values():
            finishes.setdefault(id(node), []).append(leaf)

    hooks = bool(_tensor_hooks or _retain_hooks)
    anomaly = _state.anomaly
    before = _state.grad_enabled
    _state.grad_enabled = bool(create_graph)
    try:
        for node in order:
            outputs = node.outputs
            if outputs is None:  # one output: the node itself
                outputs = (node,)
                grads = (pending.pop(id(node), None),)
            else:
                grads = tuple([None if o is None else pending.pop(id(o), None) for o in outputs])
            if hooks:
                grads = tuple([_run_tensor_hooks(o, g) for o, g in zip(outputs, grads)])
            if wanted:
                for o, g in zip(outputs, grads):
                    if g is not None and id(o) in wanted:
                        for i in wanted[id(o)]:
                            results[i] = g
            if grads[0] is not None or any(g is not None for g in grads):
                ctx = node.ctx
                if "_watched" in ctx.__dict__:
                    ctx.check_watched(node.name())
                in_grads = node.fn.backward(ctx, *grads)
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
                if anomaly:
                    _check_finite(node, in_grads)
                if _node_hooks and id(node) in _node_hooks:
                    for hook in tuple(_node_hooks[id(node)]):
                        _call("Node.register_hook", hook, in_grads, grads)
                edges = node.edges
                if len(in_grads) != len(edges):
                    raise AutogradError(
                        f"{node.name()}.backward returned {len(in_grads)} gradients for "
                        f"{len(edges)} inputs"
                    )
                grads = None  # the engine's references to the incoming gradients end here
                for i, edge in enumerate(edges):
                    if edge is None:
                        continue
                    g = in_grads[i]
                    if g is None:
                        continue
                    data = g._data
                    if type(edge) is Node or type(edge) is OutputRef:
                        if data.shape != edge.shape or data.dtype != edge.dtype:
                            g = _check_grad(node, i, g, edge.shape, edge.dtype)
                        data = None
                        add_pending(edge, g)
                    else:
                        leaf = edge._data
                        if data.shape != leaf.shape or data.dtype != leaf.dtype:
                            g = _check_grad(node, i, g, leaf.shape, leaf.dtype)
                        data = leaf = None
                        add_leaf(edge, g)
                g = in_grads = None
            if not retain_graph:
                node.ctx = None
            leaves = finishes.get(id(node))
            if leaves is not None:
                for leaf in leaves:
                    entry = leaf_grads.pop(id(leaf), None)
                    if entry is not None:
                        grad = entry[1]
                        entry = None
                        _accumulate(leaf, grad, create_graph, tensor_cls)
                        grad = None
    finally:
        _state.grad_enabled = before

    if inputs is not None:
        for key, (leaf, grad) in leaf_grads.items():
            for i in wanted.get(key, ()):
                results[i] = _run_tensor_hooks(leaf, grad) if _tensor_hooks or _retain_hooks else grad
        return results

    for leaf, grad in leaf_grads.values():  # roots that are leaves themselves
        _accumulate(leaf, grad, create_graph, tensor_cls)
    return None


# -- the public entry points --------------------------------------------------------------------


def _root_grad(root, gradient, op, name):
    """The seed gradient of a backward from ``root``, validated (``name``: the argument it came in)."""
    tensor_cls = type(root)
    if gradient is None:
        if root.numel() != 1:
            raise ShapeError(
                f"{op}: {name} can be omitted only for a scalar (one-element) output, this one has "
                f"shape {tuple(root.shape)}; pass {name}= (a tensor of that shape)"
            )
        return tensor_cls._make(get_array_module(root._data).ones(root.shape, dtype=root.dtype))
    if not isinstance(gradient, tensor_cls):
        # A plain array is a constant: it goes where the output is (a CuPy array given for a CPU
        # output is refused below, like a Tensor on another device).
        gradient = tensor_cls._make(gradient if is_cuda_array(gradient)
                                    else np.asarray(gradient, dtype=root.dtype))
        if type(root._data) is not np.ndarray:
            gradient = gradient.to(root.device)
    if gradient.device != root.device:
        raise DeviceError(f"{op}: {name} is on {gradient.device} but the output is on {root.device}")
    if gradient.shape != root.shape:
        raise ShapeError(
            f"{op}: {name} has shape {tuple(gradient.shape)} but the output has shape {tuple(root.shape)}"
        )
    if gradient.dtype != root.dtype:
        gradient = gradient.to(root.dtype)
    return gradient


def _is_tensor(value):
    return hasattr(value, "_node") and hasattr(value, "_data")


def _tensors(op, name, value):
    """``value`` (a Tensor or a sequence of them) as a list, each entry checked."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for i, t in enumerate(values):
        if not _is_tensor(t):
            raise DTypeError(f"{op}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return values


def _seeds(op, name, value, count):
    """The ``grad_tensors`` / ``grad_outputs`` argument as one entry per output: each a Tensor, a
    NumPy or CuPy array, or None (PyTorch takes Tensors and None)."""
    if value is None:
        return [None] * count
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    for i, g in enumerate(values):
        if g is not None and not _is_tensor(g) and not isinstance(g, np.ndarray) and not is_cuda_array(g):
            raise DTypeError(f"{op}: {name}[{i}] must be a Tensor or None, got {type(g).__name__}")
    if len(values) != count:
        raise ShapeError(f"{op}: {len(values)} {name} given for {count} outputs")
    return values


def _switch(op, name, value, allow_none=False):
    """A flag of the engine: a bool, or an int, which PyTorch's engine takes as its truth value."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return bool(integer(op, name, value))


def backward(tensors: TensorLike | Sequence[TensorLike], grad_tensors: object = None,
             retain_graph: bool | None = None, create_graph: bool = False, *,
             inputs: TensorLike | Sequence[TensorLike] | None = None) -> None:
    """Accumulate into the ``.grad`` of every leaf the gradient of ``tensors`` (a Tensor or a
    sequence), seeded with ``grad_tensors`` (optional for one-element tensors). With ``inputs``
    (tensors that require grad, leaves or not), only their ``.grad`` receives the gradient."""
    tensors = _tensors("backward", "tensors", tensors)
    grad_tensors = _seeds("backward", "grad_tensors", grad_tensors, len(tensors))
    retain_graph = _switch("backward", "retain_graph", retain_graph, allow_none=True)
    create_graph = _switch("backward", "create_graph", create_graph)
    if inputs is not None:
        inputs = _tensors("backward", "inputs", inputs)
        if not inputs:
            raise ShapeError("backward: inputs cannot be empty; pass None to accumulate into every leaf")
        for i, t in enumerate(inputs):
            if not t.requires_grad:
                raise AutogradError(f"backward: inputs[{i}] (shape {tuple(t.shape)}) does not require grad")
    for i, t in enumerate(tensors):
        if not t.requires_grad:
            raise AutogradError(
                f"backward: tensors[{i}] does not require grad and has no grad_fn; did you create "
                "it under no_grad() or from tensors with requires_grad=False?"
            )
    if not tensors:
        return
    seeds = [_root_grad(t, g, "backward", "gradient") for t, g in zip(tensors, grad_tensors)]
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None:
        run_backward(tensors, seeds, retain_graph=retain_graph, create_graph=create_graph)
        return
    inputs = list({id(t): t for t in inputs}.values())
    results = run_backward(tensors, seeds, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)
    for t, g in zip(inputs, results):
        if g is not None:  # hooks have run on it already
            _accumulate(t, g, create_graph, type(tensors[0]), hooks=False)


def grad(outputs: TensorLike | Sequence[TensorLike], inputs: TensorLike | Sequence[TensorLike],
         grad_outputs: object = None, retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple[TensorLike | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned instead of accumulated.

    ``outputs`` and ``inputs`` are Tensors or sequences of them; ``grad_outputs`` gives the vector
    of the vector-Jacobian product for each output (optional for one-element outputs).
    ``retain_graph`` defaults to ``create_graph``. An input the outputs do not depend on raises an
    error unless ``allow_unused=True``, which gives ``None`` for it, or ``materialize_grads=True``,
    which gives zeros. ``is_grads_batched=True`` is not supported.
    """
    outputs = _tensors("grad", "outputs", outputs)
    inputs = _tensors("grad", "inputs", inputs)
    grad_outputs = _seeds("grad", "grad_outputs", grad_outputs, len(outputs))
    retain_graph = _switch("grad", "retain_graph", retain_graph, allow_none=True)
    create_graph = _switch("grad", "create_graph", create_graph)
    materialize_grads = _switch("grad", "materialize_grads", materialize_grads)
    allow_unused = _switch("grad", "allow_unused", allow_unused, allow_none=True)
    if _switch("grad", "is_grads_batched", is_grads_batched):
        raise AutogradError("grad: is_grads_batched=True is not supported; call grad() once per row of "
                            "grad_outputs")
    if materialize_grads and allow_unused is False:
        raise ShapeError("grad: allow_unused must be True or not passed when materialize_grads=True, "
                         "got allow_unused=False")
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    if not inputs:
        raise ShapeError("grad: inputs cannot be empty; pass the tensors to differentiate with respect to")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise AutogradError(f"grad: inputs[{i}] does not require grad")
    for i, t in enumerate(outputs):
        if not t.requires_grad:
            raise AutogradError(
                f"grad: outputs[{i}] does not require grad; it does not depend on any input that does"
            )
    seeds = [_root_grad(o, g, "grad", "grad_outputs") for o, g in zip(outputs, grad_outputs)]
    if retain_graph is None:
        retain_graph = create_graph
    results = [None] * len(inputs)
    if outputs:
        results = run_backward(
            outputs, seeds, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs
        )
    for i, r in enumerate(results):
        if r is None and not allow_unused:
            raise AutogradError(
                f"grad: inputs[{i}] (shape {tuple(inputs[i].shape)}) was not used to compute the "
                "outputs; pass allow_unused=True to get None for it"
            )
        if r is None and materialize_grads:
            x = inputs[i]
            results[i] = type(x)._make(get_array_module(x._data).zeros_like(x._data))
    return tuple(results)
