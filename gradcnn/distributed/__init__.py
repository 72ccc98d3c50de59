"""Data-parallel training across processes, with ``torch.distributed``'s names.

::

    # started as `gradcnn run --nproc 4 train.py` (or `mpiexec -n 4 python train.py`)
    import gradcnn.distributed as dist
    from gradcnn.nn.parallel import DistributedDataParallel as DDP
    from gradcnn.utils.data import DataLoader, DistributedSampler

    dist.init_process_group("mpi")
    model = DDP(build_model())                       # rank 0's weights everywhere
    sampler = DistributedSampler(train_set)          # this rank's share of every epoch
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()  # gradients averaged over ranks during backward
            opt.step()

Backends: ``"mpi"`` (mpi4py with a pip-installed MPI, ``pip install gradcnn[mpi]``; tensors on any
device) and ``"nccl"`` (NCCL through CuPy, CUDA tensors, one GPU per rank). Collectives:
:func:`all_reduce`, :func:`broadcast`, :func:`all_gather`, :func:`barrier`, in place, with
``async_op=True`` returning a :class:`Work`. :mod:`gradcnn.distributed.nn.functional` has an
all-reduce that autograd goes through. ``gradcnn run`` (or ``python -m gradcnn.distributed.run``)
starts the ranks, as torchrun does.
"""

from . import nn
from .errors import DistBackendError, DistError, NotInitializedError
from .process_group import (
    ProcessGroup,
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)

__all__ = [
    "DistBackendError", "DistError", "NotInitializedError", "ProcessGroup", "ReduceOp", "Work",
    "all_gather", "all_reduce", "barrier", "broadcast", "destroy_process_group", "get_backend",
    "get_rank", "get_world_size", "init_process_group", "is_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "nn",
]
