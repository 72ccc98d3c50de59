"""Reading one batch (or one sample) of a dataset: the part of loading that a worker process runs."""

import itertools

import numpy as np

from .collate import default_collate
from .dataset import IterableDataset, Subset, TensorDataset

__all__ = ["make_fetcher"]


def make_fetcher(dataset, auto_collation, collate_fn, drop_last):
    """An object whose ``fetch(index)`` gives the collated batch for ``index`` (a list of keys, or
    one key without auto-collation) and raises StopIteration when an iterable dataset has ended."""
    if isinstance(dataset, IterableDataset):
        return _IterableFetcher(dataset, auto_collation, collate_fn, drop_last)
    return _MapFetcher(dataset, auto_collation, collate_fn)


class _MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        if self.collate_fn is default_collate:
            batch = _tensor_rows(self.dataset, index)
            if batch is not None:
                return batch
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(index) if callable(getitems) else [self.dataset[i] for i in index]
        return self.collate_fn(samples)


def _tensor_rows(dataset, keys):
    """``default_collate([dataset[k] for k in keys])`` for a TensorDataset (or a Subset of one) not
    changed by a subclass, by indexing each tensor once with all the keys; None for other datasets."""
    while type(dataset) is Subset:
        keys = [dataset.indices[k] for k in keys]
        dataset = dataset.dataset
    kind = type(dataset)
    if (not isinstance(dataset, TensorDataset) or kind.__getitem__ is not TensorDataset.__getitem__
            or getattr(kind, "__getitems__", None) is not None):
        return None
    keys = np.asarray(keys, dtype=np.int64)
    return [t.detach()[keys] for t in dataset.tensors]


class _IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            try:
                sample = next(self.iterator)
            except StopIteration:
                self.ended = True
                raise
            return self.collate_fn(sample)
        samples = list(itertools.islice(self.iterator, len(index)))
        if len(samples) < len(index):
            self.ended = True
            if not samples or self.drop_last:
                raise StopIteration
        return self.collate_fn(samples)
