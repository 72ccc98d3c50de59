"""gradcnn/utils/data: datasets, samplers, collation, the DataLoader and its worker processes.

Where PyTorch is installed, collation, split lengths and argument errors are compared with
``torch.utils.data`` itself. Worker tests use tiny datasets defined at module level (workers get
them by pickling).
"""

import ast
import collections
import gc
import multiprocessing
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import gradcnn
from gradcnn.errors import GradcnnError, ShapeError
from gradcnn.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    StackDataset,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    get_worker_info,
    random_split,
)

PACKAGE = pathlib.Path(gradcnn.__file__).parent / "utils" / "data"


# -- datasets used by the tests (module level: workers unpickle them) ---------------------------


class Squares(Dataset):
    """Sample ``i``: ``(array of i*i, i)``; the arrays differ bitwise from key to key."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2, 3), np.sqrt(i * i + 0.5), np.float32), i


class WhoAmI(Dataset):
    """Sample ``i``: the worker's id, seed, pid and a draw from gradcnn's and NumPy's generators."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        wid, seed = (-1, -1) if info is None else (info.id, info.seed)
        return {"key": i, "worker": wid, "seed": seed, "pid": os.getpid(),
                "draw": float(gradcnn.rand(1).item()), "np_draw": float(np.random.random())}


class Failing(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"sample {i} is broken")
        return i


class MissingKey(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"a": 1}["b"]


class Slow(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            time.sleep(1.0)
        return i


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 1:
            os._exit(7)
        return i


def closure_collate(batch):
    return lambda: batch  # a batch that cannot be pickled back to the main process


class Stream(IterableDataset):
    """0 .. n-1; ``split=True`` gives each worker its share (keys ``id, id + num_workers, ...``)."""

    def __init__(self, n, split=False):
        self.n = n
        self.split = split

    def __iter__(self):
        info = get_worker_info()
        if not self.split or info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


_initialised = []


def record_worker(worker_id):
    _initialised.append(worker_id)


class InitSeen(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return list(_initialised)


def failing_init(worker_id):
    raise OSError(f"worker {worker_id} cannot start")


def workers_alive():
    return [p for p in multiprocessing.active_children() if p.name.startswith("DataLoader worker")]


def wait_until_no_workers(seconds=5.0):
    end = time.monotonic() + seconds
    while workers_alive() and time.monotonic() < end:
        time.sleep(0.05)
    return workers_alive()


def as_numpy(tree):
    """Tensors (gradcnn or torch) as ``("tensor", dtype name, array)``, containers kept by type."""
    if isinstance(tree, gradcnn.Tensor):
        return ("tensor", tree.dtype.name, np.asarray(tree))
    if type(tree).__module__.startswith("torch"):
        array = tree.numpy()
        return ("tensor", array.dtype.name, array)
    if isinstance(tree, dict):
        return {k: as_numpy(v) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return (type(tree).__name__, *(as_numpy(v) for v in tree))
    if isinstance(tree, (list, tuple)):
        return type(tree)(as_numpy(v) for v in tree)
    return tree


def assert_same_tree(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same_tree(a[k], b[k])
    elif isinstance(a, (list, tuple)) and a and a[0] == "tensor" and len(a) == 3:
        assert a[1] == b[1], f"dtype {a[1]} != {b[1]}"
        np.testing.assert_array_equal(a[2], b[2])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_tree(x, y)
    else:
        assert a == b


def batches_as_numpy(loader):
    return [as_numpy(b) for b in loader]


# -- the import rule ------------------------------------------------------------------------------

ALLOWED = ("gradcnn.tensor", "gradcnn.creation", "gradcnn.random", "gradcnn.errors", "gradcnn.backends")


def test_the_package_imports_only_the_engine_it_may_and_has_no_cycle():
    graph = {}
    for path in PACKAGE.glob("*.py"):
        name = "gradcnn.utils.data" + ("" if path.stem == "__init__" else "." + path.stem)
        base = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):  # walks function bodies too
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    parts = base.split(".")
                    module = ".".join(parts[:len(parts) - node.level + 1] + ([module] if module else []))
                targets.add(module)
                if module.startswith("gradcnn.utils.data"):
                    targets |= {f"{module}.{a.name}" for a in node.names}
        graph[name] = targets
    for name, targets in graph.items():
        for target in targets:
            if target.startswith("gradcnn") and not target.startswith("gradcnn.utils.data"):
                assert target.startswith(ALLOWED), f"{name} imports {target}"
    internal = {n: {t for t in ts if t in graph and t != n} for n, ts in graph.items()}
    for name in graph:
        if name.endswith(".data"):
            continue  # the package's __init__ imports its modules; they never import it
        seen, stack = set(), list(internal[name] - {"gradcnn.utils.data"})
        while stack:
            current = stack.pop()
            assert current != name, f"import cycle through {name}"
            if current not in seen:
                seen.add(current)
                stack.extend(internal[current] - {"gradcnn.utils.data"})


@pytest.mark.parametrize("name, message", [
    ("IterDataPipe", "subclass IterableDataset"),
    ("Nonsense", "has no attribute 'Nonsense'"),
])
def test_pytorch_names_not_provided_say_what_to_use(name, message):
    with pytest.raises(AttributeError, match=message):
        getattr(gradcnn.utils.data, name)


def test_gradcnn_data_re_exports_the_same_classes():
    from gradcnn import data

    assert data.DataLoader is DataLoader and data.Dataset is Dataset and data.TensorDataset is TensorDataset
    assert gradcnn.utils.data.DataLoader is DataLoader


# -- datasets -------------------------------------------------------------------------------------


def test_dataset_base_classes():
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="should implement __iter__"):
        iter(IterableDataset())
    both = Squares(2) + Squares(3)
    assert isinstance(both, ConcatDataset) and len(both) == 5 and both[4][1] == 2
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


def test_tensor_dataset_rows_are_tensors_and_arrays_share_memory():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    ds = TensorDataset(x, gradcnn.arange(6), [1.0, 2, 3, 4, 5, 6])
    assert len(ds) == 6 and len(ds.tensors) == 3
    row, label, value = ds[4]
    assert isinstance(row, gradcnn.Tensor) and row.shape == (2,)
    np.testing.assert_array_equal(np.asarray(row), [8, 9])
    assert int(label) == 4 and label.dtype == gradcnn.int64 and value.dtype == gradcnn.float32
    assert ds.arrays[0] is x or np.shares_memory(ds.arrays[0], x)
    with pytest.raises(ShapeError, match=r"same first dim.*\(6, 2\), \(5,\)"):
        TensorDataset(x, np.zeros(5))
    with pytest.raises(ShapeError, match=r"\(\)"):
        TensorDataset(np.float32(1.0))
    with pytest.raises(ShapeError, match="at least one"):
        TensorDataset()


class Batched(Dataset):
    def __init__(self):
        self.calls = []

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return i

    def __getitems__(self, keys):
        self.calls.append(list(keys))
        return [k * 10 for k in keys]


def test_subset_maps_keys_and_uses_getitems():
    base = Squares(10)
    sub = Subset(base, [7, 2, 5])
    assert len(sub) == 3 and sub[0][1] == 7 and sub[-1][1] == 5
    assert [s[1] for s in sub.__getitems__([2, 0])] == [5, 7]
    batched = Batched()
    assert Subset(batched, [3, 4, 9]).__getitems__([0, 2]) == [30, 90] and batched.calls == [[3, 9]]
    loader = DataLoader(Subset(batched, [1, 2, 3]), batch_size=2)
    assert [np.asarray(b).tolist() for b in loader] == [[10, 20], [30]]


def test_concat_dataset_indexing():
    ds = ConcatDataset([Squares(2), Squares(3), Squares(1)])
    assert ds.cumulative_sizes == [2, 5, 6] and len(ds) == 6
    assert [ds[i][1] for i in range(6)] == [0, 1, 0, 1, 2, 0]
    assert ds[-1][1] == 0 and ds[-4][1] == 0 and ds[-6][1] == 0
    with pytest.raises(ValueError, match="absolute value of index"):
        ds[-7]
    with pytest.raises(IndexError, match="index 6 is out of range"):
        ds[6]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="IterableDataset"):
        ConcatDataset([Squares(2), Stream(3)])
    with pytest.raises(TypeError, match="only supports IterableDataset"):
        list(ChainDataset([Squares(2)]))


def test_stack_dataset():
    tup = StackDataset(Squares(3), TensorDataset(np.arange(3)))
    assert len(tup) == 3 and tup[2][0][1] == 2 and int(tup[2][1][0]) == 2
    named = StackDataset(image=Squares(3), key=list("abc"))
    assert named[1]["key"] == "b" and named[1]["image"][1] == 1
    batch = next(iter(DataLoader(named, batch_size=3)))
    assert batch["key"] == ["a", "b", "c"] and batch["image"][0].shape == (3, 2, 3)
    with pytest.raises(ValueError, match="size mismatch"):
        StackDataset(Squares(3), Squares(4))
    with pytest.raises(ValueError, match="not both"):
        StackDataset(Squares(3), b=Squares(3))


# -- random_split ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Length of split")
@pytest.mark.parametrize("n, lengths", [
    (10, [3, 7]), (10, [0.3, 0.7]), (10, [0.5, 0.5]), (5, [0.5, 0.5]), (10, [1 / 3] * 3),
    (7, [0.1, 0.2, 0.7]), (30, [0.3, 0.3, 0.4]), (3, [0.25, 0.25, 0.25, 0.25]), (1, [1]), (0, [0, 0]),
])
def test_random_split_lengths_follow_pytorchs_rules(n, lengths):
    parts = random_split(range(n), lengths, generator=np.random.default_rng(0))
    keys = sorted(k for p in parts for k in (p[i] for i in range(len(p))))
    assert keys == list(range(n))  # disjoint, covering
    torch = pytest.importorskip("torch")
    expected = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
    assert [len(p) for p in parts] == expected


def test_random_split_is_reproducible_and_checks_its_lengths():
    first = [list(p.indices) for p in random_split(range(20), [5, 15], generator=np.random.default_rng(3))]
    again = [list(p.indices) for p in random_split(range(20), [5, 15], generator=np.random.default_rng(3))]
    assert first == again and first[0] != list(range(5))
    gradcnn.manual_seed(4)
    a = random_split(range(20), [0.5, 0.5])[0].indices
    gradcnn.manual_seed(4)
    assert random_split(range(20), [0.5, 0.5])[0].indices == a
    with pytest.raises(ValueError, match=r"Sum of input lengths does not equal.*3 \+ 4 = 7, the dataset has 10"):
        random_split(range(10), [3, 4])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(range(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="non-negative ints"):
        random_split(range(10), [-1, 11])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(1), [0.5, 0.5])
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        random_split(range(10), [5, 5], generator=5)


# -- samplers -------------------------------------------------------------------------------------


def test_sequential_and_random_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3] and len(SequentialSampler(range(4))) == 4
    sampler = RandomSampler(range(10), generator=np.random.default_rng(1))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second and len(sampler) == 10
    assert list(RandomSampler(range(10), generator=np.random.default_rng(1))) == first
    assert all(type(k) is int for k in first)
    more = list(RandomSampler(range(4), num_samples=10, generator=np.random.default_rng(0)))
    assert len(more) == 10 and sorted(more[:4]) == sorted(more[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=np.random.default_rng(0)))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    gradcnn.manual_seed(8)
    a = list(RandomSampler(range(10)))
    gradcnn.manual_seed(8)
    assert list(RandomSampler(range(10))) == a
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples=0"):
        RandomSampler([])


def test_subset_and_weighted_samplers():
    keys = list(SubsetRandomSampler([10, 20, 30, 40], generator=np.random.default_rng(0)))
    assert sorted(keys) == [10, 20, 30, 40] and len(SubsetRandomSampler([1, 2])) == 2
    weighted = WeightedRandomSampler([0.0, 1.0, 3.0], 200, generator=np.random.default_rng(0))
    counts = np.bincount(list(weighted), minlength=3)
    assert len(weighted) == 200 and counts[0] == 0 and counts[2] > 2 * counts[1]
    distinct = list(WeightedRandomSampler([1, 1, 1, 0], 3, replacement=False, generator=np.random.default_rng(0)))
    assert sorted(distinct) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="cannot draw 4 samples without replacement from 3"):
        list(WeightedRandomSampler([1, 1, 1, 0], 4, replacement=False))
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1, 2], 0)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence but given weights have shape \(1, 2\)"):
        WeightedRandomSampler([[1, 2]], 3)
    with pytest.raises(ValueError, match="replacement should be a boolean"):
        WeightedRandomSampler([1, 2], 2, replacement="yes")


def test_batch_sampler():
    assert list(BatchSampler(SequentialSampler(range(10)), 3, False)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(BatchSampler(range(10), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert len(BatchSampler(range(10), 3, False)) == 4 and len(BatchSampler(range(10), 3, True)) == 3
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="batch_size=True"):
        BatchSampler(range(3), True, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=0"):
        BatchSampler(range(3), 2, 0)
    with pytest.raises(NotImplementedError):
        iter(Sampler())


# -- collation ------------------------------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")

COLLATE_CASES = {
    "ints": [1, 2, 3],
    "floats": [1.5, 2.0],
    "int then float": [1, 2.5],
    "float then int": [2.5, 1],
    "bools": [True, False],
    "numpy float32 scalars": [np.float32(1.5), np.float32(2.5)],
    "numpy int32 scalars": [np.int32(1), np.int32(2)],
    "numpy scalar and float": [np.float32(1), 2.0],
    "numpy bools": [np.bool_(True), np.bool_(False)],
    "0-d arrays": [np.array(1.0), np.array(2.0)],
    "arrays": [np.arange(6, dtype=np.int32).reshape(2, 3), np.ones((2, 3), np.int32)],
    "uint8 arrays": [np.arange(4, dtype=np.uint8), np.arange(4, dtype=np.uint8)],
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
    "tuples": [(np.zeros(2, np.float32), 1), (np.ones(2, np.float32), 2)],
    "lists": [[1, 2.0], [3, 4.0]],
    "dicts": [{"image": np.zeros((1, 2)), "label": 3, "name": "x"}, {"image": np.ones((1, 2)), "label": 4,
                                                                     "name": "y"}],
    "nested": [{"a": (1, [2.0, np.float64(3)]), "b": {"c": np.int8(4)}}] * 2,
    "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
    "ordered dicts": [collections.OrderedDict(b=1, a=2.0)] * 2,
}


@pytest.mark.parametrize("name", list(COLLATE_CASES))
def test_default_collate_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    batch = COLLATE_CASES[name]
    assert_same_tree(as_numpy(default_collate(batch)), as_numpy(torch.utils.data.default_collate(batch)))


@pytest.mark.parametrize("data", [np.arange(3), (np.zeros(2), 1, 2.0, "s"), np.float32(3),
                                  {"a": np.ones(1), "b": [np.int64(2), "x"]}, Point(np.array(0), 1), 5,
                                  np.array(["a", "b"])],
                         ids=["array", "tuple", "scalar", "dict", "namedtuple", "int", "strings"])
def test_default_convert_matches_pytorch(data):
    torch = pytest.importorskip("torch")
    ours, theirs = as_numpy(default_convert(data)), as_numpy(torch.utils.data.default_convert(data))
    if isinstance(data, np.ndarray) and data.dtype.kind == "U":
        np.testing.assert_array_equal(ours, theirs)
    else:
        assert_same_tree(ours, theirs)


def test_default_collate_stacks_tensors():
    a = gradcnn.tensor([[1.0, 2.0]], requires_grad=True)
    batch = default_collate([a, gradcnn.tensor([[3.0, 4.0]])])
    assert batch.shape == (2, 1, 2) and batch.dtype == gradcnn.float32 and not batch.requires_grad
    np.testing.assert_array_equal(np.asarray(batch), [[[1, 2]], [[3, 4]]])
    images, labels = default_collate([(gradcnn.zeros(3), 1), (gradcnn.ones(3), 0)])
    assert images.shape == (2, 3) and labels.dtype == gradcnn.int64


def test_default_collate_errors():
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors.*NoneType"):
        default_collate([None, None])
    with pytest.raises(TypeError, match="<U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(ValueError, match=r"each element in list of batch should be of equal size, got sizes \[2, 1\]"):
        default_collate([(1, 2), (3,)])
    with pytest.raises(ValueError, match=r"equal size, but got \(2,\) at entry 0 and \(3,\) at entry 1"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(GradcnnError):
        default_collate([gradcnn.zeros(2), np.zeros(2)])


# -- DataLoader, in the main process --------------------------------------------------------------


def test_loader_batches_dicts_tuples_and_numbers():
    loader = DataLoader(WhoAmI(), batch_size=3)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    first = batches[0]
    assert set(first) == {"key", "worker", "seed", "pid", "draw", "np_draw"}
    assert first["key"].dtype == gradcnn.int64 and first["draw"].dtype == gradcnn.float64
    np.testing.assert_array_equal(np.asarray(first["key"]), [0, 1, 2])
    np.testing.assert_array_equal(np.asarray(first["worker"]), [-1, -1, -1])  # no worker info in the main process
    images, keys = next(iter(DataLoader(Squares(5), batch_size=5)))
    assert isinstance(images, gradcnn.Tensor) and images.shape == (5, 2, 3) and keys.dtype == gradcnn.int64


def test_tensor_dataset_batches_equal_the_sample_by_sample_collation():
    x = np.random.default_rng(0).standard_normal((11, 2, 2)).astype(np.float32)
    ds = TensorDataset(x, np.arange(11, dtype=np.int32))
    sampler = [4, 0, 10, 3, 3, 7]
    fast = batches_as_numpy(DataLoader(ds, batch_size=4, sampler=sampler))
    slow = batches_as_numpy(DataLoader(ds, batch_size=4, sampler=sampler, collate_fn=lambda b: default_collate(b)))
    assert_same_tree(fast, slow)
    assert fast[0][1][1] == "int32"
    subset = batches_as_numpy(DataLoader(Subset(ds, [10, 9, 8]), batch_size=2))
    np.testing.assert_array_equal(subset[0][1][2], [10, 9])


def test_loader_options_sampler_batch_sampler_collate_and_no_batching():
    ds = Squares(6)

    def keys(loader):
        return [np.asarray(k).tolist() for _, k in loader]

    assert keys(DataLoader(ds, batch_size=4, sampler=[5, 4, 3])) == [[5, 4, 3]]
    assert keys(DataLoader(ds, batch_sampler=[[1, 2], [0], [5, 5, 5]])) == [[1, 2], [0], [5, 5, 5]]
    assert len(DataLoader(ds, batch_sampler=[[1, 2], [0]])) == 2
    assert list(DataLoader(ds, batch_size=4, collate_fn=len)) == [4, 2]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 6 and isinstance(single[0], list)  # default_convert: a tuple becomes a list
    assert isinstance(single[2][0], gradcnn.Tensor) and single[2][0].shape == (2, 3) and single[2][1] == 2
    assert [len(k) for k in keys(DataLoader(ds, batch_size=4, drop_last=True))] == [4]
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 1 and len(DataLoader(ds, batch_size=4)) == 2
    loader = DataLoader(ds, pin_memory=True, in_order=False, pin_memory_device="cuda")
    assert len(list(loader)) == 6


def test_loader_shuffle_is_reproducible_and_new_each_epoch():
    def orders(**kwargs):
        loader = DataLoader(Squares(12), batch_size=5, shuffle=True, **kwargs)
        return [[k for _, keys in loader for k in np.asarray(keys).tolist()] for _ in range(2)]

    gradcnn.manual_seed(3)
    first = orders()
    gradcnn.manual_seed(3)
    assert orders() == first
    assert sorted(first[0]) == list(range(12)) and first[0] != first[1]
    assert orders(generator=np.random.default_rng(5)) == orders(generator=np.random.default_rng(5))


def test_iterable_dataset_in_the_main_process():
    assert [np.asarray(b).tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [np.asarray(b).tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2],
                                                                                                  [3, 4, 5]]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    assert len(DataLoader(Stream(7), batch_size=3)) == 3 and len(DataLoader(Stream(7), batch_size=3,
                                                                            drop_last=True)) == 2


ARGUMENT_ERRORS = [
    (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
    (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor option could only be specified in multiprocessing"),
    (dict(num_workers=1, prefetch_factor=-1), ValueError, "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), ValueError, "persistent_workers option needs num_workers > 0"),
    (dict(shuffle=True, sampler=[0, 1]), ValueError, "sampler option is mutually exclusive with shuffle"),
    (dict(batch_sampler=[[0]], batch_size=2), ValueError, "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], shuffle=True), ValueError, "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], sampler=[0]), ValueError, "batch_sampler option is mutually exclusive"),
    (dict(batch_sampler=[[0]], drop_last=True), ValueError, "batch_sampler option is mutually exclusive"),
    (dict(batch_size=None, drop_last=True), ValueError, "batch_size=None option disables auto-batching"),
    (dict(batch_size=0), ValueError, "batch_size should be a positive integer value, but got batch_size=0"),
    (dict(multiprocessing_context="spawn"), ValueError, "multiprocessing_context can only be used with"),
    (dict(num_workers=1, multiprocessing_context="teleport"), ValueError, "should specify a valid start method"),
    (dict(num_workers=1, multiprocessing_context=3), TypeError, "should be a valid context object"),
]
ITERABLE_ERRORS = [
    (dict(shuffle=True), ValueError, "expected unspecified shuffle option, but got shuffle=True"),
    (dict(sampler=[0]), ValueError, "expected unspecified sampler option"),
    (dict(batch_sampler=[[0]]), ValueError, "expected unspecified batch_sampler option"),
]


@pytest.mark.parametrize("kwargs, family, message", ARGUMENT_ERRORS + [(dict(kw, iterable=True), f, m)
                                                                      for kw, f, m in ITERABLE_ERRORS],
                         ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_loader_argument_errors_match_pytorch(kwargs, family, message):
    kwargs = dict(kwargs)
    iterable = kwargs.pop("iterable", False)
    with pytest.raises(family, match=message) as caught:
        DataLoader(Stream(4) if iterable else Squares(4), **kwargs)
    assert isinstance(caught.value, GradcnnError)
    torch = pytest.importorskip("torch")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(4))

    with pytest.raises(family, match=message):
        torch.utils.data.DataLoader(TorchStream() if iterable else list(range(4)), **kwargs)


def test_loader_generator_and_frozen_attributes():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(Squares(3), generator=3)
    loader = DataLoader(Squares(3))
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 2
    loader.num_workers = 0  # not frozen, as in PyTorch


# -- DataLoader with worker processes -------------------------------------------------------------


@pytest.mark.parametrize("dataset", [Squares(23), TensorDataset(np.random.default_rng(1).standard_normal((23, 3)),
                                                                np.arange(23))], ids=["samples", "tensors"])
def test_two_workers_give_bitwise_the_same_batches_as_none(dataset):
    def run(**kwargs):
        gradcnn.manual_seed(11)
        loader = DataLoader(dataset, batch_size=4, shuffle=True, **kwargs)
        epochs = [batches_as_numpy(loader) for _ in range(2)]
        return epochs, float(gradcnn.rand(1).item())  # the generator's stream after two epochs

    reference = run()
    assert len(reference[0][0]) == 6
    for kwargs in (dict(num_workers=2), dict(num_workers=2, persistent_workers=True, prefetch_factor=1)):
        got = run(**kwargs)
        assert_same_tree(got[0], reference[0])
        assert got[1] == reference[1]
    assert reference[0][0][0][0][1] in ("float32", "float64")


def test_workers_are_seeded_from_the_generator_and_call_worker_init_fn():
    def run():
        gradcnn.manual_seed(2)
        loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, worker_init_fn=record_worker)
        return [as_numpy(b) for b in loader]

    first, again = run(), run()
    pids = {p for b in first for p in b.pop("pid")[2]}
    for b in again:
        del b["pid"]  # the only field that differs from run to run
    assert_same_tree(first, again)  # seeds and random draws are reproducible
    workers = [b["worker"][2].tolist() for b in first]
    assert workers == [[0, 0], [1, 1], [0, 0], [1, 1]]  # batch k from worker k mod 2
    seeds = {w[0]: b["seed"][2][0] for w, b in zip(workers, first)}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert len(pids) == 2 and os.getpid() not in pids
    draws = [b["draw"][2][0] for b in first]
    assert draws[0] != draws[1]  # the workers' generators differ

    seen = list(DataLoader(InitSeen(), batch_size=None, num_workers=2, worker_init_fn=record_worker))
    assert seen == [[0], [1], [0], [1]]  # worker_init_fn(worker_id) ran in each worker, once


def test_a_worker_exception_names_the_worker_and_keeps_its_traceback():
    loader = DataLoader(Failing(), batch_size=2, num_workers=2)
    got = []
    with pytest.raises(ValueError) as caught:
        for batch in loader:
            got.append(np.asarray(batch).tolist())
    message = str(caught.value)
    assert got == [[0, 1], [2, 3]]
    assert "Caught ValueError in DataLoader worker process 0" in message  # batch 2 went to worker 0
    assert "sample 5 is broken" in message and "in __getitem__" in message and "Traceback" in message
    assert not wait_until_no_workers()

    with pytest.raises(KeyError) as caught:
        next(iter(DataLoader(MissingKey(), num_workers=1)))
    assert "Caught KeyError in DataLoader worker process 0" in str(caught.value)
    assert "\n" in str(caught.value)  # readable, not a repr

    with pytest.raises(OSError, match="worker 0 cannot start") as caught:
        list(DataLoader(Squares(4), num_workers=2, worker_init_fn=failing_init))
    assert "in worker_init_fn" in str(caught.value)

    with pytest.raises(AttributeError, match="pickling the batch"):
        list(DataLoader(Squares(2), num_workers=1, collate_fn=closure_collate))
    assert not wait_until_no_workers()


def test_timeout_dead_workers_and_unpicklable_arguments():
    loader = DataLoader(Slow(), batch_size=1, num_workers=2, timeout=0.2)
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.2 seconds waiting for a batch from worker \d"):
        list(loader)
    with pytest.raises(RuntimeError, match=r"DataLoader worker 1 \(pid \d+\) exited unexpectedly: it exited with "
                                           r"code 7"):
        list(DataLoader(Dies(), num_workers=2))
    with pytest.raises(TypeError, match="cannot be pickled.*module level"):
        list(DataLoader(Squares(4), num_workers=1, collate_fn=lambda b: b))
    assert not wait_until_no_workers()


def test_breaking_out_early_and_persistent_workers():
    loader = DataLoader(WhoAmI(), batch_size=1, num_workers=2)
    for _ in loader:
        break
    assert not wait_until_no_workers()  # the dropped iterator stopped its workers

    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=2, persistent_workers=True)
    pids = [{int(p) for b in loader for p in np.asarray(b["pid"])} for _ in range(2)]
    assert pids[0] == pids[1] and len(pids[0]) == 2
    for _ in loader:
        break  # an unfinished epoch: its batches still in flight are dropped next epoch
    keys = [k for b in loader for k in np.asarray(b["key"]).tolist()]
    assert keys == list(range(8))
    assert len(workers_alive()) == 2
    del loader
    gc.collect()
    assert not wait_until_no_workers()


def test_iterable_dataset_with_workers():
    # Without get_worker_info every worker yields the whole stream; batches alternate between them.
    whole = [np.asarray(b).tolist() for b in DataLoader(Stream(5), batch_size=2, num_workers=2)]
    assert whole == [[0, 1], [0, 1], [2, 3], [2, 3], [4], [4]]
    split = [np.asarray(b).tolist() for b in DataLoader(Stream(7, split=True), batch_size=2, num_workers=2)]
    assert split == [[0, 2], [1, 3], [4, 6], [5]]
    dropped = [np.asarray(b).tolist() for b in DataLoader(Stream(7, split=True), batch_size=2, num_workers=2,
                                                          drop_last=True)]
    assert dropped == [[0, 2], [1, 3], [4, 6]]
    loader = DataLoader(Stream(5, split=True), batch_size=None, num_workers=2, persistent_workers=True)
    assert [list(loader), list(loader)] == [[0, 1, 2, 3, 4]] * 2
    del loader
    assert not wait_until_no_workers()


def test_spawn_context_and_the_worker_info_outside_workers():
    assert get_worker_info() is None
    loader = DataLoader(Squares(3), batch_size=2, num_workers=1, multiprocessing_context="spawn")
    assert [np.asarray(k).tolist() for _, k in loader] == [[0, 1], [2]]
    ctx = multiprocessing.get_context("spawn")
    assert DataLoader(Squares(3), num_workers=1, multiprocessing_context=ctx).multiprocessing_context is ctx


def test_loader_iterators_and_datasets_pickle():
    pickle.loads(pickle.dumps(TensorDataset(np.arange(3))))
    pickle.loads(pickle.dumps(random_split(Squares(4), [2, 2])[0]))


ORPHANED = """
import os
import numpy as np
from gradcnn.utils.data import DataLoader, Dataset

class Pids(Dataset):
    def __len__(self):
        return 100

    def __getitem__(self, i):
        return np.int64(os.getpid())

if __name__ == "__main__":
    batches = iter(DataLoader(Pids(), batch_size=1, num_workers=2))
    print(*{int(next(batches)) for _ in range(2)}, flush=True)
    os._exit(0)  # dies without stopping its workers
"""


def _running(pid):
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not pathlib.Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_workers_exit_when_the_main_process_dies(tmp_path):
    script = tmp_path / "orphaned.py"
    script.write_text(textwrap.dedent(ORPHANED))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    end = time.monotonic() + 10
    while any(_running(p) for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    assert not any(_running(p) for p in pids)


@pytest.mark.gpu
def test_cuda_tensors_batch_on_their_device():
    x, y = gradcnn.randn(7, 3), gradcnn.arange(7)
    ds = TensorDataset(x.to("cuda"), y.to("cuda"))
    images, labels = next(iter(DataLoader(ds, batch_size=4, sampler=[6, 0, 2, 2])))  # indexed on the device
    assert images.device == labels.device == "cuda:0" and labels.dtype == gradcnn.int64
    np.testing.assert_array_equal(np.asarray(images.cpu()), np.asarray(x)[[6, 0, 2, 2]])
    stacked = default_collate([ds[1][0], ds[3][0]])  # sample by sample: stacked, back on the device
    assert stacked.device == "cuda:0"
    np.testing.assert_array_equal(np.asarray(stacked.cpu()), np.asarray(x)[[1, 3]])
