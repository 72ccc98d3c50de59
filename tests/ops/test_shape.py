"""Property tests of gradcnn/ops/shape.py: reshapes, permutations, broadcasting, indexing (basic and
advanced, including repeated indices and masks), ``__setitem__``, cat/stack/split/chunk and pad,
against NumPy and finite differences (float64); then the errors users see."""

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import basic_indices

import gradcnn
import gradcnn.ops as ops
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.testing import arrays, floats, op_test
from gradcnn.testing.strategies import array_shapes

# Configs are drawn apart from the arrays, so each test draws arrays from a family that every config
# in its list fits: shapes of 12 elements for reshape, 3-D arrays for dims in -3..2, and so on.

TWELVE = [(12,), (3, 4), (4, 3), (2, 6), (2, 2, 3), (1, 12), (3, 1, 4), (2, 3, 2)]
TWELVE_TARGETS = TWELVE + [(-1,), (3, -1), (-1, 2, 2), (2, -1, 3), (12, 1), (1, -1, 1)]


@st.composite
def shapes_onto(draw, shape, min_dims=0):
    """Shapes that broadcast to ``shape`` (not beyond it): trailing dims, each 1 or its size."""
    k = draw(st.integers(min_dims, len(shape)))
    return tuple(draw(st.sampled_from([1, s])) for s in shape[len(shape) - k :])


def cubes(min_side=1, max_side=4, **kwargs):
    """3-D float arrays."""
    return arrays(array_shapes(min_dims=3, max_dims=3, min_side=min_side, max_side=max_side), **kwargs)


# -- references -------------------------------------------------------------------------------


def reshape(x, shape):
    return ops.reshape(x, shape)


def view(x, shape):
    return ops.view(x, shape)


def reshape_ref(x, shape):
    return np.reshape(x, shape)


def flatten_ref(x, start_dim=0, end_dim=-1):
    s, e = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(x.shape[:s] + (int(np.prod(x.shape[s : e + 1])),) + x.shape[e + 1 :])


def squeeze_ref(x, dim=None):
    if dim is None:
        return np.squeeze(x)
    dims = dim if isinstance(dim, tuple) else (dim,)
    return np.squeeze(x, axis=tuple(d % x.ndim for d in dims if x.shape[d] == 1))


def unsqueeze_ref(x, dim):
    return np.expand_dims(x, dim)


def transpose_ref(x, dim0, dim1):
    return np.swapaxes(x, dim0, dim1)


def permute(x, dims):
    return ops.permute(x, *dims)


def permute_ref(x, dims):
    return np.transpose(x, dims)


def expand(x, shape):
    return ops.expand(x, *shape)


def expand_ref(x, shape):
    lead = len(shape) - x.ndim
    return np.broadcast_to(x, tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape)))


def sum_to_ref(x, shape):
    x = x.sum(axis=tuple(range(x.ndim - len(shape))))
    return x.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)


def getitem(x, key):
    return x[key]


def index(x, idx, layout):
    return x[layout(idx)]


def setitem(x, value, key):
    """``x`` with ``value`` written at ``key``, by ``__setitem__`` on a copy (Tensors or arrays)."""
    y = ops.clone(x) if isinstance(x, gradcnn.Tensor) else x.copy()
    y[key] = value
    return y


def index_put(x, value, key):
    return ops.index_put(x, key, value)


def cat(*tensors, dim):
    return ops.cat(list(tensors), dim)


def cat_ref(*arrays, dim):
    return np.concatenate(arrays, axis=dim)


def stack(*tensors, dim):
    return ops.stack(list(tensors), dim)


def stack_ref(*arrays, dim):
    return np.stack(arrays, axis=dim)


def split_ref(x, split_size_or_sections, dim=0):
    n = x.shape[dim]
    if isinstance(split_size_or_sections, int):
        cuts = range(split_size_or_sections, n, split_size_or_sections)
    else:
        cuts = np.cumsum(split_size_or_sections)[:-1]
    return tuple(np.split(x, cuts, axis=dim))


def chunk_ref(x, chunks, dim=0):
    # torch.chunk: pieces of ceil(n / chunks), so there may be fewer than `chunks` of them.
    n = x.shape[dim]
    return split_ref(x, max(1, -(-n // chunks)), dim)


def pad_ref(x, pad, value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    out = np.full([lo + s + hi for s, (lo, hi) in zip(x.shape, widths)], value, dtype=x.dtype)
    out[tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths))] = x
    return out


# -- reshapes and permutations --------------------------------------------------------------------

test_reshape = op_test(
    reshape, reshape_ref, [arrays(st.sampled_from(TWELVE))],
    kwargs=st.fixed_dictionaries({"shape": st.sampled_from(TWELVE_TARGETS)}),
)
test_view = op_test(
    view, reshape_ref, [arrays(st.sampled_from(TWELVE))],
    kwargs=st.fixed_dictionaries({"shape": st.sampled_from(TWELVE_TARGETS)}),
)
test_reshape_scalar = op_test(
    reshape, reshape_ref, [arrays(st.sampled_from([(), (1,), (1, 1)]))],
    kwargs=st.fixed_dictionaries({"shape": st.sampled_from([(), (1,), (-1,), (1, 1, -1)])}),
)
test_flatten = op_test(
    ops.flatten, flatten_ref, [cubes()],
    kwargs=st.sampled_from([(0, -1), (0, 1), (1, 2), (-2, -1), (1, 1), (0, 0), (2, -1)]).map(
        lambda se: {"start_dim": se[0], "end_dim": se[1]}
    ),
)
test_squeeze = op_test(
    ops.squeeze, squeeze_ref, [cubes(max_side=2)],
    kwargs=st.sampled_from([{}, {"dim": 0}, {"dim": 1}, {"dim": -1}, {"dim": (0, 2)}, {"dim": (-3, -2)}]),
)
test_unsqueeze = op_test(
    ops.unsqueeze, unsqueeze_ref, [cubes()],
    kwargs=st.fixed_dictionaries({"dim": st.integers(-4, 3)}),
)
test_transpose = op_test(
    ops.transpose, transpose_ref, [cubes()],
    kwargs=st.fixed_dictionaries({"dim0": st.integers(-3, 2), "dim1": st.integers(-3, 2)}),
)
test_permute = op_test(
    permute, permute_ref, [cubes()],
    # -1 stands for 2: negative dims are accepted too
    kwargs=st.fixed_dictionaries({"dims": st.sampled_from([[0, 1, 2], [0, 1, -1]]).flatmap(st.permutations)}),
)
test_expand = op_test(
    expand, expand_ref, [arrays(shapes_onto((2, 3, 4)))],
    kwargs=st.fixed_dictionaries({"shape": st.sampled_from([(2, 3, 4), (2, 2, 3, 4)])}),
)
# -1 keeps a size: inputs have all three dims so that -1 always names one.
test_expand_keeping_sizes = op_test(
    expand, expand_ref, [arrays(shapes_onto((2, 3, 4), min_dims=3))],
    kwargs=st.fixed_dictionaries({"shape": st.sampled_from([(-1, -1, 4), (2, -1, -1), (3, -1, -1, -1)])}),
)
test_sum_to = op_test(
    ops.sum_to, sum_to_ref, [arrays((2, 3, 4))],
    kwargs=st.fixed_dictionaries({"shape": shapes_onto((2, 3, 4))}),
)
test_clone = op_test(ops.clone, np.copy, [cubes()])

# -- indexing -------------------------------------------------------------------------------------

# Keys drawn for a (2, 2, 2) array are valid for every larger one: ints in -2..1, any slice,
# negative steps, None and Ellipsis.
test_getitem_basic = op_test(
    getitem, getitem, [cubes(min_side=2)],
    kwargs=st.fixed_dictionaries({"key": basic_indices((2, 2, 2), allow_newaxis=True, allow_ellipsis=True)
                                  .filter(lambda key: not _has_negative_step(key))}),
)


def _has_negative_step(key):
    return any(isinstance(k, slice) and k.step is not None and k.step < 0
               for k in (key if isinstance(key, tuple) else (key,)))


@pytest.mark.parametrize("key", [slice(None, None, -1), (Ellipsis, slice(None, None, -2)), slice(None, None, 0)])
def test_slice_steps_must_be_positive_as_in_torch(key):
    with pytest.raises(ShapeError, match="step must be greater than zero"):
        gradcnn.ones(2, 2)[key]


def test_a_list_of_lists_indexes_like_a_tuple_and_several_ellipses_like_torch():
    x = gradcnn.tensor(np.arange(24.0).reshape(3, 4, 2))
    np.testing.assert_array_equal(x[[[0, 1], [1, 2]]].numpy(), x._data[[0, 1], [1, 2]])
    assert x[..., 0, ...].shape == (3, 4)
    assert x[None, ..., None, ...].shape == (1, 3, 4, 2, 1)


def test_setitem_refuses_values_torch_refuses():
    x = gradcnn.zeros(3, 2)
    for value in (None, "a", [1.0, 2.0], 1j):
        with pytest.raises(DTypeError, match="value"):
            x[0] = value
    with pytest.raises(DTypeError, match="dtype"):
        x[gradcnn.tensor([0, 2])] = gradcnn.tensor([1.0, 2.0], dtype=gradcnn.float64)
    x[gradcnn.tensor([True, False, True])] = gradcnn.tensor(5.0, dtype=gradcnn.float64)  # a fill casts
    x[0] = gradcnn.tensor([1, 2])  # basic indexing casts
    np.testing.assert_array_equal(x.numpy(), [[1, 2], [0, 0], [5, 5]])


def test_shape_ops_refuse_wrong_types_and_repeated_dims():
    x = gradcnn.ones(2, 1, 3)
    for call, error, match in [
        (lambda: ops.flip(x, None), DTypeError, "dims"), (lambda: ops.flip(x, (0, -3)), ShapeError, "multiple"),
        (lambda: ops.squeeze(x, None), DTypeError, "dim"), (lambda: ops.squeeze(x, (1, 1)), ShapeError, "multiple"),
        (lambda: ops.split(x, 1.5), DTypeError, "split_size_or_sections"),
        (lambda: ops.chunk(x, True), DTypeError, "chunks"), (lambda: ops.unflatten(x, 2, 3), DTypeError, "sizes"),
        (lambda: ops.unflatten(x, 2, (-1, -1)), ShapeError, "sizes"), (lambda: ops.permute(x, None), DTypeError, "dims"),
        (lambda: ops.transpose(x, 0, "a"), DTypeError, "dim1"), (lambda: ops.pad(x, None), DTypeError, "pad"),
        (lambda: ops.pad(x, (1.0, 1)), DTypeError, "pad"), (lambda: ops.pad(x, (1, 1), mode=1), DTypeError, "mode"),
        (lambda: ops.pad(x, (1, 1), value=1j), DTypeError, "value"),
        (lambda: ops.meshgrid(gradcnn.ones(2), gradcnn.ones(2, dtype=gradcnn.float64)), DTypeError, "dtype"),
        (lambda: ops.scatter(gradcnn.ones(2), 0, gradcnn.tensor([0]), gradcnn.ones(1, dtype=gradcnn.float64)),
         DTypeError, "dtype"),
        (lambda: ops.scatter_add(gradcnn.ones(3, 4), 0, gradcnn.tensor([[0, 1, 2, 0]]), gradcnn.ones(1, 3)),
         ShapeError, "src"),
    ]:
        with pytest.raises(error, match=match):
            call()


def test_cat_promotes_as_torch():
    a = gradcnn.ones(2, dtype=gradcnn.float32)
    assert ops.cat([a, gradcnn.tensor([1, 2])]).dtype == np.float32  # a float beats any int
    assert ops.cat([a, gradcnn.ones(1, dtype=gradcnn.float64)]).dtype == np.float64
    assert ops.cat([gradcnn.tensor([1]), gradcnn.tensor([True])]).dtype == np.int64


def test_uint8_index_is_a_mask():
    x = gradcnn.tensor(np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(x[gradcnn.tensor(np.array([1, 0, 1], np.uint8))].numpy(), x._data[[0, 2]])
    with pytest.raises(IndexOutOfRangeError):
        x[gradcnn.tensor(np.array([0, 1], np.uint8))]


@st.composite
def with_index_array(draw, max_side=3):
    """A 3-D array and an integer index array valid for every one of its dims (so with repeats)."""
    x = draw(cubes(min_side=2, max_side=max_side))
    m = min(x.shape)
    idx = draw(arrays(array_shapes(min_dims=0, max_dims=2, max_side=4), dtype=np.int64,
                      elements=st.integers(-m, m - 1)))
    return x, idx


# Where the index array goes in the key; each works for NumPy arrays and Tensors alike.
def alone(i):
    return i


def after_slice(i):
    return (slice(None), i)


def after_ellipsis(i):
    return (Ellipsis, i)


def with_newaxis_and_stride(i):
    return (None, i, slice(None, None, 2))


def paired(i):
    return (i, i)


def around_a_slice(i):
    return (i, slice(1, None), i)


test_getitem_index_array = op_test(
    index, index, with_index_array(),
    kwargs=st.fixed_dictionaries({"layout": st.sampled_from(
        [alone, after_slice, after_ellipsis, with_newaxis_and_stride, paired, around_a_slice]
    )}),
)


@st.composite
def with_mask(draw, after_slice=False):
    """A 3-D array and a bool mask over its leading dims (or over those after the first)."""
    x = draw(cubes(min_side=2, max_side=3))
    start = 1 if after_slice else 0
    k = draw(st.integers(1, 3 - start))
    return x, draw(arrays(x.shape[start : start + k], dtype=np.bool_))


test_getitem_mask = op_test(getitem, getitem, with_mask())
test_getitem_mask_after_slice = op_test(index, index, with_mask(after_slice=True),
                                        kwargs={"layout": after_slice})

# -- __setitem__ (index_put) ----------------------------------------------------------------------

# Keys into a (4, 3) array that keep its last dim, so values of shape (), (1,) and (3,) all fit.
ROW_KEYS = [
    0, -1, slice(1, None), slice(None, None, 2), Ellipsis, (slice(1, 3), slice(None)),
    (None, slice(None, None, 2)), np.array([2, 0]), np.array([True, False, False, True]),
]
test_setitem_basic = op_test(
    setitem, setitem, [arrays((4, 3)), arrays(st.sampled_from([(), (1,), (3,)]))],
    kwargs=st.fixed_dictionaries({"key": st.sampled_from(ROW_KEYS)}),
)
test_index_put = op_test(
    index_put, setitem, [arrays((4, 3)), arrays(st.sampled_from([(), (1,), (3,)]))],
    kwargs=st.fixed_dictionaries({"key": st.sampled_from(ROW_KEYS)}),
)


@st.composite
def with_unique_rows(draw):
    """``(x, value, idx)``: distinct rows of ``x`` (some named by negative ints) and a value that
    broadcasts to them; repeated rows would leave the written value undefined."""
    x = draw(arrays(array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4)))
    n = x.shape[0]
    rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    idx = np.array([r - n if draw(st.booleans()) else r for r in rows])
    value = draw(arrays(shapes_onto((len(rows), x.shape[1]))))
    return x, value, idx


@st.composite
def with_mask_and_value(draw):
    x = draw(arrays(array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4)))
    mask = draw(arrays(x.shape, dtype=np.bool_))
    value = draw(arrays(shapes_onto((int(mask.sum()),))))
    return x, value, mask


test_setitem_index_array = op_test(setitem, setitem, with_unique_rows())
test_setitem_mask = op_test(setitem, setitem, with_mask_and_value())

# -- joining and splitting ------------------------------------------------------------------------


@st.composite
def same_but(draw, dim, equal=False):
    """1 to 3 arrays (2-D or 3-D) with equal shapes except, unless ``equal``, along ``dim``."""
    shape = list(draw(array_shapes(min_dims=2, max_dims=3, max_side=3)))
    out = []
    for _ in range(draw(st.integers(1, 3))):
        if not equal:
            shape[dim] = draw(st.integers(0, 3))
        out.append(draw(arrays(tuple(shape))))
    return tuple(out)


test_cat_first_dim = op_test(cat, cat_ref, same_but(0), kwargs={"dim": 0})
test_cat_last_dim = op_test(cat, cat_ref, same_but(-1), kwargs={"dim": -1})
test_cat_middle_dim = op_test(cat, cat_ref, same_but(1), kwargs={"dim": 1})
test_stack = op_test(
    stack, stack_ref, same_but(0, equal=True).filter(lambda a: a[0].ndim == 2),
    kwargs=st.fixed_dictionaries({"dim": st.integers(-3, 2)}),
)

SECTIONS = [1, 2, 3, 5, 7, [5], [2, 3], [1, 0, 4], [0, 5], [1, 1, 1, 2]]
test_split = op_test(
    ops.split, split_ref, [arrays(st.sampled_from([(5,), (5, 2), (5, 1, 3)]))],
    kwargs=st.fixed_dictionaries({"split_size_or_sections": st.sampled_from(SECTIONS)}),
)
test_split_last_dim = op_test(
    ops.split, split_ref, [arrays(st.sampled_from([(5,), (2, 5), (3, 1, 5)]))],
    kwargs=st.fixed_dictionaries({"split_size_or_sections": st.sampled_from(SECTIONS), "dim": st.just(-1)}),
)
test_chunk = op_test(
    ops.chunk, chunk_ref, [arrays(array_shapes(min_dims=1, max_dims=3, max_side=6))],
    kwargs=st.fixed_dictionaries({"chunks": st.integers(1, 7), "dim": st.just(0)}),
)
test_pad = op_test(
    ops.pad, pad_ref, [cubes(max_side=3)],
    kwargs=st.fixed_dictionaries({
        "pad": st.sampled_from([(1, 2), (0, 1, 2, 0), (1, 1, 1, 1, 1, 1), (0, 0), (2, 0, 0, 0, 0, 3)]),
        "value": floats(-2, 2),
    }),
)

# -- semantics beyond the property tests ----------------------------------------------------------


def leaf(values):
    return gradcnn.tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_repeated_indices_accumulate_their_gradients():
    x = leaf([10.0, 20.0, 30.0])
    y = x[[0, 2, 0, 0, -1]]
    np.testing.assert_array_equal(y.detach().numpy(), [10, 30, 10, 10, 30])
    y.backward(gradcnn.tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 0.0, 7.0])


def test_mask_from_a_comparison_selects_and_routes_gradients():
    x = leaf([[-1.0, 2.0], [3.0, -4.0]])
    y = x[x > 0]
    np.testing.assert_array_equal(y.detach().numpy(), [2.0, 3.0])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 4.0], [6.0, 0.0]])


def test_setitem_routes_gradients_to_the_tensor_and_the_value():
    x, v = leaf(np.arange(6.0).reshape(2, 3)), leaf([7.0, 8.0])
    y = x * 1.0
    y[:, 1] = v
    y[0, 0] = 5.0
    np.testing.assert_array_equal(y.detach().numpy(), [[5, 7, 2], [3, 8, 5]])
    (y * gradcnn.tensor(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 3], [4, 0, 6]])
    np.testing.assert_array_equal(v.grad.numpy(), [2, 5])


def test_setitem_with_a_broadcast_value_sums_its_gradient():
    x, v = leaf(np.zeros((3, 2))), leaf([[1.0, 2.0]])
    y = x * 1.0
    y[[0, 2]] = v
    y.sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [[2.0, 2.0]])


def test_empty_list_index_selects_nothing():
    x = leaf(np.ones((3, 2)))
    assert x[[]].shape == (0, 2)


def test_chunk_sizes_follow_torch():
    # torch.chunk(torch.arange(n), chunks) gives these sizes
    for n, chunks, sizes in [(5, 3, [2, 2, 1]), (6, 4, [2, 2, 2]), (5, 6, [1] * 5), (6, 5, [2, 2, 2]), (0, 2, [0])]:
        pieces = ops.chunk(gradcnn.arange(n), chunks)
        assert [p.shape[0] for p in pieces] == sizes, (n, chunks)


def test_split_pieces_are_returned_as_a_tuple_of_views_in_order():
    x = leaf(np.arange(10.0).reshape(5, 2))
    a, b = ops.split(x, [2, 3])
    np.testing.assert_array_equal(b.detach().numpy(), x._data[2:])
    (a.sum() + 2 * b.sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy()[:, 0], [1, 1, 2, 2, 2])


def test_T_and_mT_reverse_and_swap_dims():
    x = gradcnn.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.T.numpy(), x._data.T)
    np.testing.assert_array_equal(x.mT.numpy(), np.swapaxes(x._data, -1, -2))


def test_clone_owns_its_memory():
    x = gradcnn.tensor(np.ones(3))
    y = ops.clone(x)
    y._data[0] = 5.0
    assert x._data[0] == 1.0


# -- errors ---------------------------------------------------------------------------------------


def _t(*shape):
    return gradcnn.tensor(np.arange(float(np.prod(shape))).reshape(shape))


def _set(x, key, value):
    x = x * 1.0
    x[key] = value


BAD_CALLS = [
    ("reshape to a wrong size", lambda: _t(2, 3).reshape(4), ShapeError,
     r"shape \(4,\) \(4 elements\) .*\(2, 3\) \(6 elements\)"),
    ("reshape with two -1", lambda: _t(2, 3).reshape(-1, 2, -1), ShapeError, r"only one .*-1.*\(-1, 2, -1\)"),
    ("reshape -1 that does not divide", lambda: _t(2, 3).reshape(-1, 4), ShapeError,
     r"\(-1, 4\) .*\(2, 3\).*6 is not a multiple of 4"),
    ("reshape to a negative size", lambda: _t(2, 3).reshape(-2, -3), ShapeError, r"invalid size -2 .*\(-2, -3\)"),
    ("reshape to a float size", lambda: _t(2, 3).reshape(2.0, 3), DTypeError, r"\(2\.0, 3\)"),
    ("view to a wrong size", lambda: _t(4).view(3), ShapeError, r"\(3,\) .*\(4,\)"),
    ("flatten with start after end", lambda: _t(2, 3, 4).flatten(2, 1), ShapeError, r"start_dim \(2\).*end_dim \(1\)"),
    ("flatten dim out of range", lambda: _t(2, 3).flatten(0, 2), IndexOutOfRangeError, r"flatten: dim 2"),
    ("squeeze dim out of range", lambda: _t(1, 3).squeeze(2), IndexOutOfRangeError, r"squeeze: dim 2"),
    ("unsqueeze dim out of range", lambda: _t(2, 3).unsqueeze(-4), IndexOutOfRangeError,
     r"unsqueeze: dim -4 .*-3 <= dim < 3"),
    ("permute not a permutation", lambda: _t(2, 3, 4).permute(0, 0, 1), ShapeError,
     r"dims \(0, 0, 1\) are not a permutation of 0\.\.2"),
    ("permute too few dims", lambda: _t(2, 3, 4).permute(1, 0), ShapeError, r"2 dims \(1, 0\) .*\(2, 3, 4\)"),
    ("permute dim out of range", lambda: _t(2, 3).permute(0, 2), IndexOutOfRangeError, r"permute: dim 2"),
    ("transpose dim out of range", lambda: _t(2, 3).transpose(0, 5), IndexOutOfRangeError, r"transpose: dim 5"),
    ("expand of a non-1 dim", lambda: _t(2, 3).expand(2, 4), ShapeError,
     r"size 3 at dim 1 \(shape \(2, 3\)\) cannot broadcast to 4"),
    ("expand to fewer dims", lambda: _t(2, 3).expand(3), ShapeError, r"\(3,\) .*\(2, 3\)"),
    ("expand -1 in a new dim", lambda: _t(3).expand(-1, 3), ShapeError, r"-1 .*new .*dim 0.*\(-1, 3\)"),
    ("expand to a negative size", lambda: _t(1).expand(2, -2), ShapeError, r"-2 .*\(2, -2\)"),
    ("cat of mismatched shapes", lambda: ops.cat([_t(2, 3), _t(2, 4)], dim=0), ShapeError,
     r"tensors\[1\] has shape \(2, 4\) .*\(2, 3\).*except in dim 0"),
    ("cat of different ndim", lambda: ops.cat([_t(2, 3), _t(3)]), ShapeError, r"\(3,\).*\(2, 3\)"),
    ("cat of an empty list", lambda: ops.cat([]), ShapeError, r"cat: .*non-empty"),
    ("cat of a tensor, not a list", lambda: ops.cat(_t(2, 3)), DTypeError, r"cat: .*Tensor"),
    ("cat of a non-tensor", lambda: ops.cat([_t(2), [1.0]]), DTypeError, r"tensors\[1\] .*list"),
    ("cat dim out of range", lambda: ops.cat([_t(2, 3), _t(2, 3)], dim=2), IndexOutOfRangeError, r"cat: dim 2"),
    ("cat of 0-d tensors", lambda: ops.cat([_t(), _t()]), ShapeError, r"cat: .*0-d"),
    ("stack of mismatched shapes", lambda: ops.stack([_t(2, 3), _t(3, 2)]), ShapeError,
     r"tensors\[1\] has shape \(3, 2\) .*\(2, 3\)"),
    ("stack dim out of range", lambda: ops.stack([_t(2), _t(2)], dim=2), IndexOutOfRangeError, r"stack: dim 2"),
    ("split sections not summing", lambda: ops.split(_t(5, 3), [2, 2]), ShapeError,
     r"sections \[2, 2\] add up to 4, .*\(5, 3\)\) has size 5"),
    ("split into negative sections", lambda: ops.split(_t(5), [6, -1]), ShapeError, r"\[6, -1\]"),
    ("split size 0", lambda: ops.split(_t(4), 0), ShapeError, r"split_size must be positive \(split_size_or_sections=0\)"),
    ("chunk into 0 pieces", lambda: ops.chunk(_t(4), 0), ShapeError, r"chunks must be >= 1, got chunks=0"),
    ("index out of range", lambda: _t(3)[5], IndexOutOfRangeError, r"index 5 .*size 3.*\(3,\)"),
    ("negative index out of range", lambda: _t(2, 3)[:, -4], IndexOutOfRangeError, r"-4 .*size 3.*\(2, 3\)"),
    ("index array out of range", lambda: _t(3)[[0, 7]], IndexOutOfRangeError, r"7 .*size 3"),
    ("too many indices", lambda: _t(3)[0, 0], IndexOutOfRangeError, r"too many indices.*\(3,\)"),
    ("mask of the wrong shape", lambda: _t(3)[np.array([True, False])], IndexOutOfRangeError, r"3.*2"),
    ("float index array", lambda: _t(3)[np.array([0.0, 1.0])], DTypeError, r"getitem: .*float64 .*\(3,\)"),
    ("float index tensor", lambda: _t(3)[_t(2)], DTypeError, r"float64"),
    ("float index", lambda: _t(3)[1.5], DTypeError, r"getitem: .*1\.5 .*\(3,\)"),
    ("string index", lambda: _t(3)["a"], DTypeError, r"getitem: .*'a'"),
    ("setitem value of the wrong shape", lambda: _set(_t(2, 3), 0, _t(4)), ShapeError,
     r"value of shape \(4,\) .*region of shape \(3,\) \(tensor shape \(2, 3\)\)"),
    ("setitem index out of range", lambda: _set(_t(2, 3), 2, 0.0), IndexOutOfRangeError,
     r"__setitem__: index 2 .*size 2"),
    ("setitem with a float index array", lambda: _set(_t(2, 3), np.array([0.5]), 0.0), DTypeError,
     r"__setitem__: .*float64"),
    ("pad of odd length", lambda: ops.pad(_t(2, 3), (1, 2, 3)), ShapeError, r"pad \(1, 2, 3\) .*\(2, 3\)"),
    ("pad of more dims than the input", lambda: ops.pad(_t(3), (1, 1, 1, 1)), ShapeError,
     r"at most 1 dims .*\(3,\)"),
    ("pad cropping below zero", lambda: ops.pad(_t(2, 3), (1, -5)), ShapeError, r"dim 1 of size 3 negative \(-1\)"),
    ("pad in reflect mode", lambda: ops.pad(_t(2, 3), (1, 1), mode="reflect"), ShapeError, r"'reflect'"),
    ("pad of a non-tensor", lambda: ops.pad(np.ones(3), (1, 1)), DTypeError, r"pad: .*ndarray"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS])
def test_bad_inputs_raise_specific_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- gather, scatter, one_hot, unflatten, meshgrid, flip, repeat, t ---------------------------------


@st.composite
def _gather_case(draw):
    x = draw(arrays(min_dims=1, max_dims=3, max_side=4))
    dim = draw(st.integers(0, x.ndim - 1))
    shape = tuple(draw(st.integers(1, 4)) if d == dim else draw(st.integers(1, n)) for d, n in enumerate(x.shape))
    index = draw(arrays(shape, dtype=np.int64, min_value=0, max_value=x.shape[dim] - 1))
    return (x, index), {"dim": dim}


def _gather_ref(x, index, dim):
    cut = x[tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))]
    return np.take_along_axis(cut, index, axis=dim)


test_gather = op_test(lambda x, i, dim: ops.gather(x, dim, i), _gather_ref, cases=_gather_case(), second_order=True)


@st.composite
def _scatter_case(draw):
    x = draw(arrays(min_dims=1, max_dims=3, max_side=4))
    dim = draw(st.integers(0, x.ndim - 1))
    # Distinct positions along dim for every other coordinate, so each written value is well
    # defined (PyTorch leaves repeated positions undefined): the first k of a random order.
    keys = draw(arrays(x.shape, elements=st.floats(0, 1), unique=True))
    k = draw(st.integers(1, x.shape[dim]))
    order = np.argsort(keys, axis=dim)
    index = order[tuple(slice(0, k) if d == dim else slice(None) for d in range(x.ndim))]
    src = draw(arrays(index.shape))
    return (x, index, src), {"dim": dim}


def _scatter_ref(x, index, src, dim):
    out = x.copy()
    np.put_along_axis(out, index, src, axis=dim)
    return out


test_scatter = op_test(lambda x, i, s, dim: ops.scatter(x, dim, i, s), _scatter_ref, cases=_scatter_case())
test_scatter_add = op_test(
    lambda x, i, s, dim: ops.scatter_add(x, dim, i, s),
    lambda x, i, s, dim: x + _adjoint(s, i, dim, x.shape), cases=_scatter_case(),
)


def _adjoint(src, index, dim, shape):
    out = np.zeros(shape)
    grids = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    np.add.at(out, tuple(grids), src)
    return out


test_flip = op_test(lambda x: ops.flip(x, (0,)), lambda a: a[::-1], [arrays(min_dims=1, max_dims=3, max_side=4)])
test_repeat = op_test(lambda x: ops.repeat(x, 2, 1, 3), lambda a: np.tile(a, (2, 1, 3)),
                      [arrays(min_dims=1, max_dims=3, max_side=3)])
test_t = op_test(ops.t, lambda a: a.T, [arrays(max_dims=2, max_side=4)])
test_unflatten = op_test(lambda x: ops.unflatten(x, 0, (2, -1)), lambda a: a.reshape((2, -1) + a.shape[1:]),
                         [arrays((4, 3))])


def test_gather_scatter_one_hot_meshgrid_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(3, 4)
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(ops.gather(gradcnn.tensor(x), 1, gradcnn.tensor(idx)).numpy(),
                                  torch.gather(torch.tensor(x), 1, torch.tensor(idx)).numpy())
    np.testing.assert_array_equal(
        ops.scatter(gradcnn.tensor(x), 1, gradcnn.tensor(idx), value=-1.0).numpy(),
        torch.tensor(x).scatter(1, torch.tensor(idx), -1.0).numpy())
    np.testing.assert_array_equal(ops.one_hot(gradcnn.tensor([0, 2, 1])).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor([0, 2, 1])).numpy())
    for indexing in ("ij", "xy"):
        ours = ops.meshgrid(gradcnn.arange(3), gradcnn.arange(2), indexing=indexing)
        theirs = torch.meshgrid(torch.arange(3), torch.arange(2), indexing=indexing)
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: ops.gather(gradcnn.ones(3), 0, gradcnn.tensor([3])), IndexOutOfRangeError, "index 3 is out of bounds"),
    (lambda: ops.gather(gradcnn.ones(3), 0, gradcnn.tensor([0.0])), DTypeError, "integer tensor"),
    (lambda: ops.gather(gradcnn.ones(2, 2), 0, gradcnn.tensor([0])), ShapeError, "as many dims"),
    (lambda: ops.scatter(gradcnn.ones(3), 0, gradcnn.tensor([0])), DTypeError, "exactly one of src"),
    (lambda: ops.one_hot(gradcnn.tensor([3]), 3), IndexOutOfRangeError, r"\[0, 3\)"),
    (lambda: ops.unflatten(gradcnn.ones(6), 0, (4, -1)), ShapeError, r"sizes \(4, -1\) is invalid for dim 0"),
    (lambda: ops.t(gradcnn.ones(2, 2, 2)), ShapeError, "<= 2 dims"),
    (lambda: ops.repeat(gradcnn.ones(2, 2), 2), ShapeError, "at least one per dim"),
])
def test_bad_arguments_are_typed_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_gather_index_changed_in_place_before_backward_is_an_error():
    x = gradcnn.ones(3, requires_grad=True)
    i = gradcnn.tensor([0, 1])
    y = ops.gather(x, 0, i)
    i.add_(1)
    with pytest.raises(gradcnn.errors.AutogradError, match="modified in place"):
        y.sum().backward()


def test_negative_pad_crops_and_value_none_pads_zeros_as_in_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(3, 4)
    for pad in [(-1, 2), (1, -2, -1, 1), (0, 0, -1, -1)]:
        ours = ops.pad(gradcnn.tensor(x), pad, value=None).numpy()
        theirs = torch.nn.functional.pad(torch.tensor(x), pad, value=None).numpy()
        np.testing.assert_array_equal(ours, theirs)



def test_one_hot_is_in_the_functional_namespace():
    import gradcnn.nn.functional as F

    np.testing.assert_array_equal(F.one_hot(gradcnn.tensor([0, 2]), num_classes=3).numpy(), [[1, 0, 0], [0, 0, 1]])
    assert gradcnn.functional.one_hot is F.one_hot
