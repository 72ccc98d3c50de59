"""Property tests of gradcnn/ops/linalg.py: ``matmul`` over every case of NumPy's rules (1-D
operands, batches, broadcast batch dims) and ``linear`` with and without bias, against NumPy and
finite differences (float64), to second order; then the errors users see."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.ops as ops
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.testing import arrays, op_test
from gradcnn.testing.strategies import array_shapes, mutually_broadcastable_shapes

# -- strategies ---------------------------------------------------------------------------------


@st.composite
def matmul_operands(draw, max_side=4):
    """Two arrays whose shapes follow NumPy's matmul signature ``(n?,k),(k,m?)->(n?,m?)``: 1-D
    operands, plain matrices and batches whose batch dims broadcast."""
    shapes = draw(mutually_broadcastable_shapes(signature=np.matmul.signature, max_dims=2, max_side=max_side))
    return tuple(draw(arrays(s, min_value=-3, max_value=3)) for s in shapes.input_shapes)


@st.composite
def linear_operands(draw, bias=True, max_side=4):
    """``(input (*batch, in), weight (out, in)[, bias (out,)])`` with 0 to 2 batch dims."""
    batch = draw(array_shapes(min_dims=0, max_dims=2, max_side=3))
    n_in, n_out = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    out = [draw(arrays(batch + (n_in,), min_value=-3, max_value=3)), draw(arrays((n_out, n_in), min_value=-3, max_value=3))]
    if bias:
        out.append(draw(arrays((n_out,), min_value=-3, max_value=3)))
    return tuple(out)


def matmul_operator(a, b):
    return a @ b


def linear_ref(x, w, b=None):
    # Written as sums of products, independent of how the op arranges its matrix products.
    y = np.einsum("...i,oi->...o", x, w)
    return y if b is None else y + b


# -- property tests -----------------------------------------------------------------------------

test_matmul = op_test(ops.matmul, np.matmul, matmul_operands())
test_matmul_second_order = op_test(ops.matmul, np.matmul, matmul_operands(max_side=3), second_order=True)
test_matmul_operator = op_test(matmul_operator, np.matmul, matmul_operands())
test_linear = op_test(ops.linear, linear_ref, linear_operands(), second_order=True)
test_linear_without_bias = op_test(ops.linear, linear_ref, linear_operands(bias=False), second_order=True)


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [
        ((3,), (3,)),  # dot product -> 0-d
        ((3,), (3, 2)),  # vector @ matrix
        ((2, 3), (3,)),  # matrix @ vector
        ((3,), (4, 3, 2)),  # vector @ batch
        ((4, 2, 3), (3,)),  # batch @ vector
        ((2, 1, 2, 3), (4, 3, 5)),  # broadcast batch dims
        ((2, 3), (2, 3, 4)),  # matrix @ batch
    ],
)
def test_every_numpy_matmul_case_forward_and_backward(a_shape, b_shape):
    rng = np.random.default_rng(0)
    a = gradcnn.tensor(rng.standard_normal(a_shape), requires_grad=True)
    b = gradcnn.tensor(rng.standard_normal(b_shape), requires_grad=True)
    out = a @ b
    expected = a._data @ b._data
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-12)
    gradcnn.testing.gradcheck(ops.matmul, (a, b))


@given(matmul_operands())
def test_gradients_have_the_dtype_and_shape_of_the_inputs(pair):
    a = gradcnn.tensor(pair[0].astype(np.float32), requires_grad=True)
    b = gradcnn.tensor(pair[1].astype(np.float32), requires_grad=True)
    out = a @ b
    assert out.dtype == np.float32
    out.sum().backward()
    assert a.grad.shape == a.shape and a.grad.dtype == np.float32
    assert b.grad.shape == b.shape and b.grad.dtype == np.float32


def test_linear_matches_a_hand_computation():
    x = gradcnn.tensor(np.array([[1.0, 2.0]]), requires_grad=True)
    w = gradcnn.tensor(np.array([[1.0, 0.0], [0.5, -1.0], [2.0, 3.0]]), requires_grad=True)
    b = gradcnn.tensor(np.array([0.0, 1.0, -1.0]), requires_grad=True)
    y = ops.linear(x, w, b)
    np.testing.assert_array_equal(y.detach().numpy(), [[1.0, -0.5, 7.0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3.5, 2.0]])
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 2.0]] * 3)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


# -- errors ---------------------------------------------------------------------------------------


def _t(*shape):
    return gradcnn.tensor(np.arange(float(np.prod(shape))).reshape(shape))


BAD_CALLS = [
    ("matmul inner dims differ", lambda: ops.matmul(_t(2, 3), _t(4, 5)), ShapeError,
     r"input \(2, 3\) has 3 columns, other \(4, 5\) has 4 rows"),
    ("matmul vector of the wrong length", lambda: _t(2, 3) @ _t(2), ShapeError, r"\(2, 3\) has 3 .*\(2,\) has 2"),
    ("matmul batch dims do not broadcast", lambda: ops.matmul(_t(2, 2, 3), _t(3, 3, 4)), ShapeError,
     r"batch dims \(2,\) and \(3,\) .*\(2, 2, 3\) and \(3, 3, 4\)"),
    ("matmul of a 0-d input", lambda: ops.matmul(_t(), _t(3)), ShapeError, r"matmul: input is 0-d"),
    ("matmul of a 0-d other", lambda: ops.matmul(_t(3), _t()), ShapeError, r"matmul: other is 0-d"),
    ("matmul of a list", lambda: ops.matmul(_t(2, 2), [[1.0, 0.0], [0.0, 1.0]]), DTypeError, r"other .*list"),
    ("linear features differ", lambda: ops.linear(_t(4, 3), _t(5, 2)), ShapeError,
     r"input \(4, 3\) has 3 features .*weight \(5, 2\) expects 2"),
    ("linear of a 0-d input", lambda: ops.linear(_t(), _t(5, 2)), ShapeError, r"input \(\) has 0 features"),
    ("linear weight not 2-D", lambda: ops.linear(_t(4, 3), _t(2, 5, 3)), ShapeError, r"weight must be 2-D .*\(2, 5, 3\)"),
    ("linear dtypes differ", lambda: ops.linear(_t(4, 3), _t(5, 3).float()), DTypeError, r"linear: input and weight .*same dtype"),
    ("mm dtypes differ", lambda: ops.mm(_t(4, 3), _t(3, 5).float()), DTypeError, r"mm: input and mat2 .*same dtype"),
    ("mm inner dims", lambda: ops.mm(_t(4, 3), _t(4, 5)), ShapeError, r"mm: inner dimensions differ"),
    ("matmul of bools", lambda: ops.matmul(_t(4, 3).bool(), _t(3, 5).bool()), DTypeError, r"matmul: .*bool"),
    ("linear bias of the wrong shape", lambda: ops.linear(_t(4, 3), _t(5, 3), _t(4)), ShapeError,
     r"bias has shape \(4,\), expected \(5,\) .*\(5, 3\)"),
    ("linear bias not a tensor", lambda: ops.linear(_t(4, 3), _t(5, 3), np.ones(5)), DTypeError, r"bias .*ndarray"),
    ("linear weight not a tensor", lambda: ops.linear(_t(4, 3), [[1.0]]), DTypeError, r"weight .*list"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_inputs_raise_specific_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _embedding_reference(indices, weight, padding_idx=None):
    return weight[indices]  # the padding row is looked up like any other; it only gets no gradient


@st.composite
def _embedding_inputs(draw):
    num = draw(st.integers(1, 5))
    idx = draw(arrays(st.tuples(st.integers(0, 3), st.integers(1, 3)), dtype=np.int64, min_value=0, max_value=num - 1))
    weight = draw(arrays((num, draw(st.integers(1, 3)))))
    return idx, weight


# padding_idx is tested below: its row deliberately gets no gradient, so finite differences (which
# see the row's values in the output) disagree with it by design.
test_embedding = op_test(ops.embedding, _embedding_reference, _embedding_inputs())


def test_embedding_rejects_out_of_range_and_float_indices():
    w = gradcnn.ones(4, 2)
    with pytest.raises(IndexOutOfRangeError, match=r"index 4 is outside \[0, 4\)"):
        ops.embedding(gradcnn.tensor([0, 4]), w)
    with pytest.raises(DTypeError, match="integer indices, got float32"):
        ops.embedding(gradcnn.tensor([0.0]), w)


def test_embedding_padding_row_gets_no_gradient_but_keeps_its_values():
    w = gradcnn.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    y = ops.embedding(gradcnn.tensor([0, 1, 0, 2]), w, padding_idx=-3)  # -3 is row 0
    np.testing.assert_array_equal(y.detach().numpy(), [[1, 2], [3, 4], [1, 2], [5, 6]])
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[0, 0], [1, 1], [1, 1]])


@pytest.mark.parametrize("padding_idx", [3, -4, 1.0, True])
def test_embedding_rejects_padding_idx_outside_the_table(padding_idx):
    with pytest.raises((IndexOutOfRangeError, DTypeError), match="padding_idx"):
        ops.embedding(gradcnn.tensor([0]), gradcnn.ones(3, 2), padding_idx=padding_idx)


# -- dot, mm, bmm, outer -------------------------------------------------------------------------


@st.composite
def _vectors(draw):
    n = draw(st.integers(1, 5))
    return draw(arrays((n,))), draw(arrays((n,)))


@st.composite
def _batched(draw):
    b, n, k, m = (draw(st.integers(1, 3)) for _ in range(4))
    return draw(arrays((b, n, k))), draw(arrays((b, k, m)))


@st.composite
def _matrices(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    return draw(arrays((n, k))), draw(arrays((k, m)))


test_dot = op_test(ops.dot, np.dot, _vectors())
test_mm = op_test(ops.mm, np.matmul, _matrices())
test_bmm = op_test(ops.bmm, np.matmul, _batched())
test_outer = op_test(ops.outer, np.outer, _vectors())


@pytest.mark.parametrize("call, message", [
    (lambda: ops.dot(gradcnn.ones(3), gradcnn.ones(4)), "3 elements but other has 4"),
    (lambda: ops.mm(gradcnn.ones(3), gradcnn.ones(3, 1)), "input must be 2-D"),
    (lambda: ops.bmm(gradcnn.ones(2, 3, 4), gradcnn.ones(3, 4, 5)), "batch sizes differ"),
    (lambda: ops.outer(gradcnn.ones(2, 2), gradcnn.ones(2)), "input must be 1-D"),
])
def test_products_check_their_shapes(call, message):
    with pytest.raises(ShapeError, match=message):
        call()


def test_linear_bias_broadcasts_and_a_1d_weight_drops_the_feature_dim():
    x = gradcnn.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    w = gradcnn.tensor(np.ones((4, 3)), requires_grad=True)
    b = gradcnn.tensor(np.array(0.5), requires_grad=True)
    y = ops.linear(x, w, b)
    np.testing.assert_allclose(y.detach().numpy(), np.full((2, 4), 0.5) + np.array([[3.0], [12.0]]))
    y.sum().backward()
    assert b.grad.shape == () and float(b.grad.numpy()) == 8.0
    assert ops.linear(x, gradcnn.tensor(np.ones(3))).shape == (2,)

