"""Tests of gradcnn/ops/dropout.py: identity when p is 0 or in eval; in training a seeded mask that
zeroes about a fraction p and scales the survivors by 1 / (1 - p)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import AutogradError, DTypeError, ShapeError
from gradcnn.testing import arrays, floats, gradcheck, op_test
from gradcnn.testing.strategies import array_shapes

# -- NumPy reference ----------------------------------------------------------------------------


def dropout_ref(x, p=0.5, training=True):
    """Where dropout is deterministic: the identity when nothing is dropped, zeros when all is."""
    if not training or p == 0.0:
        return x
    assert p == 1.0, "a random mask has no reference; see the property tests below"
    return np.zeros_like(x)


def surviving(x, y, p):
    """The mask dropout used, read back from its output: survivors are ``x / (1 - p)``, and ``x``
    is never 0, so a dropped element is exactly the zeros."""
    keep = y != 0
    np.testing.assert_allclose(y[keep], x[keep] / (1 - p), rtol=1e-12, err_msg="survivors not scaled by 1/(1-p)")
    return keep


small_shapes = array_shapes(min_dims=0, max_dims=4, max_side=3)
nonzero = arrays(small_shapes, avoid=(0,))
probabilities = floats(0.0, 1.0)

# -- forward and gradients against the reference ---------------------------------------------

test_dropout_p0_is_identity = op_test(
    F.dropout, dropout_ref, [arrays(small_shapes)], kwargs={"p": 0.0, "training": True}
)
test_dropout_eval_is_identity = op_test(
    F.dropout, dropout_ref, [arrays(small_shapes)],
    kwargs=st.fixed_dictionaries({"p": probabilities, "training": st.just(False)}),
)
test_dropout_p1_drops_everything = op_test(
    F.dropout, dropout_ref, [arrays(small_shapes)], kwargs={"p": 1.0, "training": True}
)


# -- training: properties of the random mask -----------------------------------------------------


@given(x=nonzero, p=floats(0.0, 0.9), seed=st.integers(0, 2**32 - 1))
def test_training_mask_is_reproducible_and_scales_survivors(x, p, seed):
    gradcnn.manual_seed(seed)
    y = F.dropout(gradcnn.tensor(x), p).data
    gradcnn.manual_seed(seed)
    again = F.dropout(gradcnn.tensor(x), p).data
    np.testing.assert_array_equal(y, again, err_msg="the same seed must give the same mask")
    surviving(x, y, p)
    assert y.shape == x.shape and y.dtype == x.dtype


@given(p=floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_training_drops_about_a_fraction_p(p, seed):
    n = 20_000
    gradcnn.manual_seed(seed)
    dropped = (F.dropout(gradcnn.ones(n, dtype=np.float64), p).data == 0).mean()
    # Each element is dropped independently with probability p: within 5 standard errors.
    assert abs(dropped - p) <= 5 * np.sqrt(p * (1 - p) / n), (dropped, p)


def test_training_masks_differ_between_calls_and_seeds():
    x = gradcnn.ones(1000, dtype=np.float64)
    gradcnn.manual_seed(0)
    first, second = F.dropout(x).data, F.dropout(x).data
    gradcnn.manual_seed(1)
    other_seed = F.dropout(x).data
    assert not np.array_equal(first, second), "consecutive calls must draw new masks"
    assert not np.array_equal(first, other_seed), "different seeds must give different masks"


@given(x=arrays(array_shapes(min_dims=0, max_dims=3, max_side=3), avoid=(0,)), p=floats(0.0, 0.9),
       seed=st.integers(0, 2**16))
def test_training_gradient_is_mask_over_keep_probability(x, p, seed):
    def dropout_training(t):
        gradcnn.manual_seed(seed)  # the same mask on every call, so finite differences apply
        return F.dropout(t, p, training=True)

    t = gradcnn.tensor(x, requires_grad=True)
    gradcheck(dropout_training, t)
    y = dropout_training(t)
    upstream = np.linspace(1.0, 2.0, x.size).reshape(x.shape)
    y.backward(gradcnn.tensor(upstream))
    keep = surviving(x, y.data, p)
    np.testing.assert_allclose(t.grad.data, upstream * keep / (1 - p), rtol=1e-12)


def test_inplace_writes_the_result_into_the_input_as_pytorch_does():
    x = gradcnn.ones(100, dtype=np.float64)
    y = F.dropout(x, 0.5, training=True, inplace=True)
    assert y is x
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    leaf = gradcnn.ones(4, requires_grad=True)
    with pytest.raises(AutogradError, match="leaf tensor that requires grad"):
        F.dropout(leaf, 0.5, inplace=True)


def test_inplace_on_a_non_leaf_is_recorded():
    x = gradcnn.ones(1000, dtype=np.float64, requires_grad=True)
    h = x * 1.0
    F.dropout(h, 0.25, inplace=True)
    h.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), h.detach().numpy())  # the mask times 1 / (1 - p)


@pytest.mark.parametrize("shape", [(), (10,)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_shape_and_dtype_are_kept(shape, dtype):
    y = F.dropout(gradcnn.ones(*shape, dtype=dtype), 0.3)
    assert y.shape == shape and y.dtype == dtype


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.dropout(gradcnn.ones(3), -0.1), ShapeError,
                     r"dropout: p must be a probability in \[0, 1\], got -0.1", id="p-negative"),
        pytest.param(lambda: F.dropout(gradcnn.ones(3), 1.5), ShapeError,
                     r"dropout: p must be a probability in \[0, 1\], got 1.5", id="p-above-one"),
        pytest.param(lambda: F.dropout(gradcnn.ones(3), float("nan")), ShapeError,
                     r"dropout: p must be a probability in \[0, 1\], got nan", id="p-nan"),
        pytest.param(lambda: F.dropout(gradcnn.ones(3), 2, training=False), ShapeError,
                     r"dropout: p must be a probability in \[0, 1\], got 2", id="p-checked-in-eval"),
        pytest.param(lambda: F.dropout(np.ones(3)), DTypeError, r"dropout: input must be a Tensor, got ndarray",
                     id="input-array"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error
