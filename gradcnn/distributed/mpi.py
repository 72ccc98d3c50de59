"""The ``"mpi"`` backend: mpi4py's non-blocking collectives on contiguous host arrays.

The group works on its own duplicate of ``MPI.COMM_WORLD``, so a script's own MPI traffic never
mixes with gradcnn's. Every collective is started non-blocking (``Iallreduce``, ``Ibcast``,
``Iallgather``, ``Ibarrier``) and handed back as a ``test`` callable that
:class:`~gradcnn.distributed.process_group.Work` polls: MPI progresses a request while it is
tested, which is what lets gradient buckets travel while backward computes the next ones.

Importing mpi4py's ``MPI`` starts MPI, so nothing here imports it before a group is made.
"""

import importlib.util
import sys
import time

import numpy as np

from .errors import DistBackendError

__all__ = ["MpiBackend", "available", "abort_on_uncaught_exception", "abort"]

_INSTALL = ("install gradcnn[mpi] (mpi4py and the MPICH wheel: pip install 'gradcnn[mpi]') and start "
            "the job with `gradcnn run --nproc N script.py`")


def available():
    """Whether mpi4py is installed (MPI is not started by asking)."""
    return importlib.util.find_spec("mpi4py") is not None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise DistBackendError(f"init_process_group: backend 'mpi' needs mpi4py: {_INSTALL} ({exc})") from exc
    return MPI


class MpiBackend:
    """Rank, size and the four collectives over a duplicate of ``MPI.COMM_WORLD``."""

    name = "mpi"

    def __init__(self):
        MPI = self._MPI = _mpi()
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        self._ops = {"SUM": MPI.SUM, "AVG": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN, "MAX": MPI.MAX}
        # Logical ops for bool: what PyTorch computes for SUM/MAX (or) and PRODUCT/MIN (and).
        self._bool_ops = {"SUM": MPI.LOR, "MAX": MPI.LOR, "PRODUCT": MPI.LAND, "MIN": MPI.LAND}

    buffer_device = "cpu"  # where collectives want their buffers: CUDA tensors are staged here

    def check_device(self, op, name, device):
        """Any device will do."""

    def iallreduce(self, buf, op):
        ops = self._bool_ops if buf.dtype == np.bool_ else self._ops
        request = self.comm.Iallreduce(self._MPI.IN_PLACE, buf, op=ops[op.name])
        if op.name != "AVG":
            return request.Test
        done = []

        def test():
            if not done and request.Test():
                np.divide(buf, self.size, out=buf)
                done.append(True)
            return bool(done)

        return test

    def ibroadcast(self, buf, root):
        return self.comm.Ibcast(buf, root=root).Test

    def iallgather(self, send, recv):
        return self.comm.Iallgather(send, recv).Test

    def ibarrier(self):
        return self.comm.Ibarrier().Test

    def close(self):
        comm, self.comm = self.comm, None
        if comm is not None and not self._MPI.Is_finalized():
            comm.Free()


def abort(code=1, start=False):
    """End every rank of the MPI job with ``code``, if MPI is running (else do nothing). With
    ``start``, start MPI first if need be: a rank that leaves before starting MPI is not noticed
    by MPICH's launcher while the other ranks wait for it."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None and start and available():
        try:
            from mpi4py import MPI
        except ImportError:
            return
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized():
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.2)  # the launcher forwards what this rank printed before the abort tears it down
        MPI.COMM_WORLD.Abort(code)


_hook_installed = False


def abort_on_uncaught_exception():
    """Make an uncaught exception abort the whole job after its traceback is printed.

    Without it, the failing rank would wait in ``MPI_Finalize`` at exit and the others in their
    next collective, forever.
    """
    global _hook_installed
    if _hook_installed:
        return
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        MPI = sys.modules.get("mpi4py.MPI")
        # A job of one rank has nobody waiting (and an interactive session must survive its errors).
        if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
            world = MPI.COMM_WORLD
            print(f"gradcnn.distributed: rank {world.Get_rank()} of {world.Get_size()} raised "
                  f"{kind.__name__}: {value}; stopping every rank", file=sys.stderr, flush=True)
            abort(1)

    sys.excepthook = hook
    _hook_installed = True
