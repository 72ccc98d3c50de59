"""Datasets: map-style (``dataset[key]``, ``len(dataset)``) and iterable-style (``iter(dataset)``),
and the wrappers that combine them: ``TensorDataset``, ``Subset``, ``ConcatDataset``,
``ChainDataset``, ``StackDataset``, ``random_split``.
"""

import bisect
import itertools
import math
import numbers
import warnings

import numpy as np

from ...creation import as_tensor
from ...errors import DTypeError, IndexOutOfRangeError, ShapeError
from .sampler import check_generator, rng

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset",
           "StackDataset", "random_split"]


class Dataset:
    """A map from keys to samples: subclasses implement ``__getitem__`` and, for the default
    samplers, ``__len__``. A sample may be a Tensor, a NumPy array, a number, a string, or a tuple,
    list or dict of those (see :func:`~gradcnn.utils.data.default_collate`). ``a + b`` concatenates.

    A subclass may also implement ``__getitems__(keys)``, returning the list of samples for a batch
    of keys at once; the DataLoader then calls it instead of ``__getitem__`` once per key.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"Subclasses of Dataset should implement __getitem__ "
                                  f"({type(self).__name__} does not)")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__``.

    With ``num_workers > 0`` every worker process iterates its own copy of the dataset, so each
    sample comes once per worker unless ``__iter__`` splits the stream with
    :func:`~gradcnn.utils.data.get_worker_info` (its ``id`` and ``num_workers``). ``a + b`` chains.
    """

    def __iter__(self):
        raise NotImplementedError(f"Subclasses of IterableDataset should implement __iter__ "
                                  f"({type(self).__name__} does not)")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples that are rows of tensors of equal length: ``dataset[i] == tuple(t[i] for t in tensors)``.

    NumPy (or CuPy) arrays and nested lists are taken too, as tensors sharing their memory
    (:func:`gradcnn.as_tensor`). A :class:`~gradcnn.utils.data.DataLoader` with the default collate
    function indexes the tensors with a whole batch of keys at once instead of row by row (the
    batch is the same), so CUDA tensors give batches on their device without a trip to the host.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ShapeError("TensorDataset: needs at least one tensor")
        tensors = tuple(as_tensor(t) for t in tensors)
        lengths = {t.shape[0] if t.ndim else None for t in tensors}
        if None in lengths or len(lengths) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ShapeError(f"TensorDataset: every tensor needs the same first dim (the number of "
                             f"samples), got shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]

    @property
    def arrays(self):
        """The tensors as NumPy arrays (the same memory for CPU tensors; a host copy for CUDA ones)."""
        return tuple(np.asarray(t) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``: ``subset[i] == dataset[indices[i]]``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        keys = [self.indices[i] for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(keys)
        return [self.dataset[k] for k in keys]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after another: keys ``0 .. len(a) - 1`` are ``a``'s, the next ``b``'s.
    ``cumulative_sizes[i]`` is the total length of the first ``i + 1`` datasets."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ShapeError("ConcatDataset: datasets should not be an empty iterable")
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise DTypeError(f"ConcatDataset does not support IterableDataset (datasets[{i}] is a "
                                 f"{type(d).__name__}); use ChainDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ShapeError(f"ConcatDataset: absolute value of index should not exceed dataset "
                                 f"length, got {idx} for a length of {n}")
            idx += n
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        if which == len(self.datasets):
            raise IndexOutOfRangeError(f"ConcatDataset: index {idx} is out of range for a length of {n}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another (lazily: each is iterated when the previous one ends)."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise DTypeError(f"ChainDataset only supports IterableDataset (datasets[{i}] is a "
                                 f"{type(d).__name__})")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Map-style datasets of one length side by side: ``StackDataset(a, b)[i] == (a[i], b[i])``,
    ``StackDataset(image=a, text=b)[i] == {"image": a[i], "text": b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ShapeError("StackDataset: supported either tuple-like (positional) or dict-like (keyword) "
                             "input, not both")
        datasets = args or kwargs
        if not datasets:
            raise ShapeError("StackDataset: at least one dataset should be passed")
        parts = datasets.values() if kwargs else datasets
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ShapeError(f"StackDataset: size mismatch between datasets, lengths {lengths}")
        self._length = lengths[0]
        self.datasets = datasets

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset`\\ s of the given ``lengths``.

    ``lengths`` are counts that add up to ``len(dataset)``, or fractions that add up to 1: each
    split then gets ``floor(fraction * len(dataset))`` samples, and the remainder is dealt one by
    one to the splits in order (``[0.5, 0.5]`` of 5 samples gives 3 and 2). The permutation is drawn
    from ``generator`` (a ``numpy.random.Generator``), by default gradcnn's generator.
    """
    check_generator(generator, "random_split")
    lengths = list(lengths)
    n = len(dataset)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ShapeError(f"random_split: Fraction at index {i} is not between 0 and 1 (got {fraction})")
        lengths = [math.floor(n * fraction) for fraction in lengths]
        for i in range(n - sum(lengths)):
            lengths[i % len(lengths)] += 1
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
    for i, length in enumerate(lengths):
        if not isinstance(length, numbers.Integral) or isinstance(length, bool) or length < 0:
            raise ShapeError(f"random_split: lengths must be non-negative ints or fractions that sum to 1, "
                             f"got {length!r} at index {i}")
    if sum(lengths) != n:
        raise ShapeError(f"random_split: Sum of input lengths does not equal the length of the input "
                         f"dataset! ({' + '.join(map(str, lengths))} = {sum(lengths)}, the dataset has {n})")
    order = rng(generator).permutation(n).tolist()
    return [Subset(dataset, order[end - length:end])
            for end, length in zip(itertools.accumulate(lengths), lengths)]
