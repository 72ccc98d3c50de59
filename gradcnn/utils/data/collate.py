"""``default_collate`` (a list of samples -> one batch) and ``default_convert`` (one sample, no
batching), with PyTorch's rules:

=========================================  ==============================================================
each sample is                             the batch is
=========================================  ==============================================================
a Tensor                                   the samples stacked along a new dim 0, on their device
a NumPy array (not of strings or objects)  the same, as a Tensor of the array's dtype (a CuPy array:
                                           on its device)
a NumPy scalar                             a 1-d Tensor of its dtype
a Python ``float`` / ``int`` / ``bool``    a 1-d float64 / int64 / bool Tensor (an int first and a float
                                           later: the default dtype, float32, as ``gradcnn.tensor`` does)
a ``str`` or ``bytes``                     the list of samples, unchanged
a dict (any mapping)                       a mapping of the same type, each key's values collated
a namedtuple                               the same namedtuple, each field collated
a tuple / list (any sequence)              a list (a tuple) / a sequence of the same type, each position
                                           collated; the samples must have equal lengths
=========================================  ==============================================================

Unlike ``torch.stack`` inside PyTorch's collate, the stacked batch is a new leaf that does not
require grad: collation is part of the data path, not of a model's graph.
"""

import collections.abc
import copy

import numpy as np

from ...creation import as_tensor, from_numpy, tensor
from ...errors import DeviceError, DTypeError, ShapeError
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_text_array(array):
    return array.dtype.kind in "SUO"


def _stack(batch):
    """Tensors of one shape and device stacked along a new dim 0."""
    first = batch[0]
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise DTypeError(f"default_collate: batch[0] is a Tensor but batch[{i}] is a {type(t).__name__}")
        if t.shape != first.shape:
            raise ShapeError(f"default_collate: stack expects each tensor to be equal size, but got "
                             f"{tuple(first.shape)} at entry 0 and {tuple(t.shape)} at entry {i}")
        if t.device != first.device:
            raise DeviceError(f"default_collate: batch[0] is on {first.device} but batch[{i}] is on {t.device}")
    out = np.stack([np.asarray(t) for t in batch])
    return from_numpy(out) if first.device == "cpu" else as_tensor(out, device=first.device)


def default_collate(batch):
    """One batch from ``batch``, a list of samples of one structure (see the module's table)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, np.ndarray) or hasattr(elem, "__cuda_array_interface__"):  # NumPy or CuPy
        if _is_text_array(elem):
            raise DTypeError(_ERROR.format(elem.dtype))
        return _stack([as_tensor(b) for b in batch])
    if isinstance(elem, (np.bool_, np.number)):
        return as_tensor(np.asarray(batch, dtype=np.result_type(*batch)))
    if isinstance(elem, float):
        return tensor(batch, dtype=np.float64)
    if isinstance(elem, int):  # bool is an int: a bool tensor
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        return _rebuild_mapping(elem, fields)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        sizes = [len(s) for s in batch]
        if len(set(sizes)) != 1:
            raise ShapeError(f"default_collate: each element in list of batch should be of equal size, "
                             f"got sizes {sizes}")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild_sequence(elem, fields)
    raise DTypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """``data`` with every NumPy array (and NumPy scalar) made a Tensor, recursing into mappings and
    sequences; tuples become lists, as in PyTorch. The DataLoader's collate when ``batch_size=None``."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _is_text_array(data) else as_tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, fields):
    """``fields`` (a dict) as a mapping of ``like``'s type, or a dict when that type cannot be built."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            out = copy.copy(like)
            out.update(fields)
            return out
        return type(like)(fields)
    except TypeError:
        return fields


def _rebuild_sequence(like, fields):
    """``fields`` (a list) as a sequence of ``like``'s type, or a list when that type cannot be built."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            out = copy.copy(like)
            for i, value in enumerate(fields):
                out[i] = value
            return out
        return type(like)(fields)
    except TypeError:
        return fields
