"""gradcnn.testing: the checker must catch wrong gradients, not only pass right ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradcnn
from gradcnn.autograd import Function
from gradcnn.errors import DTypeError, GradcheckError
from gradcnn.testing import arrays, gradcheck, gradgradcheck, op_test, tensors


class BadSquare(Function):
    """x**2 with a wrong derivative (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x * 3.0


class BadSecondOrder(Function):
    """x**3 whose first derivative is right in value but detached (so second order is 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x * x * 3.0).detach()


def x64(*values):
    return gradcnn.tensor(np.array(values, dtype=np.float64), requires_grad=True)


def test_gradcheck_passes_correct_gradients():
    assert gradcheck(lambda a, b: (a * b).exp(), (x64(0.1, 0.2), x64(0.3, -0.4)))


def test_gradcheck_reports_numbers_and_input_index():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a + BadSquare.apply(b), (x64(1.0), x64(2.0)))
    msg = str(info.value)
    assert "input 1" in msg and "BadSquare" in msg
    assert "numerical 4" in msg and "analytical 6" in msg


def test_fast_mode_catches_wrong_gradients():
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(BadSquare.apply, (x64(*np.linspace(0.5, 2, 50)),), fast=True)
    assert gradcheck(lambda x: x * x, (x64(*np.linspace(0.5, 2, 50)),), fast=True)


def test_gradgradcheck_catches_detached_backward():
    x = x64(0.5, 1.5)
    assert gradcheck(BadSecondOrder.apply, (x,))
    with pytest.raises(GradcheckError, match="grad of"):
        gradgradcheck(BadSecondOrder.apply, (x,))


def test_gradcheck_needs_float64():
    with pytest.raises(DTypeError, match="float32"):
        gradcheck(lambda x: x * 2.0, (gradcnn.ones(2, requires_grad=True),))


def test_gradcheck_needs_some_input_requiring_grad():
    with pytest.raises(GradcheckError, match="nothing to check"):
        gradcheck(lambda x: x * 2.0, (gradcnn.ones(2, dtype=gradcnn.float64),))


def test_op_test_passes_a_correct_op():
    op_test(gradcnn.exp, np.exp, [arrays(max_value=2.0, max_dims=2, max_side=3)])()


def test_op_test_fails_on_a_wrong_reference():
    test = op_test(gradcnn.exp, lambda a: np.exp(a) + 1e-3, [arrays(max_value=2.0, max_dims=2)])
    with pytest.raises(AssertionError, match="forward output 0"):
        test()


def test_op_test_fails_on_a_wrong_gradient():
    test = op_test(BadSquare.apply, lambda a: a * a, [arrays(min_value=0.5, max_value=2.0, min_dims=1)])
    with pytest.raises(GradcheckError):
        test()


def _mutating(x):
    x._data[...] = 0
    return x * 1.0


def test_op_test_fails_when_the_op_mutates_its_input():
    test = op_test(_mutating, lambda a: np.zeros_like(a), [arrays(min_value=1.0, max_value=2.0, min_dims=1)],
                   check_grad=False)
    with pytest.raises(AssertionError, match="input 0 was changed"):
        test()


@settings(max_examples=30)
@given(st.data())
def test_strategies_draw_noncontiguous_layouts_and_bounds(data):
    arr = data.draw(arrays(shape=(3, 4), min_value=-2, max_value=2, noncontiguous=True))
    assert not arr.flags.c_contiguous
    assert arr.shape == (3, 4) and np.all(np.abs(arr) <= 2)
    t = data.draw(tensors(shape=(2,), requires_grad=True, avoid=(0,), margin=0.1))
    assert t.requires_grad and np.all(np.abs(t._data) > 0.1)
