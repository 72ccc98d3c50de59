"""Datasets and the loader that batches them into Tensors."""

import numbers

import numpy as np

from .. import random
from ..backends import device_of, to_device
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "TransformDataset", "DataLoader"]


class Dataset:
    """A sized collection of samples: ``dataset[i]`` for ``0 <= i < len(dataset)``.

    A sample is an array or a tuple of arrays and numbers, typically ``(image, label)``.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples that are rows of arrays of equal length: ``dataset[i] == tuple(a[i] for a in arrays)``.

    Tensors are stored as their arrays. :class:`DataLoader` batches a TensorDataset by indexing the
    arrays with the batch's indices at once, not sample by sample.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ShapeError("TensorDataset: needs at least one array")
        arrays = tuple(a.data if isinstance(a, Tensor) else a if hasattr(a, "__cuda_array_interface__")
                       else np.asarray(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ShapeError(f"TensorDataset: every array needs the same first dim (the number of "
                             f"samples), got shapes {shapes}")
        self.arrays = arrays

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __len__(self):
        return self.arrays[0].shape[0]


class TransformDataset(Dataset):
    """``dataset`` with ``transform`` applied to the first field of each sample (the image) every
    time it is read, so a random transform gives a fresh augmentation each epoch::

        train = TransformDataset(train, transforms.RandomCrop(32, padding=4))

    Other attributes (``classes``) are the wrapped dataset's; ``input_shape`` is the shape of a
    transformed sample, found without changing the random state.
    """

    def __init__(self, dataset, transform):
        if not callable(transform):
            raise DTypeError(f"TransformDataset: transform must be callable, got {type(transform).__name__}")
        self.dataset = dataset
        self.transform = transform

    def __getitem__(self, index):
        sample = self.dataset[index]
        if isinstance(sample, tuple):
            return (self.transform(sample[0]), *sample[1:])
        return self.transform(sample)

    def __len__(self):
        return len(self.dataset)

    @property
    def input_shape(self):
        state = random.get_rng_state()
        try:
            sample = self[0]
        finally:
            random.set_rng_state(state)
        return tuple((sample[0] if isinstance(sample, tuple) else sample).shape)

    def __getattr__(self, name):  # only called for names not found on self
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)


class DataLoader:
    """Batches of ``dataset`` as Tensors: ``for images, labels in DataLoader(train, batch_size=64)``.

    Each field of the samples is stacked into one Tensor per batch; integer fields (labels) become
    int64. Batches are CPU tensors (``fit`` moves them to the model's device), except that a
    :class:`TensorDataset` of CUDA tensors gives batches on that device. ``shuffle=True`` draws a
    new order at the start of every epoch (when iteration begins)
    from ``generator`` (a ``numpy.random.Generator``), by default gradcnn's generator, so
    ``gradcnn.manual_seed(s)`` makes the epochs reproducible. ``len(loader)`` is the number of
    batches; ``drop_last=True`` leaves out a last batch smaller than ``batch_size``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
            raise ShapeError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise DTypeError(f"DataLoader: generator must be a numpy.random.Generator, got "
                             f"{type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        # The order is drawn here, when the epoch starts, not lazily at the first batch.
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or random.generator()).permutation(n)
        else:
            order = np.arange(n)
        stop = len(self) * self.batch_size
        return self._batches(order[:stop])

    def _batches(self, order):
        # Index the arrays at once when samples are TensorDataset rows (ImageDataset's too).
        fast = getattr(type(self.dataset), "__getitem__", None) is TensorDataset.__getitem__
        for start in range(0, len(order), self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:
                fields = [a[indices] if type(a) is np.ndarray else a[to_device(indices, device_of(a))]
                          for a in self.dataset.arrays]
                yield tuple(_tensor(f) for f in fields)
            else:
                yield _collate([self.dataset[int(i)] for i in indices])


def _collate(samples):
    if isinstance(samples[0], tuple):
        return tuple(_tensor(np.stack([np.asarray(s[k]) for s in samples])) for k in range(len(samples[0])))
    return _tensor(np.stack([np.asarray(s) for s in samples]))


def _tensor(array):
    if array.dtype.kind in "iu":
        array = array.astype(np.int64, copy=False)
    return Tensor._make(array)
