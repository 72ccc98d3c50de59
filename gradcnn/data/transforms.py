"""Image transforms on NumPy arrays laid out ``(C, H, W)`` (any leading dims work: they act on the
last two). Random transforms draw from ``gradcnn.random.generator()`` at each call, so
``gradcnn.manual_seed`` makes them reproducible.
"""

import numbers

import numpy as np

from .. import random
from ..errors import DTypeError, ShapeError
from ..geometry import int_tuple

__all__ = ["Compose", "Normalize", "Pad", "RandomCrop", "RandomHorizontalFlip", "Resize"]


def _image(x, op):
    x = np.asarray(x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected an image (C, H, W), got an array of shape {x.shape}")
    return x


class Compose:
    """Apply ``transforms`` in order."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x

    def __repr__(self):
        return f"Compose({self.transforms!r})"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel; ``mean`` and ``std`` are numbers or one per channel."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if np.any(self.std == 0):
            raise ShapeError(f"Normalize: std must be non-zero, got {std!r}")

    def __call__(self, x):
        x = _image(x, "Normalize")
        channels = x.shape[-3] if x.ndim >= 3 else 1
        for name, value in (("mean", self.mean), ("std", self.std)):
            if value.size not in (1, channels):
                raise ShapeError(f"Normalize: {name} has {value.size} values for an image of {channels} "
                                 f"channels (shape {x.shape})")
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        mean = self.mean.astype(dtype)[:, None, None] if x.ndim >= 3 else self.mean.astype(dtype)
        std = self.std.astype(dtype)[:, None, None] if x.ndim >= 3 else self.std.astype(dtype)
        return (x - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Pad:
    """Pad the borders with ``fill``. ``padding``: an int (every side), ``(left/right, top/bottom)``
    or ``(left, top, right, bottom)``, as in torchvision."""

    def __init__(self, padding, fill=0):
        if isinstance(padding, numbers.Integral):
            padding = (padding,) * 4
        padding = tuple(padding)
        if len(padding) == 2:
            padding = padding * 2
        if len(padding) != 4 or not all(isinstance(p, numbers.Integral) and p >= 0 for p in padding):
            raise ShapeError(f"Pad: padding must be non-negative ints: one, two (left/right, top/bottom) "
                             f"or four (left, top, right, bottom), got {padding!r}")
        self.padding = tuple(int(p) for p in padding)
        self.fill = fill

    def __call__(self, x):
        x = _image(x, "Pad")
        left, top, right, bottom = self.padding
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        return np.pad(x, widths, constant_values=self.fill)

    def __repr__(self):
        return f"Pad({self.padding}, fill={self.fill})"


class RandomCrop:
    """Crop a random ``size`` window (an int or ``(height, width)``), after padding every side by
    ``padding`` (with ``fill``) when given: AlexNet-style augmentation is ``RandomCrop(32, padding=4)``."""

    def __init__(self, size, padding=None, fill=0):
        self.size = int_tuple("RandomCrop", "size", size, 2, minimum=1)
        self.pad = None if padding is None else Pad(padding, fill)

    def __call__(self, x):
        x = _image(x, "RandomCrop")
        if self.pad is not None:
            x = self.pad(x)
        (h, w), (height, width) = self.size, x.shape[-2:]
        if h > height or w > width:
            raise ShapeError(f"RandomCrop: crop {h}x{w} is larger than the (padded) image {height}x{width}")
        rng = random.generator()
        top = int(rng.integers(0, height - h + 1))
        left = int(rng.integers(0, width - w + 1))
        return x[..., top:top + h, left:left + w]

    def __repr__(self):
        return f"RandomCrop({self.size}, padding={None if self.pad is None else self.pad.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    def __init__(self, p=0.5):
        if not 0 <= p <= 1:
            raise ShapeError(f"RandomHorizontalFlip: p must be in [0, 1], got {p!r}")
        self.p = p

    def __call__(self, x):
        x = _image(x, "RandomHorizontalFlip")
        return x[..., ::-1].copy() if random.generator().random() < self.p else x

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p})"


class Resize:
    """Resize to ``size`` (an int or ``(height, width)``) by bilinear interpolation.

    Pixel centers are aligned (``align_corners=False`` in PyTorch's terms, OpenCV's and PIL's
    convention): output pixel ``j`` samples the input at ``(j + 0.5) * in / out - 0.5``, clamped to
    the image. No antialiasing: shrinking by more than 2x skips input pixels.
    """

    def __init__(self, size):
        self.size = int_tuple("Resize", "size", size, 2, minimum=1)

    def __call__(self, x):
        x = _image(x, "Resize")
        if x.dtype.kind != "f":
            raise DTypeError(f"Resize: expected a float image, got dtype {x.dtype}")
        for axis, out in zip((-2, -1), self.size):
            lo, hi, frac = _taps(x.shape[axis], out)
            shape = [1] * x.ndim
            shape[axis] = out
            frac = frac.astype(x.dtype).reshape(shape)
            x = np.take(x, lo, axis=axis) * (1 - frac) + np.take(x, hi, axis=axis) * frac
        return x

    def __repr__(self):
        return f"Resize({self.size})"


def _taps(n_in, n_out):
    """The two input indices and the weight of the second for each output pixel along one axis."""
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, src - lo
