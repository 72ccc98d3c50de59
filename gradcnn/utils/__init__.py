"""PyTorch's ``torch.utils`` paths: :mod:`gradcnn.utils.data` (datasets, samplers, DataLoader)."""

from . import data

__all__ = ["data"]
