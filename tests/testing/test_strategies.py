"""gradcnn.testing.strategies, public API for plugin authors: each strategy draws what it promises."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn import geometry
from gradcnn.testing import op_test
from gradcnn.testing.strategies import arrays, conv_cases, floats, pool_cases, tensors


@given(arrays((2, 3), min_value=-1.5, max_value=2.0, avoid=(0.0, 1.0), margin=0.1))
def test_arrays_respect_shape_bounds_and_avoided_values(a):
    assert a.shape == (2, 3) and a.dtype == np.float64
    assert np.all((a >= -1.5) & (a <= 2.0))
    assert np.all(np.abs(a) > 0.1) and np.all(np.abs(a - 1.0) > 0.1)


@given(arrays(dtype=np.int64, min_value=0, max_value=4, max_dims=3, max_side=3))
def test_integer_arrays_stay_in_range(a):
    assert a.dtype == np.int64 and a.ndim <= 3 and (a.size == 0 or (a.min() >= 0 and a.max() <= 4))


@given(arrays((12,), unique=True))
def test_unique_arrays_have_distinct_values(a):
    assert len(np.unique(a)) == a.size


@given(st.data())
def test_noncontiguous_layouts_are_drawn_and_hold_the_same_values(data):
    a = data.draw(arrays((3, 4), noncontiguous=True))
    assert not a.flags.c_contiguous
    assert np.array_equal(np.ascontiguousarray(a), a)


@given(floats(-1, 1, avoid=(0,), margin=0.25))
def test_floats_avoid_values_by_the_margin(x):
    assert -1 <= x <= 1 and abs(x) > 0.25


@given(tensors((2, 2), requires_grad=True))
def test_tensors_are_tensors_that_require_grad_when_asked(t):
    assert isinstance(t, gradcnn.Tensor) and t.requires_grad and t.shape == (2, 2)


@given(conv_cases(nd=2))
def test_conv_cases_are_valid_and_have_the_output_size_of_the_formula(case):
    (x, w, b), config = case
    y = F.conv2d(gradcnn.tensor(x), gradcnn.tensor(w), None if b is None else gradcnn.tensor(b), **config)
    assert y.shape[:2] == (x.shape[0], w.shape[0])
    padding = config.get("padding", 0)
    if isinstance(padding, tuple) or isinstance(padding, int):
        pads = (padding,) * 2 if isinstance(padding, int) else padding
        expected = tuple(geometry.conv_output_size(n, k, s, p, d) for n, k, s, p, d in
                         zip(x.shape[2:], w.shape[2:], config["stride"], pads, config["dilation"]))
        assert y.shape[2:] == expected


@given(conv_cases(nd=1, transposed=True))
def test_transposed_conv_cases_are_valid(case):
    (x, w, b), config = case
    y = F.conv_transpose1d(gradcnn.tensor(x), gradcnn.tensor(w), None if b is None else gradcnn.tensor(b), **config)
    assert y.shape[0] == x.shape[0] and y.shape[1] == w.shape[1] * config["groups"]


@given(pool_cases(nd=2, kind="max"))
def test_max_pool_cases_are_tie_free_and_every_window_touches_the_input(case):
    (x,), config = case
    assert len(np.unique(x)) == x.size
    y = F.max_pool2d(gradcnn.tensor(x), **config)
    assert np.isfinite(y.numpy()).all()  # a window wholly in the padding would give -inf


@given(pool_cases(nd=1, kind="adaptive_avg"))
def test_adaptive_pool_cases_give_the_asked_size(case):
    (x,), config = case
    assert F.adaptive_avg_pool1d(gradcnn.tensor(x), **config).shape[2:] == config["output_size"]


def test_op_test_checks_gradients_in_float64_even_for_float32_draws():
    seen = []

    def op(x):
        seen.append(x.dtype)
        return x * 2

    op_test(op, lambda a: a * 2, [arrays((3,), dtype=np.float32)])()
    assert seen and set(seen) == {np.dtype(np.float64)}
