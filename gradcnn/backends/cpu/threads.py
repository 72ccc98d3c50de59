"""How the CPU kernels run: gradcnn's worker pool, the BLAS thread guard, per-thread workspaces,
and the kernels module, imported (and Numba with it) on first use.

**One owner of the threads.** Convolution is im2col + GEMM, done chunk by chunk over the batch: a
worker turns a few samples into a column matrix small enough to stay in cache, multiplies it with
single-threaded BLAS, and writes its slice of the output. gradcnn's own thread pool runs the chunks
(a batch with 2 MB of work or more is cut into two chunks at least, so that two threads share it);
BLAS is held to one thread meanwhile, even for one chunk (through threadpoolctl), and the Numba
kernels are serial, so no two thread pools ever compete for the cores: OpenBLAS's idle threads spin
for a long while after a multi-threaded call, and took a core from the workers when BLAS ran a
one-chunk convolution on its own threads. One-pass kernels (activations, batch norm, optimizer
updates) split large arrays between the workers (:func:`over_range`). Two costs measured on 2-core
machines disappear with this design: a Numba parallel kernel started right after a multi-threaded
GEMM paid a flat ~8 ms while OpenBLAS's threads spun, and a whole-batch column matrix (231 MB for a
VGG layer) cost more to page-fault than to fill. Column matrices live in per-thread workspaces that
are reused from call to call.

``GRADCNN_NUM_THREADS`` sets the pool size (default: the number of CPUs).
"""

import contextlib
import contextvars
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["num_threads", "set_num_threads", "workspace", "release_workspace", "warmup", "over_range"]

#: Bytes of column matrix per chunk: big enough for an efficient GEMM, small enough for the cache.
CHUNK_BYTES = 4 << 20
#: A batch with at least this many bytes of work is cut into two chunks or more, even when one
#: would fit in CHUNK_BYTES, so that two threads share it (a thread's dispatch costs ~0.1 ms).
SPLIT_BYTES = 2 << 20
#: Below this many bytes of work a call runs inline: dispatching to the pool would cost more.
INLINE_BYTES = 2 << 20
#: A GEMM of at least this many floating-point operations is cut in two as well, however small its
#: column matrix: the deep layers of a network at a small batch (ResNet's 512 channels on 2x2 maps)
#: are a few hundred KB of columns but tens of MFLOP, which one core would do alone (~0.3 ms at
#: 8 MFLOP against a dispatch of ~0.1 ms).
SPLIT_FLOPS = 8_000_000
#: Elements per thread below which a one-pass kernel (an activation, an optimizer update, a batch
#: norm) runs in the calling thread alone.
PARALLEL_ITEMS = 1 << 18

_kernels = None
_pool = None
_pool_lock = threading.Lock()
_blas = None


def _k():
    """The Numba kernels (:mod:`.kernels`), imported on first use."""
    global _kernels
    if _kernels is None:
        from . import kernels
        from .memory import tune_allocator

        tune_allocator()
        _kernels = kernels
    return _kernels


_override = None  # set_num_threads wins over the environment
_from_env = None  # GRADCNN_NUM_THREADS, else the CPU count: read on first use
_CPUS = max(1, os.cpu_count() or 1)  # asked once: the call reads the system each time


def num_threads():
    """Worker threads used for kernels (:func:`set_num_threads`, else ``GRADCNN_NUM_THREADS``,
    else the CPU count)."""
    global _from_env
    if _override is not None:
        return _override
    if _from_env is None:  # read once, as PyTorch reads OMP_NUM_THREADS: this runs for every kernel call
        env = os.environ.get("GRADCNN_NUM_THREADS")
        _from_env = max(1, int(env)) if env else _CPUS
    return _from_env


def set_num_threads(n):
    """Use ``n`` worker threads from now on (``torch.set_num_threads``). Results do not depend on
    it: the work is split the same way whatever the count."""
    global _override, _pool
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        from ...errors import ShapeError

        raise ShapeError(f"set_num_threads: n must be a positive int, got {n!r}")
    with _pool_lock:
        _override = n
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=True)


def _forget_pool_in_child():
    # A forked child inherits the pool object but none of its threads: start a fresh one there.
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _executor():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(num_threads(), thread_name_prefix="gradcnn")
    return _pool


def _blas_libraries():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # no threadpoolctl, or a BLAS it cannot drive: leave BLAS alone
            _blas = []
    return _blas


class _SingleThreadedBlas:
    """Hold every BLAS library to one thread inside the block, then restore what it was."""

    def __enter__(self):
        self.saved = [(lib, lib.num_threads) for lib in _blas_libraries()]
        for lib, n in self.saved:
            if n != 1:
                lib.set_num_threads(1)

    def __exit__(self, *exc):
        for lib, n in self.saved:
            if n != 1:
                lib.set_num_threads(n)
        return False


_chunk_lock = threading.Lock()


def chunk_plan(n, bytes_per_sample, flops_per_sample=0):
    """The chunks ``[a, b)`` of ``range(n)`` a batch is cut into: sized to :data:`CHUNK_BYTES` of
    column matrix, at least two from :data:`SPLIT_BYTES` of work or :data:`SPLIT_FLOPS` of
    arithmetic on, and a function of the problem alone -- never of the thread count -- so that
    sums over chunks come out bitwise the same on any number of threads."""
    per = max(1, CHUNK_BYTES // max(bytes_per_sample, 1))
    if n * bytes_per_sample >= SPLIT_BYTES or n * flops_per_sample >= SPLIT_FLOPS:
        per = min(per, -(-n // 2))
    return [(a, min(n, a + per)) for a in range(0, n, per)]


def _drain(work, chunks):
    """Run ``work(a, b)`` for every chunk on the calling thread and up to ``num_threads() - 1``
    workers of the pool, each taking the next chunk not yet taken. The caller waits only for the
    workers that took a chunk: one that wakes after every chunk was taken leaves empty-handed, so a
    slow wake-up (~0.1 ms on these machines) never holds the caller back."""
    pending = iter(chunks)
    lock = threading.Lock()
    finished = threading.Condition(lock)
    busy = [0]  # chunks being computed now
    errors = []

    def run():
        while True:
            with lock:
                chunk = next(pending, None)
                if chunk is None:
                    return
                busy[0] += 1
            try:
                work(*chunk)
            except BaseException as error:  # re-raised in the calling thread
                errors.append(error)
            finally:
                with lock:
                    busy[0] -= 1
                    if busy[0] == 0:
                        finished.notify_all()

    # Each worker runs in a copy of the caller's context: NumPy's error state (``np.errstate``) is
    # a context variable, and the caller's choice holds for every chunk.
    for _ in range(min(num_threads(), len(chunks)) - 1):
        _executor().submit(contextvars.copy_context().run, run)
    run()
    with lock:
        while busy[0]:
            finished.wait()
    if errors:
        raise errors[0]


def run_parts(work, parts, gemm=True, parallel=True):
    """Run ``work(a, b)`` for every part ``(a, b)``, with BLAS held to one thread (``gemm=False``:
    work that calls no BLAS leaves the setting alone): on the calling thread and the pool, or in
    order on the calling thread when ``parallel`` is false, there is one part or one thread, or the
    caller is a worker itself. BLAS runs single-threaded even for one part: its idle threads spin
    for a long while after a multi-threaded call and would take a core from the pool's workers
    (gradcnn owns the threads). One batch of parts at a time owns the pool and the BLAS setting."""
    with _chunk_lock, _SingleThreadedBlas() if gemm else contextlib.nullcontext():
        if not parallel or len(parts) == 1 or num_threads() == 1 or (
                threading.current_thread().name.startswith("gradcnn")):
            for a, b in parts:
                work(a, b)
        else:
            _drain(work, parts)


def _over_batch(work, n, bytes_per_sample, gemm=True, flops_per_sample=0):
    """Run ``work(a, b)`` over the chunks of :func:`chunk_plan` (:func:`run_parts`), on the pool
    when the work is large enough to pay for the dispatch. Each chunk computes exactly the same
    thing whatever the number of threads, so results are bitwise reproducible across thread counts."""
    if n == 0:
        return
    small = n * bytes_per_sample < INLINE_BYTES and n * flops_per_sample < SPLIT_FLOPS
    run_parts(work, chunk_plan(n, bytes_per_sample, flops_per_sample), gemm, parallel=not small)


def over_range(work, n, items_per_unit=1):
    """Run ``work(lo, hi)`` over ``[0, n)``: in the calling thread when the work is small (fewer
    than :data:`PARALLEL_ITEMS` elements per thread, ``items_per_unit`` elements per unit of the
    range), else in one contiguous part per worker thread, the calling thread taking the last.
    Only for work that computes every unit on its own -- an element, or a channel summed in one
    fixed order -- so that the results never depend on how the range was split."""
    parts = min(num_threads(), (n * items_per_unit) // PARALLEL_ITEMS, n)
    if parts <= 1 or threading.current_thread().name.startswith("gradcnn"):
        if n > 0:
            work(0, n)
        return
    bounds = [n * k // parts for k in range(parts + 1)]
    _drain(work, list(zip(bounds[:-1], bounds[1:])))


_workspaces = {}  # thread id -> {(dtype, slot): buffer}; each thread touches only its own entry


def workspace(shape, dtype, slot=0):
    """A C-contiguous scratch array of ``shape``, reused across calls on this thread (``slot``
    tells apart scratch arrays needed at the same time). Valid until the next call with the same
    slot; never hand it to a caller."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    bufs = _workspaces.get(threading.get_ident())
    if bufs is None:
        bufs = _workspaces[threading.get_ident()] = {}
    buf = bufs.get((dtype, slot))
    if buf is None or buf.size < size:
        buf = bufs[(dtype, slot)] = np.empty(max(size, 1), dtype=dtype)
    return buf[:size].reshape(shape)


def release_workspace():
    """Free every thread's scratch buffers (they are re-created on demand). Not to be called
    while a kernel runs."""
    _workspaces.clear()


#: The kernel groups (``kernels.WARMUPS``) a helper process compiles when ``warmup`` finds the
#: cache empty: about half the compile time (measured: 8.6 of 17.5 s here).
HELPER_GROUPS = ("max_pool", "avg_pool", "row5_forward", "row5_wgrad")
_HELPER = ("import sys, numpy as np; from gradcnn.backends.cpu import kernels as k; "
           "[k.warmup_calls(d, sys.argv[1:]) for d in (np.float32, np.float64)]")


def warmup():
    """Compile (or load from the cache) every kernel for float32 and float64; seconds taken.

    Compiling is single-threaded, so when the on-disk cache turns out to be empty (the first kernel
    had to be compiled) and there are two threads or more, a helper process compiles some of the
    kernels into the cache meanwhile; this process then loads them from there (or compiles them
    itself, should the helper have failed)."""
    start = time.perf_counter()
    k = _k()
    k.warmup_calls(np.float32, ["optimizers"])
    helper = None
    if num_threads() > 1 and k._sgd_step.stats.cache_misses and os.environ.get("NUMBA_BOUNDSCHECK", "0") in ("", "0"):
        import subprocess
        import sys

        try:
            helper = subprocess.Popen([sys.executable, "-c", _HELPER, *HELPER_GROUPS], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        except OSError:
            helper = None
    mine = [name for name in k.WARMUPS if helper is None or name not in HELPER_GROUPS]
    for dtype in (np.float32, np.float64):
        k.warmup_calls(dtype, mine)
    if helper is not None:
        helper.wait()
        for dtype in (np.float32, np.float64):
            k.warmup_calls(dtype, HELPER_GROUPS)
    return time.perf_counter() - start
