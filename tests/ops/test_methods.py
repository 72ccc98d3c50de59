"""Tests of gradcnn/ops/methods.py: the Tensor methods that are not differentiable ops (here the
comparisons answering with a bool or a bool tensor, and ``unique``), against PyTorch where it is
installed."""

import numpy as np
import pytest

import gradcnn
from gradcnn.errors import DTypeError, ShapeError

NAN = float("nan")


def test_equal_compares_shape_and_values_across_dtypes():
    a = gradcnn.tensor([1, 2])
    assert gradcnn.equal(a, gradcnn.tensor([1.0, 2.0])) and a.equal(a)
    assert not gradcnn.equal(a, gradcnn.tensor([1, 3]))
    assert not gradcnn.equal(gradcnn.ones(2, 1), gradcnn.ones(2))  # no broadcasting
    assert not gradcnn.equal(gradcnn.tensor([NAN]), gradcnn.tensor([NAN]))


def test_isclose_and_allclose():
    a = gradcnn.tensor([1.0, 2.0, NAN, float("inf")])
    b = gradcnn.tensor([1.0 + 1e-6, 2.1, NAN, float("inf")])
    np.testing.assert_array_equal(gradcnn.isclose(a, b).numpy(), [True, False, False, True])
    np.testing.assert_array_equal(a.isclose(b, equal_nan=True).numpy(), [True, False, True, True])
    assert gradcnn.allclose(a[:1], b[:1]) and not a.allclose(b) and a.allclose(b, rtol=0.1, equal_nan=True)
    assert gradcnn.allclose(gradcnn.ones(2, 3), gradcnn.ones(3))  # broadcast
    with pytest.raises(DTypeError, match="float32 but other is float64"):
        gradcnn.allclose(gradcnn.ones(2), gradcnn.ones(2, dtype=gradcnn.float64))
    with pytest.raises(DTypeError, match="must be a Tensor"):
        gradcnn.isclose(gradcnn.ones(2), 1.0)
    with pytest.raises(ShapeError, match="do not broadcast"):
        gradcnn.allclose(gradcnn.ones(2), gradcnn.ones(3))


def test_unique_values_inverse_and_counts():
    x = gradcnn.tensor([[3, 1, 2], [3, 1, 1]])
    np.testing.assert_array_equal(gradcnn.unique(x).numpy(), [1, 2, 3])
    values, inverse, counts = x.unique(return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(inverse.numpy(), [[2, 0, 1], [2, 0, 0]])
    np.testing.assert_array_equal(counts.numpy(), [3, 1, 2])
    rows, row_of = gradcnn.unique(gradcnn.tensor([[1, 2], [0, 5], [1, 2]]), dim=0, return_inverse=True)
    np.testing.assert_array_equal(rows.numpy(), [[0, 5], [1, 2]])
    np.testing.assert_array_equal(row_of.numpy(), [1, 0, 1])
    assert gradcnn.unique(gradcnn.tensor([NAN, 1.0, NAN])).shape == (3,)  # each NaN is its own value


def test_matches_pytorch():
    torch = pytest.importorskip("torch", reason="the comparison needs torch")
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 4, (3, 4)).astype(np.float32)
        b = a + rng.choice([0.0, 1e-6, 1e-3], a.shape).astype(np.float32)
        ga, gb, ta, tb = gradcnn.tensor(a), gradcnn.tensor(b), torch.tensor(a), torch.tensor(b)
        assert gradcnn.equal(ga, gb) == torch.equal(ta, tb)
        assert gradcnn.allclose(ga, gb) == torch.allclose(ta, tb)
        np.testing.assert_array_equal(gradcnn.isclose(ga, gb, rtol=1e-4).numpy(), torch.isclose(ta, tb, rtol=1e-4).numpy())
        for dim in (None, 0, 1):
            ours = gradcnn.unique(ga, return_inverse=True, return_counts=True, dim=dim)
            theirs = torch.unique(ta, return_inverse=True, return_counts=True, dim=dim)
            for o, t in zip(ours, theirs):
                np.testing.assert_array_equal(o.numpy(), t.numpy())
