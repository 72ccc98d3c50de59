"""Tests of gradcnn/creation.py: PyTorch's results on edge arguments, and its error families on
bad ones (a wrong type is a DTypeError, a wrong value a ShapeError), each naming the argument."""

import math

import numpy as np
import pytest

import gradcnn
from gradcnn.errors import DTypeError, OutOfMemoryError, ShapeError


def test_linspace_follows_pytorchs_two_sided_formula():
    # The first half counts up from start, the second down from end: with an infinite end point
    # the NaNs fall where PyTorch's do.
    np.testing.assert_array_equal(gradcnn.linspace(math.inf, 1.0, 5).numpy(), [np.nan, np.nan, np.inf, np.inf, np.nan])
    np.testing.assert_array_equal(gradcnn.linspace(0.0, -math.inf, 5).numpy(), [np.nan, -np.inf, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(gradcnn.linspace(0.0, 1.0, 5).numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert gradcnn.linspace(3.0, 1.0, 1).tolist() == [3.0] and gradcnn.linspace(0.0, 1.0, 0).shape == (0,)
    assert gradcnn.linspace(0.0, 1.0, 5, dtype=gradcnn.int64).tolist() == [0, 0, 0, 0, 1]


def test_arange_sizes_and_empty_ranges():
    assert gradcnn.arange(0, 5, math.inf).shape == (0,)
    assert gradcnn.arange(5, 5).shape == (0,) and gradcnn.arange(0.5).tolist() == [0.0]
    assert gradcnn.arange(0, 5, 2).dtype == np.int64 and gradcnn.arange(0, 5, 0.5).shape == (10,)


def test_full_infers_and_checks_the_fill_value():
    assert gradcnn.full((2,), True).dtype == np.bool_ and gradcnn.full((2,), 2).dtype == np.int64
    assert gradcnn.full((2,), gradcnn.tensor(2.0)).tolist() == [2.0, 2.0]
    assert gradcnn.full((2,), -1, dtype=gradcnn.uint8).tolist() == [255, 255]  # wraps, as in PyTorch
    assert gradcnn.full_like(gradcnn.zeros(2, 3), 1.5).shape == (2, 3)


def test_randint_takes_pytorchs_high_size_form_and_checks_the_dtype_range():
    x = gradcnn.randint(5, (3,))
    assert x.shape == (3,) and x.dtype == np.int64 and 0 <= x.numpy().min() and x.numpy().max() < 5
    assert gradcnn.randint(0, 2, (4,), dtype=gradcnn.bool).dtype == np.bool_


def test_tensor_of_tensors_takes_their_dtype():
    assert gradcnn.tensor([gradcnn.tensor(1.0, dtype=gradcnn.float64), 2.0]).dtype == np.float64
    assert gradcnn.tensor([gradcnn.tensor(1.0, dtype=gradcnn.float16), 2.5]).dtype == np.float32
    assert gradcnn.tensor([gradcnn.tensor(1, dtype=gradcnn.uint8), 2]).dtype == np.int64


BAD_CALLS = [
    ("arange nan end", lambda: gradcnn.arange(0, math.nan), ShapeError, "end"),
    ("arange str step", lambda: gradcnn.arange(0, 5, "a"), DTypeError, "step"),
    ("arange None end", lambda: gradcnn.arange(0, None), DTypeError, "end"),
    ("arange against the step", lambda: gradcnn.arange(6, 5), ShapeError, "sign of step"),
    ("arange too long", lambda: gradcnn.arange(0, 5, 1e-20), OutOfMemoryError, "arange"),
    ("arange bool dtype", lambda: gradcnn.arange(5, dtype=gradcnn.bool), DTypeError, "dtype bool"),
    ("linspace float steps", lambda: gradcnn.linspace(0.0, 1.0, 2.5), DTypeError, "steps"),
    ("linspace negative steps", lambda: gradcnn.linspace(0.0, 1.0, -1), ShapeError, "steps"),
    ("linspace None start", lambda: gradcnn.linspace(None, 1.0, 5), DTypeError, "start"),
    ("eye negative n", lambda: gradcnn.eye(-1), ShapeError, "n must be"),
    ("eye None m", lambda: gradcnn.eye(3, None), DTypeError, "m must be"),
    ("eye huge", lambda: gradcnn.eye(2**40), OutOfMemoryError, "eye"),
    ("full int size", lambda: gradcnn.full(3, 1.0), DTypeError, "size must be a tuple"),
    ("full None fill", lambda: gradcnn.full((2,), None), DTypeError, "fill_value"),
    ("full complex fill", lambda: gradcnn.full((2,), 1j), DTypeError, "fill_value"),
    ("full int overflow", lambda: gradcnn.full((2,), 2**70), ShapeError, "fill_value"),
    ("full nan into ints", lambda: gradcnn.full((2,), math.nan, dtype=gradcnn.int64), ShapeError, "fill_value"),
    ("full vector fill", lambda: gradcnn.full((2,), gradcnn.ones(2)), DTypeError, "fill_value"),
    ("randint float high", lambda: gradcnn.randint(0, 2.5, (3,)), DTypeError, "high"),
    ("randint int size", lambda: gradcnn.randint(0, 5, 3), DTypeError, "size"),
    ("randint bool range", lambda: gradcnn.randint(0, 5, (3,), dtype=gradcnn.bool), ShapeError, "dtype bool"),
    ("randperm str n", lambda: gradcnn.randperm("3"), DTypeError, "n must be an int"),
    ("randperm bool dtype", lambda: gradcnn.randperm(3, dtype=gradcnn.bool), DTypeError, "dtype bool"),
    ("normal nan std", lambda: gradcnn.normal(0.0, math.nan, (3,)), ShapeError, "std"),
    ("normal tensor mean and size", lambda: gradcnn.normal(gradcnn.zeros(3), 1.0, (3,)), DTypeError, "size"),
    ("normal int size", lambda: gradcnn.normal(0.0, 1.0, 3), DTypeError, "size"),
    ("tensor int requires_grad", lambda: gradcnn.tensor([1.0], requires_grad=1), DTypeError, "requires_grad"),
    ("zeros_like of a list", lambda: gradcnn.zeros_like([1.0]), DTypeError, "zeros_like: input"),
    ("rand_like of ints", lambda: gradcnn.rand_like(gradcnn.tensor([1, 2])), DTypeError, "rand_like"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_arguments_raise_named_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
