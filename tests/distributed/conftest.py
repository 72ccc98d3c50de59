"""Helpers for the distributed tests: a stand-in process group for in-process checks, and
`gradcnn run` as a subprocess with a time limit for the multi-rank ones.

The multi-rank tests need the ``mpi`` extra (mpi4py and an MPI launcher). Without it they skip,
saying so, unless ``GRADCNN_REQUIRE_MPI=1`` (CI), which turns the skip into a failure.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from gradcnn.distributed import process_group


class Loopback:
    """A backend of ``size`` ranks that all hold what this process holds: a sum is ``size`` times
    the value, a broadcast changes nothing, a gather repeats. Its requests finish at once, or
    never with ``stuck=True``."""

    name = "mpi"
    buffer_device = "cpu"

    def __init__(self, size=2, rank=0, stuck=False):
        self.rank, self.size, self.local_rank, self.local_size = rank, size, rank, size
        self.stuck = stuck
        self.calls = []

    def check_device(self, op, name, device):
        pass

    def _done(self):
        return lambda: not self.stuck

    def iallreduce(self, buf, op):
        self.calls.append(("all_reduce", op.name, buf.size))
        if op.name in ("SUM",) and buf.dtype != np.bool_:
            buf *= self.size
        elif op.name == "PRODUCT" and buf.dtype != np.bool_:
            buf **= self.size
        return self._done()

    def ibroadcast(self, buf, root):
        self.calls.append(("broadcast", root, buf.size))
        return self._done()

    def iallgather(self, send, recv):
        self.calls.append(("all_gather", send.size))
        recv[...] = send
        return self._done()

    def ibarrier(self):
        self.calls.append(("barrier",))
        return self._done()

    def close(self):
        pass


@pytest.fixture
def loopback(monkeypatch):
    """``loopback(backend=None, timeout=5.0, **kwargs)`` makes ``backend`` (default: a Loopback made
    with ``kwargs``) the default process group until the test ends, and returns it."""

    def install(backend=None, timeout=5.0, **kwargs):
        backend = Loopback(**kwargs) if backend is None else backend
        monkeypatch.setattr(process_group, "_default", process_group.ProcessGroup(backend, timeout))
        return backend

    return install


def _mpi_missing():
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'gradcnn[mpi]')"
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not (os.path.exists(here) or shutil.which("mpiexec")):
        return "no mpiexec (pip install 'gradcnn[mpi]' brings the MPICH launcher)"
    return None


@pytest.fixture
def ranks(tmp_path):
    """``ranks(nproc, *argv, timeout=...)`` runs ``gradcnn run --nproc nproc *argv`` in ``tmp_path``
    and returns the CompletedProcess (text output); the test fails if it outlives ``timeout``."""
    missing = _mpi_missing()
    if missing:
        if os.environ.get("GRADCNN_REQUIRE_MPI") == "1":
            pytest.fail(f"GRADCNN_REQUIRE_MPI=1 but {missing}")
        pytest.skip(missing)

    def run(nproc, *argv, timeout=90, launcher=None):
        cmd = (launcher or [sys.executable, "-m", "gradcnn", "run", "--nproc", str(nproc)]) + [str(a) for a in argv]
        # A session of its own, so that a job past its time is ended whole: launcher, mpiexec, ranks.
        proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"{' '.join(cmd)} did not end within {timeout} s:\n{out}\n{err}")
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    return run
