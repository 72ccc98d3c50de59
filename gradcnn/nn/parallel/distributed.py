"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward.

At wrap time every rank describes its model (parameter and buffer names, shapes, dtypes); the
ranks compare descriptions and all raise the same error, naming what differs, if they are not the
same model. Then rank 0's parameters and buffers are broadcast, so every replica starts equal.

**Buckets.** Parameters that require grad are taken in reverse registration order (the order
backward usually produces their gradients: last layer first) and packed into buckets, one flat
buffer each, closed once it holds ``bucket_cap_mb`` megabytes or more (the first one at 1 MiB
if the cap is larger, so that communication starts early), never mixing dtypes or devices.

**Hooks and overlap.** Each parameter carries a post-accumulate-grad hook. When backward has
finished a parameter's gradient, the hook copies it into its bucket; when a bucket is full, its
all-reduce (``ReduceOp.AVG``) is started *without waiting*, and backward goes on computing the
gradients of the layers below while the bucket travels. Buckets start strictly in index order on
every rank (a full bucket waits for the ones before it), so the ranks issue identical sequences
of collectives. Every later hook polls the buckets in flight, which is what makes MPI progress
them. When the last bucket has started (the end of backward, in practice), the hook waits for all
of them and writes the averages back into ``.grad``, so ``optimizer.step()`` sees averaged
gradients as soon as ``backward()`` returns.

**One reduction per forward.** A forward with grad enabled, outside :meth:`no_sync`, arms the
next backward. ``no_sync()`` disarms it: gradients then accumulate locally, and the first synced
backward averages the accumulated sums. A parameter that gets no gradient leaves its bucket
unfinished: the next forward raises, naming the parameters, unless ``find_unused_parameters=True``,
which finds at forward time the parameters the output does not depend on and counts them as
ready (with zeros) at the first hook; their ``.grad`` is then left alone if no rank used them.

Unlike PyTorch, buckets are not rebuilt after the first iteration from the observed order, and
gradients are copied into and out of buckets (``gradient_as_bucket_view`` and ``static_graph``
are accepted and change nothing).
"""

import contextlib
import numbers
import weakref

import numpy as np

from ... import distributed as dist
from ...autograd import tape
from ...autograd.tape import Node, OutputRef, no_grad
from ...backends import get_array_module, to_device
from ...errors import AutogradError, DeviceError, DTypeError, ShapeError
from ...tensor import Tensor
from ..module import Module

__all__ = ["DistributedDataParallel"]

FIRST_BUCKET_BYTES = 2**20


class _Bucket:
    __slots__ = ("indices", "offsets", "buffer", "pending", "work")

    def __init__(self):
        self.indices, self.offsets = [], []
        self.buffer = self.work = None
        self.pending = 0


def _describe(module):
    """What must be the same on every rank: parameters and buffers, by name, shape and dtype."""
    rows = [["parameter", n, list(p.shape), p.dtype.name, bool(p.requires_grad)]
            for n, p in module.named_parameters()]
    rows += [["buffer", n, list(b.shape), b.dtype.name, False] for n, b in module.named_buffers()]
    return rows


def _difference(mine, theirs, rank):
    """The first way in which rank ``rank``'s description ``theirs`` differs from rank 0's."""
    ours = {(kind, name): rest for kind, name, *rest in mine}
    other = {(kind, name): rest for kind, name, *rest in theirs}
    for kind, name, *rest in mine:
        if (kind, name) not in other:
            return f"{kind} {name!r} exists on rank 0 but not on rank {rank}"
        shape, dtype, grad = other[(kind, name)]
        if shape != rest[0]:
            return f"{kind} {name!r} has shape {tuple(shape)} on rank {rank} but {tuple(rest[0])} on rank 0"
        if dtype != rest[1]:
            return f"{kind} {name!r} is {dtype} on rank {rank} but {rest[1]} on rank 0"
        if grad != rest[2]:
            return (f"{kind} {name!r} has requires_grad={grad} on rank {rank} but {rest[2]} on rank 0")
    for kind, name, *_ in theirs:
        if (kind, name) not in ours:
            return f"{kind} {name!r} exists on rank {rank} but not on rank 0"
    if [r[:2] for r in mine] != [r[:2] for r in theirs]:
        return f"the parameters and buffers are registered in a different order on rank {rank}"
    return None


def _sync(tensors, src=0):
    """Broadcast ``tensors`` from rank ``src``, one flat buffer per dtype and device."""
    groups = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    with no_grad():
        for members in groups.values():
            xp = get_array_module(members[0]._data)
            flat = Tensor._make(xp.concatenate([t._data.ravel() for t in members]))
            dist.broadcast(flat, src)
            start = 0
            for t in members:
                t._data[...] = flat._data[start:start + t._data.size].reshape(t.shape)
                t._version.value += 1
                start += t._data.size


def _leaves(outputs):
    """ids of the leaf tensors that the tensors in ``outputs`` (nested tuples, lists, dicts)
    depend on through the graph."""
    stack, seen, leaves = [], set(), set()

    def collect(obj):
        if isinstance(obj, Tensor):
            if obj._node is not None:
                stack.append(tape.node_of(obj._node))
            elif obj.requires_grad:
                leaves.add(id(obj))
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                collect(item)
        elif isinstance(obj, dict):
            for item in obj.values():
                collect(item)

    collect(outputs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node.edges:
            if type(edge) is Node:
                stack.append(edge)
            elif type(edge) is OutputRef:
                stack.append(edge.node)
            elif edge is not None:
                leaves.add(id(edge))
    return leaves


class DistributedDataParallel(Module):
    """Data parallelism across the ranks of the default process group (``torch.nn.parallel``'s
    name and arguments). Wrap the model on every rank after moving it to its device; call the
    wrapper as the model; ``.module`` is the model. See the module docstring for how gradients
    are averaged.

    ``bucket_cap_mb``: bucket size in megabytes (default 25). ``broadcast_buffers``: copy rank 0's
    buffers (batch-norm statistics) to every rank before each forward that records a graph.
    ``init_sync``: broadcast rank 0's parameters and buffers now. ``find_unused_parameters``: allow
    parameters that the output does not depend on. ``device_ids`` / ``output_device``: at most one
    device, the module's (a rank drives one device). ``dim``, ``gradient_as_bucket_view``,
    ``static_graph``: accepted for compatibility.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        del check_reduction  # deprecated and ignored by PyTorch too
        where = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise DTypeError(f"{where}: module must be a gradcnn.nn.Module, got {type(module).__name__}")
        group = dist.process_group._group(process_group, where)
        bucket_cap_mb = 25 if bucket_cap_mb is None else bucket_cap_mb
        if not isinstance(bucket_cap_mb, numbers.Real) or isinstance(bucket_cap_mb, bool) or not bucket_cap_mb > 0:
            raise ShapeError(f"{where}: bucket_cap_mb must be a positive number of megabytes, got {bucket_cap_mb!r}")
        params = [p for p in module.parameters() if p.requires_grad]
        names = {id(p): n for n, p in module.named_parameters()}
        devices = sorted({p.device for p in module.parameters()} | {b.device for b in module.buffers()})
        if len(devices) > 1:
            raise DeviceError(f"{where}: the module's parameters and buffers are on {', '.join(devices)}; "
                              "a rank's replica must live on one device")
        for name, given in (("device_ids", device_ids), ("output_device", output_device)):
            wanted = [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]
            wanted = [f"cuda:{d}" if isinstance(d, numbers.Integral) else str(d) for d in wanted]
            wanted = ["cuda:0" if d == "cuda" else d for d in wanted]
            if len(wanted) > 1 or (wanted and devices and wanted[0] != devices[0]):
                raise DeviceError(f"{where}: {name}={given!r} but the module is on "
                                  f"{devices[0] if devices else 'no device'}; give at most the module's device")
        object.__setattr__(self, "process_group", group)
        self.module = module
        self.dim, self.broadcast_buffers = dim, bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view, self.static_graph = gradient_as_bucket_view, static_graph
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True

        descriptions = dist.process_group._all_gather_json(_describe(module), where)
        problems = [d for d in (_difference(descriptions[0], theirs, r) for r, theirs in enumerate(descriptions))
                    if d]
        if problems:
            raise ShapeError(f"{where}: every rank must wrap the same model, but "
                             f"{'; '.join(problems[:5])}" + (f" (and {len(problems) - 5} more ranks)"
                                                           if len(problems) > 5 else ""))
        if init_sync and group.size() > 1:
            _sync(list(module.parameters()) + list(module.buffers()))

        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "_names", [names[id(p)] for p in params])
        object.__setattr__(self, "_slot", {id(p): i for i, p in enumerate(params)})
        object.__setattr__(self, "_buckets", self._make_buckets(params, bucket_cap_mb * 2**20))
        object.__setattr__(self, "_bucket_of", {i: b for b in self._buckets for i in b.indices})
        object.__setattr__(self, "_state", "idle")  # idle | armed | reduced
        object.__setattr__(self, "_ready", [False] * len(params))
        object.__setattr__(self, "_unused", [])
        object.__setattr__(self, "_next", 0)
        # The hooks hold the wrapper weakly: a replaced wrapper stops reducing when it is collected.
        on_grad = weakref.WeakMethod(self._on_grad)

        def hook(param):
            method = on_grad()
            if method is not None:
                method(param)

        object.__setattr__(self, "_handles", [tape.register_post_accumulate_grad_hook(p, hook) for p in params])

    def _make_buckets(self, params, cap):
        open_, done, sizes = {}, [], {}
        for i in reversed(range(len(params))):
            p = params[i]
            key = (p.dtype, p.device)
            bucket = open_.get(key)
            if bucket is None:
                bucket = open_[key] = _Bucket()
                done.append(bucket)
                sizes[id(bucket)] = 0
            bucket.indices.append(i)
            bucket.offsets.append(sizes[id(bucket)])
            sizes[id(bucket)] += p._data.size
            if sizes[id(bucket)] * p.dtype.itemsize >= (min(FIRST_BUCKET_BYTES, cap) if len(done) == 1 else cap):
                del open_[key]
        for bucket in done:
            first = params[bucket.indices[0]]
            where = self.process_group.backend.buffer_device
            bucket.buffer = to_device(np.zeros(sizes[id(bucket)], dtype=first.dtype), where)
        return done

    # -- forward ------------------------------------------------------------------------------

    def forward(self, *inputs, **kwargs):
        if self._state == "armed" and any(self._ready):
            missing = [n for n, r in zip(self._names, self._ready) if not r]
            raise AutogradError(
                "DistributedDataParallel: the previous iteration's gradients were not all averaged: "
                f"these parameters got no gradient: {', '.join(missing[:10])}"
                + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
                + ". If the loss does not use every parameter, wrap with find_unused_parameters=True; "
                "every forward that records a graph must be followed by one backward on every rank")
        sync = tape.is_grad_enabled() and self.require_backward_grad_sync
        if sync and self.broadcast_buffers and self.process_group.size() > 1:
            buffers = list(self.module.buffers())
            if buffers:
                _sync(buffers)
        out = self.module(*inputs, **kwargs)
        if sync:
            self._prepare(out)
        else:
            object.__setattr__(self, "_state", "idle")
        return out

    def _prepare(self, out):
        for b in self._buckets:
            b.pending, b.work = len(b.indices), None
        self._ready[:] = [False] * len(self._params)
        object.__setattr__(self, "_next", 0)
        unused = []
        if self.find_unused_parameters:
            reached = _leaves(out)
            unused = [i for i, p in enumerate(self._params) if id(p) not in reached]
        object.__setattr__(self, "_unused", unused)
        object.__setattr__(self, "_used", np.ones(len(self._params), dtype=np.int32))
        object.__setattr__(self, "_state", "armed" if self._params else "idle")

    @contextlib.contextmanager
    def no_sync(self):
        """Inside the block, forward/backward accumulate gradients locally without averaging them;
        the first backward after it averages what has accumulated."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # -- backward: the hook -------------------------------------------------------------------

    def _on_grad(self, param):
        state = self._state
        if state == "idle":
            return
        i = self._slot[id(param)]
        if state == "reduced" or self._ready[i]:
            raise AutogradError(
                f"DistributedDataParallel: parameter {self._names[i]!r} got a second gradient after "
                "this iteration's gradients were averaged; run forward before each backward (use "
                "retain_graph=False), or accumulate inside no_sync()")
        if self._unused:
            unused, self._unused[:] = list(self._unused), []
            for j in unused:
                self._used[j] = 0
                self._mark(j, None)
        self._mark(i, param.grad._data)
        for b in self._buckets[:self._next]:
            b.work.is_completed()  # MPI moves a request along only while someone asks about it

    def _mark(self, i, grad):
        self._ready[i] = True
        bucket = self._bucket_of[i]
        k = bucket.indices.index(i)
        start, size = bucket.offsets[k], self._params[i]._data.size
        view = bucket.buffer[start:start + size]
        if grad is None:
            view[...] = 0
        else:
            view[...] = to_device(grad, self.process_group.backend.buffer_device).ravel()
        bucket.pending -= 1
        while self._next < len(self._buckets) and self._buckets[self._next].pending == 0:
            b = self._buckets[self._next]
            b.work = dist.all_reduce(Tensor._make(b.buffer), dist.ReduceOp.AVG, async_op=True)
            object.__setattr__(self, "_next", self._next + 1)
        if self._next == len(self._buckets) and self._state == "armed":
            self._finish()

    def _finish(self):
        object.__setattr__(self, "_state", "reduced")
        used = None
        if self.find_unused_parameters:
            counts = Tensor._make(to_device(self._used, self.process_group.backend.buffer_device))
            dist.all_reduce(counts, dist.ReduceOp.SUM)
            used = np.asarray(to_device(counts._data, "cpu"))
        for b in self._buckets:
            b.work.wait()
        for b in self._buckets:
            for i, start in zip(b.indices, b.offsets):
                p = self._params[i]
                if used is not None and used[i] == 0:
                    continue
                value = to_device(b.buffer[start:start + p._data.size], p.device).reshape(p.shape)
                if p.grad is None:
                    p.grad = Tensor._make(value.copy())
                else:
                    p.grad._data[...] = value

    def extra_repr(self):
        return f"world_size={self.process_group.size()}, buckets={len(self._buckets)}"
