"""The ``"nccl"`` backend: NCCL through CuPy, for CUDA tensors.

The job is started by MPI as for the ``"mpi"`` backend, and MPI carries NCCL's unique id from
rank 0 to the others (no store, no sockets of our own). Each rank drives one GPU: ``device_id``
or ``cuda:LOCAL_RANK % device_count``, made CuPy's current device. Collectives run on a side
stream of that device, after the work already queued on the current stream; a collective is
complete when the event recorded after it has fired, and the copy-backs that follow are queued on
the current stream.
"""

import numbers
import warnings

import numpy as np

from ..backends import parse_device
from ..errors import DeviceError, DTypeError
from .errors import DistBackendError

__all__ = ["NcclBackend", "available", "device_index"]

_INSTALL = ("install CuPy with its NCCL library for your CUDA version: pip install 'gradcnn[cuda13]' "
            "'nvidia-nccl-cu13' (or the cuda12 equivalents)")


def _nccl():
    """CuPy's NCCL module, or ``None`` when CuPy or the NCCL library cannot be loaded."""
    try:
        with warnings.catch_warnings():  # CuPy warns when libnccl is missing; we say it better
            warnings.simplefilter("ignore")
            from cupy.cuda import nccl
    except Exception:
        return None
    return nccl if getattr(nccl, "available", False) else None


def available():
    """Whether CuPy and its NCCL library load (whether a GPU is present is another question)."""
    return _nccl() is not None


def device_index(device_id, local_rank, count):
    """The CUDA device index a rank drives: ``device_id`` (an int, ``"cuda:N"`` or ``None`` for
    ``local_rank % count``), checked against the ``count`` devices present."""
    where = "init_process_group"
    if count < 1:
        raise DeviceError(f"{where}: backend 'nccl' needs a CUDA device; CuPy sees none")
    if device_id is None:
        return local_rank % count
    if isinstance(device_id, numbers.Integral) and not isinstance(device_id, bool):
        index = int(device_id)
    else:
        device = parse_device(device_id)
        if not device.startswith("cuda"):
            raise DeviceError(f"{where}: backend 'nccl' drives a CUDA device, got device_id={device_id!r}")
        index = int(device.split(":")[1])
    if not 0 <= index < count:
        raise DeviceError(f"{where}: device_id={device_id!r} but CuPy sees {count} CUDA device(s), "
                          f"cuda:0 to cuda:{count - 1}")
    return index


class NcclBackend:
    """Rank, size and the four collectives over one NCCL communicator per rank."""

    name = "nccl"

    def __init__(self, device_id=None):
        from .mpi import MpiBackend

        nccl = _nccl()
        if nccl is None:
            raise DistBackendError(f"init_process_group: backend 'nccl' needs CuPy with NCCL: {_INSTALL}")
        import cupy

        self._nccl, self._cupy = nccl, cupy
        count = cupy.cuda.runtime.getDeviceCount() if cupy.cuda.is_available() else 0
        device_index(device_id, 0, count)  # a bad device_id fails before MPI starts
        self._bootstrap = MpiBackend()
        self.rank, self.size = self._bootstrap.rank, self._bootstrap.size
        self.local_rank, self.local_size = self._bootstrap.local_rank, self._bootstrap.local_size
        self.index = device_index(device_id, self.local_rank, count)
        self.device = self.buffer_device = f"cuda:{self.index}"
        cupy.cuda.Device(self.index).use()
        ident = np.zeros(nccl.NCCL_UNIQUE_ID_BYTES if hasattr(nccl, "NCCL_UNIQUE_ID_BYTES") else 128, np.int8)
        if self.rank == 0:
            uid = nccl.get_unique_id()
            ident[:] = np.frombuffer(uid, np.int8) if isinstance(uid, bytes) else np.array(uid, np.int8)
        self._bootstrap.comm.Bcast(ident, root=0)
        try:  # CuPy's communicator takes the id as the tuple get_unique_id gave (bytes in newer ones)
            self.comm = nccl.NcclCommunicator(self.size, tuple(int(v) for v in ident), self.rank)
        except TypeError:
            self.comm = nccl.NcclCommunicator(self.size, ident.tobytes(), self.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._types = {np.dtype(k): v for k, v in (
            (np.int8, nccl.NCCL_INT8), (np.uint8, nccl.NCCL_UINT8), (np.int32, nccl.NCCL_INT32),
            (np.int64, nccl.NCCL_INT64), (np.float16, nccl.NCCL_FLOAT16), (np.float32, nccl.NCCL_FLOAT32),
            (np.float64, nccl.NCCL_FLOAT64), (np.bool_, nccl.NCCL_UINT8))}
        self._ops = {"SUM": nccl.NCCL_SUM, "AVG": nccl.NCCL_AVG, "PRODUCT": nccl.NCCL_PROD,
                     "MIN": nccl.NCCL_MIN, "MAX": nccl.NCCL_MAX}
        self._bool_ops = {"SUM": nccl.NCCL_MAX, "MAX": nccl.NCCL_MAX, "PRODUCT": nccl.NCCL_MIN,
                          "MIN": nccl.NCCL_MIN}

    def check_device(self, op, name, device):
        if device != self.device:
            raise DeviceError(f"{op}: {name} is on {device} but this rank's 'nccl' group works on "
                              f"{self.device}; move it there (.to({self.device!r})) or use backend 'mpi'")

    def _type(self, buf):
        try:
            return self._types[buf.dtype]
        except KeyError:
            raise DTypeError(f"backend 'nccl' has no {buf.dtype.name} type; use one of "
                             f"{', '.join(sorted(d.name for d in self._types))}") from None

    def _launch(self, call, *keep):
        """Queue ``call(stream_ptr)`` on the side stream after the current stream's work; return a
        ``test`` that says whether it has finished (``keep``: arrays to hold alive until then)."""
        cupy = self._cupy
        with cupy.cuda.Device(self.index):
            ready = cupy.cuda.Event(disable_timing=True)
            ready.record()
            self.stream.wait_event(ready)
            call(self.stream.ptr)
            done = cupy.cuda.Event(disable_timing=True)
            done.record(self.stream)

        def test():
            return done.done

        test.keep = keep  # the buffers live at least as long as someone may wait for them
        return test

    def iallreduce(self, buf, op):
        ops = self._bool_ops if buf.dtype == np.bool_ else self._ops
        kind = self._type(buf)
        return self._launch(lambda s: self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, kind,
                                                          ops[op.name], s), buf)

    def ibroadcast(self, buf, root):
        kind = self._type(buf)
        return self._launch(lambda s: self.comm.bcast(buf.data.ptr, buf.size, kind, root, s), buf)

    def iallgather(self, send, recv):
        kind = self._type(send)
        return self._launch(lambda s: self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, kind, s),
                            send, recv)

    def ibarrier(self):
        one = self._cupy.ones(1, dtype=np.int32)
        return self._launch(lambda s: self.comm.allReduce(one.data.ptr, one.data.ptr, 1,
                                                          self._nccl.NCCL_INT32, self._nccl.NCCL_SUM, s), one)

    def close(self):
        comm, self.comm = self.comm, None
        if comm is not None:
            self.stream.synchronize()
            comm.destroy()
        self._bootstrap.close()
