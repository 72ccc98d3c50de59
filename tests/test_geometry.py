"""gradcnn/geometry.py: output sizes against a brute-force count of window positions, the padding
modes, the rejection of bad arguments (naming them), and layers that reject at construction what
their functional forms reject, with the same words; compared with PyTorch where it is installed."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn import geometry, nn
from gradcnn.errors import DTypeError, OutOfMemoryError, ShapeError

# -- brute force ----------------------------------------------------------------------------------


def windows(size, kernel, stride, before, after, dilation, ceil_mode=False):
    """Start (in padded coordinates) of every window a convolution or pool takes along one dim, found
    by walking the padded input: a window may overhang its end by less than one stride with
    ``ceil_mode`` (not at all without), and then must start inside the input or its left padding."""
    span, padded = dilation * (kernel - 1) + 1, before + size + after
    starts = []
    for start in range(0, padded + stride, stride):
        overhang = start + span - padded
        if overhang > (stride - 1 if ceil_mode else 0):
            break
        if ceil_mode and start >= before + size:
            break
        starts.append(start)
    return starts


def test_brute_force_windows_by_hand():
    assert windows(5, 3, 1, 0, 0, 1) == [0, 1, 2]
    assert windows(5, 2, 2, 0, 0, 1) == [0, 2]
    assert windows(5, 2, 2, 0, 0, 1, ceil_mode=True) == [0, 2, 4]  # the last one overhangs by 1
    assert windows(5, 2, 2, 1, 1, 1, ceil_mode=True) == [0, 2, 4]  # 6 would start in the right padding
    assert windows(2, 3, 2, 0, 0, 1, ceil_mode=True) == [0]  # larger than the input, saved by rounding up
    assert windows(2, 3, 1, 0, 0, 1) == []


sizes = st.integers(0, 12)
kernels = st.integers(1, 5)
strides = st.integers(1, 5)
dilations = st.integers(1, 3)


@given(sizes, kernels, strides, st.integers(0, 4), st.integers(0, 4), dilations)
def test_conv_output_size_counts_the_windows(n, k, s, before, after, d):
    expected = len(windows(n, k, s, before, after, d))
    if expected == 0:
        with pytest.raises(ShapeError, match="is larger than padded input"):
            geometry.conv_output_sizes("conv1d", (n,), (k,), (s,), ((before, after),), (d,))
    else:
        assert geometry.conv_output_size(n, k, s, (before, after), d) == expected
        assert geometry.conv_output_sizes("conv1d", (n,), (k,), (s,), ((before, after),), (d,)) == (expected,)


@given(st.integers(1, 12), kernels, strides, st.integers(0, 2), dilations, st.booleans())
def test_pool_output_size_counts_the_windows(n, k, s, p, d, ceil_mode):
    p = min(p, k // 2)
    expected = len(windows(n, k, s, p, p, d, ceil_mode))
    if expected == 0:
        with pytest.raises(ShapeError, match="is larger than padded input"):
            geometry.pool_output_sizes("max_pool1d", (n,), (k,), (s,), (p,), (d,), ceil_mode)
    else:
        assert geometry.pool_output_sizes("max_pool1d", (n,), (k,), (s,), (p,), (d,), ceil_mode) == (expected,)


def test_output_sizes_count_the_windows_on_a_whole_grid():
    for n, k, s, p, d, ceil_mode in itertools.product(range(1, 9), range(1, 5), range(1, 5), range(3), range(1, 4),
                                                       (False, True)):
        conv = len(windows(n, k, s, p, p, d))
        if conv:
            assert geometry.conv_output_size(n, k, s, p, d) == conv, (n, k, s, p, d)
        if p <= k // 2:
            pool = len(windows(n, k, s, p, p, d, ceil_mode))
            if pool:
                assert geometry.pool_output_size(n, k, s, p, d, ceil_mode) == pool, (n, k, s, p, d, ceil_mode)


@given(st.integers(1, 12), kernels, strides, st.integers(0, 3), dilations, st.integers(0, 4))
def test_transposed_output_size_is_the_size_its_convolution_maps_back(n, k, s, p, d, extra):
    extra = extra % s  # output_padding below the stride picks one of the sizes that map back to n
    out = geometry.conv_transpose_output_size(n, k, s, p, extra, d)
    if out >= 1:
        assert geometry.conv_transpose_output_sizes("t", (n,), (k,), (s,), (p,), (extra,), (d,)) == (out,)
        assert len(windows(out, k, s, p, p, d)) == n
    else:
        with pytest.raises(ShapeError, match=f"output size {out} is not positive"):
            geometry.conv_transpose_output_sizes("t", (n,), (k,), (s,), (p,), (extra,), (d,))


# -- padding modes --------------------------------------------------------------------------------


@given(st.integers(1, 30), st.integers(1, 7), st.integers(1, 6), st.integers(1, 4))
def test_same_padding_gives_ceil_input_over_stride_at_every_stride(n, k, s, d):
    before, after = geometry.same_padding(n, k, s, d)
    assert before <= after <= before + 1  # the odd zero at the end
    assert geometry.conv_output_size(n, k, s, (before, after), d) == math.ceil(n / s)
    if before + after:  # and not a zero more than that takes
        assert geometry.conv_output_size(n, k, s, (before, after - 1), d) == math.ceil(n / s) - 1
    ((b2, a2),) = geometry.resolve_padding("same", (n,), (k,), (s,), (d,))
    assert (b2, a2) == (before, after)


@given(st.integers(1, 12), st.integers(1, 5), st.integers(1, 3))
def test_full_padding_lets_every_tap_meet_every_input_position(n, k, d):
    k_eff = geometry.effective_kernel_size(k, d)
    ((before, after),) = geometry.resolve_padding("full", (n,), (k,), (1,), (d,))
    assert before == after == k_eff - 1
    out = geometry.conv_output_size(n, k, 1, (before, after), d)
    assert out == n + k_eff - 1
    for i, tap in itertools.product(range(n), range(0, k_eff, d)):
        assert 0 <= i + before - tap < out  # the window that puts this tap on position i exists


def test_valid_padding_and_effective_kernel():
    assert geometry.resolve_padding("valid", (5, 6), (3, 3), (1, 1), (1, 1)) == ((0, 0), (0, 0))
    assert geometry.resolve_padding((1, 2), (5, 6), (3, 3), (1, 1), (1, 1)) == ((1, 1), (2, 2))
    assert geometry.effective_kernel_size(5, 2) == 9
    assert geometry.effective_kernel_size((5, 3), 2) == (9, 5)
    assert geometry.effective_kernel_size((5, 3), (1, 3)) == (5, 7)


def test_adaptive_windows_are_pytorchs():
    start, end = geometry.adaptive_windows(10, 4)
    np.testing.assert_array_equal(start, [0, 2, 5, 7])
    np.testing.assert_array_equal(end, [3, 5, 8, 10])


# -- rejection ------------------------------------------------------------------------------------

MINIMUM = {"kernel_size": 1, "stride": 1, "dilation": 1, "padding": 0, "output_padding": 0}


def _call(name, value, n):
    args = {"kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1, "output_padding": 0, name: value}
    kernel = args.pop("kernel_size")
    return geometry.conv_args("conv_transpose2d", n, kernel, transposed=True, **args)


bad_types = st.sampled_from([True, False, 2.7, 3.0, -0.5, "3", None, (1, 2.7), (True, 1), {1, 2}])


@given(st.sampled_from(sorted(MINIMUM)), bad_types, st.integers(1, 2))
def test_bad_types_are_dtype_errors_naming_the_argument_and_value(name, value, n):
    assume(not (name == "padding" and isinstance(value, str)))  # a string padding is a mode: a test below
    with pytest.raises(DTypeError) as raised:
        _call(name, value, n)
    assert str(raised.value) == f"conv_transpose2d: {name} must be an int or a tuple of {n} ints, got {value!r}"


@given(st.sampled_from(sorted(MINIMUM)), st.integers(1, 4), st.integers(1, 2))
def test_values_below_pytorchs_minimum_are_shape_errors(name, below, n):
    value = MINIMUM[name] - below
    what = "positive" if MINIMUM[name] else "non-negative"
    with pytest.raises(ShapeError, match=rf"^conv_transpose2d: {name} must be {what}, got \({value},"):
        _call(name, value, n)


@given(st.sampled_from(sorted(MINIMUM)), st.lists(st.integers(0, 2), min_size=2, max_size=4), st.just(3))
def test_wrong_lengths_are_shape_errors(name, value, n):
    if len(value) == n:
        value = value + [1]
    with pytest.raises(ShapeError, match=rf"{name} must be an int or a tuple of 3 ints, got .* \({len(value)} entries\)"):
        _call(name, value, n)


def test_a_one_tuple_stands_for_every_dim_as_in_pytorch():
    assert geometry.int_tuple("conv2d", "stride", (2,), 2, minimum=1) == (2, 2)
    assert geometry.int_tuple("conv2d", "stride", [np.int64(2), 3], 2, minimum=1) == (2, 3)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: geometry.positive_int("Linear", "in_features", 0), ShapeError, "Linear: in_features must be a positive int, got 0"),
        (lambda: geometry.positive_int("StepLR", "step_size", 2.0), DTypeError, "StepLR: step_size must be a positive int, got 2.0"),
        (lambda: geometry.positive_int("Linear", "in_features", True), DTypeError, "got True"),
        (lambda: geometry.conv_args("conv2d", 2, 3, padding="half"), ShapeError,
         r"conv2d: padding 'half' is not one of \('valid', 'same', 'full'\)"),
        (lambda: geometry.conv_args("conv_transpose1d", 1, 3, padding="same", transposed=True), DTypeError,
         r"string padding is for conv1d\), got 'same'"),
        (lambda: geometry.conv_args("conv_transpose2d", 2, 3, stride=2, dilation=(1, 3), output_padding=2,
                                    transposed=True), ShapeError,
         r"output_padding \(2, 2\) must be smaller than stride \(2, 2\) or dilation \(1, 3\) in every dim"),
        (lambda: geometry.pool_args("max_pool2d", 2, 3, padding=(1, 2)), ShapeError,
         r"max_pool2d: padding \(1, 2\) must be at most half the kernel size \(3, 3\) \(kernel // 2 = \(1, 1\)\)"),
        (lambda: geometry.pool_args("avg_pool1d", 1, 2, stride=0), ShapeError, r"avg_pool1d: stride must be positive, got \(0,\)"),
        (lambda: geometry.conv_output_sizes("conv2d", (7, 7), (5, 5), (1, 1), ((0, 0), (0, 0)), (2, 2)), ShapeError,
         r"^conv2d: kernel \(5x5, dilation 2x2 -> 9x9\) is larger than padded input \(7x7 = input 7x7 \+ padding 0x0\)$"),
        (lambda: geometry.conv_groups("conv2d", 2, 4, 3), ShapeError,
         r"conv2d: in_channels \(4\) and out_channels \(3\) must both be divisible by groups \(2\)"),
        (lambda: geometry.adaptive_output_size("adaptive_avg_pool2d", (None, -1), 2), ShapeError,
         r"output_size\[1\] must be >= 0, got output_size\[1\]=-1"),
    ],
)
def test_messages(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_pool_stride_defaults_to_the_kernel():
    assert geometry.pool_args("max_pool2d", 2, (2, 3)) == ((2, 3), (2, 3), (0, 0), (1, 1))
    assert geometry.pool_args("max_pool2d", 2, 2, stride=())[1] == (2, 2)
    assert geometry.adaptive_output_size("adaptive_avg_pool2d", (None, 3), 2) == (None, 3)
    assert geometry.adaptive_output_size("adaptive_avg_pool2d", (0, 3), 2) == (0, 3)  # empty, as in PyTorch
    with pytest.raises(DTypeError, match="output_size"):
        geometry.adaptive_output_size("adaptive_avg_pool1d", (None,), 1, allow_none=False)


# -- layers and their functional forms ------------------------------------------------------------


def _x(*shape):
    return gradcnn.ones(*shape, dtype=gradcnn.float64)


# (layer, its functional form with the same arguments); each rejects the same values
MISMATCHED = [
    (lambda: nn.MaxPool2d(2, stride=0), lambda: F.max_pool2d(_x(1, 1, 6, 6), 2, stride=0)),
    (lambda: nn.MaxPool2d(3, padding=2), lambda: F.max_pool2d(_x(1, 1, 6, 6), 3, padding=2)),
    (lambda: nn.MaxPool2d((2, 2, 2)), lambda: F.max_pool2d(_x(1, 1, 6, 6), (2, 2, 2))),
    (lambda: nn.MaxPool2d(2, dilation=0), lambda: F.max_pool2d(_x(1, 1, 6, 6), 2, dilation=0)),
    (lambda: nn.MaxPool1d(2.5), lambda: F.max_pool1d(_x(1, 1, 6), 2.5)),
    (lambda: nn.MaxPool1d(True), lambda: F.max_pool1d(_x(1, 1, 6), True)),
    (lambda: nn.AvgPool2d(2, stride=(1, -1)), lambda: F.avg_pool2d(_x(1, 1, 6, 6), 2, stride=(1, -1))),
    (lambda: nn.AvgPool1d(3, padding=-1), lambda: F.avg_pool1d(_x(1, 1, 6), 3, padding=-1)),
    (lambda: nn.AvgPool1d(0), lambda: F.avg_pool1d(_x(1, 1, 6), 0)),
    (lambda: nn.AdaptiveAvgPool2d(-1), lambda: F.adaptive_avg_pool2d(_x(1, 1, 6, 6), -1)),
    (lambda: nn.AdaptiveMaxPool2d((1, 2, 3)), lambda: F.adaptive_max_pool2d(_x(1, 1, 6, 6), (1, 2, 3))),
    (lambda: nn.AdaptiveMaxPool1d(1.5), lambda: F.adaptive_max_pool1d(_x(1, 1, 6), 1.5)),
    (lambda: nn.Conv2d(1, 1, 3, stride=0), lambda: F.conv2d(_x(1, 1, 6, 6), _x(1, 1, 3, 3), stride=0)),
    (lambda: nn.Conv2d(1, 1, 3, stride=1.5), lambda: F.conv2d(_x(1, 1, 6, 6), _x(1, 1, 3, 3), stride=1.5)),
    (lambda: nn.Conv2d(1, 1, 3, padding=-1), lambda: F.conv2d(_x(1, 1, 6, 6), _x(1, 1, 3, 3), padding=-1)),
    (lambda: nn.Conv2d(1, 1, 3, padding="half"), lambda: F.conv2d(_x(1, 1, 6, 6), _x(1, 1, 3, 3), padding="half")),
    (lambda: nn.Conv2d(1, 1, 3, dilation=(1, 0)), lambda: F.conv2d(_x(1, 1, 6, 6), _x(1, 1, 3, 3), dilation=(1, 0))),
    (lambda: nn.Conv1d(1, 1, 3, stride=(1, 1)), lambda: F.conv1d(_x(1, 1, 6), _x(1, 1, 3), stride=(1, 1))),
    (lambda: nn.Conv1d(1, 1, 3, groups=0), lambda: F.conv1d(_x(1, 1, 6), _x(1, 1, 3), groups=0)),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), lambda: F.conv2d(_x(1, 4, 6, 6), _x(3, 2, 3, 3), groups=2)),
    (lambda: nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2),
     lambda: F.conv_transpose2d(_x(1, 1, 4, 4), _x(1, 1, 3, 3), stride=2, output_padding=2)),
    (lambda: nn.ConvTranspose1d(1, 1, 3, padding="same"),
     lambda: F.conv_transpose1d(_x(1, 1, 4), _x(1, 1, 3), padding="same")),
    (lambda: nn.ConvTranspose1d(1, 1, 3, padding=-2), lambda: F.conv_transpose1d(_x(1, 1, 4), _x(1, 1, 3), padding=-2)),
]


@pytest.mark.parametrize("layer, function", MISMATCHED)
def test_a_layer_rejects_when_built_what_its_function_rejects_in_the_same_words(layer, function):
    with pytest.raises((ShapeError, DTypeError)) as built:
        layer()
    with pytest.raises((ShapeError, DTypeError)) as called:
        function()
    assert type(built.value) is type(called.value)
    layer_name, layer_words = str(built.value).split(": ", 1)
    function_name, function_words = str(called.value).split(": ", 1)
    assert layer_words == function_words
    assert layer_name.lower() == function_name.replace("_", "").lower()


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: nn.Conv2d(3, 4, (2.7, 3)), DTypeError, r"Conv2d: kernel_size must be an int or a tuple of 2 ints, got \(2.7, 3\)"),
        (lambda: nn.Conv2d(3, 4, 3.0), DTypeError, "Conv2d: kernel_size must be an int or a tuple of 2 ints, got 3.0"),
        (lambda: nn.Conv2d(3, 4, 0), ShapeError, r"Conv2d: kernel_size must be positive, got \(0, 0\)"),
        (lambda: nn.Conv1d(3, 4, (3, 3)), ShapeError, r"Conv1d: kernel_size must be an int or a tuple of 1 ints"),
        (lambda: nn.ConvTranspose2d(3, 4, (3, -1)), ShapeError, r"ConvTranspose2d: kernel_size must be positive"),
    ],
)
def test_conv_layers_check_their_kernel_size(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_layers_keep_what_pytorch_keeps():
    assert nn.Conv2d(1, 1, 3, padding=1).padding == (1, 1)
    assert nn.Conv2d(1, 1, (2, 3), padding="same").padding == "same"
    pool = nn.MaxPool2d(3)
    assert (pool.kernel_size, pool.stride, pool.padding) == (3, 3, 0)
    assert nn.MaxPool2d(3, stride=()).stride == ()
    assert nn.AvgPool2d((2, 3), stride=[1, 2]).stride == [1, 2]


# -- against PyTorch ------------------------------------------------------------------------------

ERRORS = (ValueError, TypeError, RuntimeError)


def _outcome(build, run):
    """The output shape, or "error" when building or running raised."""
    try:
        return tuple(run(build()).shape)
    except ERRORS:
        return "error"


small = st.integers(-1, 4)


@given(st.integers(1, 8), st.integers(0, 4), small, small, st.integers(0, 3), st.booleans(), st.booleans())
def test_pools_accept_and_reject_what_pytorch_does(n, k, s, p, d, ceil_mode, use_max):
    torch = pytest.importorskip("torch")
    if use_max:
        ours = _outcome(lambda: nn.MaxPool1d(k, s, p, d, ceil_mode=ceil_mode), lambda m: m(gradcnn.ones(1, 1, n)))
        theirs = _outcome(lambda: torch.nn.MaxPool1d(k, s, p, d, ceil_mode=ceil_mode), lambda m: m(torch.ones(1, 1, n)))
    else:
        ours = _outcome(lambda: nn.AvgPool1d(k, s, p, ceil_mode), lambda m: m(gradcnn.ones(1, 1, n)))
        theirs = _outcome(lambda: torch.nn.AvgPool1d(k, s, p, ceil_mode), lambda m: m(torch.ones(1, 1, n)))
    assert ours == theirs


@given(st.integers(1, 8), st.integers(0, 4), small, small, st.integers(0, 3))
def test_convolutions_accept_and_reject_what_pytorch_does(n, k, s, p, d):
    torch = pytest.importorskip("torch")
    ours = _outcome(lambda: nn.Conv1d(1, 1, k, s, p, d), lambda m: m(gradcnn.ones(1, 1, n)))
    theirs = _outcome(lambda: torch.nn.Conv1d(1, 1, k, s, p, d), lambda m: m(torch.ones(1, 1, n)))
    assert ours == theirs


@given(st.integers(1, 6), st.integers(0, 4), small, small, st.integers(0, 3), st.integers(-1, 3))
def test_transposed_convolutions_accept_and_reject_what_pytorch_does(n, k, s, p, d, extra):
    torch = pytest.importorskip("torch")
    ours = _outcome(lambda: nn.ConvTranspose1d(1, 1, k, s, p, extra, dilation=d), lambda m: m(gradcnn.ones(1, 1, n)))
    theirs = _outcome(lambda: torch.nn.ConvTranspose1d(1, 1, k, s, p, extra, dilation=d),
                      lambda m: m(torch.ones(1, 1, n)))
    assert ours == theirs


@given(st.integers(1, 9), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_same_padding_agrees_with_pytorch_at_stride_1(n, k, d, c):
    torch = pytest.importorskip("torch")
    ours = nn.Conv1d(1, c, k, padding="same", dilation=d, dtype=np.float64)
    theirs = torch.nn.Conv1d(1, c, k, padding="same", dilation=d, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.detach().numpy()))
    x = np.arange(n, dtype=np.float64).reshape(1, 1, n)
    np.testing.assert_allclose(ours(gradcnn.tensor(x)).detach().numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-12, atol=1e-12)


# -- results too large for the machine are refused before anything is allocated -------------------


@pytest.mark.parametrize("call", [
    lambda: F.conv2d(gradcnn.ones(1, 1, 4, 4), gradcnn.ones(1, 1, 3, 3), padding=2**20),
    lambda: F.conv_transpose2d(gradcnn.ones(1, 1, 4, 4), gradcnn.ones(1, 1, 3, 3), stride=2**20),
    lambda: F.adaptive_avg_pool2d(gradcnn.ones(1, 1, 4, 4), 2**40),
    lambda: F.interpolate(gradcnn.ones(1, 1, 4, 4), scale_factor=2**20),
    lambda: gradcnn.zeros(2**40, 2**40),
    lambda: gradcnn.randn(2**31, 2**31),
    lambda: F.pad(gradcnn.ones(2, 2), (2**40, 0)),
], ids=["conv2d", "conv_transpose2d", "adaptive_avg_pool2d", "upsampling", "zeros", "randn", "pad"])
def test_results_larger_than_memory_raise_before_allocating(call):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(OutOfMemoryError, match=r"would need .* of memory"):
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, f"{peak} bytes were allocated before the error"


def test_check_fits_names_the_op_and_shape():
    with pytest.raises(OutOfMemoryError, match=r"conv2d: the output of shape \(1, 9223372036854775808\) would need"):
        geometry.check_fits("conv2d", "the output", (1, 2**63), 4)
    geometry.check_fits("conv2d", "the output", (8, 8), 4)  # fits: nothing raised
