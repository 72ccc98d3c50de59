"""Tests of gradcnn/ops/norm.py: batch_norm in training and eval, and its running statistics."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import DTypeError, ShapeError
from gradcnn.testing import arrays, floats, op_test
from gradcnn.testing.strategies import array_shapes

# -- NumPy references ---------------------------------------------------------------------------


def _per_channel(x):
    """``(C, count)``: every value of each channel (dim 1) in one row."""
    return np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)


def _broadcast(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def batch_norm_ref(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                   eps=1e-5):
    """The normalized output; in training, also the running statistics as PyTorch updates them."""
    if training:
        values = _per_channel(x)
        mean, var = values.mean(axis=1), values.var(axis=1)  # biased variance normalizes
        unbiased = values.var(axis=1, ddof=1)  # the unbiased one is stored
        if running_mean is not None:
            running_mean = (1 - momentum) * running_mean + momentum * mean
            running_var = (1 - momentum) * running_var + momentum * unbiased
    else:
        mean, var = running_mean, running_var
    out = (x - _broadcast(mean, x)) / np.sqrt(_broadcast(var, x) + eps)
    if weight is not None:
        out = out * _broadcast(weight, x)
    if bias is not None:
        out = out + _broadcast(bias, x)
    return out, running_mean, running_var


# -- strategies ---------------------------------------------------------------------------------


@st.composite
def bn_inputs(draw, stats=False, affine=True, max_n=3, max_c=4, max_side=3):
    """``(x, [running_mean, running_var,] [weight, bias])`` with ``x`` of shape ``(N, C, *)`` and
    at least two values per channel (training needs them)."""
    spatial = draw(array_shapes(min_dims=0, max_dims=2, max_side=max_side))
    n = draw(st.integers(1 if np.prod(spatial) > 1 else 2, max_n))
    c = draw(st.integers(1, max_c))
    # Distinct values 0.05 apart keep every channel's variance well away from zero, where
    # normalizing divides by sqrt(eps) and finite differences lose their accuracy.
    x = draw(arrays((n, c) + spatial, elements=st.integers(-100, 100).map(lambda k: k / 20), unique=True))
    out = [x]
    if stats:
        out += [draw(arrays((c,), min_value=-2.0, max_value=2.0)), draw(arrays((c,), min_value=0.1, max_value=3.0))]
    if affine:
        out += [draw(arrays((c,), min_value=-2.0, max_value=2.0)), draw(arrays((c,), min_value=-2.0, max_value=2.0))]
    return tuple(out)


eps_values = st.sampled_from([1e-5, 1e-3, 0.1])


def _train(x, weight, bias, eps):
    return F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)


def _train_ref(x, weight, bias, eps):
    return batch_norm_ref(x, None, None, weight, bias, training=True, eps=eps)[0]


def _train_plain(x, eps):
    return F.batch_norm(x, None, None, training=True, eps=eps)


def _train_plain_ref(x, eps):
    return batch_norm_ref(x, None, None, training=True, eps=eps)[0]


def _eval(x, running_mean, running_var, weight, bias, eps):
    return F.batch_norm(x, running_mean, running_var, weight, bias, training=False, eps=eps)


def _eval_ref(x, running_mean, running_var, weight, bias, eps):
    return batch_norm_ref(x, running_mean, running_var, weight, bias, training=False, eps=eps)[0]


# -- forward and gradients against the references -------------------------------------------

eps_config = st.fixed_dictionaries({"eps": eps_values})

test_batch_norm_training = op_test(_train, _train_ref, bn_inputs(), kwargs=eps_config)
test_batch_norm_training_without_affine = op_test(_train_plain, _train_plain_ref, bn_inputs(affine=False),
                                                  kwargs=eps_config)
test_batch_norm_training_second_order = op_test(
    _train, _train_ref, bn_inputs(max_n=2, max_c=2, max_side=2), kwargs=eps_config, second_order=True
)
test_batch_norm_eval = op_test(_eval, _eval_ref, bn_inputs(stats=True), kwargs=eps_config)


# -- running statistics -------------------------------------------------------------------------


@given(inputs=bn_inputs(stats=True, affine=False), momentum=floats(0.0, 1.0))
def test_training_updates_running_stats_in_place(inputs, momentum):
    x, running_mean, running_var = inputs
    rm, rv = gradcnn.tensor(running_mean), gradcnn.tensor(running_var)
    rm_array, rv_array = rm._data, rv._data
    xt = gradcnn.tensor(x, requires_grad=True)
    out = F.batch_norm(xt, rm, rv, training=True, momentum=momentum)
    expected, expected_mean, expected_var = batch_norm_ref(x, running_mean, running_var, training=True,
                                                           momentum=momentum)
    np.testing.assert_allclose(out._data, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm._data, expected_mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(rv._data, expected_var, rtol=1e-12, atol=1e-14)
    # Updated in place (the arrays a module's buffers hold), and not recorded for autograd.
    assert rm._data is rm_array and rv._data is rv_array
    assert not rm.requires_grad and not rv.requires_grad and rm.grad_fn is None and rv.grad_fn is None
    # The running statistics do not change the training output.
    np.testing.assert_array_equal(out._data, F.batch_norm(gradcnn.tensor(x), None, None, training=True)._data)


@given(inputs=bn_inputs(stats=True, affine=False))
def test_eval_leaves_running_stats_alone(inputs):
    x, running_mean, running_var = inputs
    rm, rv = gradcnn.tensor(running_mean), gradcnn.tensor(running_var)
    F.batch_norm(gradcnn.tensor(x), rm, rv, training=False)
    np.testing.assert_array_equal(rm._data, running_mean)
    np.testing.assert_array_equal(rv._data, running_var)


def test_training_output_has_zero_mean_and_unit_variance_per_channel():
    gradcnn.manual_seed(0)
    x = gradcnn.randn(8, 3, 5, dtype=np.float64) * 4.0 + 2.0
    out = _per_channel(F.batch_norm(x, None, None, training=True, eps=1e-300)._data)
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=1), 1.0, rtol=1e-12)


# -- against torch.nn.functional (verifies the references) ----------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed; the comparisons with torch are skipped")


@given(inputs=bn_inputs(stats=True), momentum=floats(0.0, 1.0), eps=eps_values, training=st.booleans())
def test_batch_norm_agrees_with_torch(torch, inputs, momentum, eps, training):
    x, running_mean, running_var, weight, bias = inputs
    # C-contiguous copies: torch 2.13 on the CPU takes a Fortran-ordered 4-D input for channels-last
    # and then gets the eval-mode weight gradient wrong.
    t_x, t_w, t_b = (torch.tensor(np.ascontiguousarray(a), requires_grad=True) for a in (x, weight, bias))
    t_rm, t_rv = torch.tensor(running_mean), torch.tensor(running_var)
    expected = torch.nn.functional.batch_norm(t_x, t_rm, t_rv, t_w, t_b, training=training,
                                              momentum=momentum, eps=eps)
    ours_ref = batch_norm_ref(x, running_mean, running_var, weight, bias, training, momentum, eps)
    g_x, g_w, g_b = (gradcnn.tensor(a, requires_grad=True) for a in (x, weight, bias))
    g_rm, g_rv = gradcnn.tensor(running_mean), gradcnn.tensor(running_var)
    ours = F.batch_norm(g_x, g_rm, g_rv, g_w, g_b, training=training, momentum=momentum, eps=eps)
    seed = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    expected.backward(torch.tensor(seed))
    ours.backward(gradcnn.tensor(seed))

    close = dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours_ref[0], expected.detach().numpy(), **close)
    np.testing.assert_allclose(ours_ref[1], t_rm.numpy(), **close)
    np.testing.assert_allclose(ours_ref[2], t_rv.numpy(), **close)
    np.testing.assert_allclose(ours._data, expected.detach().numpy(), **close)
    np.testing.assert_allclose(g_rm._data, t_rm.numpy(), **close)
    np.testing.assert_allclose(g_rv._data, t_rv.numpy(), **close)
    for ours_t, theirs_t in ((g_x, t_x), (g_w, t_w), (g_b, t_b)):
        np.testing.assert_allclose(ours_t.grad._data, theirs_t.grad.numpy(), **close)


# -- errors ---------------------------------------------------------------------------------------


def _x(*shape, dtype=np.float32):
    return gradcnn.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.batch_norm(_x(2, 4), _x(3), _x(4)), ShapeError,
                     r"batch_norm: running_mean has shape \(3,\), expected \(4,\): one entry per channel "
                     r"\(dim 1\) of the input \(2, 4\)", id="running-mean-shape"),
        pytest.param(lambda: F.batch_norm(_x(2, 4, 3), _x(4), _x(4, 1), training=True), ShapeError,
                     r"batch_norm: running_var has shape \(4, 1\), expected \(4,\).*input \(2, 4, 3\)",
                     id="running-var-shape"),
        pytest.param(lambda: F.batch_norm(_x(2, 4), None, None, _x(5), training=True), ShapeError,
                     r"batch_norm: weight has shape \(5,\), expected \(4,\)", id="weight-shape"),
        pytest.param(lambda: F.batch_norm(_x(2, 4), None, None, None, _x(), training=True), ShapeError,
                     r"batch_norm: bias has shape \(\), expected \(4,\)", id="bias-shape"),
        pytest.param(lambda: F.batch_norm(_x(1, 3), None, None, training=True), ShapeError,
                     r"batch_norm: training needs more than one value per channel, got input of shape "
                     r"\(1, 3\) \(1 per channel\)", id="one-value-per-channel"),
        pytest.param(lambda: F.batch_norm(_x(1, 3, 1, 1), _x(3), _x(3), training=True), ShapeError,
                     r"input of shape \(1, 3, 1, 1\) \(1 per channel\)", id="one-value-per-channel-2d"),
        pytest.param(lambda: F.batch_norm(_x(4), _x(4), _x(4)), ShapeError,
                     r"batch_norm: input must be \(N, C, \*\), got shape \(4,\)", id="1d-input"),
        pytest.param(lambda: F.batch_norm(_x(2, 3, dtype=np.int64), _x(3), _x(3)), DTypeError,
                     r"batch_norm: input must be floating, got int64", id="int-input"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), np.zeros(3), _x(3)), DTypeError,
                     r"batch_norm: running_mean must be a Tensor or None, got ndarray", id="stats-array"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), None, _x(3)), ShapeError,
                     r"batch_norm: eval mode \(training=False\) needs running_mean and running_var",
                     id="eval-without-stats"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), _x(3), _x(3), eps=-1e-5), ShapeError,
                     r"batch_norm: eps must be >= 0, got eps=-1e-05", id="negative-eps"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), _x(3), _x(3), eps="a"), DTypeError,
                     r"batch_norm: eps must be a number, got 'a'", id="eps-str"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), _x(3), _x(3), momentum=None), DTypeError,
                     r"batch_norm: momentum must be a number, got None", id="momentum-none"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), _x(3), _x(3), training=1), DTypeError,
                     r"batch_norm: training must be a bool, got 1", id="training-int"),
        pytest.param(lambda: F.batch_norm(_x(2, 3, dtype=np.float64), _x(3), _x(3)), DTypeError,
                     r"batch_norm: running_mean is float32 but input is float64", id="mixed-dtypes"),
        pytest.param(lambda: F.layer_norm(_x(2, 3), 3), DTypeError,
                     r"layer_norm: normalized_shape must be a tuple of ints, got 3", id="layer-norm-int-shape"),
        pytest.param(lambda: F.group_norm(_x(2, 4), 2, eps=None), DTypeError,
                     r"group_norm: eps must be a number, got None", id="group-norm-eps-none"),
        pytest.param(lambda: F.local_response_norm(_x(2, 3, 4), 2.0), DTypeError,
                     r"local_response_norm: size must be an int, got 2.0", id="lrn-float-size"),
        pytest.param(lambda: F.local_response_norm(_x(2, 3, 4), 2, beta=(1.0,)), DTypeError,
                     r"local_response_norm: beta must be a number", id="lrn-tuple-beta"),
        pytest.param(lambda: F.local_response_norm(_x(2, 3, 4, dtype=np.int32), 2), DTypeError,
                     r"local_response_norm: input must be floating or int64, got int32", id="lrn-int-input"),
        pytest.param(lambda: F.layer_norm(_x(2, 3, dtype=np.float16), (3,), _x(3), _x(3, dtype=np.float16)), DTypeError,
                     r"layer_norm: bias is float16 but input is float16 and weight is float32", id="ln-mixed-dtypes"),
        pytest.param(lambda: F.batch_norm(_x(2, 3), _x(3), _x(3), training=True, eps=0.0), ShapeError,
                     r"batch_norm: eps must be positive in training \(as in PyTorch\), got 0.0", id="zero-eps-training"),
        pytest.param(lambda: F.batch_norm(np.zeros((2, 3)), _x(3), _x(3)), DTypeError,
                     r"batch_norm: input must be a Tensor, got ndarray", id="input-array"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error


def _lrn_reference(x, size, alpha=1e-4, beta=0.75, k=1.0):
    # x / (k + alpha / size * sum of x^2 over channels [c - size//2, c + (size-1)//2]) ** beta
    c = x.shape[1]
    out = np.empty_like(x)
    for ch in range(c):
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        window = (x[:, lo:hi] ** 2).sum(axis=1)
        out[:, ch] = x[:, ch] / (k + alpha / size * window) ** beta
    return out


test_local_response_norm = op_test(
    F.local_response_norm,
    _lrn_reference,
    [arrays(st.tuples(st.integers(1, 2), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3)))],
    kwargs=st.fixed_dictionaries({"size": st.integers(1, 5), "alpha": st.sampled_from([1e-4, 0.1, 1.0]),
                                  "beta": st.sampled_from([0.5, 0.75]), "k": st.sampled_from([1.0, 2.0])}),
    second_order=True,
)


# -- layer norm and group norm --------------------------------------------------------------------


def layer_norm_ref(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    rows = x.reshape(x.shape[: x.ndim - len(normalized_shape)] + (-1,))
    out = ((rows - rows.mean(-1, keepdims=True)) / np.sqrt(rows.var(-1, keepdims=True) + eps)).reshape(x.shape)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm_ref(x, num_groups, weight=None, bias=None, eps=1e-5):
    groups = x.reshape(x.shape[0], num_groups, -1)
    out = ((groups - groups.mean(-1, keepdims=True)) / np.sqrt(groups.var(-1, keepdims=True) + eps)).reshape(x.shape)
    if weight is not None:
        out = out * _broadcast(weight, x)
    if bias is not None:
        out = out + _broadcast(bias, x)
    return out


def _distinct(draw, shape):
    # distinct values 0.05 apart: every normalized group has a variance well away from zero
    return draw(arrays(shape, elements=st.integers(-200, 200).map(lambda k: k / 20), unique=True))


@st.composite
def ln_cases(draw, affine=None, max_side=3):
    shape = draw(array_shapes(min_dims=1, max_dims=4, max_side=max_side))
    k = draw(st.integers(1, len(shape)))
    normalized = shape[len(shape) - k:]
    if np.prod(normalized) < 2:
        shape, normalized = shape + (2,), normalized + (2,)
    inputs = [_distinct(draw, shape)]
    affine = draw(st.booleans()) if affine is None else affine
    inputs += [draw(arrays(normalized, min_value=-2.0, max_value=2.0)) if affine else None for _ in range(2)]
    config = {"normalized_shape": normalized if draw(st.booleans()) else list(normalized),
              "eps": draw(eps_values)}
    return tuple(inputs), config


@st.composite
def gn_cases(draw, max_side=3):
    groups = draw(st.integers(1, 3))
    channels = groups * draw(st.integers(1, 2))
    spatial = draw(array_shapes(min_dims=0, max_dims=2, max_side=max_side))
    if channels // groups * int(np.prod(spatial)) < 2:
        spatial = spatial + (2,)
    inputs = [_distinct(draw, (draw(st.integers(1, 3)), channels) + spatial)]
    affine = draw(st.booleans())
    inputs += [draw(arrays((channels,), min_value=-2.0, max_value=2.0)) if affine else None for _ in range(2)]
    return tuple(inputs), {"num_groups": groups, "eps": draw(eps_values)}


def _layer_norm(x, weight, bias, normalized_shape, eps):
    return F.layer_norm(x, normalized_shape, weight, bias, eps)


def _layer_norm_ref(x, weight, bias, normalized_shape, eps):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    return layer_norm_ref(x, shape, weight, bias, eps)


def _group_norm(x, weight, bias, num_groups, eps):
    return F.group_norm(x, num_groups, weight, bias, eps)


def _group_norm_ref(x, weight, bias, num_groups, eps):
    return group_norm_ref(x, num_groups, weight, bias, eps)


test_layer_norm = op_test(_layer_norm, _layer_norm_ref, cases=ln_cases(), atol=1e-10, rtol=1e-9)
test_layer_norm_second_order = op_test(_layer_norm, _layer_norm_ref, cases=ln_cases(max_side=2), atol=1e-10,
                                       rtol=1e-9, second_order=True)
test_group_norm = op_test(_group_norm, _group_norm_ref, cases=gn_cases(), atol=1e-10, rtol=1e-9)
test_group_norm_second_order = op_test(_group_norm, _group_norm_ref, cases=gn_cases(max_side=2), atol=1e-10,
                                       rtol=1e-9, second_order=True)


def _torch_or_none(torch, a):
    return None if a is None else torch.tensor(np.ascontiguousarray(a), requires_grad=True)


def _ours_or_none(a):
    return None if a is None else gradcnn.tensor(a, requires_grad=True)


def _compare_with_torch(torch, theirs_fn, ours_fn, inputs):
    t_inputs = [_torch_or_none(torch, a) for a in inputs]
    g_inputs = [_ours_or_none(a) for a in inputs]
    expected, ours = theirs_fn(*t_inputs), ours_fn(*g_inputs)
    close = dict(rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), **close)
    seed = np.linspace(-1.0, 1.0, ours.numel()).reshape(ours.shape)
    expected.backward(torch.tensor(seed))
    ours.backward(gradcnn.tensor(seed))
    for g, t in zip(g_inputs, t_inputs):
        if g is not None:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), **close)


@given(case=ln_cases(max_side=4))
def test_layer_norm_agrees_with_torch(torch, case):
    inputs, config = case
    shape = config["normalized_shape"]
    shape = [shape] if isinstance(shape, int) else list(shape)
    _compare_with_torch(
        torch, lambda x, w, b: torch.nn.functional.layer_norm(x, shape, w, b, config["eps"]),
        lambda x, w, b: F.layer_norm(x, config["normalized_shape"], w, b, config["eps"]), inputs)


@given(case=gn_cases(max_side=4))
def test_group_norm_agrees_with_torch(torch, case):
    inputs, config = case
    _compare_with_torch(
        torch, lambda x, w, b: torch.nn.functional.group_norm(x, config["num_groups"], w, b, config["eps"]),
        lambda x, w, b: F.group_norm(x, config["num_groups"], w, b, config["eps"]), inputs)


# -- empty batches and NaN, as in torch -------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 3), (0, 3, 4, 4), (3, 3, 0)])
def test_empty_input_gives_empty_output_and_leaves_running_stats(torch, shape):
    c = shape[1]
    for training in (True, False):
        rm, rv = gradcnn.zeros(c) + 0.5, gradcnn.ones(c) * 2.0
        x = gradcnn.zeros(*shape, requires_grad=True)
        w = gradcnn.ones(c, requires_grad=True)
        out = F.batch_norm(x, rm, rv, w, None, training=training)
        t_rm, t_rv = torch.zeros(c) + 0.5, torch.ones(c) * 2.0
        expected = torch.nn.functional.batch_norm(torch.zeros(shape), t_rm, t_rv, torch.ones(c), None, training=training)
        assert out.shape == tuple(expected.shape)
        np.testing.assert_array_equal(rm.numpy(), t_rm.numpy())
        np.testing.assert_array_equal(rv.numpy(), t_rv.numpy())
        out.sum().backward()
        assert x.grad.shape == shape and not w.grad.numpy().any()
    if c:
        assert F.layer_norm(gradcnn.zeros(*shape), shape[-1:]).shape == shape
        assert F.group_norm(gradcnn.zeros(*shape), 1).shape == shape
    if len(shape) >= 3:
        assert F.local_response_norm(gradcnn.zeros(*shape), 2).shape == shape


def test_no_channels_is_empty_for_layer_group_and_local_response_norm(torch):
    # (batch norm of no channels is an IndexError in torch 2.13; gradcnn returns the empty output)
    assert tuple(torch.nn.functional.local_response_norm(torch.zeros(2, 0, 4), 2).shape) == (2, 0, 4)
    assert F.local_response_norm(gradcnn.zeros(2, 0, 4), 2).shape == (2, 0, 4)
    assert F.layer_norm(gradcnn.zeros(2, 0), (0,)).shape == (2, 0)
    assert tuple(torch.nn.functional.layer_norm(torch.zeros(2, 0), (0,)).shape) == (2, 0)


def test_nan_spreads_over_what_is_normalized_with_it(torch):
    x = np.arange(2 * 4 * 3, dtype=np.float64).reshape(2, 4, 3) / 7.0
    x[0, 1, 2] = np.nan
    rm, rv = np.zeros(4), np.ones(4)
    cases = [
        (lambda t, a: t.nn.functional.layer_norm(a, [3]), lambda a: F.layer_norm(a, (3,))),
        (lambda t, a: t.nn.functional.layer_norm(a, [4, 3]), lambda a: F.layer_norm(a, (4, 3))),
        (lambda t, a: t.nn.functional.group_norm(a, 2), lambda a: F.group_norm(a, 2)),
        (lambda t, a: t.nn.functional.batch_norm(a, None, None, training=True), lambda a: F.batch_norm(a, None, None, training=True)),
        (lambda t, a: t.nn.functional.batch_norm(a, t.tensor(rm), t.tensor(rv)),
         lambda a: F.batch_norm(a, gradcnn.tensor(rm), gradcnn.tensor(rv))),
        (lambda t, a: t.nn.functional.local_response_norm(a, 2), lambda a: F.local_response_norm(a, 2)),
    ]
    for theirs, ours in cases:
        expected = theirs(torch, torch.tensor(x)).numpy()
        got = ours(gradcnn.tensor(x)).numpy()
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


def test_nan_reaches_the_running_statistics(torch):
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    x[1, 0, 1] = np.nan
    rm, rv = gradcnn.zeros(2, dtype=np.float64), gradcnn.ones(2, dtype=np.float64)
    F.batch_norm(gradcnn.tensor(x), rm, rv, training=True)
    t_rm, t_rv = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    torch.nn.functional.batch_norm(torch.tensor(x), t_rm, t_rv, training=True)
    np.testing.assert_allclose(rm.numpy(), t_rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), t_rv.numpy(), rtol=1e-12)


def test_group_norm_refuses_one_value_in_all_as_torch(torch):
    with pytest.raises(ValueError):
        torch.nn.functional.group_norm(torch.zeros(1, 2), 2)
    with pytest.raises(ShapeError, match=r"group_norm: expected more than one value to normalize, got input of "
                                         r"shape \(1, 2\) with num_groups=2"):
        F.group_norm(_x(1, 2), 2)
    # two samples of one value per group: zeros, as in torch
    np.testing.assert_array_equal(F.group_norm(gradcnn.tensor([[1.0, 2.0], [3.0, 4.0]]), 2).numpy(), np.zeros((2, 2)))


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.layer_norm(_x(2, 4), (3,)), ShapeError,
                     r"layer_norm: normalized_shape \(3,\) must equal the last 1 dims of the input, got input of "
                     r"shape \(2, 4\)", id="ln-shape"),
        pytest.param(lambda: F.layer_norm(_x(4), (2, 4)), ShapeError,
                     r"normalized_shape \(2, 4\) must equal the last 2 dims", id="ln-too-many-dims"),
        pytest.param(lambda: F.layer_norm(_x(2, 4), (4,), _x(3)), ShapeError,
                     r"layer_norm: weight has shape \(3,\), expected normalized_shape \(4,\)", id="ln-weight"),
        pytest.param(lambda: F.layer_norm(_x(2, 4), ()), ShapeError,
                     r"layer_norm: normalized_shape must name at least one dim, got \(\)", id="ln-empty"),
        pytest.param(lambda: F.layer_norm(_x(2, 4), 4.0), DTypeError,
                     r"layer_norm: normalized_shape must be a tuple of ints, got 4.0", id="ln-float"),
        pytest.param(lambda: F.layer_norm(_x(2, 4), (4,), eps=-1.0), ShapeError,
                     r"layer_norm: eps must be >= 0, got eps=-1.0", id="ln-eps"),
        pytest.param(lambda: F.layer_norm(_x(2, 4, dtype=np.int64), (4,)), DTypeError,
                     r"layer_norm: input must be floating, got int64", id="ln-int"),
        pytest.param(lambda: F.group_norm(_x(2, 4), 3), ShapeError,
                     r"group_norm: the input's 4 channels \(shape \(2, 4\)\) do not split into num_groups=3 equal "
                     r"groups", id="gn-groups"),
        pytest.param(lambda: F.group_norm(_x(2, 4), 0), ShapeError,
                     r"group_norm: num_groups must be a positive int, got 0", id="gn-zero-groups"),
        pytest.param(lambda: F.group_norm(_x(2, 4), 2, _x(3)), ShapeError,
                     r"group_norm: weight has shape \(3,\), expected \(4,\)", id="gn-weight"),
        pytest.param(lambda: F.group_norm(_x(4), 2), ShapeError,
                     r"group_norm: input must be \(N, C, \*\), got shape \(4,\)", id="gn-1d"),
    ],
)
def test_layer_and_group_norm_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
