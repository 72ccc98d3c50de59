"""``DistributedSampler``: each rank's share of a map-style dataset, as ``torch.utils.data``'s.

Every epoch, all ranks draw the same order (a permutation seeded with ``seed + epoch`` when
``shuffle``, else ``0 .. n-1``), make its length a multiple of ``num_replicas`` — by repeating its
head (``drop_last=False``) or cutting its tail (``drop_last=True``) — and rank ``r`` takes
elements ``r, r + num_replicas, ...``. So the shares are disjoint (but for the repeated head),
equal in length, and together cover the dataset. These are PyTorch's rules; the permutation
itself comes from NumPy (``numpy.random.default_rng(seed + epoch)``), not from torch's generator,
so the shuffled order differs from PyTorch's. Call :meth:`set_epoch` at the start of every epoch,
or every epoch repeats the first one's order.

``num_replicas`` and ``rank`` default to the environment's ``WORLD_SIZE`` and ``RANK``, which
``gradcnn run`` sets for every rank and ``gradcnn.distributed.init_process_group`` sets when it
finds them missing (this package sits below :mod:`gradcnn.distributed` and does not import it).
"""

import math
import numbers
import os

import numpy as np

from ...errors import DTypeError, IndexOutOfRangeError, ShapeError
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _world(variable, what):
    value = os.environ.get(variable)
    if value is None:
        raise ShapeError(
            f"DistributedSampler: {what} is None and {variable} is not set: Default process group has "
            "not been initialized, please make sure to call init_process_group (or start the job with "
            f"`gradcnn run --nproc N`), or pass num_replicas and rank")
    try:
        return int(value)
    except ValueError:
        raise ShapeError(f"DistributedSampler: {variable}={value!r} in the environment is not an int") from None


def _int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise DTypeError(f"DistributedSampler: {name} must be an int, got {value!r}")
    return int(value)


class DistributedSampler(Sampler):
    """The keys of ``dataset`` that rank ``rank`` of ``num_replicas`` reads this epoch.

    ``shuffle``: a new permutation every epoch (seeded with ``seed + epoch``; every rank must pass
    the same ``seed``). ``drop_last``: cut the tail to a multiple of ``num_replicas`` instead of
    padding with the head. ``len(sampler)`` is the number of keys per rank.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        num_replicas = _world("WORLD_SIZE", "num_replicas") if num_replicas is None else num_replicas
        rank = _world("RANK", "rank") if rank is None else rank
        num_replicas, rank, seed = _int(num_replicas, "num_replicas"), _int(rank, "rank"), _int(seed, "seed")
        if num_replicas < 1:
            raise ShapeError(f"DistributedSampler: num_replicas must be at least 1, got {num_replicas}")
        if not 0 <= rank < num_replicas:
            raise IndexOutOfRangeError(f"DistributedSampler: Invalid rank {rank}, rank should be in the "
                                       f"interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas, self.rank, self.seed = num_replicas, rank, seed
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats the order from its head
        return iter(order[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Use the order of epoch ``epoch`` (the same on every rank) from the next iteration on."""
        self.epoch = _int(epoch, "epoch")
