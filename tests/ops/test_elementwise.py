"""Property tests of gradcnn/ops/elementwise.py: forward against NumPy, backward against finite
differences (float64), broadcasting for every binary op, and the errors users see."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.ops as ops
from gradcnn.errors import DeviceError, DTypeError, ShapeError
from gradcnn.testing import arrays, floats, op_test
from gradcnn.testing.strategies import mutually_broadcastable_shapes

# -- strategies ---------------------------------------------------------------------------------


def _shapes(n):
    return mutually_broadcastable_shapes(num_shapes=n, max_dims=3, min_side=1, max_side=4)


@st.composite
def broadcasting(draw, *elements, dtypes=None):
    """One array per strategy in ``elements``, of mutually broadcastable shapes."""
    shapes = draw(_shapes(len(elements))).input_shapes
    dtypes = dtypes or (np.float64,) * len(elements)
    return tuple(draw(arrays(s, dtype=d, elements=e)) for s, d, e in zip(shapes, dtypes, elements))


# Multiples of 1/8: distinct values stay 0.125 apart, so maximum/minimum never meet a tie or a near
# tie within the finite-difference step.
SPACED = st.integers(-80, 80).map(lambda i: i / 8)


@st.composite
def distinct_pair(draw):
    """Two arrays of broadcastable shapes whose elements are all different from each other."""
    shapes = draw(_shapes(2)).input_shapes
    sizes = [int(np.prod(s)) for s in shapes]
    values = draw(st.lists(SPACED, min_size=sum(sizes), max_size=sum(sizes), unique=True))
    return (
        np.array(values[: sizes[0]], dtype=np.float64).reshape(shapes[0]),
        np.array(values[sizes[0] :], dtype=np.float64).reshape(shapes[1]),
    )


SMALL = dict(max_dims=3, max_side=4)
NONZERO = floats(-5, 5, avoid=(0,), margin=0.5)
POSITIVE = floats(0.5, 3)


# -- references and operand forms -----------------------------------------------------------------
# Written with operators, these run on Tensors (as the op) and on NumPy arrays (as the reference).


def radd(x, c):
    return c + x


def rsub(x, c):
    return c - x


def rmul(x, c):
    return c * x


def rdiv(x, c):
    return c / x


def div_scalar(x, c):
    return x / c


def pow_scalar(x, exponent):
    return x**exponent


def rpow(x, base):
    return base**x


def sigmoid_ref(x):
    return 1.0 / (1.0 + np.exp(-x))


def relu_ref(x):
    return np.where(x > 0, x, 0.0)


def clamp_ref(x, min=None, max=None):
    return np.clip(x, min, max)


def cast_ref(x, dtype):
    return x.astype(dtype)


# -- binary ops, broadcasting -------------------------------------------------------------------

test_add = op_test(ops.add, np.add, broadcasting(floats(), floats()))
test_sub = op_test(ops.sub, np.subtract, broadcasting(floats(), floats()))
test_mul = op_test(ops.mul, np.multiply, broadcasting(floats(), floats()), second_order=True)
test_div = op_test(ops.div, np.divide, broadcasting(floats(), NONZERO), second_order=True)
test_pow_tensor_tensor = op_test(
    ops.pow, np.power, broadcasting(POSITIVE, floats(-2, 2)), second_order=True
)
test_maximum = op_test(ops.maximum, np.maximum, distinct_pair())
test_minimum = op_test(ops.minimum, np.minimum, distinct_pair())
test_where = op_test(
    ops.where,
    np.where,
    broadcasting(st.booleans(), floats(), floats(), dtypes=(np.bool_, np.float64, np.float64)),
)

# -- binary ops with a Python number on either side ---------------------------------------------

SCALAR = st.fixed_dictionaries({"c": floats(-5, 5)})
NONZERO_SCALAR = st.fixed_dictionaries({"c": NONZERO})

test_radd = op_test(radd, radd, [arrays(**SMALL)], kwargs=SCALAR)
test_rsub = op_test(rsub, rsub, [arrays(**SMALL)], kwargs=SCALAR)
test_rmul = op_test(rmul, rmul, [arrays(**SMALL)], kwargs=SCALAR)
test_rdiv = op_test(rdiv, rdiv, [arrays(elements=NONZERO, **SMALL)], kwargs=SCALAR)
test_div_scalar = op_test(div_scalar, div_scalar, [arrays(**SMALL)], kwargs=NONZERO_SCALAR)
test_pow_tensor_scalar = op_test(
    pow_scalar,
    pow_scalar,
    [arrays(min_value=0.5, max_value=3, **SMALL)],
    kwargs=st.fixed_dictionaries({"exponent": floats(-3, 3)}),
    second_order=True,
)
# Integer exponents are defined for negative bases too.
test_pow_tensor_int = op_test(
    pow_scalar,
    pow_scalar,
    [arrays(elements=floats(-3, 3, avoid=(0,), margin=0.5), **SMALL)],
    kwargs=st.fixed_dictionaries({"exponent": st.integers(-3, 3)}),
    second_order=True,
)
test_pow_scalar_tensor = op_test(
    rpow,
    rpow,
    [arrays(min_value=-3, max_value=3, **SMALL)],
    kwargs=st.fixed_dictionaries({"base": floats(0.5, 4)}),
    second_order=True,
)

# -- unary ops ----------------------------------------------------------------------------------

test_neg = op_test(ops.neg, np.negative, [arrays(**SMALL)])
test_abs = op_test(ops.abs, np.abs, [arrays(avoid=(0,), **SMALL)])
test_exp = op_test(ops.exp, np.exp, [arrays(min_value=-5, max_value=3, **SMALL)], second_order=True)
test_log = op_test(ops.log, np.log, [arrays(min_value=0.1, max_value=10, **SMALL)], second_order=True)
test_log1p = op_test(ops.log1p, np.log1p, [arrays(min_value=-0.5, max_value=10, **SMALL)])
test_sqrt = op_test(ops.sqrt, np.sqrt, [arrays(min_value=0.1, max_value=10, **SMALL)], second_order=True)
test_square = op_test(ops.square, np.square, [arrays(**SMALL)])
test_sigmoid = op_test(ops.sigmoid, sigmoid_ref, [arrays(**SMALL)], second_order=True)
test_tanh = op_test(ops.tanh, np.tanh, [arrays(min_value=-4, max_value=4, **SMALL)], second_order=True)
test_relu = op_test(ops.relu, relu_ref, [arrays(avoid=(0,), **SMALL)])
test_clamp = op_test(
    ops.clamp,
    clamp_ref,
    [arrays(avoid=(-1.0, 2.0), **SMALL)],
    kwargs=st.sampled_from([{"min": -1.0, "max": 2.0}, {"min": -1.0}, {"max": 2.0}]),
)
# float32 outputs round at ~1e-7 relative, hence the wider step and tolerance.
test_cast = op_test(
    ops.cast,
    cast_ref,
    [arrays(**SMALL)],
    kwargs=st.sampled_from([{"dtype": np.float32}, {"dtype": np.float64}]),
    eps=1e-3,
    grad_atol=1e-3,
)
test_cast_to_int = op_test(
    ops.cast,
    cast_ref,
    [arrays(**SMALL)],
    kwargs=st.sampled_from([{"dtype": np.int64}, {"dtype": np.int32}, {"dtype": np.bool_}]),
    check_grad=False,
)

# -- semantics beyond the property tests ----------------------------------------------------------


def leaf(values, dtype=np.float64):
    return gradcnn.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def test_ndarray_operands_on_either_side_are_constants():
    x = leaf([1.0, 2.0, 3.0])
    arr = np.array([[2.0], [4.0]])
    out = arr * x + x / arr - arr
    np.testing.assert_allclose(out.detach().numpy(), arr * x._data + x._data / arr - arr)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full(3, 6.0 + 0.75))


def test_ties_split_the_gradient_of_maximum_and_minimum():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 0.0, 3.0])
    (ops.maximum(a, b) + 2 * ops.minimum(a, b)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.5, 1.0, 1.5])
    np.testing.assert_allclose(b.grad.numpy(), [1.5, 2.0, 1.5])


def test_kinks_take_the_documented_one_sided_value():
    x = leaf([0.0, -1.0, 2.0])
    (ops.abs(x) + ops.relu(x) + ops.clamp(x, -1.0, 2.0)).sum().backward()
    # abs and relu have slope 0 at 0; clamp passes the gradient at its bounds.
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 3.0])


def test_pow_gradient_with_respect_to_exponent_is_zero_at_zero_base():
    base, exponent = leaf([0.0, 2.0]), leaf([2.0, 3.0])
    (base**exponent).sum().backward()
    np.testing.assert_allclose(exponent.grad.numpy(), [0.0, 8.0 * np.log(2.0)])
    assert np.isfinite(base.grad.numpy()).all()


def test_sigmoid_saturates_without_overflow():
    x = leaf([-1000.0, 0.0, 1000.0])
    y = ops.sigmoid(x)
    np.testing.assert_allclose(y.detach().numpy(), [0.0, 0.5, 1.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.25, 0.0])


def test_cast_round_trip_returns_gradients_in_the_input_dtype():
    x = leaf([1.5, -2.25])
    y = ops.cast(x, np.float32)
    assert y.dtype == np.float32 and y.requires_grad
    (y * 2.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    assert ops.cast(x, np.float64) is x


def test_cast_to_integer_is_not_differentiable():
    x = leaf([1.5, 2.5])
    y = x.long()
    assert y.dtype == np.int64 and not y.requires_grad and y.grad_fn is None
    np.testing.assert_array_equal(y.numpy(), [1, 2])
    assert not x.bool().requires_grad


def test_unary_math_promotes_integer_tensors_to_float32():
    t = gradcnn.tensor([1, 4, 9])
    assert ops.sqrt(t).dtype == np.float32
    np.testing.assert_allclose(ops.sqrt(t).numpy(), [1.0, 2.0, 3.0])


@given(broadcasting(SPACED, SPACED))
def test_comparisons_return_bool_tensors_like_numpy(pair):
    a, b = pair
    ta, tb = gradcnn.tensor(a), gradcnn.tensor(b, requires_grad=True)
    for op, ref in [
        (ops.lt, np.less), (ops.le, np.less_equal), (ops.gt, np.greater),
        (ops.ge, np.greater_equal), (ops.eq, np.equal), (ops.ne, np.not_equal),
    ]:
        out = op(ta, tb)
        assert out.dtype == np.bool_ and not out.requires_grad
        assert out.shape == np.broadcast_shapes(a.shape, b.shape)
        np.testing.assert_array_equal(out.numpy(), ref(a, b))
    np.testing.assert_array_equal((ta < 0.5).numpy(), a < 0.5)
    np.testing.assert_array_equal((ta == tb).numpy(), a == b)


@given(arrays(elements=st.sampled_from([-2.0, -0.5, 0.0, 0.5, 3.0]), **SMALL))
def test_sign(a):
    out = ops.sign(gradcnn.tensor(a, requires_grad=True))
    assert not out.requires_grad and out.shape == a.shape
    np.testing.assert_array_equal(out.numpy(), np.sign(a))


# -- errors ---------------------------------------------------------------------------------------


def _t(*shape):
    return gradcnn.tensor(np.arange(float(np.prod(shape))).reshape(shape))


BAD_CALLS = [
    ("add of non-broadcastable shapes", lambda: ops.add(_t(2, 3), _t(4)), ShapeError, r"add.*\(2, 3\).*\(4,\)"),
    ("mul of non-broadcastable shapes", lambda: _t(2, 3) * _t(3, 2), ShapeError, r"mul.*\(2, 3\).*\(3, 2\)"),
    ("sub of non-broadcastable shapes", lambda: _t(5) - _t(2), ShapeError, r"sub.*\(5,\).*\(2,\)"),
    ("pow of non-broadcastable shapes", lambda: _t(2) ** _t(3), ShapeError, r"pow.*\(2,\).*\(3,\)"),
    ("maximum of non-broadcastable", lambda: ops.maximum(_t(2, 2), _t(3)), ShapeError, r"maximum.*\(2, 2\).*\(3,\)"),
    ("where of non-broadcastable", lambda: ops.where(np.ones((2, 1), bool), _t(2, 3), _t(4)), ShapeError,
     r"where.*\(2, 1\).*\(2, 3\).*\(4,\)"),
    ("add of a string", lambda: ops.add(_t(2), "1"), DTypeError, r"add.*str"),
    ("mul of a list", lambda: ops.mul(_t(2), [1.0, 2.0]), DTypeError, r"mul.*list"),
    ("exp of a list", lambda: ops.exp([1.0]), DTypeError, r"exp.*list"),
    ("where with a float condition", lambda: ops.where(_t(2), _t(2), _t(2)), DTypeError, r"where.*float64"),
    ("where with an int condition", lambda: ops.where(np.array([1, 0]), _t(2), 0.0), DTypeError, r"where.*int64"),
    ("clamp without bounds", lambda: ops.clamp(_t(3)), DTypeError, r"clamp.*min and max"),
    ("clamp with a string bound", lambda: ops.clamp(_t(3), max="1"), DTypeError, r"clamp: max.*str"),
    ("cast to complex", lambda: ops.cast(_t(2), np.complex128), DTypeError, r"complex128"),
    ("cast to a non-dtype", lambda: ops.cast(_t(2), "matrix"), DTypeError, r"'matrix'"),
    ("to an unknown device", lambda: _t(2).to("tpu"), DeviceError, r"'tpu'"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_inputs_raise_specific_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_shape_errors_are_also_value_errors():
    with pytest.raises(ValueError):
        ops.add(_t(2, 3), _t(4))


# -- trigonometric and hyperbolic functions, rounding, predicates, masked_fill ---------------------

test_sin = op_test(ops.sin, np.sin, [arrays(min_value=-4, max_value=4, **SMALL)], second_order=True)
test_cos = op_test(ops.cos, np.cos, [arrays(min_value=-4, max_value=4, **SMALL)], second_order=True)
test_tan = op_test(ops.tan, np.tan, [arrays(min_value=-1.2, max_value=1.2, **SMALL)])
test_asin = op_test(ops.asin, np.arcsin, [arrays(min_value=-0.9, max_value=0.9, **SMALL)], second_order=True)
test_acos = op_test(ops.acos, np.arccos, [arrays(min_value=-0.9, max_value=0.9, **SMALL)])
test_atan = op_test(ops.atan, np.arctan, [arrays(min_value=-4, max_value=4, **SMALL)], second_order=True)
test_sinh = op_test(ops.sinh, np.sinh, [arrays(min_value=-3, max_value=3, **SMALL)])
test_cosh = op_test(ops.cosh, np.cosh, [arrays(min_value=-3, max_value=3, **SMALL)])
test_reciprocal = op_test(
    ops.reciprocal, np.reciprocal, [arrays(**SMALL).filter(lambda a: np.all(np.abs(a) > 0.3))], second_order=True
)
test_rsqrt = op_test(ops.rsqrt, lambda a: 1 / np.sqrt(a), [arrays(min_value=0.2, max_value=5, **SMALL)])


@st.composite
def _masked(draw):
    x = draw(arrays(**SMALL))
    mask = draw(arrays(x.shape, dtype=np.bool_))
    return x, mask


test_masked_fill = op_test(lambda x, m: ops.masked_fill(x, m, -2.5), lambda x, m: np.where(m, -2.5, x), _masked())


@pytest.mark.parametrize("name", ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "floor", "ceil",
                                  "round", "trunc", "isnan", "isinf", "isfinite", "reciprocal", "rsqrt"])
def test_matches_pytorch_including_nan_and_integers(name):
    torch = pytest.importorskip("torch")
    values = np.array([-2.5, -0.5, 0.0, 0.5, 1.5, 2.5, np.nan, np.inf], dtype=np.float32)
    with np.errstate(all="ignore"):  # NaN out of the domain, as in PyTorch, without a warning
        ours = getattr(gradcnn, name)(gradcnn.tensor(values)).numpy()
    theirs = getattr(torch, name)(torch.tensor(values)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, equal_nan=True)
    with np.errstate(all="ignore"):
        got = getattr(gradcnn, name)(gradcnn.tensor([1, 2, 3])).dtype
    assert got == np.dtype(str(getattr(torch, name)(torch.tensor([1, 2, 3])).dtype)[6:])


def test_rounding_is_constant_for_autograd_and_masked_fill_checks_its_mask():
    x = gradcnn.tensor([0.4, 1.6], requires_grad=True)
    assert not gradcnn.floor(x).requires_grad
    with pytest.raises(DTypeError, match="mask must be a bool"):
        ops.masked_fill(x, gradcnn.tensor([1, 0]), 0.0)
    with pytest.raises(ShapeError, match="0-d"):
        ops.masked_fill(x, gradcnn.tensor([True, False]), gradcnn.ones(2))


# -- PyTorch's dtype promotion -------------------------------------------------------------------

PROMOTION = [
    (lambda m: m.tensor([1, 2, 3]) / 2, "an int tensor divided by an int"),
    (lambda m: m.tensor([1, 2, 3]) / 2.0, "an int tensor divided by a float"),
    (lambda m: m.tensor([1.0, 2.0]) * m.tensor(2.0, dtype=m.float64), "float32 times a float64 0-d tensor"),
    (lambda m: m.tensor([1, 2]) * m.tensor(2.5, dtype=m.float64), "int times a float64 0-d tensor"),
    (lambda m: m.tensor([1, 2]) * 2.5, "int times a float"),
    (lambda m: m.tensor([True, False]) + 1, "bool plus an int"),
    (lambda m: m.tensor([1, 2], dtype=m.int32) + 1, "int32 plus an int"),
    (lambda m: m.tensor([1, 2], dtype=m.int32) + m.tensor([1], dtype=m.int64), "int32 plus int64"),
    (lambda m: m.tensor([1.0, 2.0], dtype=m.float16) + m.tensor([1.0]), "float16 plus float32"),
    (lambda m: m.tensor([1, 2]) ** 2, "int to an int power"),
    (lambda m: m.tensor([1, 2]) ** 0.5, "int to a float power"),
    (lambda m: 2.0 ** m.tensor([1, 2]), "a float to an int tensor power"),
    (lambda m: m.tensor([1, 2], dtype=m.uint8) - m.tensor([3], dtype=m.int8), "uint8 minus int8"),
    (lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]), 0.5), "where of an int tensor and a float"),
    (lambda m: m.tensor([1.0, 2.0]) + m.tensor(1, dtype=m.int64), "float32 plus an int64 0-d tensor"),
]


@pytest.mark.parametrize("make, what", PROMOTION, ids=[w for _, w in PROMOTION])
def test_dtype_promotion_follows_pytorch(make, what):
    torch = pytest.importorskip("torch")
    ours, theirs = make(gradcnn), make(torch)
    assert ours.dtype == np.dtype(str(theirs.dtype)[6:]), what
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), theirs.double().numpy(), rtol=1e-6)


def test_result_type_without_torch():
    from gradcnn.ops.elementwise import result_type

    assert result_type(gradcnn.tensor([1, 2]), 2.5) == np.float32
    assert result_type(gradcnn.tensor([1.0]), gradcnn.tensor(1.0, dtype=np.float64)) == np.float32
    assert result_type(gradcnn.tensor([1], dtype=np.int32), gradcnn.tensor([1.0], dtype=np.float16)) == np.float16
    assert result_type(True, 1) == np.int64 and result_type(1, 2.0) == np.float32


# -- %, //, &, |, ^, ~ and their named forms ---------------------------------------------------


OPERATORS = [
    (lambda m: m.tensor([7, -7, 5]) % 3, "int % int"),
    (lambda m: m.tensor([7, -7]) % -3, "a negative divisor gives its sign"),
    (lambda m: m.tensor([7.5, -7.5]) % 2, "float % int"),
    (lambda m: 5 % m.tensor([3, -3]), "int % tensor"),
    (lambda m: m.tensor([7, -7]) // 2, "floor division of ints"),
    (lambda m: m.tensor([7, -7], dtype=m.int32) // 2.5, "int32 // a float is float32"),
    (lambda m: m.tensor(1.0) // 0.1, "floor division rounds as Python does"),
    (lambda m: m.tensor([7, -7]) // m.tensor([2.0, 2.0]), "int tensor // float tensor"),
    (lambda m: (m.tensor([1, 5, 9]) > 2) & (m.tensor([1, 5, 9]) < 8), "& of masks"),
    (lambda m: (m.tensor([1, 5, 9]) > 2) | (m.tensor([1, 5, 9]) < 3), "| of masks"),
    (lambda m: (m.tensor([1, 5, 9]) > 2) ^ (m.tensor([1, 5, 9]) < 8), "^ of masks"),
    (lambda m: ~(m.tensor([1, 5]) > 2), "~ of a mask"),
    (lambda m: m.tensor([6, 3], dtype=m.uint8) & 5, "bitwise & keeps uint8"),
    (lambda m: ~m.tensor([1, 0], dtype=m.uint8), "bitwise ~ of uint8"),
    (lambda m: m.logical_and(m.tensor([1.0, 0.0]), m.tensor([2, 2])), "logical_and of numbers"),
    (lambda m: m.logical_or(m.tensor([0, 0]), m.tensor([0, 3])), "logical_or"),
    (lambda m: m.logical_xor(m.tensor([1, 0]), m.tensor([1, 1])), "logical_xor"),
    (lambda m: m.remainder(m.tensor([-3.0, 3.0]), 2.0), "remainder"),
    (lambda m: m.floor_divide(m.tensor([-3, 3]), 2), "floor_divide"),
    (lambda m: +m.tensor([1, -2]), "unary plus"),
]


@pytest.mark.parametrize("make, what", OPERATORS, ids=[w for _, w in OPERATORS])
def test_operators_match_pytorch(make, what):
    torch = pytest.importorskip("torch", reason="the comparison needs torch")
    ours, theirs = make(gradcnn), make(torch)
    assert ours.dtype == np.dtype(str(theirs.dtype)[6:]), what
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy(), err_msg=what)


def test_operators_without_torch():
    x = gradcnn.tensor([5, -3, 7])
    np.testing.assert_array_equal((x % 2).numpy(), [1, 1, 1])
    np.testing.assert_array_equal((x // 2).numpy(), [2, -2, 3])
    np.testing.assert_array_equal(((x > 0) & (x < 6)).numpy(), [True, False, False])
    np.testing.assert_array_equal((~(x > 0)).numpy(), [False, True, False])
    with pytest.raises(DTypeError, match="needs bool or integer tensors, got float32"):
        gradcnn.ones(2) & gradcnn.ones(2)
    with pytest.raises(DTypeError, match="needs a bool or integer tensor"):
        ~gradcnn.ones(2)
    with pytest.raises(ShapeError, match="do not broadcast"):
        gradcnn.floor_divide(gradcnn.ones(2), gradcnn.ones(3))


@given(broadcasting(st.floats(-4, 4).filter(lambda v: abs(v - round(v)) > 0.05),
                    st.sampled_from([-2.5, -1.5, 1.5, 2.5])))
def test_remainder_gradients(arrays_):
    # d(x % y)/dx = 1 and d(x % y)/dy = -(x // y), summed back over broadcast dims.
    x, y = (gradcnn.tensor(a, requires_grad=True) for a in arrays_)
    (x % y).sum().backward()
    a, b = np.broadcast_arrays(*arrays_)
    np.testing.assert_allclose(x.grad.numpy(), ops.sum_to(gradcnn.tensor(np.ones_like(a)), x.shape).numpy())
    np.testing.assert_allclose(y.grad.numpy(), ops.sum_to(gradcnn.tensor(-np.floor_divide(a, b)), y.shape).numpy())
    np.testing.assert_allclose((x % y).detach().numpy(), np.remainder(a, b))


def test_relu_in_place_writes_into_its_input():
    import gradcnn.nn.functional as F

    x = gradcnn.tensor([-1.0, 2.0])
    y = F.relu(x, inplace=True)
    assert y is x and x.tolist() == [0.0, 2.0]
    a = gradcnn.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    h = a * 2.0
    F.relu(h, inplace=True).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 2.0, 2.0])
    with pytest.raises(Exception, match="leaf tensor that requires grad"):
        F.relu(a, inplace=True)


# -- tensor bounds of clamp, edge values as PyTorch gives them --------------------------------------


@st.composite
def _clamp_triple(draw):
    """Input and two bounds, all 1/8 apart so that no finite-difference step crosses a kink."""
    shapes = draw(_shapes(3)).input_shapes
    sizes = [int(np.prod(s)) for s in shapes]
    values = draw(st.lists(SPACED, min_size=sum(sizes), max_size=sum(sizes), unique=True))
    cut = np.cumsum([0] + sizes)
    return tuple(np.array(values[cut[i] : cut[i + 1]], dtype=np.float64).reshape(shapes[i]) for i in range(3))


test_clamp_tensor_bounds = op_test(
    lambda x, lo, hi: ops.clamp(x, lo, hi), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi), _clamp_triple()
)


def test_clamp_with_min_above_max_gives_max_as_pytorch_does():
    x = leaf([-3.0, 0.5, 3.0])
    y = ops.clamp(x, 2.0, 1.0)
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 1.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_domain_errors_give_nan_and_inf_without_warnings():
    import warnings

    x = gradcnn.tensor(np.array([-1.0, 0.0, 0.5], np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(ops.log(x).numpy()[0]) and ops.log(x).numpy()[1] == -np.inf
        assert np.isnan(ops.sqrt(x).numpy()[0])
        assert ops.reciprocal(x).numpy()[1] == np.inf
        assert np.isnan((x % 0.0).numpy()).all()
        assert np.isinf((x / 0.0).numpy()[0])


def test_integer_division_by_zero_and_bool_subtraction_are_refused():
    with pytest.raises(ShapeError, match="floor_divide.*division by zero"):
        gradcnn.tensor([1, 2]) // 0
    with pytest.raises(ShapeError, match="remainder.*division by zero"):
        gradcnn.tensor([1, 2]) % gradcnn.tensor([1, 0])
    with pytest.raises(DTypeError, match="sub.*bool"):
        gradcnn.ones(2) - gradcnn.tensor(True)
    with pytest.raises(DTypeError, match="abs.*bool"):
        ops.abs(gradcnn.tensor([True]))


def test_abs_saves_its_input_and_one_over_x_its_output():
    from gradcnn.errors import AutogradError

    x0 = gradcnn.tensor([1.0, -2.0], requires_grad=True)
    x = x0 * 1
    y = ops.abs(x)
    x.add_(1.0)
    with pytest.raises(AutogradError, match="in place"):
        y.sum().backward()
    x0 = gradcnn.tensor([1.0, -2.0], requires_grad=True)
    x = x0 * 1
    y = 1.0 / x
    x.add_(1.0)  # 1 / x reads its output in backward, as PyTorch's does
    y.sum().backward()
    np.testing.assert_allclose(x0.grad.numpy(), [-1.0, -0.25])
