"""Samplers: the order in which a :class:`~gradcnn.utils.data.DataLoader` reads a map-style dataset.

A sampler is an iterable of dataset keys (``SequentialSampler``, ``RandomSampler``, ...) or, for
:class:`BatchSampler`, of lists of keys. Random samplers draw from ``generator`` (a
``numpy.random.Generator``) or, when it is ``None``, from gradcnn's generator
(:func:`gradcnn.random.generator`, looked up at each epoch), so ``gradcnn.manual_seed`` makes the
order reproducible. An epoch's order is drawn whole when iteration over the sampler begins.
"""

import numbers

import numpy as np

from ...errors import DTypeError, ShapeError
from ...random import Generator, numpy_generator_of

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


def check_generator(generator, where):
    """``generator`` if it is ``None``, a :class:`gradcnn.Generator` or a ``numpy.random.Generator``,
    else a DTypeError."""
    if generator is not None and not isinstance(generator, (np.random.Generator, Generator)):
        raise DTypeError(f"{where}: generator must be a gradcnn.Generator or a numpy.random.Generator "
                         f"(or None for gradcnn's generator), got {type(generator).__name__}")
    return generator


def rng(generator):
    """The NumPy generator to draw from now: ``generator``'s, or gradcnn's current one."""
    return numpy_generator_of(generator)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class Sampler:
    """Base class of samplers: subclasses implement ``__iter__`` (the keys) and may implement
    ``__len__``. ``data_source`` is accepted for compatibility and ignored, as in PyTorch."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Keys of ``data_source`` in random order.

    Without replacement, each run of ``len(data_source)`` keys is a fresh permutation (so
    ``num_samples`` larger than the dataset repeats it); with ``replacement=True``, ``num_samples``
    independent uniform draws. ``num_samples`` defaults to ``len(data_source)``, read at each epoch.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = check_generator(generator, "RandomSampler")
        if not isinstance(replacement, bool):
            raise DTypeError(f"RandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        if not _is_int(self.num_samples) or self.num_samples <= 0:
            raise ShapeError(f"RandomSampler: num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples!r}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n, count, gen = len(self.data_source), self.num_samples, rng(self.generator)
        if self.replacement:
            keys = gen.integers(0, n, size=count)
        else:
            keys = np.concatenate([gen.permutation(n) for _ in range(-(-count // n))])[:count]
        return iter(keys.tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The elements of ``indices`` in random order, each once."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = check_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        order = rng(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order.tolist()])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` keys in ``[0, len(weights))``, key ``i`` drawn with probability proportional
    to ``weights[i]`` (which need not sum to one); without replacement each key comes at most once."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_int(num_samples) or num_samples <= 0:
            raise ShapeError(f"WeightedRandomSampler: num_samples should be a positive integer value, but "
                             f"got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ShapeError(f"WeightedRandomSampler: replacement should be a boolean value, but got "
                             f"replacement={replacement!r}")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ShapeError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights "
                             f"have shape {weights.shape}")
        self.weights = weights
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = check_generator(generator, "WeightedRandomSampler")

    def __iter__(self):
        w = self.weights
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite and non-negative with a "
                               f"positive sum, got {w.size} weights summing to {w.sum()}")
        nonzero = int(np.count_nonzero(w))
        if not self.replacement and self.num_samples > nonzero:
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples without "
                               f"replacement from {nonzero} non-zero weights")
        keys = rng(self.generator).choice(w.size, size=self.num_samples, replace=self.replacement, p=w / w.sum())
        return iter(keys.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` keys from ``sampler`` (any iterable of keys); the last list is
    shorter unless ``drop_last=True`` leaves it out."""

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_int(batch_size) or batch_size <= 0:
            raise ShapeError(f"BatchSampler: batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ShapeError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for key in self.sampler:
            batch.append(key)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
