"""The convolution and pooling oracles in tests/reference.py, checked by hand and against PyTorch.

The hand-worked cases need only NumPy. The property tests compare with torch.nn.functional in float64
and skip where torch is not installed.
"""

import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.strategies import composite
from reference import (
    ref_adaptive_avg_pool_nd,
    ref_adaptive_max_pool_nd,
    ref_avg_pool_nd,
    ref_conv_nd,
    ref_conv_output_size,
    ref_conv_padding,
    ref_conv_transpose_nd,
    ref_conv_transpose_output_size,
    ref_max_pool_nd,
    ref_pool_output_size,
)

TOL = dict(rtol=1e-12, atol=1e-12)


# --- hand-worked examples -----------------------------------------------------------------------


def test_conv2d_3x3_input_2x2_kernel_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    # out[i, j] = 1*x[i, j] + 2*x[i, j+1] + 3*x[i+1, j] + 4*x[i+1, j+1], plus bias 0.5:
    #   (0,0): 1*1 + 2*2 + 3*4 + 4*5 = 37    (0,1): 1*2 + 2*3 + 3*5 + 4*6 = 47
    #   (1,0): 1*4 + 2*5 + 3*7 + 4*8 = 67    (1,1): 1*5 + 2*6 + 3*8 + 4*9 = 77
    expected = np.array([[37.0, 47.0], [67.0, 77.0]]) + 0.5
    np.testing.assert_array_equal(ref_conv_nd(x, w, np.array([0.5])), expected.reshape(1, 1, 2, 2))


def test_conv_groups_by_hand():
    # Two groups of one channel each: channel 0 only sees weight 0, channel 1 only weight 1.
    x = np.array([[[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]])  # (1, 2, 3)
    w = np.array([[[1.0, 1.0]], [[1.0, -1.0]]])  # (2 out, 1 in per group, k=2)
    # group 0: [1+2, 2+3] = [3, 5]; group 1: [10-20, 20-30] = [-10, -10]
    np.testing.assert_array_equal(ref_conv_nd(x, w, groups=2), [[[3.0, 5.0], [-10.0, -10.0]]])


def test_same_padding_stride_2_even_input():
    # in 6, k 3, stride 2: out = ceil(6/2) = 3; the windows need (3-1)*2 + 3 = 7 positions, so the
    # total padding is 7 - 6 = 1, and the odd zero goes at the end: (0, 1).
    assert ref_conv_padding([6], 3, 2, 1, "same") == [(0, 1)]
    x = np.arange(1.0, 7.0).reshape(1, 1, 6)  # padded: [1 2 3 4 5 6 0]
    w = np.ones((1, 1, 3))
    # windows start at 0, 2, 4: 1+2+3 = 6, 3+4+5 = 12, 5+6+0 = 11
    np.testing.assert_array_equal(ref_conv_nd(x, w, stride=2, padding="same"), [[[6.0, 12.0, 11.0]]])


def test_same_padding_stride_2_odd_input():
    # in 7, k 4, stride 2: out = ceil(7/2) = 4; total = (4-1)*2 + 4 - 7 = 3 -> (1, 2), extra at the end.
    assert ref_conv_padding([7], 4, 2, 1, "same") == [(1, 2)]
    x = np.arange(1.0, 8.0).reshape(1, 1, 7)  # padded: [0 1 2 3 4 5 6 7 0 0]
    out = ref_conv_nd(x, np.ones((1, 1, 4)), stride=2, padding="same")
    # windows start at 0, 2, 4, 6: 0+1+2+3 = 6, 2+3+4+5 = 14, 4+5+6+7 = 22, 6+7+0+0 = 13
    np.testing.assert_array_equal(out, [[[6.0, 14.0, 22.0, 13.0]]])


def test_same_padding_never_negative_and_2d_per_dim():
    # in 5, k 1, stride 3: out = ceil(5/3) = 2 needs (2-1)*3 + 1 = 4 <= 5 positions: no padding.
    assert ref_conv_padding([5], 1, 3, 1, "same") == [(0, 0)]
    # 2-D, per dim: H: in 4, k 3, s 1 -> total 2 -> (1, 1); W: in 5, k 2, d 2 (k_eff 3), s 2 ->
    # out 3, total (3-1)*2 + 3 - 5 = 2 -> (1, 1).
    assert ref_conv_padding([4, 5], (3, 2), (1, 2), (1, 2), "same") == [(1, 1), (1, 1)]
    x, w = np.ones((1, 1, 4, 5)), np.ones((1, 1, 3, 2))
    out = ref_conv_nd(x, w, stride=(1, 2), padding="same", dilation=(1, 2))
    assert out.shape == (1, 1, 4, 3)  # ceil(4/1), ceil(5/2)


def test_full_padding_output_size():
    # in 4, k 3, dilation 2 -> k_eff = 2*(3-1) + 1 = 5, so 4 zeros on each side:
    # out = 4 + 4 + 4 - 5 + 1 = 8 = in + k_eff - 1.
    assert ref_conv_padding([4], 3, 1, 2, "full") == [(4, 4)]
    assert ref_conv_output_size(4, 3, 1, (4, 4), 2) == 8
    out = ref_conv_nd(np.ones((1, 1, 4)), np.ones((1, 1, 3)), padding="full", dilation=2)
    # each output counts the taps (at o-4, o-2, o) that land on the 4 ones
    np.testing.assert_array_equal(out, [[[1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]]])
    assert ref_conv_padding([4], 3, 1, 1, "valid") == [(0, 0)]


def test_conv_transpose_places_kernel_at_stride_positions():
    x = np.array([[1.0, 0.0], [0.0, 2.0]]).reshape(1, 1, 2, 2)
    w = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    # stride 3: size (2-1)*3 + (2-1) + 1 = 5. Pixel (0,0) drops 1*w at rows/cols 0..1, pixel (1,1)
    # drops 2*w at rows/cols 3..4; nothing lands on row/col 2.
    expected = np.zeros((5, 5))
    expected[0:2, 0:2] = w[0, 0]
    expected[3:5, 3:5] = 2 * w[0, 0]
    np.testing.assert_array_equal(ref_conv_transpose_nd(x, w, stride=3)[0, 0], expected)


def test_conv_transpose_dilation_padding_output_padding_by_hand():
    x = np.array([[[1.0]]])  # one pixel
    w = np.array([[[1.0, 2.0, 3.0]]])
    # dilation 2 spreads the taps to 0, 2, 4: [1 0 2 0 3] (size (1-1)*1 + 2*2 + 1 = 5)
    np.testing.assert_array_equal(ref_conv_transpose_nd(x, w, dilation=2), [[[1.0, 0.0, 2.0, 0.0, 3.0]]])
    # padding 1 cuts one from each side: [0 2 0]; output_padding 1 then adds one back at the end,
    # where position 4 (the 3) lands: size 5 - 2 + 1 = 4 -> [0 2 0 3]
    np.testing.assert_array_equal(ref_conv_transpose_nd(x, w, dilation=2, padding=1), [[[0.0, 2.0, 0.0]]])
    out = ref_conv_transpose_nd(x, w, stride=2, dilation=2, padding=1, output_padding=1)
    np.testing.assert_array_equal(out, [[[0.0, 2.0, 0.0, 3.0]]])
    assert ref_conv_transpose_output_size(1, 3, 2, 1, 1, 2) == 4


def test_avg_pool_count_include_pad_on_padded_corner():
    x = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    # k 2, s 2, pad 1: out (2 + 2 - 2)//2 + 1 = 2 per dim. Window (0,0) covers padded rows/cols -1..0,
    # which holds only x[0,0] = 1: 1/4 with the padding counted, 1/1 without.
    # Window (0,1) covers rows -1..0, cols 1..2: only x[0,1] = 2 -> 2/4 or 2/1. Likewise below.
    with_pad = ref_avg_pool_nd(x, 2, 2, 1, count_include_pad=True)
    without = ref_avg_pool_nd(x, 2, 2, 1, count_include_pad=False)
    np.testing.assert_array_equal(with_pad[0, 0], [[0.25, 0.5], [0.75, 1.0]])
    np.testing.assert_array_equal(without[0, 0], [[1.0, 2.0], [3.0, 4.0]])


def test_ceil_mode_drops_a_window_starting_in_the_right_padding():
    # in 5, k 2, s 2, pad 1: floor mode (5 + 2 - 2)//2 + 1 = 3. Rounding up gives ceil(5/2) + 1 = 4,
    # but window 3 would start at padded 3*2 = 6 = in + pad: entirely in the right padding, so dropped.
    assert ref_pool_output_size(5, 2, 2, 1, 1, ceil_mode=False) == 3
    assert ref_pool_output_size(5, 2, 2, 1, 1, ceil_mode=True) == 3
    # Without padding the extra window starts at 4 < 5, inside the input, and is kept: 2 -> 3.
    assert ref_pool_output_size(5, 2, 2, 0, 1, ceil_mode=False) == 2
    assert ref_pool_output_size(5, 2, 2, 0, 1, ceil_mode=True) == 3


def test_ceil_mode_overhang_is_not_in_the_divisor():
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]])
    # k 2, s 2, ceil: windows [3 1], [4 1], [5 | overhang]. The overhang is neither input nor padding,
    # so even with count_include_pad the last divisor is 1: [2, 2.5, 5].
    out = ref_avg_pool_nd(x, 2, ceil_mode=True, count_include_pad=True)
    np.testing.assert_array_equal(out, [[[2.0, 2.5, 5.0]]])
    # pad 1, k 3, s 2, ceil: out (5 + 2 - 3 + 1)//2 + 1 = 3, last start 4 < 5 + 1 so kept.
    # Windows in input coordinates [-1, 2), [1, 4), [3, 6): the last is clipped to [3, 6) by the
    # padded end 5 + 1 = 6, so divisors 3, 3, 3 with padding counted and 2, 3, 2 without.
    np.testing.assert_allclose(
        ref_avg_pool_nd(x, 3, 2, 1, ceil_mode=True, count_include_pad=True), [[[4 / 3, 6 / 3, 6 / 3]]]
    )
    np.testing.assert_allclose(
        ref_avg_pool_nd(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), [[[4 / 2, 6 / 3, 6 / 2]]]
    )


def test_max_pool_values_and_flat_indices_by_hand():
    x = np.array([[[3.0, 1.0, 4.0, 1.0, 5.0]]])
    values, indices = ref_max_pool_nd(x, 2, ceil_mode=True)
    np.testing.assert_array_equal(values, [[[3.0, 4.0, 5.0]]])
    np.testing.assert_array_equal(indices, [[[0, 2, 4]]])
    # 2-D: the index is flat in the unpadded plane, h * W + w; ties keep the first in scan order.
    x2 = np.array([[1.0, 7.0, 2.0], [7.0, 0.0, 9.0]]).reshape(1, 1, 2, 3)
    values, indices = ref_max_pool_nd(x2, 2, stride=1)
    np.testing.assert_array_equal(values[0, 0], [[7.0, 9.0]])
    np.testing.assert_array_equal(indices[0, 0], [[1, 5]])  # (0,1) -> 1, (1,2) -> 1*3 + 2 = 5
    # Padding is -inf, so an all-negative corner still picks the real element.
    values, indices = ref_max_pool_nd(-np.ones((1, 1, 2, 2)), 2, stride=2, padding=1)
    np.testing.assert_array_equal(values[0, 0], -np.ones((2, 2)))
    np.testing.assert_array_equal(indices[0, 0], [[0, 1], [2, 3]])


def test_adaptive_windows_overlap_by_hand():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    # in 5 -> out 3: [floor(0*5/3), ceil(1*5/3)) = [0, 2), [floor(5/3), ceil(10/3)) = [1, 4),
    # [floor(10/3), ceil(15/3)) = [3, 5): windows [1 2], [2 3 4], [4 5] overlap.
    np.testing.assert_array_equal(ref_adaptive_avg_pool_nd(x, 3), [[[1.5, 3.0, 4.5]]])
    values, indices = ref_adaptive_max_pool_nd(x, 3)
    np.testing.assert_array_equal(values, [[[2.0, 4.0, 5.0]]])
    np.testing.assert_array_equal(indices, [[[1, 3, 4]]])
    # output size 1 is the global average
    np.testing.assert_array_equal(ref_adaptive_avg_pool_nd(x.reshape(1, 1, 1, 5), 1), [[[[3.0]]]])


# --- property tests against torch.nn.functional -------------------------------------------------


def _random(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


seeds = st.integers(0, 2**32 - 1)


@composite
def conv_cases(draw, n_spatial):
    groups = draw(st.integers(1, 4))
    c_in = groups * draw(st.integers(1, 4 // groups))
    c_out = groups * draw(st.integers(1, 4 // groups))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n_spatial))
    padding = draw(
        st.one_of(
            st.just("valid"),
            st.just("same"),
            st.just("full"),
            st.integers(0, 2),
            st.tuples(*[st.integers(0, 2)] * n_spatial),
        )
    )
    # Draw sizes no smaller than the (padded) kernel needs, so every case is a legal convolution.
    # Sizes start where the padded input holds one kernel ("same" and "full" always do).
    sizes = []
    for dim in range(n_spatial):
        k_eff = dilation[dim] * (kernel[dim] - 1) + 1
        if isinstance(padding, str):
            smallest = k_eff if padding == "valid" else 1
        else:
            smallest = k_eff - 2 * (padding[dim] if isinstance(padding, tuple) else padding)
        sizes.append(draw(st.integers(max(1, smallest), 7)))
    return dict(
        x_shape=(draw(st.integers(1, 2)), c_in, *sizes),
        w_shape=(c_out, c_in // groups, *kernel),
        bias=draw(st.booleans()),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        seed=draw(seeds),
    )


def _check_conv(case, n_spatial):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    conv = F.conv1d if n_spatial == 1 else F.conv2d
    x = _random(case["seed"], case["x_shape"])
    w = _random(case["seed"] + 1, case["w_shape"])
    b = _random(case["seed"] + 2, case["w_shape"][:1]) if case["bias"] else None
    padding, stride = case["padding"], case["stride"]
    ours = ref_conv_nd(x, w, b, stride, padding, case["dilation"], case["groups"])

    xt = torch.from_numpy(x)
    if padding == "valid" or not isinstance(padding, str) or (padding == "same" and max(stride) == 1):
        torch_padding = padding
    else:
        # torch has no "full" and allows "same" only at stride 1: pad explicitly with the oracle's
        # (before, after) pairs, which checks the pairs and the conv together.
        pads = ref_conv_padding(case["x_shape"][2:], case["w_shape"][2:], stride, case["dilation"], padding)
        xt = F.pad(xt, [p for pair in reversed(pads) for p in pair])  # F.pad wants the last dim first
        torch_padding = 0
    expected = conv(
        xt, torch.from_numpy(w), None if b is None else torch.from_numpy(b),
        stride=stride, padding=torch_padding, dilation=case["dilation"], groups=case["groups"],
    ).numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, **TOL)
    if padding == "same":
        assert ours.shape[2:] == tuple(-(-n // s) for n, s in zip(case["x_shape"][2:], stride))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note on its pad copy
def test_conv1d_same_at_stride_1_every_small_geometry_matches_torch():
    """torch's own "same" (stride 1 only) puts an odd extra zero at the end, as the oracle does."""
    torch = pytest.importorskip("torch")
    x = _random(1, (1, 1, 7))
    for n, k, d in itertools.product(range(1, 8), range(1, 5), range(1, 4)):
        w = _random(k, (1, 1, k))
        xs = x[..., :n]
        expected = torch.nn.functional.conv1d(
            torch.from_numpy(xs), torch.from_numpy(w), padding="same", dilation=d
        )
        np.testing.assert_allclose(ref_conv_nd(xs, w, padding="same", dilation=d), expected.numpy(), **TOL)


@given(conv_cases(1))
def test_conv1d_matches_torch(case):
    _check_conv(case, 1)


@given(conv_cases(2))
def test_conv2d_matches_torch(case):
    _check_conv(case, 2)


@composite
def conv_transpose_cases(draw, n_spatial):
    groups = draw(st.integers(1, 4))
    c_in = groups * draw(st.integers(1, 4 // groups))
    c_out_per_group = draw(st.integers(1, 4 // groups))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(n_spatial))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(n_spatial))
    # torch requires output_padding < max(stride, dilation)
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    sizes = tuple(draw(st.integers(1, 5)) for _ in range(n_spatial))
    for n, k, s, p, op, d in zip(sizes, kernel, stride, padding, output_padding, dilation):
        assume(ref_conv_transpose_output_size(n, k, s, p, op, d) >= 1)
    return dict(
        x_shape=(draw(st.integers(1, 2)), c_in, *sizes),
        w_shape=(c_in, c_out_per_group, *kernel),
        bias=draw(st.booleans()),
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        seed=draw(seeds),
    )


def _check_conv_transpose(case, n_spatial):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    conv_transpose = F.conv_transpose1d if n_spatial == 1 else F.conv_transpose2d
    x = _random(case["seed"], case["x_shape"])
    w = _random(case["seed"] + 1, case["w_shape"])
    b = _random(case["seed"] + 2, (case["w_shape"][1] * case["groups"],)) if case["bias"] else None
    args = (case["stride"], case["padding"], case["output_padding"], case["groups"], case["dilation"])
    ours = ref_conv_transpose_nd(x, w, b, *args)
    expected = conv_transpose(
        torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b), *args
    ).numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, **TOL)


@given(conv_transpose_cases(1))
def test_conv_transpose1d_matches_torch(case):
    _check_conv_transpose(case, 1)


@given(conv_transpose_cases(2))
def test_conv_transpose2d_matches_torch(case):
    _check_conv_transpose(case, 2)


def _every_window_sees_input(n, k, s, p, d, ceil_mode):
    """At least one window, and none whose dilated taps all land on padding.

    Only dilation makes such a window (without it, the ceil-mode rule already drops them, and that
    rule is under test); torch then reports an index outside the input, no behaviour to copy.
    """
    out = ref_pool_output_size(n, k, s, p, d, ceil_mode)
    if d == 1:
        return out >= 1
    return out >= 1 and all(any(0 <= o * s - p + j * d < n for j in range(k)) for o in range(out))


def test_pool1d_every_small_geometry_matches_torch():
    """Every 1-D geometry up to size 7: output sizes, ceil-mode drops, divisors and indices."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = _random(0, (1, 1, 7))
    checked = 0
    geometries = itertools.product(range(1, 8), range(1, 4), range(1, 4), (1, 2), (False, True))
    for n, k, s, d, ceil_mode in geometries:
        for p in range(k // 2 + 1):
            if not _every_window_sees_input(n, k, s, p, d, ceil_mode):
                continue
            xs = x[..., :n]
            values, indices = ref_max_pool_nd(xs, k, s, p, d, ceil_mode)
            expected_values, expected_indices = F.max_pool1d(
                torch.from_numpy(xs), k, s, p, d, ceil_mode, return_indices=True
            )
            assert values.shape[-1] == ref_pool_output_size(n, k, s, p, d, ceil_mode)
            np.testing.assert_array_equal(values, expected_values.numpy())
            np.testing.assert_array_equal(indices, expected_indices.numpy())
            if d == 1:
                for count_include_pad in (False, True):
                    expected = F.avg_pool1d(torch.from_numpy(xs), k, s, p, ceil_mode, count_include_pad)
                    ours = ref_avg_pool_nd(xs, k, s, p, ceil_mode, count_include_pad)
                    np.testing.assert_allclose(ours, expected.numpy(), **TOL)
            checked += 1
    assert checked > 300


@composite
def pool_cases(draw, n_spatial, max_dilation):
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n_spatial))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * n_spatial)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)  # torch: pad <= kernel // 2
    dilation = tuple(draw(st.integers(1, max_dilation)) for _ in range(n_spatial))
    ceil_mode = draw(st.booleans())
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(n_spatial))
    strides = kernel if stride is None else stride
    for n, k, s, p, d in zip(sizes, kernel, strides, padding, dilation):
        assume(_every_window_sees_input(n, k, s, p, d, ceil_mode))
    return dict(
        x_shape=(draw(st.integers(1, 2)), draw(st.integers(1, 4)), *sizes),
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_include_pad=draw(st.booleans()),
        seed=draw(seeds),
    )


def _check_max_pool(case, n_spatial):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    max_pool = F.max_pool1d if n_spatial == 1 else F.max_pool2d
    x = _random(case["seed"], case["x_shape"])
    args = (case["kernel"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])
    values, indices = ref_max_pool_nd(x, *args)
    expected_values, expected_indices = max_pool(torch.from_numpy(x), *args, return_indices=True)
    np.testing.assert_array_equal(values, expected_values.numpy())
    np.testing.assert_array_equal(indices, expected_indices.numpy())


@given(pool_cases(1, max_dilation=2))
def test_max_pool1d_matches_torch(case):
    _check_max_pool(case, 1)


@given(pool_cases(2, max_dilation=2))
def test_max_pool2d_matches_torch(case):
    _check_max_pool(case, 2)


def _check_avg_pool(case, n_spatial):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    avg_pool = F.avg_pool1d if n_spatial == 1 else F.avg_pool2d
    x = _random(case["seed"], case["x_shape"])
    args = (case["kernel"], case["stride"], case["padding"], case["ceil_mode"], case["count_include_pad"])
    ours = ref_avg_pool_nd(x, *args)
    expected = avg_pool(torch.from_numpy(x), *args).numpy()
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, **TOL)


@given(pool_cases(1, max_dilation=1))
def test_avg_pool1d_matches_torch(case):
    _check_avg_pool(case, 1)


@given(pool_cases(2, max_dilation=1))
def test_avg_pool2d_matches_torch(case):
    _check_avg_pool(case, 2)


@composite
def adaptive_cases(draw, n_spatial):
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(n_spatial))
    # Output sizes may exceed the input: windows then repeat elements.
    output_size = tuple(draw(st.integers(1, 7)) for _ in range(n_spatial))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 4)), *sizes), output_size, draw(seeds)


@pytest.mark.parametrize("n_spatial", [1, 2])
@given(data=st.data())
def test_adaptive_pools_match_torch(n_spatial, data):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    shape, output_size, seed = data.draw(adaptive_cases(n_spatial))
    x = _random(seed, shape)
    xt = torch.from_numpy(x)
    adaptive_avg = F.adaptive_avg_pool1d if n_spatial == 1 else F.adaptive_avg_pool2d
    adaptive_max = F.adaptive_max_pool1d if n_spatial == 1 else F.adaptive_max_pool2d
    ours = ref_adaptive_avg_pool_nd(x, output_size)
    np.testing.assert_allclose(ours, adaptive_avg(xt, output_size).numpy(), **TOL)
    values, indices = ref_adaptive_max_pool_nd(x, output_size)
    expected_values, expected_indices = adaptive_max(xt, output_size, return_indices=True)
    np.testing.assert_array_equal(values, expected_values.numpy())
    np.testing.assert_array_equal(indices, expected_indices.numpy())
