"""The built-in datasets, made by ``gradcnn.create_dataset(name, split="train" | "test", **config)``.

Each returns an :class:`ImageDataset` of one split: float32 images ``(C, H, W)`` in [0, 1] and
int64 labels, with ``.classes`` (names, one per label) and ``.input_shape``. ``transform=`` wraps
it in a :class:`~gradcnn.data.TransformDataset` (augmentation applied at each read).

Nothing is downloaded: ``digits`` ships inside scikit-learn; MNIST and Fashion-MNIST are read from
IDX files on disk (see :func:`mnist`).
"""

import os
import pathlib

import numpy as np

from ..errors import DatasetError, DTypeError, ShapeError
from .dataset import TensorDataset, TransformDataset
from .idx import read_idx
from .transforms import Pad, Resize

__all__ = ["ImageDataset", "digits", "mnist", "fashion_mnist", "synthetic"]

SPLITS = ("train", "test")
# Where a dataset's IDX files are looked for after $GRADCNN_DATA/<name>/ (Debian's
# dataset-fashion-mnist package installs its four .gz files here).
SYSTEM_DIRS = {"fashion-mnist": ("/usr/share/datasets/fashion-mnist",)}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")


class ImageDataset(TensorDataset):
    """``(image, label)`` samples from an array of images ``(N, C, H, W)`` and one of labels ``(N,)``."""

    def __init__(self, images, labels, classes):
        super().__init__(images, labels)
        self.classes = list(classes)

    @property
    def images(self):
        return self.arrays[0]

    @property
    def labels(self):
        return self.arrays[1]

    @property
    def input_shape(self):
        return tuple(self.images.shape[1:])

    def __repr__(self):
        return f"ImageDataset({len(self)} images {self.input_shape}, {len(self.classes)} classes)"


def _check_split(split, name):
    if split not in SPLITS:
        raise ShapeError(f"{name}: split must be 'train' or 'test', got {split!r}")


def _finish(images, labels, classes, transform):
    dataset = ImageDataset(images.astype(np.float32, copy=False), labels.astype(np.int64), classes)
    return dataset if transform is None else TransformDataset(dataset, transform)


def digits(split="train", size=32, pad=2, transform=None):
    """scikit-learn's 1,797 handwritten digits (8x8, 16 grey levels), scaled to [0, 1].

    The split is fixed: a permutation seeded with 0 puts 1,438 images in ``"train"`` and 359 (a
    fifth, rounded down) in ``"test"``. Images are ``(1, size, size)``: the 8x8 digit is resized
    bilinearly to ``size - 2 * pad`` and framed with ``pad`` zero pixels, so the default is MNIST's
    layout, a 28x28 digit in LeNet-5's 32x32 input. ``size=8, pad=0`` gives the original images.
    """
    _check_split(split, "digits")
    inner = size - 2 * pad
    if inner < 1:
        raise ShapeError(f"digits: size {size} - 2 * pad {pad} = {inner} leaves no room for the digit")
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise DatasetError("digits: the dataset ships with scikit-learn, which is not installed: "
                           "pip install scikit-learn") from exc
    bunch = load_digits()
    images = bunch.images.astype(np.float32)[:, None] / 16.0
    labels = bunch.target
    order = np.random.default_rng(0).permutation(len(labels))
    n_test = len(labels) // 5
    keep = order[n_test:] if split == "train" else order[:n_test]
    images = Pad(pad)(Resize(inner)(images[keep]))
    return _finish(images, labels[keep], [str(d) for d in range(10)], transform)


def _idx_files(name, split, data_dir):
    prefix = "train" if split == "train" else "t10k"
    wanted = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    if data_dir is not None:
        dirs = [pathlib.Path(data_dir)]
    else:
        dirs = [pathlib.Path(os.environ["GRADCNN_DATA"]) / name] if os.environ.get("GRADCNN_DATA") else []
        dirs += [pathlib.Path(d) for d in SYSTEM_DIRS.get(name, ())]
    for d in dirs:
        found = []
        for stem in wanted:
            found += [d / f for f in (stem, stem + ".gz") if (d / f).is_file()][:1]
        if len(found) == 2:
            return found
    looked = "\n".join(f"  {d / stem}[.gz]" for d in dirs for stem in wanted) or "  (nowhere)"
    how = [f"pass data_dir=DIR (--data-dir DIR), or set GRADCNN_DATA so that $GRADCNN_DATA/{name}/ "
           f"holds the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
           f"t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz)"]
    if name == "fashion-mnist":
        how.append("on Debian and Ubuntu, `apt install dataset-fashion-mnist` puts them in "
                   "/usr/share/datasets/fashion-mnist/; Zalando Research's fashion-mnist project "
                   "publishes the same files")
    else:
        how.append("download the four MNIST IDX files yourself (they are widely mirrored) and point "
                   "data_dir at their folder; gradcnn never downloads anything")
    raise DatasetError(f"{name}: the {split} split's IDX files were not found. Looked for:\n{looked}\n"
                       + "\n".join(f"To get them: {line}" for line in how))


def _idx_dataset(name, classes, split, data_dir, size, transform):
    _check_split(split, name)
    image_file, label_file = _idx_files(name, split, data_dir)
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{name}: expected images (N, H, W) and labels (N,), got {images.shape} in "
                           f"{str(image_file)!r} and {labels.shape} in {str(label_file)!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DatasetError(f"{name}: labels in {str(label_file)!r} range over {labels.min()}..{labels.max()}, "
                           f"outside 0..{len(classes) - 1}")
    images = images.astype(np.float32)[:, None] / 255.0
    if size is not None:
        height, width = images.shape[-2:]
        if not isinstance(size, int) or size < max(height, width):
            raise ShapeError(f"{name}: size must be an int >= the images' {height}x{width} (they are padded "
                             f"to size x size), got {size!r}")
        top, left = (size - height) // 2, (size - width) // 2
        images = Pad((left, top, size - width - left, size - height - top))(images)
    return _finish(images, labels, classes, transform)


def mnist(split="train", data_dir=None, size=32, transform=None):
    """MNIST from its four IDX files (plain or gzipped), scaled to [0, 1].

    The files are looked for in ``data_dir`` when given, else in ``$GRADCNN_DATA/mnist/``. The 28x28
    images are zero-padded (centred) to ``size x size``: 32, LeNet-5's input, by default; ``size=None``
    keeps them 28x28.
    """
    return _idx_dataset("mnist", [str(d) for d in range(10)], split, data_dir, size, transform)


def fashion_mnist(split="train", data_dir=None, size=32, transform=None):
    """Fashion-MNIST, like :func:`mnist`; also looked for in ``/usr/share/datasets/fashion-mnist/``
    (Debian's ``dataset-fashion-mnist``) after ``$GRADCNN_DATA/fashion-mnist/``."""
    return _idx_dataset("fashion-mnist", FASHION_CLASSES, split, data_dir, size, transform)


def synthetic(split="train", n=None, num_classes=4, size=32, channels=1, noise=0.1, seed=0, transform=None):
    """Images a small model learns in a few steps, for smoke tests: class ``k`` is a Gaussian blob
    at its own place (on a circle around the centre; channel ``c`` is dimmed by ``1 / (1 + c)``),
    shifted by up to one pixel, plus Gaussian ``noise``, clipped to [0, 1].

    ``n`` images of ``size x size`` (default 512 for train, 128 for test; 32x32 like the other
    datasets, LeNet-5's input), classes in equal shares; the same ``seed``
    gives the same images, and the two splits come from different streams of it.
    """
    _check_split(split, "synthetic")
    for key, value, least in (("num_classes", num_classes, 1), ("size", size, 4), ("channels", channels, 1)):
        if not isinstance(value, int) or value < least:
            raise DTypeError(f"synthetic: {key} must be an int >= {least}, got {value!r}")
    n = (512 if split == "train" else 128) if n is None else n
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    labels = rng.permutation(np.arange(n) % num_classes)
    angle = 2 * np.pi * labels / num_classes
    radius = size / 4
    cy = size / 2 - 0.5 + radius * np.sin(angle) + rng.uniform(-1, 1, n)
    cx = size / 2 - 0.5 + radius * np.cos(angle) + rng.uniform(-1, 1, n)
    grid = np.arange(size)
    sigma = max(size / 10, 1.0)
    blob = (np.exp(-((grid[None, :] - cy[:, None]) ** 2) / (2 * sigma**2))[:, :, None]
            * np.exp(-((grid[None, :] - cx[:, None]) ** 2) / (2 * sigma**2))[:, None, :])
    images = blob[:, None] / (1.0 + np.arange(channels))[None, :, None, None]
    images = np.clip(images + noise * rng.standard_normal(images.shape), 0, 1)
    return _finish(images, labels, [f"class {k}" for k in range(num_classes)], transform)
