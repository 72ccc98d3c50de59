"""Tests of gradcnn/ops/activation.py: leaky_relu, prelu, rrelu, elu, softmax, log_softmax, maxout."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.testing import arrays, floats, gradcheck, op_test
from gradcnn.testing.strategies import array_shapes

# -- NumPy references ---------------------------------------------------------------------------


def leaky_relu_ref(x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x)


def prelu_ref(x, weight):
    if weight.size > 1:  # one slope per channel, channels in dim 1
        weight = weight.reshape((1, weight.size) + (1,) * (x.ndim - 2))
    else:
        weight = weight[0]
    return np.where(x > 0, x, weight * x)


def rrelu_eval_ref(x, lower, upper):
    return leaky_relu_ref(x, (lower + upper) / 2)


def elu_ref(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def softmax_ref(x, dim):
    # Shifting by the maximum leaves softmax unchanged and keeps exp from overflowing.
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax_ref(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def maxout_ref(x, pieces, dim):
    groups = x.shape[dim] // pieces
    maxima = [x.take(range(g * pieces, (g + 1) * pieces), axis=dim).max(axis=dim) for g in range(groups)]
    return np.stack(maxima, axis=dim % x.ndim)


# -- strategies ---------------------------------------------------------------------------------

small_shapes = array_shapes(min_dims=0, max_dims=4, max_side=3)
# Mostly ordinary logits, sometimes +-1e4: softmax must neither overflow nor give nan there.
logits = st.one_of(floats(-5.0, 5.0), st.sampled_from([-1e4, 1e4]))


@st.composite
def with_dim(draw, elements=None, max_dims=3):
    """``(x, dim)``; ``dim`` is any valid dim of ``x``, negative ones included. It travels as a 0-d
    integer array because op_test draws its kwargs before the input's shape is known."""
    x = draw(arrays(array_shapes(min_dims=0, max_dims=max_dims, max_side=3), elements=elements))
    n = max(x.ndim, 1)  # a 0-d tensor takes dim 0 or -1, as in PyTorch
    return x, np.int64(draw(st.integers(-n, n - 1)))


@st.composite
def prelu_inputs(draw):
    x = draw(arrays(small_shapes, avoid=(0,)))
    channels = x.shape[1] if x.ndim >= 2 else 1
    weight = draw(arrays((draw(st.sampled_from([1, channels])),), min_value=-1.0, max_value=1.0))
    return x, weight


@st.composite
def maxout_inputs(draw):
    """``(x, pieces, dim)`` with ``x.shape[dim]`` a multiple of ``pieces`` (at most 4 channels)."""
    pieces = draw(st.integers(1, 4))
    shape = list(draw(array_shapes(min_dims=1, max_dims=3, max_side=3)))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = pieces * draw(st.integers(1, 4 // pieces))
    # Distinct values 0.01 apart: no ties, and no finite-difference step can swap two of them.
    x = draw(arrays(tuple(shape), elements=st.integers(-1000, 1000).map(lambda k: k / 100), unique=True))
    return x, np.int64(pieces), np.int64(dim)


bounds = st.tuples(floats(0.0, 1.0), floats(0.0, 1.0)).map(sorted)


# -- forward and gradients against the references -------------------------------------------


test_leaky_relu = op_test(
    F.leaky_relu, leaky_relu_ref, [arrays(small_shapes, avoid=(0,))],
    kwargs=st.fixed_dictionaries({"negative_slope": floats(-1.0, 2.0)}),
)

test_prelu = op_test(F.prelu, prelu_ref, prelu_inputs())


def _rrelu_eval(x, lower, upper):
    return F.rrelu(x, lower, upper, training=False)


test_rrelu_eval = op_test(
    _rrelu_eval, rrelu_eval_ref, [arrays(small_shapes, avoid=(0,))],
    kwargs=bounds.map(lambda b: {"lower": b[0], "upper": b[1]}),
)

test_elu = op_test(
    F.elu, elu_ref, [arrays(array_shapes(min_dims=0, max_dims=3, max_side=3), min_value=-5, avoid=(0,))],
    kwargs=st.fixed_dictionaries({"alpha": floats(0.1, 3.0)}), second_order=True,
)


def _softmax(x, dim):
    return F.softmax(x, dim=int(dim))


def _log_softmax(x, dim):
    return F.log_softmax(x, dim=int(dim))


def _softmax_ref(x, dim):
    return softmax_ref(x, int(dim))


def _log_softmax_ref(x, dim):
    return log_softmax_ref(x, int(dim))


test_softmax = op_test(_softmax, _softmax_ref, with_dim(logits, max_dims=4))
test_log_softmax = op_test(_log_softmax, _log_softmax_ref, with_dim(logits, max_dims=4))
test_softmax_second_order = op_test(_softmax, _softmax_ref, with_dim(floats(-5.0, 5.0)), second_order=True)
test_log_softmax_second_order = op_test(
    _log_softmax, _log_softmax_ref, with_dim(floats(-5.0, 5.0)), second_order=True
)


def _maxout(x, pieces, dim):
    return F.maxout(x, int(pieces), int(dim))


def _maxout_ref(x, pieces, dim):
    return maxout_ref(x, int(pieces), int(dim))


test_maxout = op_test(_maxout, _maxout_ref, maxout_inputs())


# -- properties the references cannot state ------------------------------------------------------


@pytest.mark.parametrize("op", [F.softmax, F.log_softmax])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_huge_logits_is_finite(op, dtype):
    x = gradcnn.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype), requires_grad=True)
    y = op(x, dim=1)
    y.backward(gradcnn.ones_like(y))
    assert y.dtype == dtype
    assert np.isfinite(y._data).all() and np.isfinite(x.grad._data).all()
    if op is F.softmax:
        np.testing.assert_allclose(y._data, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-6)
    else:
        np.testing.assert_allclose(y._data, [[0, -2e4, -1e4], [-np.log(3)] * 3], rtol=1e-6)


def test_maxout_ties_share_the_gradient():
    x = gradcnn.tensor([[1.0, 3.0, 3.0, 2.0]], dtype=np.float64, requires_grad=True)
    y = F.maxout(x, 2)
    y.backward(gradcnn.tensor([[1.0, 4.0]], dtype=np.float64))
    np.testing.assert_array_equal(y._data, [[3.0, 3.0]])
    np.testing.assert_array_equal(x.grad._data, [[0.0, 1.0, 4.0, 0.0]])


# x away from 0: the slope of a subnormal x cannot be read back from a product that underflows.
@given(x=arrays(array_shapes(min_dims=0, max_dims=3, max_side=4), avoid=(0,)), lu=bounds,
       seed=st.integers(0, 2**32 - 1))
def test_rrelu_training_scales_negatives_by_a_slope_in_bounds(x, lu, seed):
    lower, upper = lu
    gradcnn.manual_seed(seed)
    y = F.rrelu(gradcnn.tensor(x), lower, upper, training=True)._data
    gradcnn.manual_seed(seed)
    again = F.rrelu(gradcnn.tensor(x), lower, upper, training=True)._data
    np.testing.assert_array_equal(y, again, err_msg="the same seed must give the same slopes")
    keep = x >= 0
    np.testing.assert_array_equal(y[keep], x[keep])
    slopes = y[~keep] / x[~keep]
    assert np.all((lower - 1e-12 <= slopes) & (slopes <= upper + 1e-12)), (lower, upper, slopes)


@pytest.mark.parametrize("lower, upper", [(0.125, 1 / 3), (0.0, 1.0), (0.5, 0.5)])
def test_rrelu_training_slopes_are_uniform_in_bounds(lower, upper):
    n = 10_000
    gradcnn.manual_seed(0)
    slopes = F.rrelu(-gradcnn.ones(n, dtype=np.float64), lower, upper, training=True)._data / -1.0
    width = upper - lower
    # Mean within 5 standard errors of (lower + upper) / 2; the extremes reach into both ends.
    assert abs(slopes.mean() - (lower + upper) / 2) <= 5 * width / np.sqrt(12 * n) + 1e-12
    assert slopes.min() >= lower and slopes.max() <= upper
    assert slopes.min() <= lower + 0.01 * width and slopes.max() >= upper - 0.01 * width
    gradcnn.manual_seed(1)
    other = F.rrelu(-gradcnn.ones(n, dtype=np.float64), lower, upper, training=True)._data / -1.0
    assert width == 0 or not np.array_equal(slopes, other), "a different seed must give other slopes"


@given(x=arrays(array_shapes(min_dims=0, max_dims=3, max_side=3), avoid=(0,)), lu=bounds, seed=st.integers(0, 2**16))
def test_rrelu_training_gradient_is_the_drawn_slope(x, lu, seed):
    lower, upper = lu

    def rrelu_training(t):
        gradcnn.manual_seed(seed)  # the same slopes on every call, so finite differences apply
        return F.rrelu(t, lower, upper, training=True)

    t = gradcnn.tensor(x, requires_grad=True)
    gradcheck(rrelu_training, t)
    y = rrelu_training(t)
    y.backward(gradcnn.ones_like(y))
    np.testing.assert_allclose(t.grad._data, np.where(x > 0, 1.0, y._data / x), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "op",
    [
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: F.prelu(x, gradcnn.full((1,), 0.25, dtype=x.dtype)),
        lambda x: F.rrelu(x, training=True),
        lambda x: F.elu(x, 0.5),
        lambda x: F.softmax(x, 1),
        lambda x: F.log_softmax(x, 1),
        lambda x: F.maxout(x, 3),
    ],
    ids=["leaky_relu", "prelu", "rrelu", "elu", "softmax", "log_softmax", "maxout"],
)
def test_dtype_is_kept(op, dtype):
    assert op(gradcnn.randn(2, 3, 2, dtype=dtype)).dtype == dtype


# -- against torch.nn.functional (verifies the references) ----------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed; the comparisons with torch are skipped")


@given(x=arrays(array_shapes(min_dims=2, max_dims=4, max_side=3), elements=floats(-3.0, 3.0) | st.just(0.0)),
       slope=floats(-1.0, 2.0), alpha=floats(0.1, 3.0), lu=bounds)
def test_references_and_gradients_agree_with_torch(torch, x, slope, alpha, lu):
    """Forward of the references and of gradcnn, and gradcnn's gradients, including at x = 0 where
    finite differences cannot say which one-sided derivative an op picks."""
    tf = torch.nn.functional
    w = np.linspace(-0.5, 0.5, x.shape[1])
    cases = [
        (lambda t: tf.leaky_relu(t, slope), lambda t: F.leaky_relu(t, slope), leaky_relu_ref(x, slope)),
        (lambda t: tf.prelu(t, torch.from_numpy(w)), lambda t: F.prelu(t, gradcnn.tensor(w)), prelu_ref(x, w)),
        (lambda t: tf.rrelu(t, *lu, training=False), lambda t: F.rrelu(t, *lu), rrelu_eval_ref(x, *lu)),
        (lambda t: tf.elu(t, alpha), lambda t: F.elu(t, alpha), elu_ref(x, alpha)),
        (lambda t: tf.softmax(t, 1), lambda t: F.softmax(t, 1), softmax_ref(x, 1)),
        (lambda t: tf.log_softmax(t, -1), lambda t: F.log_softmax(t, -1), log_softmax_ref(x, -1)),
    ]
    upstream = np.linspace(-1.0, 2.0, x.size).reshape(x.shape)
    for theirs_op, ours_op, reference in cases:
        tx = torch.tensor(x, requires_grad=True)
        theirs = theirs_op(tx)
        theirs.backward(torch.from_numpy(upstream))
        gx = gradcnn.tensor(x, requires_grad=True)
        ours = ours_op(gx)
        ours.backward(gradcnn.tensor(upstream))
        np.testing.assert_allclose(reference, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours._data, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# -- errors ---------------------------------------------------------------------------------------


def _x(*shape, dtype=np.float32):
    return gradcnn.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.prelu(_x(2, 4), _x(3)), ShapeError,
                     r"prelu: weight has shape \(3,\); expected \(1,\) or \(4,\).*input \(2, 4\)",
                     id="prelu-weight-size"),
        pytest.param(lambda: F.prelu(_x(2, 4), _x(1, 4)), ShapeError, r"prelu: weight has shape \(1, 4\)",
                     id="prelu-weight-2d"),
        pytest.param(lambda: F.prelu(_x(2, 4), np.zeros(4)), DTypeError,
                     r"prelu: weight must be a Tensor, got ndarray", id="prelu-weight-array"),
        pytest.param(lambda: F.maxout(_x(2, 5, 3), 2), ShapeError,
                     r"maxout: dim 1 .*\(2, 5, 3\).* has 5 channels, not a multiple of pieces=2 \(5 % 2 = 1\)",
                     id="maxout-not-divisible"),
        pytest.param(lambda: F.maxout(_x(2, 6, 4), 3, dim=-1), ShapeError,
                     r"maxout: dim 2 .* has 4 channels, not a multiple of pieces=3", id="maxout-last-dim"),
        pytest.param(lambda: F.maxout(_x(2, 4), 0), ShapeError, r"maxout: pieces must be a positive int, got 0",
                     id="maxout-zero-pieces"),
        pytest.param(lambda: F.maxout(_x(), 1, dim=0), ShapeError,
                     r"maxout: input must have a dim to group, got a 0-d tensor \(pieces=1\)", id="maxout-0d"),
        pytest.param(lambda: F.maxout(_x(2, 4), 2, dim=2), IndexOutOfRangeError,
                     r"maxout: dim 2 is out of range for a tensor with 2 dimensions", id="maxout-dim"),
        pytest.param(lambda: F.softmax(_x(2, 3)), ShapeError, r"softmax: pass dim=.*shape \(2, 3\)",
                     id="softmax-no-dim"),
        pytest.param(lambda: F.log_softmax(_x(2, 3)), ShapeError, r"log_softmax: pass dim=.*shape \(2, 3\)",
                     id="log_softmax-no-dim"),
        pytest.param(lambda: F.softmax(_x(2, 3), dim=-3), IndexOutOfRangeError,
                     r"softmax: dim -3 is out of range for a tensor with 2 dimensions \(expected -2 <= dim < 2\)",
                     id="softmax-dim-range"),
        pytest.param(lambda: F.log_softmax(_x(2, 3, dtype=np.int64), dim=1), DTypeError,
                     r"log_softmax: input must be floating, got int64 \(shape \(2, 3\)\)", id="log_softmax-int"),
        pytest.param(lambda: F.leaky_relu(_x(2), "0.1"), DTypeError,
                     r"leaky_relu: negative_slope must be a number, got '0.1'", id="leaky_relu-slope"),
        pytest.param(lambda: F.leaky_relu(np.zeros(2)), DTypeError, r"leaky_relu: input must be a Tensor, got ndarray",
                     id="leaky_relu-array"),
        pytest.param(lambda: F.rrelu(_x(2), 0.5, 0.1, training=True), ShapeError,
                     r"rrelu: need 0 <= lower <= upper, got lower=0.5, upper=0.1", id="rrelu-bounds"),
        pytest.param(lambda: F.rrelu(_x(2), -0.1, 0.1), ShapeError, r"rrelu: .*got lower=-0.1, upper=0.1",
                     id="rrelu-negative"),
        pytest.param(lambda: F.rrelu(_x(2), 0.1, float("inf")), ShapeError, r"rrelu: upper must be a finite number",
                     id="rrelu-infinite"),
        pytest.param(lambda: F.rrelu(_x(2), None), DTypeError, r"rrelu: lower must be a number", id="rrelu-None"),
        pytest.param(lambda: F.elu(_x(2), alpha="a"), DTypeError, r"elu: alpha must be a number", id="elu-alpha"),
        pytest.param(lambda: F.prelu(_x(2, 3), gradcnn.ones(3, dtype=np.float64)), DTypeError,
                     r"prelu: input and weight must have the same dtype", id="prelu-dtype"),
        pytest.param(lambda: F.elu(_x(2, dtype=np.int32)), DTypeError, r"elu: input must be floating, got int32",
                     id="elu-int"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error


@pytest.mark.parametrize("fn, kwargs", [(F.leaky_relu, {"negative_slope": 0.5}), (F.elu, {"alpha": 1.0})])
def test_in_place_forms_write_into_their_input_and_keep_the_gradient(fn, kwargs):
    values = np.array([-1.0, 0.5, 2.0])
    x = gradcnn.tensor(values)
    expected = fn(gradcnn.tensor(values), **kwargs).numpy()
    assert fn(x, **kwargs, inplace=True) is x
    np.testing.assert_allclose(x.numpy(), expected)
    a = gradcnn.tensor(values, requires_grad=True)
    b = gradcnn.tensor(values, requires_grad=True)
    fn(a * 1.0, **kwargs, inplace=True).sum().backward()
    fn(b * 1.0, **kwargs).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())


# -- silu, relu6, hardtanh, hardsigmoid, hardswish, softplus, mish ---------------------------------

_KINKS = (-3.0, -2.0, -1.0, 0.0, 1.0, 3.0, 6.0)
_SMOOTH_INPUT = [arrays(max_dims=3, max_side=4, min_value=-8, max_value=8, avoid=_KINKS, margin=1e-3)]

test_silu = op_test(F.silu, lambda a: a / (1 + np.exp(-a)), _SMOOTH_INPUT, second_order=True)
test_relu6 = op_test(F.relu6, lambda a: np.clip(a, 0, 6), _SMOOTH_INPUT)
test_hardtanh = op_test(lambda x: F.hardtanh(x, -2.0, 1.0), lambda a: np.clip(a, -2, 1), _SMOOTH_INPUT)
test_hardsigmoid = op_test(F.hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1), _SMOOTH_INPUT)
test_hardswish = op_test(F.hardswish, lambda a: a * np.clip(a / 6 + 0.5, 0, 1), _SMOOTH_INPUT)
test_softplus = op_test(lambda x: F.softplus(x, beta=2.0, threshold=5.0),
                        lambda a: np.where(2 * a > 5, a, np.log1p(np.exp(2 * a)) / 2),
                        [arrays(max_dims=3, max_side=4, min_value=-8, max_value=8, avoid=(2.5,), margin=1e-3)])
test_mish = op_test(F.mish, lambda a: a * np.tanh(np.log1p(np.exp(a))), _SMOOTH_INPUT, second_order=True)


@pytest.mark.parametrize("name", ["silu", "relu6", "hardtanh", "hardsigmoid", "hardswish", "softplus", "mish"])
def test_matches_pytorch_at_kinks_nan_and_far_out(name):
    torch = pytest.importorskip("torch")
    x = np.array([-30.0, -8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 7.0, 25.0, np.nan])
    ours = gradcnn.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = getattr(F, name)(ours)
        y.sum().backward()
    ty = getattr(torch.nn.functional, name)(theirs)
    ty.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12, equal_nan=True)
    # rtol 1e-7: PyTorch's hardsigmoid gradient uses a float32 1/6 even in float64.
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-7, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("layer, args", [("SiLU", ()), ("ReLU6", ()), ("Hardtanh", (-2.0, 2.0)), ("Hardsigmoid", ()),
                                         ("Hardswish", ()), ("Softplus", (2.0, 10.0)), ("Mish", ())])
def test_the_layers_print_and_compute_as_pytorch_does(layer, args):
    torch = pytest.importorskip("torch")
    from gradcnn import nn

    ours, theirs = getattr(nn, layer)(*args), getattr(torch.nn, layer)(*args)
    assert repr(ours) == repr(theirs)
    x = np.linspace(-5, 5, 11)
    np.testing.assert_allclose(ours(gradcnn.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-12)


def test_bad_settings_are_refused():
    with pytest.raises(DTypeError, match="beta must be a finite number"):
        F.softplus(gradcnn.ones(2), beta=float("nan"))
    with pytest.raises(ShapeError, match="min_val .2.0. must not exceed max_val .1.0."):
        F.hardtanh(gradcnn.ones(2), 2.0, 1.0)
    with pytest.raises(DTypeError, match="input must be floating"):
        F.silu(gradcnn.tensor([1, 2]))


def test_softmax_saves_its_output_and_takes_empty_and_all_minus_inf_slices():
    from gradcnn.errors import AutogradError

    x = gradcnn.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = F.softmax(x * 1, dim=1)
    y.mul_(2.0)
    with pytest.raises(AutogradError, match="in place"):
        y.sum().backward()
    assert F.softmax(gradcnn.zeros(2, 0), dim=1).shape == (2, 0)
    assert F.log_softmax(gradcnn.zeros(2, 0, 3), dim=1).shape == (2, 0, 3)
    assert np.isnan(F.softmax(gradcnn.full((2, 3), -np.inf), dim=1).numpy()).all()
