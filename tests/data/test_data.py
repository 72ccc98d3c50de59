"""gradcnn/data: datasets, the DataLoader, transforms, the IDX reader and the built-in datasets."""

import gzip
import struct

import numpy as np
import pytest

import gradcnn
from gradcnn import plugins
from gradcnn.data import DataLoader, Dataset, TensorDataset, TransformDataset, datasets, read_idx
from gradcnn.data import transforms as T
from gradcnn.errors import DatasetError, GradcnnError, ShapeError

IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array):
    """The IDX encoding of ``array``, written out field by field."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=False):
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def idx_fixture(directory, n_train=6, n_test=4, gz=False):
    rng = np.random.default_rng(1)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels, gz)
        arrays[prefix] = images, labels
    return arrays


# -- TensorDataset and DataLoader --------------------------------------------------------------


def test_tensor_dataset_rows_and_length():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    y = gradcnn.tensor([0, 1, 2, 3, 4])
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    row, label = ds[3]
    np.testing.assert_array_equal(row, [6, 7])
    assert label == 3


def test_tensor_dataset_needs_equal_first_dims():
    with pytest.raises(ShapeError, match=r"same first dim.*\(5, 2\), \(4,\)"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


class Squares(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full((1, 2, 2), i, np.float32), i


# Python int labels collate to int64; an int32 label tensor stays int32, as in PyTorch.
@pytest.mark.parametrize("dataset, label_dtype", [
    (Squares(), gradcnn.int64),
    (TensorDataset(np.arange(7, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2), np.float32),
                   np.arange(7, dtype=np.int32)), gradcnn.int32),
])
@pytest.mark.parametrize("drop_last, sizes", [(False, [3, 3, 1]), (True, [3, 3])])
def test_loader_batches_in_order(dataset, label_dtype, drop_last, sizes):
    loader = DataLoader(dataset, batch_size=3, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == len(sizes)
    assert [len(labels) for _, labels in batches] == sizes
    images, labels = batches[0]
    assert isinstance(images, gradcnn.Tensor) and images.shape == (3, 1, 2, 2)
    assert images.dtype == gradcnn.float32 and labels.dtype == label_dtype
    np.testing.assert_array_equal(np.asarray(labels), [0, 1, 2])
    np.testing.assert_array_equal(np.asarray(images)[:, 0, 0, 0], [0, 1, 2])


def test_loader_shuffles_reproducibly_with_manual_seed():
    ds = TensorDataset(np.arange(20, dtype=np.float32), np.arange(20))

    def epochs():
        loader = DataLoader(ds, batch_size=4, shuffle=True)
        return [np.concatenate([np.asarray(y) for _, y in loader]) for _ in range(2)]

    gradcnn.manual_seed(3)
    first = epochs()
    gradcnn.manual_seed(3)
    again = epochs()
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert sorted(first[0]) == list(range(20))
    assert not np.array_equal(first[0], first[1])  # each epoch draws a new order
    assert not np.array_equal(first[0], np.arange(20))


def test_loader_accepts_a_generator_and_checks_its_arguments():
    ds = TensorDataset(np.arange(10))
    orders = [np.concatenate([np.asarray(b) for (b,) in DataLoader(ds, 3, shuffle=True,
                                                           generator=np.random.default_rng(5))])
              for _ in range(2)]
    np.testing.assert_array_equal(*orders)
    assert len(DataLoader(ds, batch_size=10, drop_last=True)) == 1
    assert len(DataLoader(ds, batch_size=11, drop_last=True)) == 0
    with pytest.raises(ShapeError, match="batch_size should be a positive integer value, but got batch_size=0"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(ds, generator=3)


def test_transform_dataset_applies_the_transform_on_each_read():
    ds = datasets.synthetic(n=8, size=8)
    wrapped = TransformDataset(ds, T.Pad(1))
    image, label = wrapped[2]
    assert image.shape == (1, 10, 10) and label == ds[2][1]
    assert wrapped.input_shape == (1, 10, 10) and wrapped.classes == ds.classes
    images, _ = next(iter(DataLoader(wrapped, batch_size=8)))
    assert images.shape == (8, 1, 10, 10)


# -- transforms ----------------------------------------------------------------------------------


def test_pad_values():
    x = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    np.testing.assert_array_equal(T.Pad(1)(x)[0], [[0, 0, 0, 0], [0, 0, 1, 0], [0, 2, 3, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(T.Pad((1, 0, 0, 1), fill=9)(x)[0], [[9, 0, 1], [9, 2, 3], [9, 9, 9]])
    assert T.Pad((2, 1))(x).shape == (1, 4, 6)


def test_normalize_values():
    x = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)]).astype(np.float32)
    out = T.Normalize([1.0, 2.0], [2.0, 0.5])(x)
    np.testing.assert_allclose(out[0], 0.0)
    np.testing.assert_allclose(out[1], 2.0)
    assert out.dtype == np.float32
    with pytest.raises(ShapeError, match="mean has 3 values for an image of 2 channels"):
        T.Normalize([0, 0, 0], 1)(x)


def test_horizontal_flip():
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1)(x)[0], [[2, 1, 0], [5, 4, 3]])
    assert T.RandomHorizontalFlip(p=0)(x) is x
    gradcnn.manual_seed(0)
    flips = [T.RandomHorizontalFlip()(x)[0, 0, 0] == 2 for _ in range(200)]
    assert 60 < sum(flips) < 140


def test_random_crop_positions_follow_the_seed():
    x = np.arange(36, dtype=np.float32).reshape(1, 6, 6)
    crop = T.RandomCrop(3)

    def corners():
        return [float(crop(x)[0, 0, 0]) for _ in range(20)]

    gradcnn.manual_seed(7)
    first = corners()
    gradcnn.manual_seed(7)
    assert corners() == first
    assert len(set(first)) > 3
    for value in first:  # the top-left value says where the window starts, inside the image
        top, left = divmod(int(value), 6)
        assert top <= 3 and left <= 3
    padded = T.RandomCrop(6, padding=2)(x)
    assert padded.shape == (1, 6, 6)
    with pytest.raises(ShapeError, match="crop 7x7 is larger than the \\(padded\\) image 6x6"):
        T.RandomCrop(7)(x)


def test_resize_keeps_a_constant_image_constant():
    x = np.full((2, 8, 8), 0.25, np.float32)
    for size in (32, (5, 11), 3):
        out = T.Resize(size)(x)
        assert out.shape == (2, *((size, size) if isinstance(size, int) else size))
        np.testing.assert_allclose(out, 0.25, rtol=1e-6)


def test_resize_keeps_a_linear_ramp_linear():
    ramp = np.arange(8, dtype=np.float64)
    x = np.broadcast_to(2.0 + 3.0 * ramp, (1, 4, 8)).copy()
    out = T.Resize((4, 32))(x)[0]
    src = np.clip((np.arange(32) + 0.5) * 8 / 32 - 0.5, 0, 7)
    np.testing.assert_allclose(out, np.broadcast_to(2.0 + 3.0 * src, (4, 32)))
    inner = np.diff(out[0, 2:-2])  # away from the clamped borders the steps are equal
    np.testing.assert_allclose(inner, 3.0 * 8 / 32)
    np.testing.assert_array_equal(T.Resize(8)(x[:, :1].repeat(8, 1)), x[:, :1].repeat(8, 1))  # same size: identity


def test_compose_runs_in_order():
    x = np.ones((1, 2, 2), np.float32)
    out = T.Compose([T.Pad(1), T.Normalize(0.5, 0.5)])(x)
    assert out.shape == (1, 4, 4) and out[0, 0, 0] == -1 and out[0, 1, 1] == 1


# -- IDX -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_read_idx_round_trips(tmp_path, gz, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write_idx(tmp_path / "a.idx", array, gz))
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)


def test_read_idx_rejects_a_wrong_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x00\x01\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DatasetError, match="not an IDX file: its magic bytes are 00 01 08 01") as raised:
        read_idx(path)
    assert isinstance(raised.value, OSError) and isinstance(raised.value, GradcnnError)


def test_read_idx_rejects_truncated_files(tmp_path):
    data = idx_bytes(np.zeros((3, 4), np.uint8))
    (tmp_path / "short").write_bytes(data[:-2])
    with pytest.raises(DatasetError, match=r"truncated: shape \(3, 4\) of uint8 needs 12 \+ 12 = 24 bytes, "
                                           r"the file holds 22"):
        read_idx(tmp_path / "short")
    (tmp_path / "header").write_bytes(data[:6])
    with pytest.raises(DatasetError, match="header declares 2 dims"):
        read_idx(tmp_path / "header")
    (tmp_path / "short.gz").write_bytes(gzip.compress(data)[:-10])
    with pytest.raises(DatasetError, match="damaged or truncated gzip"):
        read_idx(tmp_path / "short.gz")


# -- MNIST and Fashion-MNIST ---------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_a_data_dir(tmp_path, gz):
    arrays = idx_fixture(tmp_path, gz=gz)
    train = gradcnn.create_dataset("mnist", split="train", data_dir=tmp_path)
    test = gradcnn.create_dataset("mnist", split="test", data_dir=str(tmp_path), size=None)
    assert len(train) == 6 and len(test) == 4
    assert train.input_shape == (1, 32, 32) and test.input_shape == (1, 28, 28)
    image, label = train[1]
    assert image.dtype == np.float32 and label == arrays["train"][1][1]
    np.testing.assert_allclose(image[0, 2:30, 2:30], arrays["train"][0][1] / 255.0, rtol=1e-6)
    assert image[0, :2].sum() == 0 and image[0, :, 30:].sum() == 0


def test_fashion_mnist_reads_gradcnn_data(tmp_path, monkeypatch):
    idx_fixture(tmp_path / "fashion-mnist", gz=True)
    monkeypatch.setenv("GRADCNN_DATA", str(tmp_path))
    test = gradcnn.create_dataset("fashion-mnist", split="test")
    assert len(test) == 4 and test.classes[9] == "Ankle boot"
    images, labels = next(iter(DataLoader(test, batch_size=4)))
    assert images.shape == (4, 1, 32, 32) and labels.dtype == gradcnn.int64


def test_a_missing_file_lists_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADCNN_DATA", str(tmp_path / "data"))
    monkeypatch.setitem(datasets.SYSTEM_DIRS, "fashion-mnist", (str(tmp_path / "system"),))
    with pytest.raises(DatasetError) as raised:
        gradcnn.create_dataset("fashion-mnist", split="train")
    message = str(raised.value)
    for place in (tmp_path / "data" / "fashion-mnist", tmp_path / "system"):
        assert f"{place / 'train-images-idx3-ubyte'}[.gz]" in message
        assert f"{place / 'train-labels-idx1-ubyte'}[.gz]" in message
    assert "data_dir=" in message and "apt install dataset-fashion-mnist" in message
    (tmp_path / "only").mkdir()
    write_idx(tmp_path / "only" / "train-images-idx3-ubyte", np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte") as raised:
        gradcnn.create_dataset("mnist", data_dir=tmp_path / "only")
    assert str(tmp_path / "data") not in str(raised.value)  # data_dir is the only place looked


# -- digits and synthetic ------------------------------------------------------------------------


def test_digits_split_shapes_and_range():
    train = gradcnn.create_dataset("digits", split="train")
    test = gradcnn.create_dataset("digits", split="test")
    assert (len(train), len(test)) == (1438, 359) and len(train) + len(test) == 1797
    assert train.input_shape == (1, 32, 32) and train.classes == [str(d) for d in range(10)]
    assert train.images.dtype == np.float32 and train.labels.dtype == np.int64
    assert train.images.min() == 0 and 0.9 < train.images.max() <= 1
    assert train.images[:, :, :2].max() == 0  # the 2-pixel frame
    assert set(np.unique(test.labels)) == set(range(10))
    again = gradcnn.create_dataset("digits", split="test")
    np.testing.assert_array_equal(again.images, test.images)
    original = gradcnn.create_dataset("digits", split="test", size=8, pad=0)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    i = np.random.default_rng(0).permutation(1797)[0]
    np.testing.assert_allclose(original.images[0, 0], bunch.images[i] / 16.0, rtol=1e-6)
    assert original.labels[0] == bunch.target[i]


def test_synthetic_is_seeded_and_learnable_by_nearest_mean():
    train = gradcnn.create_dataset("synthetic", n=200, num_classes=5, size=12, channels=2)
    test = gradcnn.create_dataset("synthetic", split="test", n=100, num_classes=5, size=12, channels=2)
    assert train.input_shape == (2, 12, 12) and len(test) == 100 and len(train.classes) == 5
    np.testing.assert_array_equal(train.images, gradcnn.create_dataset("synthetic", n=200, num_classes=5,
                                                                       size=12, channels=2).images)
    assert not np.array_equal(train.images[:100], test.images)
    means = np.stack([train.images[train.labels == k].mean(0) for k in range(5)])
    distance = ((test.images[:, None] - means[None]) ** 2).sum(axis=(2, 3, 4))
    assert (distance.argmin(1) == test.labels).mean() > 0.9


def test_builtin_datasets_are_registered(monkeypatch):
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", ("gradcnn.default_plugins.datasets",))
    monkeypatch.setenv("GRADCNN_LOAD_PLUGINS", "")
    plugins._reset()
    try:
        assert gradcnn.list_datasets() == ["digits", "fashion-mnist", "mnist", "synthetic"]
        assert len(gradcnn.create_dataset("synthetic", n=10)) == 10
        with pytest.raises(ShapeError, match="split must be 'train' or 'test', got 'val'"):
            gradcnn.create_dataset("digits", split="val")
    finally:
        plugins._reset()
