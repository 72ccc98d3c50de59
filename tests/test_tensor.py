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
    assert np.shares_memory(d.numpy(), y.data)


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
