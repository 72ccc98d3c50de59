"""What runs inside a DataLoader worker process, and :func:`get_worker_info` for datasets.

A worker reads messages from its own index queue -- ``("task", task_id, index)``, ``("resume",)``
(a new epoch of persistent workers: an iterable dataset is iterated afresh) or ``None`` (stop) --
and answers each task on its own pipe with the pickled ``(task_id, kind, payload)``: ``kind`` is
``"data"`` (the collated batch), ``"end"`` (its iterable dataset has ended) or ``"error"``. It
pickles the answer itself, so a batch that cannot be pickled becomes an error the main process
sees instead of a message that never arrives. It ignores SIGINT (the main process handles Ctrl-C
and stops the workers) and exits when the main process dies.
"""

import multiprocessing
import os
import pickle
import queue
import random as py_random
import signal
import sys
import traceback

import numpy as np

from ...random import manual_seed
from .fetch import make_fetcher

__all__ = ["WorkerInfo", "get_worker_info"]

#: Seconds between checks, while idle, that the main process is still alive.
POLL_S = 1.0

_worker_info = None


class WorkerInfo:
    """Facts about the worker process running the current code (see :func:`get_worker_info`)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):
        self.id = id
        self.num_workers = num_workers
        self.seed = seed
        self.dataset = dataset

    def __repr__(self):
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


def get_worker_info():
    """In a DataLoader worker process, a :class:`WorkerInfo`: ``id`` (0 .. ``num_workers - 1``),
    ``num_workers``, ``seed`` (the seed of this worker's generators) and ``dataset`` (this process's
    copy of the dataset); in the main process, ``None``.

    An :class:`~gradcnn.utils.data.IterableDataset` uses it to give each worker its own share::

        def __iter__(self):
            info = get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(self.items[start::step])
    """
    return _worker_info


def seed_worker(base_seed, worker_id):
    """Seed this process's generators for worker ``worker_id``: gradcnn's and Python's ``random``
    with ``base_seed + worker_id``, NumPy's global one with a state derived from both."""
    seed = base_seed + worker_id
    manual_seed(seed)
    py_random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def _error(worker_id, where):
    """The current exception as a picklable description; the type travels pickled on its own so
    that one the main process cannot unpickle still leaves the traceback text."""
    exc_type, exc, tb = sys.exc_info()
    try:
        type_bytes = pickle.dumps(exc_type)
    except Exception:
        type_bytes = None
    return {"worker_id": worker_id, "pid": os.getpid(), "where": where, "type_name": exc_type.__name__,
            "type": type_bytes, "traceback": "".join(traceback.format_exception(exc_type, exc, tb))}


def _send(conn, worker_id, task, kind, payload):
    """Answer ``task``; False when the main process has gone (the pipe is closed)."""
    try:
        message = pickle.dumps((task, kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        message = pickle.dumps((task, "error", _error(worker_id, " while pickling the batch to send it back")))
    try:
        conn.send_bytes(message)
    except OSError:
        return False
    return True


def worker_loop(worker_id, num_workers, dataset, auto_collation, collate_fn, drop_last, base_seed,
                worker_init_fn, index_queue, conn):
    """The body of worker process ``worker_id``."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # One kernel thread per worker (the workers are the parallelism), as PyTorch's workers do;
    # gradcnn's pool reads this when it first starts, so worker_init_fn may still change it.
    os.environ["GRADCNN_NUM_THREADS"] = "1"
    seed = seed_worker(base_seed, worker_id)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    failure = failure_this_epoch = fetcher = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception:
        failure = _error(worker_id, " in worker_init_fn")

    def start_epoch():
        try:
            return make_fetcher(dataset, auto_collation, collate_fn, drop_last), None
        except Exception:
            return None, _error(worker_id, " while starting to iterate the dataset")

    if failure is None:
        fetcher, failure_this_epoch = start_epoch()
    parent = multiprocessing.parent_process()
    while True:
        try:
            message = index_queue.get(timeout=POLL_S)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                break
            continue
        except (EOFError, OSError):  # the main process has gone
            break
        if message is None:
            break
        if message[0] == "resume":
            if failure is None:
                fetcher, failure_this_epoch = start_epoch()
            continue
        _, task, index = message
        problem = failure or failure_this_epoch
        if problem is not None:
            kind, payload = "error", problem
        else:
            try:
                kind, payload = "data", fetcher.fetch(index)
            except StopIteration:
                kind, payload = "end", None
            except Exception:
                kind, payload = "error", _error(worker_id, "")
        if not _send(conn, worker_id, task, kind, payload):
            break
    conn.close()
