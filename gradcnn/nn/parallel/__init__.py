"""Data parallelism across processes: :class:`DistributedDataParallel` (``torch.nn.parallel``'s
name) and :class:`SyncBatchNorm` (also ``gradcnn.nn.SyncBatchNorm``), on :mod:`gradcnn.distributed`."""

from .distributed import DistributedDataParallel
from .sync_batchnorm import SyncBatchNorm

__all__ = ["DistributedDataParallel", "SyncBatchNorm"]
