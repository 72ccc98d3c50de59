"""What each rank runs under ``gradcnn run``: ``python -m gradcnn.distributed.worker SCRIPT ARGS``
(or ``-m MODULE ARGS``), started by the MPI launcher.

It sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` from the launcher's own
variables (MPICH's ``PMI_*``/``MPI_LOCAL*``, Open MPI's ``OMPI_COMM_WORLD_*``), as torchrun does,
then runs the script as ``__main__``. If the script raises (or exits with a non-zero status), the
rank prints which rank failed and why, records it for ``gradcnn run``'s summary, and aborts the
whole MPI job: the other ranks must not wait for it forever, and a rank that merely exited would
leave them waiting (MPI's finalize on the way out waits for the others).
"""

import json
import os
import runpy
import socket
import sys
import traceback

from . import mpi

__all__ = ["main", "rank_from_environment"]

STATUS_DIR = "GRADCNN_RUN_STATUS_DIR"  # where ranks leave a word for the launcher
WATCH_SOCKET = "watch.sock"  # in STATUS_DIR: each rank tells the launcher its pid, and stays connected
_held = []


def _first(*names):
    for name in names:
        if os.environ.get(name, "").strip().lstrip("-").isdigit():
            return int(os.environ[name])
    return None


def rank_from_environment():
    """(rank, world size, local rank, local world size) as the MPI launcher set them, or ``None``
    where it did not."""
    return (_first("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"),
            _first("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"),
            _first("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"),
            _first("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE"))


def _report(rank, **status):
    where = os.environ.get(STATUS_DIR)
    if where and rank is not None:
        try:
            with open(os.path.join(where, f"rank{rank}.json"), "w") as f:
                json.dump({"pid": os.getpid(), **status}, f)
        except OSError:
            pass  # a word for the summary, never a reason to fail


def _hold_line(rank):
    """Connect to the launcher and keep the connection until this process ends, however it ends."""
    where = os.environ.get(STATUS_DIR)
    if not where or rank is None:
        return
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(os.path.join(where, WATCH_SOCKET))
        conn.sendall(f"{rank} {os.getpid()}\n".encode())
        _held.append(conn)
    except (OSError, AttributeError):
        pass


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    module = len(argv) >= 2 and argv[0] == "-m"
    if module:
        argv = argv[1:]
    if not argv:
        print("usage: python -m gradcnn.distributed.worker (SCRIPT | -m MODULE) [ARGS...]", file=sys.stderr)
        return 2
    rank, size, local_rank, local_size = rank_from_environment()
    for key, value in (("RANK", rank), ("WORLD_SIZE", size), ("LOCAL_RANK", local_rank),
                       ("LOCAL_WORLD_SIZE", local_size)):
        if value is not None:
            os.environ[key] = str(value)
    _report(rank, state="running")
    _hold_line(rank)
    target, sys.argv = argv[0], list(argv)
    code, reason, trace = 0, None, ""
    try:
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path[0] = os.path.dirname(os.path.abspath(target))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            code = exc.code if isinstance(exc.code, int) else 1
            reason = f"exited with status {exc.code}" if isinstance(exc.code, int) else f"exited: {exc.code}"
            if not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
    except BaseException as exc:  # KeyboardInterrupt too: the other ranks must stop
        trace = traceback.format_exc()
        sys.stderr.write(trace)
        code, reason = 1, f"raised {type(exc).__name__}: {' '.join(str(exc).split())[:500]}"
    if reason is None:
        _report(rank, state="finished")
        return 0
    _report(rank, state="failed", reason=reason, traceback=trace[-4000:])
    who = f"rank {rank} of {size}" if rank is not None else "a rank"
    print(f"gradcnn run: {who} {reason}; stopping every rank", file=sys.stderr, flush=True)
    mpi.abort(code, start=size is not None and size > 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # without MPI (mpi4py missing) a non-zero status is all the launcher gets


if __name__ == "__main__":
    sys.exit(main())
