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
    y = F.dropout(gradcnn.tensor(x), p)._data
    gradcnn.manual_seed(seed)
    again = F.dropout(gradcnn.tensor(x), p)._data
    np.testing.assert_array_equal(y, again, err_msg="the same seed must give the same mask")
    surviving(x, y, p)
    assert y.shape == x.shape and y.dtype == x.dtype


@given(p=floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_training_drops_about_a_fraction_p(p, seed):
    n = 20_000
    gradcnn.manual_seed(seed)
    dropped = (F.dropout(gradcnn.ones(n, dtype=np.float64), p)._data == 0).mean()
    # Each element is dropped independently with probability p: within 5 standard errors.
    assert abs(dropped - p) <= 5 * np.sqrt(p * (1 - p) / n), (dropped, p)


def test_training_masks_differ_between_calls_and_seeds():
    x = gradcnn.ones(1000, dtype=np.float64)
    gradcnn.manual_seed(0)
    first, second = F.dropout(x)._data, F.dropout(x)._data
    gradcnn.manual_seed(1)
    other_seed = F.dropout(x)._data
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
    keep = surviving(x, y._data, p)
    np.testing.assert_allclose(t.grad._data, upstream * keep / (1 - p), rtol=1e-12)


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
                     r"dropout: p must be >= 0 and <= 1, got p=-0.1", id="p-negative"),
        pytest.param(lambda: F.dropout(gradcnn.ones(3), 1.5), ShapeError,
                     r"dropout: p must be >= 0 and <= 1, got p=1.5", id="p-above-one"),
        pytest.param(lambda: F.dropout(gradcnn.ones(3), float("nan")), ShapeError,
                     r"dropout: p must be a finite number, got p=nan", id="p-nan"),
        pytest.param(lambda: F.dropout(gradcnn.ones(3), 2, training=False), ShapeError,
                     r"dropout: p must be >= 0 and <= 1, got p=2", id="p-checked-in-eval"),
        pytest.param(lambda: F.dropout(np.ones(3)), DTypeError, r"dropout: input must be a Tensor, got ndarray",
                     id="input-array"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error


# -- channel dropout: dropout1d and dropout2d -------------------------------------------------------


def _channel_mask(x, y, p, lead):
    """The kept channels, read back from the output: every position of a channel is kept or
    dropped together, survivors scaled by 1 / (1 - p)."""
    keep = surviving(x, y, p)
    per_channel = keep.reshape(x.shape[:lead] + (-1,))
    assert (per_channel.all(-1) | ~per_channel.any(-1)).all(), "a channel was partly dropped"
    return per_channel.all(-1)


@given(x=arrays(st.sampled_from([(2, 3, 4), (3, 5)]), avoid=(0,)), p=floats(0.0, 0.9), seed=st.integers(0, 2**16))
def test_dropout1d_drops_whole_channels(x, p, seed):
    gradcnn.manual_seed(seed)
    y = F.dropout1d(gradcnn.tensor(x), p)._data
    _channel_mask(x, y, p, x.ndim - 1)
    gradcnn.manual_seed(seed)
    np.testing.assert_array_equal(F.dropout1d(gradcnn.tensor(x), p)._data, y)


@given(x=arrays((2, 3, 2, 3), avoid=(0,)), p=floats(0.0, 0.9), seed=st.integers(0, 2**16))
def test_dropout2d_drops_whole_channels(x, p, seed):
    gradcnn.manual_seed(seed)
    y = F.dropout2d(gradcnn.tensor(x), p)._data
    _channel_mask(x, y, p, 2)


@given(p=floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1))
def test_channel_dropout_drops_about_a_fraction_p_of_channels(p, seed):
    gradcnn.manual_seed(seed)
    y = F.dropout2d(gradcnn.ones(100, 200, 2, 2, dtype=np.float64), p)._data
    dropped = (y[:, :, 0, 0] == 0).mean()
    assert abs(dropped - p) <= 5 * np.sqrt(p * (1 - p) / 20_000), (dropped, p)


@given(x=arrays((2, 3, 4), avoid=(0,)), p=floats(0.0, 0.9), seed=st.integers(0, 2**16))
def test_channel_dropout_gradient_is_the_mask(x, p, seed):
    def dropped(t):
        gradcnn.manual_seed(seed)
        return F.dropout1d(t, p)

    gradcheck(dropped, gradcnn.tensor(x, requires_grad=True))


@pytest.mark.parametrize("fn", [F.dropout1d, F.dropout2d])
def test_channel_dropout_is_the_identity_in_eval_and_at_p0(fn):
    x = gradcnn.randn(2, 3, 4, 5) if fn is F.dropout2d else gradcnn.randn(2, 3, 4)
    assert fn(x, 0.7, training=False) is x and fn(x, 0.0) is x


def test_channel_dropout_at_p1_multiplies_by_zero_so_nan_stays_nan(torch):
    x = np.array([[[np.nan, 1.0]]])
    np.testing.assert_array_equal(F.dropout1d(gradcnn.tensor(x), 1.0).numpy(),
                                  torch.nn.functional.dropout1d(torch.tensor(x), 1.0).numpy())
    np.testing.assert_array_equal(F.dropout(gradcnn.tensor(x), 1.0).numpy(),
                                  torch.nn.functional.dropout(torch.tensor(x), 1.0).numpy())


def test_dropout2d_reads_3d_input_as_1d_channels_with_torchs_warning():
    x = gradcnn.ones(4, 6, 50, dtype=np.float64)
    with pytest.warns(UserWarning, match=r"dropout2d: got a 3-D input \(4, 6, 50\); as PyTorch does, it is read as "
                                         r"\(N, C, L\)"):
        y = F.dropout2d(x, 0.5)._data
    _channel_mask(x.numpy(), y, 0.5, 2)
    with pytest.warns(UserWarning, match=r"dropout2d: got a 2-D input \(4, 6\)"):
        F.dropout2d(gradcnn.ones(4, 6), 0.5)
    with pytest.warns(UserWarning, match=r"dropout2d: got a 5-D input"):
        y = F.dropout2d(gradcnn.ones(2, 3, 2, 2, 2, dtype=np.float64), 0.5)._data
    _channel_mask(np.ones((2, 3, 2, 2, 2)), y, 0.5, 2)


def test_channel_dropout_inplace():
    x = gradcnn.ones(8, 16, 3, dtype=np.float64)
    assert F.dropout1d(x, 0.5, inplace=True) is x
    _channel_mask(np.ones((8, 16, 3)), x.numpy(), 0.5, 2)
    with pytest.raises(AutogradError, match=r"dropout2d\(inplace=True\): a leaf tensor that requires grad"):
        F.dropout2d(gradcnn.ones(2, 2, 2, 2, requires_grad=True), 0.5, inplace=True)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed; the comparisons with torch are skipped")


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.dropout1d(gradcnn.ones(2, 3, 4, 5), 0.5), ShapeError,
                     r"dropout1d: expected 2-D \(C, L\) or 3-D \(N, C, L\) input, got shape \(2, 3, 4, 5\)", id="1d-4d"),
        pytest.param(lambda: F.dropout1d(gradcnn.ones(2, 3, 4, 5), 0.5, training=False), ShapeError,
                     r"dropout1d: expected 2-D", id="1d-checked-in-eval"),
        pytest.param(lambda: F.dropout1d(gradcnn.ones(2, 3), 1.5), ShapeError,
                     r"dropout1d: p must be >= 0 and <= 1, got p=1.5", id="1d-p"),
        pytest.param(lambda: F.dropout2d(gradcnn.ones(5), 0.5), ShapeError,
                     r"dropout2d: input must have at least 2 dims \(N, C, \*\), got shape \(5,\)", id="2d-1d-input"),
        pytest.param(lambda: F.dropout2d(gradcnn.ones(1, 1, 1, 1), -0.5), ShapeError,
                     r"dropout2d: p must be >= 0 and <= 1, got p=-0.5", id="2d-p"),
    ],
)
def test_channel_dropout_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
