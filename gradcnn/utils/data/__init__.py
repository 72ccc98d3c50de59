"""PyTorch's data path, ``torch.utils.data``, with its names, signatures and semantics::

    from gradcnn.utils.data import DataLoader, TensorDataset, random_split

    train, val = random_split(TensorDataset(x, y), [0.8, 0.2])
    for images, labels in DataLoader(train, batch_size=64, shuffle=True, num_workers=2):
        ...

* datasets: :class:`Dataset` (map-style), :class:`IterableDataset`, :class:`TensorDataset`,
  :class:`Subset`, :class:`ConcatDataset`, :class:`ChainDataset`, :class:`StackDataset`,
  :func:`random_split`;
* samplers: :class:`Sampler`, :class:`SequentialSampler`, :class:`RandomSampler`,
  :class:`SubsetRandomSampler`, :class:`WeightedRandomSampler`, :class:`BatchSampler`,
  :class:`DistributedSampler` (each rank's share, for :mod:`gradcnn.distributed`);
* :class:`DataLoader`, :func:`default_collate`, :func:`default_convert`, :func:`get_worker_info`.

Randomness comes from a ``numpy.random.Generator`` passed as ``generator=``, or from gradcnn's
generator, so ``gradcnn.manual_seed`` makes shuffles and splits reproducible. The built-in datasets
and image transforms live in :mod:`gradcnn.data`.
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset", "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler", "WorkerInfo", "default_collate", "default_convert",
    "get_worker_info", "random_split",
]

# PyTorch names this package does not provide, with what to use instead.
_NOT_PROVIDED = {
    "IterDataPipe": "DataPipes are deprecated in PyTorch and not provided; subclass IterableDataset",
    "MapDataPipe": "DataPipes are deprecated in PyTorch and not provided; subclass Dataset",
    "DataChunk": "DataPipes are deprecated in PyTorch and not provided",
    "functional_datapipe": "DataPipes are deprecated in PyTorch and not provided",
}


def __getattr__(name):
    if name in _NOT_PROVIDED:
        raise AttributeError(f"gradcnn.utils.data has no {name}: {_NOT_PROVIDED[name]}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
