"""Dropout: zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``, so the
expected value is unchanged; the identity in eval. The mask comes from the seeded generator, drawn on
the CPU and moved to the input's device: one seed gives the same mask on every device."""

import numbers

import numpy as np

from .. import random as _random
from ..backends import to_device
from ..errors import ShapeError
from .shape import as_tensor_arg

__all__ = ["dropout"]


def dropout(input, p=0.5, training=True, inplace=False):
    """``input * mask / (1 - p)`` in training; ``inplace=True`` writes the result into ``input``
    (refused, as in PyTorch, for a leaf that requires grad)."""
    as_tensor_arg(input, "dropout")
    if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ShapeError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        keep = _random.generator().random(input.shape) >= p
        mask = keep.astype(input.dtype) * (1.0 / (1.0 - p))  # a NumPy scalar, not an array, if 0-d
        if type(input._data) is not np.ndarray:
            mask = to_device(mask, input.device)
        out = input * mask
    return input._assign(out, "dropout(inplace=True)") if inplace else out
