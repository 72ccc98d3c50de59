"""Dropout: zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``, so the
expected value is unchanged; the identity in eval. The mask comes from the seeded generator: on the
CPU from gradcnn's generator, on a GPU from a generator on that device seeded from it
(``gradcnn.random.device_generator``), so that a training step neither draws on the host nor
copies masks to the device. One seed gives reproducible masks on each device, not the same masks
on the CPU and on a GPU.

``dropout1d`` and ``dropout2d`` drop whole channels: one draw per (sample, channel), broadcast over
the positions, with PyTorch's shape rules (``dropout1d``: ``(C, L)`` or ``(N, C, L)``;
``dropout2d``: ``(N, C, H, W)``, and, with PyTorch's warnings, ``(N, C, L)`` read as 1-D channels and
any other input of at least 2 dims as ``(N, C, *)``). Dropping multiplies by zero, so a NaN in a
dropped element stays NaN, as in PyTorch.
"""

import warnings

import numpy as np

from .. import random as _random
from ..arguments import flag, probability
from ..backends import get_array_module
from ..errors import ShapeError
from .shape import as_tensor_arg

__all__ = ["dropout", "dropout1d", "dropout2d", "random_uniform"]


def _check(op, p, training):
    """``p`` as a probability and ``training`` as a bool, as PyTorch's dropouts take them."""
    return probability(op, p), flag(op, "training", training)


def _masked(input, p, mask_shape, inplace, op):
    """``input`` times a keep-mask of ``mask_shape`` (broadcast) over ``1 - p``."""
    if p == 1.0:
        out = input * 0.0
    else:
        keep = random_uniform(input, mask_shape) >= p
        mask = keep.astype(input.dtype) * (1.0 / (1.0 - p))  # a NumPy scalar, not an array, if 0-d
        out = input * mask
    return input._assign(out, f"{op}(inplace=True)") if inplace else out


def random_uniform(like, shape):
    """Uniform draws in [0, 1) of ``shape`` on the device of tensor ``like``: float64 from the seeded
    generator on the CPU, in ``like``'s dtype from the device's own generator on a GPU."""
    data = like._data
    if type(data) is np.ndarray:
        return _random.generator().random(shape)
    xp = get_array_module(data)
    with xp.cuda.Device(data.device.id):
        dtype = data.dtype if data.dtype in (np.float32, np.float64) else np.float32
        return _random.device_generator(xp).random(shape, dtype=dtype)


def dropout(input, p=0.5, training=True, inplace=False):
    """``input * mask / (1 - p)`` in training; ``inplace=True`` writes the result into ``input``
    (refused, as in PyTorch, for a leaf that requires grad)."""
    as_tensor_arg(input, "dropout")
    p, training = _check("dropout", p, training)
    if not training or p == 0.0:
        return input
    return _masked(input, p, input.shape, inplace, "dropout")


def _channels(input, p, training, inplace, op, batched):
    if not training or p == 0.0:
        return input
    lead = input.shape[:2] if batched else input.shape[:1]
    return _masked(input, p, lead + (1,) * (input.ndim - len(lead)), inplace, op)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, L)`` (or unbatched ``(C, L)``) input with probability ``p``,
    scaling the others by ``1 / (1 - p)``."""
    as_tensor_arg(input, "dropout1d")
    p, training = _check("dropout1d", p, training)
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"dropout1d: expected 2-D (C, L) or 3-D (N, C, L) input, got shape {input.shape}; "
            "dropout1d drops channels of inputs with one spatial dim"
        )
    return _channels(input, p, training, inplace, "dropout1d", input.ndim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of ``(N, C, H, W)`` input with probability ``p``, scaling the others by
    ``1 / (1 - p)``. As in PyTorch, a 3-D input is read as ``(N, C, L)`` (with a warning: use
    ``dropout1d``), and other inputs of at least 2 dims as ``(N, C, *)`` (with a warning)."""
    as_tensor_arg(input, "dropout2d")
    p, training = _check("dropout2d", p, training)
    if input.ndim == 3:
        warnings.warn(
            f"dropout2d: got a 3-D input {input.shape}; as PyTorch does, it is read as (N, C, L) and "
            "1-D channels are dropped. Use dropout1d for that, or add a batch dim to an unbatched "
            "(C, H, W) input",
            UserWarning,
            stacklevel=2,
        )
    elif input.ndim != 4:
        if input.ndim < 2 and training:  # in eval, PyTorch returns the input of any shape
            raise ShapeError(f"dropout2d: input must have at least 2 dims (N, C, *), got shape {input.shape}")
        warnings.warn(
            f"dropout2d: got a {input.ndim}-D input {input.shape}, where (N, C, H, W) is expected; "
            "channels (dim 1) are dropped, as PyTorch does for now. Use dropout for elementwise "
            "dropout",
            UserWarning,
            stacklevel=2,
        )
    return _channels(input, p, training, inplace, "dropout2d", True)
