"""Property tests of gradcnn/ops/reduction.py: every reduction over ``dim=None``, an int, negative
ints and tuples, with and without ``keepdim``, against NumPy and finite differences (float64)."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import gradcnn
import gradcnn.ops as ops
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.testing import arrays, op_test
from gradcnn.testing.strategies import array_shapes

# -- strategies ---------------------------------------------------------------------------------

# Every dim below is valid for 2-D and 3-D inputs, so the configs can be drawn apart from the arrays.
DIMS = [None, 0, 1, -1, -2, (0, 1), (-1,), (0, -1), (1, 0)]
INT_DIMS = [0, 1, -1, -2]


def configs(dims, **extra):
    """``{"dim": ..., "keepdim": ...}`` dicts, plus any ``extra`` name -> strategy."""
    return st.fixed_dictionaries({"dim": st.sampled_from(dims), "keepdim": st.booleans(), **extra})


def matrices(min_side=1, max_side=4, **kwargs):
    """2-D and 3-D float arrays."""
    return arrays(array_shapes(min_dims=2, max_dims=3, min_side=min_side, max_side=max_side), **kwargs)


# Multiples of 1/8, all different: no ties for the extremes (whose gradient jumps at a tie) and
# no slice of zero variance (where std is not differentiable).
SPACED = st.integers(-80, 80).map(lambda i: i / 8)


def distinct(min_side=1, max_side=4):
    return matrices(min_side, max_side, elements=SPACED, unique=True)


# -- NumPy references ---------------------------------------------------------------------------


def _axis(x, dim):
    # A 0-d tensor accepts dim 0 and -1, as in PyTorch; NumPy wants no axis there.
    return None if x.ndim == 0 else dim


def sum_ref(x, dim=None, keepdim=False):
    return np.sum(x, axis=_axis(x, dim), keepdims=keepdim)


def mean_ref(x, dim=None, keepdim=False):
    return np.mean(x, axis=_axis(x, dim), keepdims=keepdim)


def amax_ref(x, dim=None, keepdim=False):
    return np.max(x, axis=_axis(x, dim), keepdims=keepdim)


def amin_ref(x, dim=None, keepdim=False):
    return np.min(x, axis=_axis(x, dim), keepdims=keepdim)


def max_ref(x, dim, keepdim=False):
    return np.max(x, axis=dim, keepdims=keepdim), np.argmax(x, axis=dim, keepdims=keepdim)


def min_ref(x, dim, keepdim=False):
    return np.min(x, axis=dim, keepdims=keepdim), np.argmin(x, axis=dim, keepdims=keepdim)


def var_ref(x, dim=None, keepdim=False, correction=1):
    return np.var(x, axis=_axis(x, dim), keepdims=keepdim, ddof=correction)


def std_ref(x, dim=None, keepdim=False, correction=1):
    return np.std(x, axis=_axis(x, dim), keepdims=keepdim, ddof=correction)


def logsumexp_ref(x, dim, keepdim=False):
    # Naive on purpose: inputs stay within [-10, 10], where exp cannot overflow.
    return np.log(np.sum(np.exp(x), axis=_axis(x, dim), keepdims=keepdim))


def full_max(x):
    return ops.max(x)


def full_min(x):
    return ops.min(x)


# -- property tests -----------------------------------------------------------------------------

test_sum = op_test(ops.sum, sum_ref, [matrices()], kwargs=configs(DIMS), second_order=True)
test_mean = op_test(ops.mean, mean_ref, [matrices()], kwargs=configs(DIMS), second_order=True)
test_amax = op_test(ops.amax, amax_ref, [distinct()], kwargs=configs(DIMS), second_order=True)
test_amin = op_test(ops.amin, amin_ref, [distinct()], kwargs=configs(DIMS))
test_max_with_dim = op_test(ops.max, max_ref, [distinct()], kwargs=configs(INT_DIMS))
test_min_with_dim = op_test(ops.min, min_ref, [distinct()], kwargs=configs(INT_DIMS))
test_max_of_all = op_test(full_max, np.max, [distinct()])
test_min_of_all = op_test(full_min, np.min, [distinct()])
# Sides of at least 2 leave a degree of freedom with correction=1.
test_var = op_test(
    ops.var, var_ref, [matrices(2, 3)], kwargs=configs(DIMS, correction=st.sampled_from([0, 1])),
    second_order=True,
)
test_std = op_test(
    ops.std, std_ref, [distinct(2, 3)], kwargs=configs(DIMS, correction=st.sampled_from([0, 1])),
)
# logsumexp has no default dim, and refuses dim=None, as in PyTorch.
test_logsumexp = op_test(
    ops.logsumexp, logsumexp_ref, [matrices(max_side=3)], kwargs=configs(DIMS[1:]), second_order=True
)
# 0-d and 1-d inputs: dims 0 and -1 are the only valid ones.
test_sum_low_rank = op_test(
    ops.sum, sum_ref, [arrays(max_dims=1)], kwargs=configs([None, 0, -1, (0,), (-1,)])
)
test_amax_low_rank = op_test(
    ops.amax, amax_ref, [arrays(max_dims=1, elements=SPACED, unique=True)], kwargs=configs([None, 0, -1])
)
test_logsumexp_low_rank = op_test(
    ops.logsumexp, logsumexp_ref, [arrays(max_dims=1)], kwargs=configs([0, -1, (0,)])
)


@st.composite
def with_dim(draw):
    """A 1-D to 3-D array of distinct values and ``None`` or one of its dims."""
    x = draw(arrays(array_shapes(min_dims=1, max_dims=3, max_side=4), elements=SPACED, unique=True))
    return x, draw(st.none() | st.integers(-x.ndim, x.ndim - 1))


@given(with_dim(), st.booleans())
@example((np.array([1.0, 3.0, 2.0]), 0), True)  # a 1-D input keeps its dim
def test_argmax_argmin_match_numpy(x_dim, keepdim):
    x, dim = x_dim
    t = gradcnn.tensor(x, requires_grad=True)
    for op, ref in [(ops.argmax, np.argmax), (ops.argmin, np.argmin)]:
        out = op(t, dim) if dim is None else op(t, dim, keepdim)
        expected = ref(x) if dim is None else ref(x, axis=dim, keepdims=keepdim)
        assert out.dtype == np.int64 and not out.requires_grad
        assert out.shape == np.shape(expected)
        np.testing.assert_array_equal(out.numpy(), expected)


# -- semantics beyond the property tests ----------------------------------------------------------


def leaf(values):
    return gradcnn.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_max_with_dim_returns_values_indices_namedtuple():
    x = leaf([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    out = x.max(dim=1)
    assert isinstance(out, tuple) and out._fields == ("values", "indices")
    values, indices = out
    np.testing.assert_array_equal(values.detach().numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert out.indices.dtype == np.int64 and not out.indices.requires_grad
    assert x.min(dim=0, keepdim=True).values.shape == (1, 3)
    out.values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


def test_max_of_two_tensors_is_elementwise():
    a, b = leaf([1.0, 4.0]), leaf([3.0, 2.0])
    np.testing.assert_array_equal(ops.max(a, b).detach().numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(ops.min(a, b).detach().numpy(), [1.0, 2.0])


def test_ties_split_the_gradient_of_extremes_equally():
    x = leaf([[3.0, 1.0, 3.0, 3.0], [0.0, 2.0, 2.0, -1.0]])
    ops.amax(x, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 0, 1 / 3, 1 / 3], [0, 0.5, 0.5, 0]])
    x.grad = None
    ops.amin(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0, 0], [0, 0, 0, 1.0]])


def test_argmax_picks_the_first_of_ties():
    x = gradcnn.tensor([[2.0, 5.0, 5.0], [1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(ops.argmax(x, 1).numpy(), [1, 0])
    np.testing.assert_array_equal(ops.argmin(x, 1).numpy(), [0, 2])
    assert ops.argmax(x).item() == 1


def test_logsumexp_is_finite_for_large_and_infinite_inputs():
    x = leaf([[1000.0, 1000.0], [-np.inf, 0.0]])
    out = ops.logsumexp(x, dim=1)
    np.testing.assert_allclose(out.detach().numpy(), [1000.0 + np.log(2.0), 0.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 0.5], [0.0, 1.0]])
    all_neg_inf = ops.logsumexp(gradcnn.tensor([-np.inf, -np.inf]), dim=0)
    assert all_neg_inf.item() == -np.inf


def test_integer_and_bool_reductions_promote():
    ints = gradcnn.tensor([[1, 2], [3, 4]])
    assert ops.sum(ints).dtype == np.int64 and ops.sum(ints).item() == 10
    assert ops.sum(gradcnn.tensor([True, True, False])).item() == 2
    assert ops.mean(ints, dtype=np.float32).item() == 2.5
    with pytest.raises(DTypeError, match="mean: input must have a floating dtype"):
        ops.mean(ints)  # PyTorch cannot infer the result's dtype either


def test_empty_reductions_match_pytorch():
    # Without an identity PyTorch refuses (above); with one it answers: NaN for a mean or a variance
    # of no elements, -inf for logsumexp, inf where the correction leaves no degree of freedom.
    with np.errstate(all="raise"):  # and nothing warns on the way
        assert np.isnan(ops.mean(_t(0)).item()) and np.isnan(ops.var(_t(3, 0)).item())
        np.testing.assert_array_equal(ops.mean(_t(2, 0), 1).numpy(), [np.nan, np.nan])
        assert ops.std(_t(0, 3), 0).shape == (3,) and ops.amax(_t(3, 0), 0).shape == (0,)
        np.testing.assert_array_equal(ops.logsumexp(_t(2, 0), 1).numpy(), [-np.inf, -np.inf])
        np.testing.assert_array_equal(ops.var(_t(2, 3), 1, correction=5).numpy(), [np.inf, np.inf])
        assert np.isnan(ops.var(gradcnn.tensor(2.0)).item())
        assert ops.max(_t(3, 0), 0).values.shape == (0,)


def test_var_takes_pytorch_positional_unbiased_and_keepdim():
    x = leaf([[1.0, 2.0, 4.0]])
    np.testing.assert_allclose(ops.var(x, 1, False, True).detach().numpy(), [[np.var([1.0, 2.0, 4.0])]], rtol=1e-12)
    assert ops.var(x, 1, correction=None).item() == pytest.approx(np.var([1.0, 2.0, 4.0], ddof=1))


def test_var_unbiased_flag_matches_correction():
    x = leaf([1.0, 2.0, 4.0])
    assert ops.var(x, unbiased=False).item() == pytest.approx(np.var(x._data))
    assert ops.var(x).item() == pytest.approx(np.var(x._data, ddof=1))
    assert ops.std(x, correction=0).item() == pytest.approx(np.std(x._data))


# -- errors ---------------------------------------------------------------------------------------


def _t(*shape):
    return gradcnn.tensor(np.arange(float(np.prod(shape))).reshape(shape))


BAD_CALLS = [
    ("sum dim out of range", lambda: ops.sum(_t(2, 3), dim=2), IndexOutOfRangeError,
     r"sum: dim 2 .* 2 dimensions .*-2 <= dim < 2"),
    ("mean negative dim out of range", lambda: ops.mean(_t(2, 3), dim=-3), IndexOutOfRangeError, r"mean: dim -3"),
    ("amax dim in a tuple out of range", lambda: ops.amax(_t(2, 3), dim=(0, 5)), IndexOutOfRangeError,
     r"amax: dim 5"),
    ("var dim out of range", lambda: ops.var(_t(4), dim=1), IndexOutOfRangeError, r"var: dim 1 .* 1 dimensions"),
    ("logsumexp dim out of range", lambda: ops.logsumexp(_t(2, 3), dim=-4), IndexOutOfRangeError,
     r"logsumexp: dim -4"),
    ("argmax dim out of range", lambda: ops.argmax(_t(2, 3), dim=3), IndexOutOfRangeError, r"argmax: dim 3"),
    ("max dim out of range", lambda: ops.max(_t(2, 3), dim=2), IndexOutOfRangeError, r"^max: dim 2"),
    ("sum of a dim named twice", lambda: ops.sum(_t(2, 3), dim=(1, -1)), ShapeError, r"sum: dim \(1, -1\) .*twice"),
    ("sum with a float dim", lambda: ops.sum(_t(2, 3), dim=1.0), DTypeError, r"sum: dim must be an int, got 1\.0"),
    ("argmax with a tuple dim", lambda: ops.argmax(_t(2, 3), dim=(0, 1)), DTypeError, r"\(0, 1\)"),
    ("max with a tuple dim", lambda: ops.max(_t(2, 3), dim=(0, 1)), DTypeError, r"^max: dim must be an int, got \(0, 1\)"),
    ("min with a tuple dim", lambda: _t(2, 3).min(dim=(0,)), DTypeError, r"^min: dim must be an int, got \(0,\)"),
    ("amax over an empty dim", lambda: ops.amax(_t(2, 0), dim=1), IndexOutOfRangeError, r"amax: dim 1 .*\(2, 0\)"),
    ("amax of an empty tensor", lambda: ops.amax(_t(2, 0)), ShapeError, r"amax: .*\(2, 0\)"),
    ("argmin of an empty dim", lambda: ops.argmin(_t(2, 0), dim=1), IndexOutOfRangeError, r"argmin: dim 1 .*\(2, 0\)"),
    ("argmax of an empty tensor", lambda: ops.argmax(_t(0)), IndexOutOfRangeError, r"argmax: .*\(0,\)"),
    ("max over an empty dim", lambda: ops.max(_t(3, 0), 1), IndexOutOfRangeError, r"^max: dim 1 .*\(3, 0\)"),
    ("max with dim=None", lambda: ops.max(_t(2, 3), None), DTypeError, r"^max: dim must be an int"),
    ("sum with an int keepdim", lambda: ops.sum(_t(2, 3), 1, 1), DTypeError, r"sum: keepdim must be a bool"),
    ("amax with keepdim=None", lambda: ops.amax(_t(2, 3), 1, None), DTypeError, r"amax: keepdim must be a bool"),
    ("var with unbiased=None", lambda: ops.var(_t(2, 3), 1, None), DTypeError, r"var: unbiased must be a bool"),
    ("std with a str correction", lambda: ops.std(_t(2, 3), correction="a"), DTypeError, r"std: correction must be"),
    ("var of ints", lambda: ops.var(gradcnn.tensor([1, 2, 3])), DTypeError, r"var: input must have a floating"),
    ("std of a dim out of range", lambda: ops.std(_t(3), 1), IndexOutOfRangeError, r"^std: dim 1"),
    ("logsumexp with dim=None", lambda: ops.logsumexp(_t(2, 3), None), DTypeError, r"logsumexp: dim"),
    ("logsumexp with dim=()", lambda: ops.logsumexp(_t(2, 3), ()), ShapeError, r"logsumexp: dim"),
    ("topk with a float k", lambda: ops.topk(_t(3), 1.5), DTypeError, r"topk: k must be an int"),
    ("sort with an int descending", lambda: ops.sort(_t(3), descending=1), DTypeError, r"sort: descending"),
    ("norm of a 0-d tensor over dim 1", lambda: ops.norm(_t(), dim=1), IndexOutOfRangeError, r"^norm: dim 1"),
    ("inf norm of an empty dim", lambda: ops.norm(_t(3, 0), float("inf"), 1), ShapeError, r"norm: the inf norm"),
    ("sum of None", lambda: ops.sum(None), DTypeError, r"sum: input must be a Tensor"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_inputs_raise_specific_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- sort, topk, cumsum, norm, and max/min along a dim ----------------------------------------------

# Values at least 1e-3 apart: finite differences must not reorder them.
DISTINCT = arrays(max_dims=3, max_side=4).filter(
    lambda a: a.ndim >= 1 and (a.size < 2 or np.diff(np.sort(a.reshape(-1))).min() > 1e-3))


def _sort_ref(a, descending=False):
    s = np.sort(a, axis=-1)
    return s[..., ::-1] if descending else s


test_sort_values = op_test(lambda x, **k: ops.sort(x, **k).values, _sort_ref, [DISTINCT],
                           kwargs=st.sampled_from([{}, {"descending": True}]))
test_topk_values = op_test(lambda x: ops.topk(x, 1).values, lambda a: np.sort(a, axis=-1)[..., ::-1][..., :1],
                           [DISTINCT])
test_cumsum = op_test(lambda x: ops.cumsum(x, -1), lambda a: np.cumsum(a, axis=-1) if a.ndim else a,
                      [arrays(max_dims=3, max_side=4)], second_order=True)
test_norm_2 = op_test(lambda x: ops.norm(x), lambda a: np.sqrt((a * a).sum()),
                      [arrays(max_dims=3, max_side=4).filter(lambda a: np.abs(a).sum() > 0.5)])
test_norm_1_dim = op_test(lambda x: ops.norm(x, 1, -1), lambda a: np.abs(a).sum(-1),
                          [arrays(min_dims=1, max_dims=3, max_side=4).filter(lambda a: np.all(np.abs(a) > 0.05))])


def test_sort_and_topk_match_pytorch_with_ties_and_nan():
    torch = pytest.importorskip("torch")
    values = np.array([[3.0, 1.0, 2.0, 1.0, np.nan], [0.0, -1.0, 5.0, 5.0, 2.0]])
    for descending in (False, True):
        ours = ops.sort(gradcnn.tensor(values), 1, descending=descending)
        theirs = torch.sort(torch.tensor(values), dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    ours = ops.topk(gradcnn.tensor(values[1:]), 3)
    theirs = torch.topk(torch.tensor(values[1:]), 3)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())


def test_max_along_a_dim_sends_the_gradient_to_the_returned_index_as_pytorch():
    x = gradcnn.tensor([[2.0, 2.0, 1.0]], requires_grad=True)
    values, indices = gradcnn.max(x, 1)
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0, 0.0]])  # not 0.5 / 0.5
    assert indices.tolist() == [0]


def test_cumsum_of_ints_is_int64_and_norm_variants_match_pytorch():
    torch = pytest.importorskip("torch")
    assert ops.cumsum(gradcnn.tensor([True, True]), 0).dtype == np.int64
    a = np.array([[3.0, -4.0, 0.0], [1.0, 2.0, -2.0]])
    for p in ("fro", 1, 2, 3, float("inf"), float("-inf"), 0):
        np.testing.assert_allclose(ops.norm(gradcnn.tensor(a), p, 1).numpy(),
                                   torch.norm(torch.tensor(a), p, 1).numpy(), rtol=1e-12)
    with pytest.raises(ShapeError, match="k .5. must be an int in"):
        ops.topk(gradcnn.ones(3), 5)


def test_numpy_names_axis_and_keepdims_as_pytorch_takes_them():
    x = gradcnn.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]])
    np.testing.assert_array_equal(x.sum(axis=1).numpy(), [8.0, 7.0])
    np.testing.assert_array_equal(gradcnn.argmax(x, axis=1).numpy(), [1, 0])
    np.testing.assert_array_equal(x.argmax(axis=0).numpy(), [1, 0, 1])
    assert x.mean(axis=0, keepdims=True).shape == (1, 3)
    values, indices = gradcnn.max(x, axis=1)
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert x.softmax(axis=1).shape == (2, 3) and gradcnn.cat([x, x], axis=1).shape == (2, 6)
    assert x.unsqueeze(axis=0).shape == (1, 2, 3) and x.topk(1, axis=1).indices.shape == (2, 1)
    with pytest.raises(TypeError, match="got both 'dim' and its other name 'axis'"):
        x.sum(dim=0, axis=1)


def test_argsort_is_the_indices_of_sort():
    x = gradcnn.tensor([[3.0, 1.0, 2.0, 1.0], [0.0, float("nan"), -1.0, 5.0]])
    for dim, descending in [(-1, False), (1, True), (0, False)]:
        np.testing.assert_array_equal(gradcnn.argsort(x, dim=dim, descending=descending).numpy(),
                                      x.sort(dim, descending).indices.numpy())
    np.testing.assert_array_equal(x.argsort(axis=1).numpy()[0], [1, 3, 2, 0])  # stable among ties
    assert gradcnn.argsort(gradcnn.tensor(2.0)).item() == 0
