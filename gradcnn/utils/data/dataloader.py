"""``DataLoader``: batches of a dataset, read in the main process or by worker processes.

How the worker processes work (``num_workers > 0``)
---------------------------------------------------

**Start method.** Workers are started with ``"forkserver"`` where the platform has it (Linux, macOS)
and ``"spawn"`` elsewhere (Windows), never with a plain ``fork`` of the main process by default. By
the time a program iterates a loader, its main process usually runs threads: gradcnn's CPU kernel
pool, OpenBLAS's threads, CuPy's CUDA context. ``fork`` copies only the calling thread, so a forked
child inherits a thread pool whose threads do not exist (a convolution in a worker -- a transform,
say -- then waits forever on it; this was observed) and locks that may be held forever, and CUDA
cannot be used at all. A forkserver is a fresh, single-threaded process, started once per program,
from which each worker is forked: safe, and quick once it runs, since it has gradcnn already
imported (it is added to the server's preload list the first time a loader starts workers). The
cost is the one every non-fork platform has: the dataset, ``collate_fn`` and ``worker_init_fn`` are
sent to each worker by pickling, so they must be picklable (defined at module level, not lambdas
or local functions), and a script must guard its entry point with ``if __name__ == "__main__":``.
For the same reason classes defined in an interactive session or notebook cannot be found by the
workers: put them in a module. ``multiprocessing_context="fork"`` is honoured for programs that know
their main process is safe to fork (no gradcnn kernels, BLAS calls or CUDA before the first loader).
Each worker runs gradcnn's kernels on one thread (``GRADCNN_NUM_THREADS=1``; the workers are the
parallelism), as PyTorch's workers do. Batches come back pickled through one pipe per worker
(PyTorch uses shared memory): workers pay off for datasets that read files or transform samples; a
:class:`TensorDataset` in memory is fastest with ``num_workers=0``, which batches it by indexing.

**Order and randomness.** The sampler runs in the main process, as with ``num_workers=0``; batch
``k`` of an epoch is sent to worker ``k mod num_workers`` (skipping workers whose iterable dataset
has ended) and batches are handed out in that order, so a seeded shuffle gives the same batches in
the same order whatever ``num_workers`` is. Each epoch draws a base seed from ``generator`` (by
default gradcnn's generator) with or without workers, so the generator's stream does not depend on
``num_workers`` either; worker ``i`` seeds gradcnn's generator and Python's ``random`` with
``base_seed + i``, and NumPy's global generator from both, then calls ``worker_init_fn(i)``. (A
dataset that draws random numbers itself therefore draws different ones with workers than without,
as in PyTorch.) ``persistent_workers=True`` keeps the workers, and the seeds they got when they
started, across epochs.

**Shutdown.** Workers stop when an epoch ends (unless persistent), when the iterator is dropped
(``break`` out of the loop), when the loader is garbage-collected (persistent workers) or at exit:
each is told to stop, given a grace period, then terminated and joined, so none is left behind. A
worker ignores Ctrl-C (the main process handles it) and exits by itself if the main process dies.
An exception in a worker is re-raised in the main process as the same exception type, with the
worker's id, pid and traceback text; the workers are shut down first. A worker that dies (killed,
crashed) or a batch that takes longer than ``timeout`` seconds raises a RuntimeError saying which.
"""

import itertools
import math
import multiprocessing
import multiprocessing.connection
import numbers
import pickle
import signal
import time
import weakref
from collections import deque

from ...errors import DTypeError, ShapeError
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import make_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, check_generator, rng
from .worker import worker_loop

__all__ = ["DataLoader"]

#: Seconds a stopping worker gets to finish its current batch before it is terminated.
JOIN_S = 2.0

_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers")
_context = None


def default_context():
    """The multiprocessing context for workers when none is given (see the module docstring)."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["__main__", __name__])
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the keys of an iterable dataset, which ignores them."""

    def __iter__(self):
        return itertools.repeat(None)


class DataLoader:
    """Batches of ``dataset``: ``for images, labels in DataLoader(train, batch_size=64, shuffle=True)``.

    PyTorch's ``torch.utils.data.DataLoader``, with its arguments and defaults:

    * ``batch_size`` (1): samples per batch; ``None`` turns batching off (each item is one sample,
      passed through ``collate_fn``, by default :func:`default_convert`).
    * ``shuffle``: a new random order every epoch, drawn from ``generator`` (a
      ``numpy.random.Generator``), by default gradcnn's generator, so ``gradcnn.manual_seed``
      makes it reproducible. ``sampler`` / ``batch_sampler``: a custom order of keys / of batches
      of keys (mutually exclusive with ``shuffle``, and ``batch_sampler`` with ``batch_size``,
      ``sampler`` and ``drop_last``). ``drop_last``: leave out a last, short batch.
    * ``collate_fn``: turns a list of samples into a batch; by default :func:`default_collate`
      (Tensors stacked, ints to int64, floats to float64, dicts and tuples field by field).
    * ``num_workers`` (0): worker processes that read batches in parallel (see the module
      docstring for how); ``prefetch_factor`` (2 with workers): batches in flight per worker;
      ``persistent_workers``: keep the workers between epochs; ``worker_init_fn(worker_id)``:
      called in each worker after seeding; ``timeout`` (0, none): seconds to wait for a batch from
      a worker before a RuntimeError (without workers it has no effect, where PyTorch refuses it);
      ``multiprocessing_context``: a start method name or context.
    * ``pin_memory``, ``pin_memory_device``: accepted and ignored (batches are ordinary CPU
      tensors); ``in_order``: batches always come in order.

    ``len(loader)`` is the number of batches. Batches are on the CPU, except that a
    :class:`TensorDataset` of CUDA tensors gives batches on their device. With an
    :class:`IterableDataset` each worker iterates its own copy (see :func:`get_worker_info`).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers=False, pin_memory_device="", in_order=True):
        if not _is_int(num_workers) or num_workers < 0:
            raise ShapeError(f"DataLoader: num_workers option should be non-negative; use num_workers=0 to "
                             f"disable multiprocessing (got num_workers={num_workers!r})")
        if not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ShapeError(f"DataLoader: timeout option should be non-negative (got timeout={timeout!r})")
        if num_workers == 0 and prefetch_factor is not None:
            raise ShapeError("DataLoader: prefetch_factor option could only be specified in multiprocessing; "
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and (not _is_int(prefetch_factor) or prefetch_factor < 0):
            raise ShapeError(f"DataLoader: prefetch_factor option should be non-negative (got "
                             f"prefetch_factor={prefetch_factor!r})")
        if persistent_workers and num_workers == 0:
            raise ShapeError("DataLoader: persistent_workers option needs num_workers > 0")
        check_generator(generator, "DataLoader")

        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value, unset in (("shuffle", shuffle, (None, False)), ("sampler", sampler, (None,)),
                                       ("batch_sampler", batch_sampler, (None,))):
                if not any(value is u for u in unset):
                    raise ShapeError(f"DataLoader with IterableDataset: expected unspecified {name} option, "
                                     f"but got {name}={value!r}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ShapeError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ShapeError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ShapeError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn or (default_collate if batch_sampler is not None else default_convert)
        self.persistent_workers = persistent_workers
        self._iterable = iterable
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name, value):
        if name in _FROZEN and getattr(self, "_initialized", False):
            raise ShapeError(f"{name} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(name, value)

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        if context is not None:
            if self.num_workers == 0:
                raise ShapeError(f"DataLoader: multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ShapeError(f"DataLoader: multiprocessing_context option should specify a valid start "
                                     f"method in {methods!r}, but got multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise DTypeError(f"DataLoader: multiprocessing_context option should be a valid context object "
                                 f"or a string specifying the start method, but got "
                                 f"multiprocessing_context={context!r}")
        self._multiprocessing_context = context

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if not self.persistent_workers:
            return _MultiProcessIter(self)
        if self._iterator is None or self._iterator.closed:
            self._iterator = _MultiProcessIter(self)
        else:
            self._iterator.reset(self)
        return self._iterator


class _BaseIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._auto_collation = loader._auto_collation
        self._collate_fn = loader.collate_fn
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._begin_epoch(loader)

    def _begin_epoch(self, loader):
        # Drawn with and without workers, so that the generator's stream does not depend on them.
        self._base_seed = int(rng(loader.generator).integers(2**63))
        self._sampler_iter = iter(self._index_sampler)

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._index_sampler)


class _SingleProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = make_fetcher(self._dataset, self._auto_collation, self._collate_fn, self._drop_last)

    def __next__(self):
        return self._fetcher.fetch(next(self._sampler_iter))


class _MultiProcessIter(_BaseIter):
    def __init__(self, loader):
        super().__init__(loader)
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor
        self._persistent = loader.persistent_workers
        self._timeout = loader.timeout
        self._iterable = loader._iterable
        self._pool = _WorkerPool(loader, self._base_seed)
        self._finalizer = weakref.finalize(self, self._pool.shutdown)
        self._next_task = 0
        self._start_epoch()

    @property
    def closed(self):
        return self._pool.closed

    def _start_epoch(self):
        self._tasks = deque()  # (task id, worker id) in the order the batches are handed out
        self._worker_cycle = itertools.cycle(range(self._num_workers))  # batch 0 to worker 0 every epoch
        self._active = [True] * self._num_workers
        self._sampler_done = False
        self._done = False

    def reset(self, loader):
        """Start a new epoch on the same (persistent) workers; results of an unfinished epoch that
        are still in flight are recognised by their task ids and dropped."""
        self._begin_epoch(loader)
        if self._iterable:
            for w in range(self._num_workers):
                self._pool.send(w, ("resume",))
        self._start_epoch()

    def _next_worker(self):
        for _ in range(self._num_workers):
            w = next(self._worker_cycle)
            if self._active[w]:
                return w
        return None

    def _dispatch(self):
        limit = max(1, self._prefetch * sum(self._active))
        while not self._sampler_done and len(self._tasks) < limit:
            w = self._next_worker()
            if w is None:
                return
            try:
                index = next(self._sampler_iter)
            except StopIteration:
                self._sampler_done = True
                return
            self._pool.send(w, ("task", self._next_task, index))
            self._tasks.append((self._next_task, w))
            self._next_task += 1

    def __next__(self):
        if self._done:
            raise StopIteration
        while True:
            self._dispatch()
            if not self._tasks:
                self._done = True
                if not self._persistent:
                    self._finalizer()
                raise StopIteration
            task, w = self._tasks.popleft()
            if not self._active[w]:
                continue  # sent before its worker's iterable dataset ended
            try:
                kind, payload = self._pool.receive(w, task, self._timeout)
            except BaseException:
                self._close()
                raise
            if kind == "data":
                self._dispatch()
                return payload
            if kind == "end":
                self._active[w] = False
                continue
            self._close()
            raise _rebuild_error(payload) from None

    def _close(self):
        self._done = True
        self._finalizer()


class _WorkerPool:
    """The worker processes of one iterator, with an index queue and a result pipe each. Holds no
    reference to the iterator, so that the iterator's finalizer can shut it down."""

    def __init__(self, loader, base_seed):
        context = loader.multiprocessing_context or default_context()
        method = context.get_start_method()
        self.closed = False
        self.queues, self.conns, self.processes = [], [], []
        n = loader.num_workers
        try:
            for w in range(n):
                self.queues.append(context.Queue())
                reader, writer = context.Pipe(duplex=False)
                self.conns.append(reader)
                args = (w, n, loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last,
                        base_seed, loader.worker_init_fn, self.queues[w], writer)
                process = context.Process(target=worker_loop, args=args, name=f"DataLoader worker {w}",
                                          daemon=True)
                try:
                    process.start()
                finally:
                    writer.close()  # the worker has its own copy; ours would hide its exit from recv
                self.processes.append(process)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            self.shutdown()
            raise DTypeError(
                f"DataLoader: num_workers={n} starts worker processes with the {method!r} start method, which "
                f"sends each worker the dataset, collate_fn and worker_init_fn by pickling, and one of them "
                f"cannot be pickled: {exc}. Define them at module level (not as lambdas or inside functions), "
                f"or use num_workers=0") from exc
        except OSError as exc:
            self.shutdown()
            raise RuntimeError(
                f"DataLoader: worker {len(self.processes)} could not be started with the {method!r} start method "
                f"({exc}); the worker's own error, if it printed one, is above. Each worker imports the main "
                f"module: run the program from a file whose entry point is guarded by "
                f"`if __name__ == \"__main__\":`") from exc
        except BaseException:
            self.shutdown()
            raise

    def send(self, w, message):
        self.queues[w].put(message)

    def receive(self, w, task, timeout):
        """``(kind, payload)`` of ``task`` from worker ``w``; answers to older tasks are dropped."""
        conn, process = self.conns[w], self.processes[w]
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            wait_s = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = multiprocessing.connection.wait([conn, process.sentinel], wait_s)
            if conn in ready:
                try:
                    message = conn.recv_bytes()
                except EOFError:
                    message = None
                if message is not None:
                    try:
                        got, kind, payload = pickle.loads(message)
                    except Exception as exc:
                        raise RuntimeError(f"DataLoader: the batch from worker {w} (pid {process.pid}) could "
                                           f"not be unpickled in the main process: {exc}") from exc
                    if got == task:
                        return kind, payload
                    continue
            if ready:
                process.join(JOIN_S)
                code = process.exitcode
                how = f"was killed by signal {signal.Signals(-code).name}" if code and code < 0 else \
                    f"exited with code {code}"
                raise RuntimeError(f"DataLoader worker {w} (pid {process.pid}) exited unexpectedly: it {how} (its own "
                                   f"error, if it printed one, is above)")
            raise RuntimeError(f"DataLoader timed out after {timeout} seconds waiting for a batch from worker "
                               f"{w} (pid {process.pid})")

    def shutdown(self):
        if self.closed:
            return
        self.closed = True
        for q in self.queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for conn in self.conns:
            conn.close()  # a worker blocked sending a batch gets a broken pipe and exits
        deadline = time.monotonic() + JOIN_S
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.terminate()
                process.join(JOIN_S)
            if process.is_alive():
                process.kill()
                process.join()
        for q in self.queues:
            q.cancel_join_thread()
            q.close()


class _KeyErrorMessage(str):
    """A KeyError shows ``repr`` of its argument; this one shows the text, newlines and all."""

    def __repr__(self):
        return str(self)


def _rebuild_error(info):
    """The exception a worker reported, as the same type where it can be rebuilt from a message."""
    message = (f"Caught {info['type_name']} in DataLoader worker process {info['worker_id']} "
               f"(pid {info['pid']}){info['where']}.\nOriginal {info['traceback']}")
    try:
        exc_type = pickle.loads(info["type"]) if info["type"] is not None else RuntimeError
    except Exception:
        exc_type = RuntimeError
    if exc_type is KeyError:
        message = _KeyErrorMessage(message)
    try:
        exc = exc_type(message)
    except Exception:
        exc = None
    return exc if isinstance(exc, Exception) else RuntimeError(message)
