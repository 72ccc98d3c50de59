"""``TransformDataset``, and the names whose home is :mod:`gradcnn.utils.data` (``Dataset``,
``TensorDataset``, ``DataLoader``), re-exported so that ``gradcnn.data.DataLoader`` keeps working."""

from .. import random
from ..errors import DTypeError
from ..utils.data import DataLoader, Dataset, TensorDataset

__all__ = ["Dataset", "TensorDataset", "TransformDataset", "DataLoader"]


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
