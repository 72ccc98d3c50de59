"""Tensor creation, dtype rules, properties, conversions and their errors."""

import numpy as np
import pytest

import gradcnn
from gradcnn.errors import AutogradError, DeviceError, DTypeError, IndexOutOfRangeError, ShapeError


@pytest.mark.parametrize(
    "data, dtype",
    [
        (1.5, np.float32),
        ([1.0, 2.0], np.float32),
        ([1, 2], np.int64),
        ([True, False], np.bool_),
        (np.array([1.0, 2.0]), np.float64),  # NumPy arrays keep their dtype
        (np.array([1, 2], dtype=np.int32), np.int32),
    ],
)
def test_tensor_dtype_rules(data, dtype):
    t = gradcnn.tensor(data)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.asarray(data))


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3, dtype=np.float32)
    t = gradcnn.tensor(a)
    s = gradcnn.from_numpy(a)
    a[0] = 7
    assert t.numpy()[0] == 0 and s.numpy()[0] == 7


@pytest.mark.parametrize("fn", [gradcnn.zeros, gradcnn.ones, gradcnn.empty, gradcnn.rand, gradcnn.randn])
def test_creation_shapes_and_default_dtype(fn):
    assert fn(2, 3).shape == (2, 3)
    assert fn((2, 3)).shape == (2, 3)
    assert fn(2, 3).dtype == np.float32
    assert fn(2, dtype=gradcnn.float64).dtype == np.float64


def test_full_arange_linspace_eye():
    np.testing.assert_array_equal(gradcnn.full((2, 2), 3.0).numpy(), np.full((2, 2), 3.0))
    assert gradcnn.full((2,), 3).dtype == np.int64
    np.testing.assert_array_equal(gradcnn.arange(5).numpy(), np.arange(5))
    assert gradcnn.arange(5).dtype == np.int64
    assert gradcnn.arange(0.0, 1.0, 0.25).dtype == np.float32
    np.testing.assert_allclose(gradcnn.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(gradcnn.eye(3).numpy(), np.eye(3))


def test_like_functions_follow_the_template():
    t = gradcnn.randn(2, 3, dtype=gradcnn.float64)
    for fn in (gradcnn.zeros_like, gradcnn.ones_like, gradcnn.empty_like, gradcnn.rand_like, gradcnn.randn_like):
        out = fn(t)
        assert out.shape == (2, 3) and out.dtype == np.float64
    assert gradcnn.full_like(t, 2.0).numpy().sum() == 12.0
    assert gradcnn.zeros_like(t, dtype=gradcnn.float32).dtype == np.float32


def test_manual_seed_makes_random_ops_reproducible():
    gradcnn.manual_seed(123)
    a = gradcnn.randn(4).numpy().copy(), gradcnn.rand(4).numpy().copy(), gradcnn.randint(0, 9, (4,)).numpy().copy()
    gradcnn.manual_seed(123)
    b = gradcnn.randn(4).numpy(), gradcnn.rand(4).numpy(), gradcnn.randint(0, 9, (4,)).numpy()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    gradcnn.manual_seed(124)
    assert not np.array_equal(a[0], gradcnn.randn(4).numpy())


def test_rng_state_round_trip():
    gradcnn.manual_seed(5)
    state = gradcnn.get_rng_state()
    first = gradcnn.randn(3).numpy().copy()
    gradcnn.set_rng_state(state)
    np.testing.assert_array_equal(first, gradcnn.randn(3).numpy())


def test_properties_and_conversions():
    t = gradcnn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.device == "cpu" and t.numel() == 6
    assert t.size() == (2, 3) and t.size(-1) == 3 and len(t) == 2
    assert t.T.shape == (3, 2)
    np.testing.assert_array_equal(t.T.numpy(), t.numpy().T)
    assert gradcnn.tensor([2.5]).item() == 2.5
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert t.double().dtype == np.float64 and t.long().dtype == np.int64
    assert t.to("cpu") is t
    assert float(gradcnn.tensor(3.0)) == 3.0


def test_detach_and_requires_grad_():
    t = gradcnn.ones(2).requires_grad_()
    assert t.requires_grad and t.is_leaf
    y = t * 2.0
    assert not y.is_leaf and y.requires_grad
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    assert np.shares_memory(d.numpy(), y._data)


def test_repr_shows_what_matters():
    assert repr(gradcnn.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "dtype=float64" in repr(gradcnn.tensor([1.0], dtype=gradcnn.float64))
    assert "requires_grad=True" in repr(gradcnn.ones(1, requires_grad=True))
    assert "grad_fn=<Mul>" in repr(gradcnn.ones(1, requires_grad=True) * 2.0)


def test_numpy_interop_defers_to_tensor_operators():
    t = gradcnn.ones(2, requires_grad=True)
    out = np.array([1.0, 2.0], dtype=np.float32) + t
    assert isinstance(out, gradcnn.Tensor) and out.requires_grad
    np.testing.assert_array_equal(np.asarray(t), [1.0, 1.0])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: gradcnn.tensor([1, 2], requires_grad=True), DTypeError, "only floating tensors"),
        (lambda: gradcnn.tensor([[1.0], [1.0, 2.0]]), ShapeError, "ragged"),
        (lambda: gradcnn.tensor(["a"]), DTypeError, "not supported"),
        (lambda: gradcnn.tensor([1.0], dtype=np.complex64), DTypeError, "complex64 is not supported"),
        (lambda: gradcnn.zeros(2, -1), ShapeError, r"\(2, -1\)"),
        (lambda: gradcnn.zeros(2.5), DTypeError, "size must be ints"),
        (lambda: gradcnn.randn(2, dtype=gradcnn.int64), DTypeError, "floating dtype, got int64"),
        (lambda: gradcnn.randint(5, 5), ShapeError, r"high \(5\) must be greater than low \(5\)"),
        (lambda: gradcnn.arange(0, 5, 0), ShapeError, "step must be non-zero"),
        (lambda: gradcnn.tensor([1.0, 2.0]).item(), ShapeError, r"shape \(2,\) \(2 elements\)"),
        (lambda: bool(gradcnn.tensor([1.0, 2.0])), ShapeError, "ambiguous"),
        (lambda: gradcnn.tensor([1.0]).size(3), IndexOutOfRangeError, "dim 3 is out of range"),
        (lambda: gradcnn.ones(2, requires_grad=True).numpy(), AutogradError, r"detach\(\)\.numpy\(\)"),
        (lambda: gradcnn.from_numpy([1.0]), DTypeError, "numpy.ndarray, got list"),
        (lambda: gradcnn.zeros(2, device="tpu"), DeviceError, "unknown device 'tpu'"),
        (lambda: gradcnn.manual_seed(-1), DTypeError, "non-negative int"),
    ],
)
def test_bad_creation_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_cuda_without_cupy_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(DeviceError, match=r"needs CuPy, which is not installed: install gradcnn\[cuda12\]"):
        gradcnn.zeros(2).to("cuda")


def test_explicit_dtype_keeps_python_float_precision():
    assert gradcnn.tensor([0.3], dtype=gradcnn.float64).item() == 0.3


# -- PyTorch's surface: .data, formatting, devices, generators, creation keywords ------------------


def test_data_is_a_detached_tensor_sharing_storage_whose_changes_autograd_does_not_see():
    w = gradcnn.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert isinstance(d, gradcnn.Tensor) and not d.requires_grad and d.grad_fn is None
    y = (w * w).sum()  # saves w for backward
    w.data.sub_(gradcnn.tensor([1.0, 1.0]))  # unrecorded, and unseen by the version check
    np.testing.assert_array_equal(w.detach().numpy(), [0.0, 1.0])
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 2.0])  # computed from the changed values
    w.data = gradcnn.tensor([5.0, 6.0, 7.0])
    assert w.shape == (3,) and w.requires_grad
    with pytest.raises(DTypeError, match="assign a Tensor"):
        w.data = np.zeros(3)


def test_max_of_data_along_a_dim_as_in_the_classic_accuracy_loop():
    out = gradcnn.tensor([[0.1, 0.9], [0.8, 0.2]], requires_grad=True)
    _, predicted = gradcnn.max(out.data, 1)
    assert (predicted == gradcnn.tensor([1, 0])).sum().item() == 2


@pytest.mark.parametrize("value, spec, expected", [(1.23456, ".3f", "1.235"), (2.0, "", "2.0"), (7, "d", "7")])
def test_one_element_tensors_format_as_numbers(value, spec, expected):
    assert format(gradcnn.tensor(value), spec) == expected
    assert f"{gradcnn.tensor([value]):{spec}}" == expected if spec else True


def test_repr_prints_floats_as_pytorch_does():
    torch = pytest.importorskip("torch")
    for values in ([1.0, 2.0], [1.5, -2.25], [1e-5, 1.0], [[1.23456, 2.0], [3.0, 4.0]], 0.5, [float("nan"), 1.5]):
        assert repr(gradcnn.tensor(values)) == repr(torch.tensor(values))


def test_device_objects_behave_like_torch_device_and_like_strings():
    d = gradcnn.device("cuda", 1)
    assert (d.type, d.index, str(d)) == ("cuda", 1, "cuda:1") and repr(d) == "device(type='cuda', index=1)"
    cpu = gradcnn.zeros(1).device
    assert cpu == "cpu" and cpu == gradcnn.device("cpu") and cpu.type == "cpu" and cpu.index is None
    assert gradcnn.zeros(2).to(gradcnn.device("cpu")).device == "cpu"
    with pytest.raises(gradcnn.errors.DeviceError):
        gradcnn.device("tpu")
    assert gradcnn.accelerator.is_available() in (True, False)


def test_generators_and_creation_keywords():
    a = gradcnn.randn(3, generator=gradcnn.Generator().manual_seed(7))
    b = gradcnn.randn(size=(3,), generator=gradcnn.Generator().manual_seed(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert gradcnn.zeros(size=(2, 3)).shape == (2, 3) and gradcnn.ones((2,)).shape == (2,)
    perm = gradcnn.randperm(6, generator=gradcnn.Generator().manual_seed(1))
    assert sorted(perm.tolist()) == list(range(6)) and perm.dtype == np.int64
    n = gradcnn.normal(gradcnn.zeros(1000), gradcnn.ones(1000))
    assert abs(n.numpy().mean()) < 0.2 and n.dtype == np.float32
    assert gradcnn.normal(2.0, 0.0, size=(2,)).tolist() == [2.0, 2.0]
    with pytest.raises(DTypeError, match="either positionally or as size="):
        gradcnn.zeros(2, size=(2,))


def test_filling_a_tensor_in_the_graph_zeroes_the_gradient_of_its_earlier_values():
    x = gradcnn.ones(3, requires_grad=True)
    a = x * 1
    a.zero_()
    (a * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])  # PyTorch: 0, not 2
    x.grad = None
    b = x * 3
    b.fill_(2.0)
    assert b.requires_grad and b.tolist() == [2.0, 2.0, 2.0]
    (b * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_method_surface_of_ported_programs():
    x = gradcnn.arange(6.0).reshape(2, 3)
    assert x.type() == "torch.FloatTensor" and x.long().type() == "torch.LongTensor"
    assert x.view_as(gradcnn.zeros(3, 2)).shape == (3, 2) and x.t().shape == (3, 2)
    assert x.eq(x).all() and not x.ne(x).any() and x.gt(2.0).sum().item() == 3
    assert x.new_zeros(4).dtype == x.dtype and x.argmax(1).tolist() == [2, 2]
    assert gradcnn.is_tensor(x) and gradcnn.numel(x) == 6
    with gradcnn.no_grad():
        w = gradcnn.zeros(100, requires_grad=True).normal_(1.0, 0.1)
    assert abs(w.detach().numpy().mean() - 1.0) < 0.1


# -- in-place operators, printing, dtype names, moves: what ported programs lean on ----------------


def test_augmented_assignment_changes_the_tensor_in_place():
    w = gradcnn.ones(3, requires_grad=True)
    same = w
    (w * 2.0).sum().backward()
    with gradcnn.no_grad():  # the textbook's sgd: param -= lr * param.grad
        w -= 0.5 * w.grad
        w *= 2.0
        w /= 4.0
        w += 1.0
    assert w is same and w.requires_grad and w.is_leaf
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 1.0, 1.0])
    with pytest.raises(AutogradError, match="leaf tensor that requires grad"):
        w += 1.0
    x = gradcnn.zeros(2, 3)
    x[0] += 5.0  # getitem, in-place add, setitem
    np.testing.assert_array_equal(x.numpy()[0], [5.0, 5.0, 5.0])


def test_augmented_assignment_on_a_non_leaf_is_recorded():
    a = gradcnn.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3.0
    b += a
    b.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [4.0, 4.0])


@pytest.mark.parametrize("values, expected", [
    (np.arange(30.0).reshape(3, 10) * 1000.5,  # six numbers of width 10 per 80-column line
     "tensor([[    0.0000,  1000.5000,  2001.0000,  3001.5000,  4002.0000,  5002.5000,\n"
     "          6003.0000,  7003.5000,  8004.0000,  9004.5000],"),
    ([float("nan"), float("inf"), 1.0], "tensor([nan, inf, 1.])"),  # NaN and inf do not widen
    (np.arange(2000, dtype=np.float32), "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
                        "        1.9990e+03])"),  # the shown values decide the format
    (np.zeros((2, 0), np.float32), "tensor([], size=(2, 0))"),
    (np.zeros(0, np.int64), "tensor([], dtype=int64)"),
    ([1e-5, 0.0], "tensor([1.0000e-05, 0.0000e+00])"),
    ([True, False], "tensor([ True, False])"),
])
def test_repr_follows_pytorchs_layout(values, expected):
    assert repr(gradcnn.tensor(values)).startswith(expected)


def test_repr_suffix_that_would_pass_column_80_starts_a_new_line():
    t = gradcnn.tensor([0.0143, -0.0096, 0.0136, 0.0052, -0.0215, -0.0187], requires_grad=True)
    assert repr(t) == ("tensor([ 0.0143, -0.0096,  0.0136,  0.0052, -0.0215, -0.0187],\n"
                       "       requires_grad=True)")


def test_repr_matches_pytorch_on_random_tensors():
    torch = pytest.importorskip("torch", reason="the comparison needs torch")
    rng = np.random.default_rng(0)
    for trial in range(120):
        ndim = int(rng.integers(0, 5))
        shape = tuple(int(rng.integers(0, 6 if ndim > 2 else 14)) for _ in range(ndim))
        if trial % 7 == 0:
            shape = (int(rng.integers(900, 1500)),)
        if trial % 11 == 0:
            shape = (int(rng.integers(30, 60)), int(rng.integers(20, 50)))
        scale = 10.0 ** rng.integers(-6, 10)
        values = [rng.normal(0, scale, shape).astype(np.float32),
                  np.round(rng.normal(0, scale, shape)).astype(np.float32),
                  rng.integers(-1000, 1000, shape), rng.random(shape) > 0.5][trial % 4]
        if trial % 5 == 0 and values.size > 2 and values.dtype.kind == "f":
            values.flat[0], values.flat[2] = np.nan, -np.inf
        ours, theirs = gradcnn.tensor(values), torch.tensor(values)
        assert repr(ours) == repr(theirs).replace("dtype=torch.", "dtype=")  # only empty ones have it
        if values.dtype.kind == "f" and 0 < values.size < 50:
            assert repr(ours.requires_grad_()) == repr(theirs.requires_grad_())


def test_pytorchs_short_dtype_names():
    assert (gradcnn.bool, gradcnn.half, gradcnn.int, gradcnn.short) == (np.bool_, np.float16, np.int32, np.int16)
    assert gradcnn.tensor([1, 0]).to(gradcnn.bool).dtype == np.bool_


def test_to_takes_pytorchs_keywords():
    t = gradcnn.ones(2)
    assert t.to("cpu", non_blocking=True) is t and t.to(gradcnn.float32, memory_format=None) is t
    copy = t.to(t.dtype, copy=True)
    assert copy is not t and not np.shares_memory(copy.numpy(), t.numpy())
    assert t.cpu() is t and t.is_contiguous() and not gradcnn.ones(2, 3).t().is_contiguous()


def test_pytorchs_other_names_for_cat_and_clamp():
    a, b = gradcnn.ones(1, 2), gradcnn.zeros(1, 2)
    assert gradcnn.concat([a, b]).shape == (2, 2) and gradcnn.concatenate((a, b), axis=1).shape == (1, 4)
    assert gradcnn.clip(gradcnn.tensor([-2.0, 2.0]), -1, 1).tolist() == [-1.0, 1.0]
