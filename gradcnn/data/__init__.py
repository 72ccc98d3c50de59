"""Datasets, the loader that batches them into Tensors, and image transforms.

::

    train = gradcnn.create_dataset("digits", split="train")   # (1, 32, 32) images, 10 classes
    for images, labels in gradcnn.data.DataLoader(train, batch_size=64, shuffle=True):
        ...

``gradcnn.list_datasets()`` names the registered datasets; the built-ins are in
:mod:`gradcnn.data.datasets`. ``Dataset``, ``TensorDataset`` and ``DataLoader`` are
:mod:`gradcnn.utils.data`'s (PyTorch's ``torch.utils.data``), which also has the samplers,
``random_split``, ``Subset`` and worker processes.
"""

from . import transforms
from .dataset import DataLoader, Dataset, TensorDataset, TransformDataset
from .idx import read_idx

__all__ = ["DataLoader", "Dataset", "TensorDataset", "TransformDataset", "read_idx", "transforms"]
