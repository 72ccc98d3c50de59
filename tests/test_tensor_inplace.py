"""In-place Tensor methods (``x.exp_()``, ``x.masked_fill_(m, v)``, ...), ``.grad`` assignment,
``requires_grad``, ``len`` and iteration: PyTorch's behaviour and errors."""

import numpy as np
import pytest
from hypothesis import strategies as st

import gradcnn
from gradcnn.errors import AutogradError, DTypeError, ShapeError
from gradcnn.testing import arrays, op_test

# -- gradients: an in-place op on a non-leaf differentiates as its out-of-place form ------------

test_sin_ = op_test(lambda x: (x * 1).sin_(), np.sin, [arrays()])  # backward reads the old values
test_exp_ = op_test(lambda x: (x * 1).exp_(), np.exp, [arrays(max_value=3)])  # backward reads the result
test_neg_then_sqrt_ = op_test(lambda x: (x * 1).neg_().sqrt_(), lambda x: np.sqrt(-x),
                              [arrays(min_value=-10, max_value=-0.1)])
test_masked_fill_ = op_test(lambda x, m: (x * 1).masked_fill_(m, 2.0), lambda x, m: np.where(m, 2.0, x),
                            st.integers(1, 5).flatmap(lambda n: st.tuples(
                                arrays((n,)), arrays((n,), dtype=np.bool_))))
test_addcmul_ = op_test(lambda x, a, b: (x * 1).addcmul_(a, b, value=0.5), lambda x, a, b: x + 0.5 * a * b,
                        st.integers(1, 5).flatmap(lambda n: st.tuples(arrays((n,)), arrays((n,)), arrays((n,)))))


@pytest.mark.parametrize("name", ["abs_", "neg_", "exp_", "sqrt_", "sigmoid_", "tanh_", "relu_", "sin_",
                                  "square_", "reciprocal_", "clamp_min_", "clamp_max_"])
def test_an_in_place_method_equals_its_out_of_place_form(name):
    data = np.array([[0.3, 0.2, 0.9], [0.5, 0.1, 0.7]])
    args = (0.4,) if name.startswith("clamp") else ()
    x, y = gradcnn.tensor(data, requires_grad=True), gradcnn.tensor(data, requires_grad=True)
    a = x * 1
    version = a._version.value
    assert getattr(a, name)(*args) is a and a._version.value == version + 1
    b = getattr(y * 1, name[:-1])(*args)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    (a * 2).sum().backward()
    (b * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy())


def test_an_in_place_change_of_a_saved_output_is_caught():
    x = gradcnn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 1).exp()
    y.neg_()
    with pytest.raises(AutogradError, match="modified in place"):
        y.sum().backward()


def test_a_constant_changed_in_place_by_a_tensor_that_requires_grad():
    x = gradcnn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    c = gradcnn.ones(3)
    c.mul_(x)  # Mul saved c; the copy it read keeps its values
    c.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_in_place_refusals():
    leaf = gradcnn.ones(3, requires_grad=True)
    with pytest.raises(AutogradError, match="leaf"):
        leaf.exp_()
    with pytest.raises(AutogradError, match="view .* of a leaf"):
        leaf[0:2].mul_(2.0)
    with pytest.raises(DTypeError, match="exp_: the result has dtype float32.*int64"):
        gradcnn.tensor([1, 2]).exp_()
    i = gradcnn.tensor([1, 2, 3])
    assert i.masked_fill_(i > 1, 2.5).tolist() == [1, 2, 2]  # the value is cast, as in PyTorch
    with gradcnn.no_grad():
        leaf.neg_()
    assert leaf.tolist() == [-1.0, -1.0, -1.0]


def test_logical_in_place_methods_are_not_recorded():
    x = gradcnn.tensor([0.5, 0.0], requires_grad=True)
    a = x * 1
    a.logical_not_()
    (a * 2).sum().backward()
    assert a.tolist() == [0.0, 1.0] and x.grad.tolist() == [2.0, 2.0]  # as PyTorch


# -- .grad, requires_grad, len, iter -------------------------------------------------------------


def test_assigned_grad_is_checked():
    x = gradcnn.ones(3, requires_grad=True)
    for value, error in ((1.0, DTypeError), ([1.0, 2.0, 3.0], DTypeError), (np.ones(3, np.float32), DTypeError),
                         (gradcnn.ones(4), ShapeError), (gradcnn.ones(()), ShapeError),
                         (gradcnn.ones(3, dtype=gradcnn.float64), DTypeError)):
        with pytest.raises(error, match="grad"):
            x.grad = value
    assert x.grad is None
    x.grad = gradcnn.full((3,), 2.0)
    x.grad = None
    assert x.grad is None


def test_a_grad_whose_data_was_swapped_does_not_accumulate():
    x = gradcnn.ones(3, requires_grad=True)
    x.grad = gradcnn.ones(3)
    x.grad.data = gradcnn.ones(4)
    with pytest.raises(ShapeError, match=r"\.grad .* shape \(4,\)"):
        (x * 2).sum().backward()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_requires_grad_must_be_a_bool(value):
    t = gradcnn.ones(2)
    with pytest.raises(DTypeError, match="requires_grad"):
        t.requires_grad = value
    with pytest.raises(DTypeError, match="requires_grad"):
        t.requires_grad_(value)
    with pytest.raises(DTypeError, match="requires_grad"):
        gradcnn.tensor([1.0], requires_grad=value)


def test_len_and_iteration():
    with pytest.raises(DTypeError, match="0-d"):
        len(gradcnn.tensor(1.0))
    with pytest.raises(DTypeError, match="0-d"):
        list(gradcnn.tensor(1.0))
    rows = list(gradcnn.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
