"""The default process group and the collectives on it, with ``torch.distributed``'s names.

One process group exists at a time: every rank of the job, made by :func:`init_process_group`
from the MPI world that launched the processes (``gradcnn run --nproc N`` or the user's own
``mpiexec -n N``). Its transport is a *backend*:

* ``"mpi"``: mpi4py over the MPI library it was built against (install ``gradcnn[mpi]``). Tensors
  on any device; CUDA tensors and non-contiguous ones go through a contiguous host copy.
* ``"nccl"``: NCCL through CuPy, for CUDA tensors only, on the device this rank was given (the
  job is still started by MPI, which carries NCCL's unique id from rank 0 to the others).

Collectives change tensors in place, as PyTorch's do. ``async_op=True`` returns a :class:`Work`
whose ``wait()`` completes the call (and copies staged results back); without it the call
returns ``None`` once done. Every rank must issue the same collectives in the same order.

Waiting never spins a core for long: a rank polls its request, then sleeps between polls (up to
a millisecond), so more ranks than cores still leaves the cores to the ranks that compute. A wait
longer than the group's ``timeout`` (default 30 minutes, as PyTorch's) raises
:class:`DistBackendError` naming the rank and the call; under ``gradcnn run`` that stops the job.

``init_process_group`` also sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE``
in the environment when they are not set (``gradcnn run`` sets them for every rank, as torchrun
does): that is how :class:`gradcnn.utils.data.DistributedSampler`, which does not import this
package, learns its defaults.
"""

import datetime
import enum
import itertools
import json
import numbers
import os
import time

import numpy as np

from ..backends import get_array_module, to_device
from ..errors import DeviceError, DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor
from .errors import DistBackendError, DistError, NotInitializedError

__all__ = [
    "ReduceOp", "Work", "ProcessGroup",
    "init_process_group", "destroy_process_group", "is_initialized", "is_available",
    "is_mpi_available", "is_nccl_available", "get_rank", "get_world_size", "get_backend",
    "all_reduce", "broadcast", "all_gather", "barrier",
]

BACKENDS = ("mpi", "nccl")
DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)
_ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")


class ReduceOp(enum.Enum):
    """How :func:`all_reduce` combines the ranks' values. ``AVG`` needs a floating tensor; on a
    bool tensor ``SUM`` and ``MAX`` are a logical or, ``PRODUCT`` and ``MIN`` a logical and."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4


class Work:
    """A collective in flight (``async_op=True``): ``wait()`` completes it, ``is_completed()`` asks.

    ``test`` (a callable that returns whether the transport is done, and may be called again after
    it said so) is polled; ``finish`` runs once, after completion, on the waiting rank.
    """

    def __init__(self, test, what, group, finish=None):
        self._test, self._what, self._group, self._finish = test, what, group, finish
        self._done = False

    def is_completed(self):
        """Whether the transport has finished (completes the call if so)."""
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Block (politely) until done; ``timeout`` (a timedelta or seconds) defaults to the group's.
        Returns ``True``."""
        if self._done:
            return True
        limit = self._group.timeout if timeout is None else _seconds(timeout, "Work.wait")
        began = time.monotonic()
        for polls in itertools.count():
            if self._test():
                break
            if polls >= 64:  # a short spin first: most waits inside a step are brief
                time.sleep(min(1e-3, 1e-5 * 2 ** min(polls - 64, 7)))
                if time.monotonic() - began > limit:
                    raise DistBackendError(
                        f"{self._what}: rank {self._group.rank()} of {self._group.size()} waited "
                        f"{limit:g} s and the other ranks did not take part; one of them has "
                        "failed, is stuck, or issued different collectives in a different order")
        self._complete()
        return True

    def _complete(self):
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()


class ProcessGroup:
    """Every rank of the job over one backend (what ``group=None`` means)."""

    def __init__(self, backend, timeout):
        self.backend = backend
        self.timeout = timeout

    def rank(self):
        return self.backend.rank

    def size(self):
        return self.backend.size

    def name(self):
        return self.backend.name

    def __repr__(self):
        return f"<ProcessGroup {self.backend.name} rank {self.rank()} of {self.size()}>"


_default = None  # the ProcessGroup, or None
_env_set = []  # environment variables init_process_group set, removed again by destroy


def is_available():
    """Whether the distributed package is usable (always: its backends load on demand)."""
    return True


def is_mpi_available():
    """Whether mpi4py can be imported (``pip install gradcnn[mpi]``); does not start MPI."""
    from . import mpi

    return mpi.available()


def is_nccl_available():
    """Whether CuPy with its NCCL library can be imported (a GPU is needed to use it)."""
    from . import nccl

    return nccl.available()


def is_initialized():
    """Whether :func:`init_process_group` has been called (and not undone)."""
    return _default is not None


def _seconds(timeout, where):
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if not isinstance(timeout, numbers.Real) or isinstance(timeout, bool) or not timeout > 0:
        raise ShapeError(f"{where}: timeout must be a positive datetime.timedelta or number of seconds, "
                         f"got {timeout!r}")
    return float(timeout)


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join every rank of the job into the default process group.

    ``backend``: ``"mpi"`` (the default) or ``"nccl"``. Ranks and the world size come from MPI;
    ``world_size`` and ``rank``, when given, must agree with it. ``init_method`` may be ``None`` or
    ``"env://"`` (the rendezvous is MPI's), ``store`` must be ``None``. ``timeout`` (a timedelta or
    seconds, default 30 minutes) bounds every wait. ``device_id`` (``"nccl"`` only): this rank's
    CUDA device, by default ``cuda:LOCAL_RANK % device_count``; it becomes CuPy's current device,
    so ``"cuda"`` means it.

    Also installs an excepthook that, after printing the traceback, aborts every rank of an MPI
    job of several ranks: an uncaught exception on one rank must not leave the others waiting
    forever.
    """
    global _default
    where = "init_process_group"
    if _default is not None:
        raise DistError(f"{where}: the default process group is already initialized "
                        f"({_default!r}); call destroy_process_group() first")
    backend = "mpi" if backend is None else str(backend).lower()
    if backend not in BACKENDS:
        raise ShapeError(f"{where}: backend must be one of {', '.join(map(repr, BACKENDS))}, got {backend!r}")
    if init_method not in (None, "env://"):
        raise ShapeError(f"{where}: init_method={init_method!r} is not supported: ranks meet through MPI "
                         "(start the job with `gradcnn run --nproc N` or mpiexec); pass init_method=None")
    if store is not None:
        raise ShapeError(f"{where}: store= is not supported: ranks meet through MPI; pass store=None")
    if pg_options is not None:
        raise ShapeError(f"{where}: pg_options= is not supported; pass pg_options=None")
    if not isinstance(group_name, str):
        raise DTypeError(f"{where}: group_name must be a str, got {group_name!r}")
    seconds = _seconds(DEFAULT_TIMEOUT if timeout is None else timeout, where)
    if backend == "nccl":
        from . import nccl

        impl = nccl.NcclBackend(device_id)
    else:
        if device_id is not None:
            raise ShapeError(f"{where}: device_id is for the 'nccl' backend; backend 'mpi' takes tensors "
                             f"on any device, got device_id={device_id!r}")
        from . import mpi

        impl = mpi.MpiBackend()
    for name, given, actual in (("world_size", world_size, impl.size), ("rank", rank, impl.rank)):
        if given not in (-1, None) and given != actual:
            impl.close()
            raise ShapeError(f"{where}: {name}={given} but MPI started this process as rank {impl.rank} "
                             f"of {impl.size}")
    _default = ProcessGroup(impl, seconds)
    values = dict(zip(_ENV_KEYS, (impl.rank, impl.size, impl.local_rank, impl.local_size)))
    for key, value in values.items():
        if key not in os.environ:
            os.environ[key] = str(value)
            _env_set.append(key)
    from . import mpi

    mpi.abort_on_uncaught_exception()


def destroy_process_group(group=None):
    """Leave the default process group (MPI itself stays up until the process exits)."""
    global _default
    _group(group, "destroy_process_group")
    impl, _default = _default.backend, None
    for key in _env_set:
        os.environ.pop(key, None)
    _env_set.clear()
    impl.close()


def _group(group, op):
    if _default is None:
        raise NotInitializedError(f"{op}: Default process group has not been initialized, please make "
                                  "sure to call init_process_group.")
    if group is not None and group is not _default:
        raise ShapeError(f"{op}: only the default process group exists (group=None), got {group!r}")
    return _default


def _get_default_group():
    return _group(None, "_get_default_group")


def get_rank(group=None):
    """This process's rank in ``[0, world_size)``."""
    return _group(group, "get_rank").rank()


def get_world_size(group=None):
    """The number of ranks in the job."""
    return _group(group, "get_world_size").size()


def get_backend(group=None):
    """``"mpi"`` or ``"nccl"``."""
    return _group(group, "get_backend").name()


# -- the collectives ------------------------------------------------------------------------------


def _check_tensor(op, name, tensor, pg):
    if not isinstance(tensor, Tensor):
        raise DTypeError(f"{op}: {name} must be a gradcnn Tensor, got {type(tensor).__name__}")
    pg.backend.check_device(op, name, tensor.device)


def _staged(pg, tensor):
    """A contiguous buffer the backend can use in place of ``tensor``'s array, and a function
    that puts the result back into the tensor (``None`` when the buffer is the array itself)."""
    arr = tensor._data
    where = pg.backend.buffer_device
    if where == tensor.device and arr.flags.c_contiguous:
        return arr, None
    moved = arr if where == tensor.device else to_device(arr, where)
    buf = get_array_module(moved).ascontiguousarray(moved)

    def back():
        arr[...] = buf if where == tensor.device else to_device(buf, tensor.device)

    return buf, back


def _run(pg, what, start, tensors, after=None, async_op=False):
    """Start a collective (``start()`` returns the transport's ``test`` callable) and finish it:
    ``after`` (copy-backs), then bump the version of every tensor written."""

    def finish():
        if after is not None:
            after()
        for t in tensors:
            t._version.value += 1

    work = Work(start(), what, pg, finish)
    if async_op:
        return work
    work.wait()
    return None


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """Combine ``tensor`` over every rank with ``op``; each rank's ``tensor`` receives the result,
    in place."""
    pg = _group(group, "all_reduce")
    _check_tensor("all_reduce", "tensor", tensor, pg)
    if not isinstance(op, ReduceOp):
        raise DTypeError(f"all_reduce: op must be a gradcnn.distributed.ReduceOp (SUM, AVG, PRODUCT, MIN, "
                         f"MAX), got {op!r}")
    if op is ReduceOp.AVG and tensor.dtype.kind != "f":
        raise DTypeError(f"all_reduce: ReduceOp.AVG needs a floating tensor, got {tensor.dtype.name}; "
                         "use SUM and divide")
    buf, back = _staged(pg, tensor)
    return _run(pg, "all_reduce", lambda: pg.backend.iallreduce(buf, op), [tensor], back, async_op)


def broadcast(tensor, src=None, group=None, async_op=False, group_src=None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank."""
    pg = _group(group, "broadcast")
    _check_tensor("broadcast", "tensor", tensor, pg)
    if src is None:
        src = group_src
    if not isinstance(src, numbers.Integral) or isinstance(src, bool) or not 0 <= src < pg.size():
        raise IndexOutOfRangeError(f"broadcast: src must be a rank in [0, {pg.size()}), got {src!r}")
    buf, back = _staged(pg, tensor)
    root = pg.rank() == src
    return _run(pg, "broadcast", lambda: pg.backend.ibroadcast(buf, int(src)), [] if root else [tensor],
                None if root else back, async_op)


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """Fill ``tensor_list`` (``world_size`` tensors shaped like ``tensor``, on its device, of its
    dtype) with every rank's ``tensor``, in rank order."""
    pg = _group(group, "all_gather")
    _check_tensor("all_gather", "tensor", tensor, pg)
    size = pg.size()
    if not isinstance(tensor_list, list):
        raise DTypeError(f"all_gather: tensor_list must be a list of {size} tensors, got "
                         f"{type(tensor_list).__name__}")
    if len(tensor_list) != size:
        raise ShapeError(f"all_gather: tensor_list has {len(tensor_list)} tensors but the group has "
                         f"{size} ranks; give one tensor per rank")
    for i, out in enumerate(tensor_list):
        _check_tensor("all_gather", f"tensor_list[{i}]", out, pg)
        if out.shape != tensor.shape:
            raise ShapeError(f"all_gather: tensor_list[{i}] has shape {tuple(out.shape)} but tensor has "
                             f"shape {tuple(tensor.shape)}")
        if out.dtype != tensor.dtype:
            raise DTypeError(f"all_gather: tensor_list[{i}] is {out.dtype.name} but tensor is {tensor.dtype.name}")
        if out.device != tensor.device:
            raise DeviceError(f"all_gather: tensor_list[{i}] is on {out.device} but tensor is on {tensor.device}")
    send, _ = _staged(pg, tensor)
    where = pg.backend.buffer_device
    xp = get_array_module(send)
    recv = xp.empty((size,) + tuple(tensor.shape), dtype=send.dtype)

    def back():
        for i, out in enumerate(tensor_list):
            out._data[...] = recv[i] if where == tensor.device else to_device(recv[i], tensor.device)

    return _run(pg, "all_gather", lambda: pg.backend.iallgather(send, recv), tensor_list, back, async_op)


def barrier(group=None, async_op=False, device_ids=None):
    """Wait until every rank has reached this call. ``device_ids`` (a list, for NCCL) is accepted
    for compatibility: a group here drives one device per rank."""
    pg = _group(group, "barrier")
    if device_ids is not None and not isinstance(device_ids, (list, tuple)):
        raise DTypeError(f"barrier: device_ids must be a list of device indices, got {device_ids!r}")
    return _run(pg, "barrier", pg.backend.ibarrier, [], None, async_op)


# -- for the package's own use --------------------------------------------------------------------


def _all_gather_json(obj, what):
    """Every rank's ``obj`` (JSON-able), in rank order: a collective, as bytes in a uint8 tensor."""
    pg = _group(None, what)
    device = pg.backend.buffer_device
    payload = np.frombuffer(json.dumps(obj, sort_keys=True).encode(), dtype=np.uint8)
    length = Tensor._make(to_device(np.array([payload.size], dtype=np.int64), device))
    all_reduce(length, ReduceOp.MAX)
    longest = int(length._data[0])
    padded = np.zeros(longest + 8, dtype=np.uint8)
    padded[:8] = np.frombuffer(np.int64(payload.size).tobytes(), dtype=np.uint8)
    padded[8:8 + payload.size] = payload
    mine = Tensor._make(to_device(padded, device))
    out = [Tensor._make(to_device(np.empty_like(padded), device)) for _ in range(pg.size())]
    all_gather(out, mine)
    result = []
    for t in out:
        raw = np.asarray(to_device(t._data, "cpu"))
        n = int(np.frombuffer(raw[:8].tobytes(), dtype=np.int64)[0])
        result.append(json.loads(raw[8:8 + n].tobytes().decode()))
    return result
