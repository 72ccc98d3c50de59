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

This module knows nothing of :class:`~gradcnn.Tensor`: it uses the class of the tensors it is given.
"""

import contextlib
import itertools

from ..errors import AutogradError

__all__ = [
    "Node",
    "is_grad_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "run_backward",
]

# Grad mode is process-wide, not per thread: it keeps the hot path to one global read.
_grad_enabled = True
_next_seq = itertools.count().__next__


def is_grad_enabled():
    """Whether calls made now are recorded on the tape."""
    return _grad_enabled


class set_grad_enabled(contextlib.ContextDecorator):
    """Turn recording on or off inside a ``with`` block (or a decorated function)."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self.prev = []

    def __enter__(self):
        global _grad_enabled
        self.prev.append(_grad_enabled)
        _grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.prev.pop()
        return False


class no_grad(set_grad_enabled):
    """Context manager and decorator: nothing inside is recorded, as in ``torch.no_grad``."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Context manager and decorator: recording is on inside, even within ``no_grad``."""

    def __init__(self):
        super().__init__(True)


class Node:
    """One recorded call: ``fn.backward(ctx, grad)`` gives the gradients for ``edges``.

    ``shape`` and ``dtype`` describe the output, so that a backward returning a gradient of the wrong
    shape is reported with the name of the function at fault.
    """

    __slots__ = ("fn", "ctx", "edges", "seq", "shape", "dtype", "__weakref__")

    def __init__(self, fn, ctx, edges, shape, dtype):
        self.fn = fn
        self.ctx = ctx
        self.edges = edges
        self.shape = shape
        self.dtype = dtype
        self.seq = _next_seq()

    @property
    def name(self):
        return self.fn.__name__

    def __repr__(self):
        return f"<Node {self.name} #{self.seq}>"


def _freed_error(node):
    return AutogradError(
        f"backward through {node.name} (node #{node.seq}) a second time: its saved tensors were "
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
            if type(edge) is Node and id(edge) not in seen:
                stack.append(edge)
    order.sort(key=lambda n: n.seq, reverse=True)
    return order


def _check_grad(node, index, grad, shape, dtype):
    if grad.shape != shape:
        raise AutogradError(
            f"{node.name}.backward returned a gradient of shape {grad.shape} for input {index}, "
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
    """
    tensor_cls = type(roots[0])
    pending = {}  # id(node) -> gradient flowing into that node's output
    leaf_grads = {}  # id(leaf) -> [leaf, gradient]

    def add_leaf(leaf, grad):
        entry = leaf_grads.get(id(leaf))
        if entry is None:
            leaf_grads[id(leaf)] = [leaf, grad]
        else:
            entry[1] = entry[1] + grad

    root_nodes = []
    for root, grad in zip(roots, root_grads):
        node = root._node
        if node is None:
            if root.requires_grad:
                add_leaf(root, grad)
            continue
        root_nodes.append(node)
        prev = pending.get(id(node))
        pending[id(node)] = grad if prev is None else prev + grad

    wanted = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            key = id(t._node) if t._node is not None else id(t)
            wanted.setdefault(key, []).append(i)
    results = [None] * (0 if inputs is None else len(inputs))

    with set_grad_enabled(create_graph):
        for node in _reachable(root_nodes):
            grad = pending.pop(id(node), None)
            if grad is not None and id(node) in wanted:
                for i in wanted[id(node)]:
                    results[i] = grad
            if grad is not None:
                grads = node.fn.backward(node.ctx, grad)
                if type(grads) is not tuple:
                    grads = (grads,)
                if len(grads) != len(node.edges):
                    raise AutogradError(
                        f"{node.name}.backward returned {len(grads)} gradients for "
                        f"{len(node.edges)} inputs"
                    )
                for i, (edge, g) in enumerate(zip(node.edges, grads)):
                    if edge is None or g is None:
                        continue
                    if type(edge) is Node:
                        g = _check_grad(node, i, g, edge.shape, edge.dtype)
                        prev = pending.get(id(edge))
                        pending[id(edge)] = g if prev is None else prev + g
                    else:
                        add_leaf(edge, _check_grad(node, i, g, edge.shape, edge.dtype))
            if not retain_graph:
                node.ctx = None

    if inputs is not None:
        for key, (_leaf, grad) in leaf_grads.items():
            for i in wanted.get(key, ()):
                results[i] = grad
        return results

    for leaf, grad in leaf_grads.values():
        if create_graph:
            leaf.grad = grad if leaf.grad is None else leaf.grad + grad
        elif leaf.grad is None:
            # A gradient array may be shared (Add passes one array to both inputs): own a copy.
            leaf.grad = tensor_cls._make(grad.data.copy())
        else:
            leaf.grad.data += grad.data
    return None

