"""The CPU backend's one-pass kernels and its direct convolution against plain NumPy (and im2col),
and their results on any number of threads."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradcnn.backends import cpu
from gradcnn.backends.cpu import conv as cpu_conv
from gradcnn.backends.cpu import threads


@pytest.fixture
def restore_threads():
    before = threads.num_threads()
    yield
    threads.set_num_threads(before)


@pytest.fixture
def small_parallel_items(monkeypatch):
    """Split even small arrays between threads, so that tests reach the threaded paths."""
    monkeypatch.setattr(threads, "PARALLEL_ITEMS", 16)


def _stride1_case(draw, c, o, k, d, max_size):
    """A stride-1 convolution with the drawn channels, outputs, kernel and dilation: a batch, padding,
    an input size the kernel fits in (up to ``max_size``), the output size and a float dtype."""
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    hw = tuple(draw(st.integers(max(1, di * (ki - 1) + 1 - sum(p)), max_size)) for ki, di, p in zip(k, d, pads))
    out = tuple(h + sum(p) - di * (ki - 1) for h, p, di, ki in zip(hw, pads, d, k))
    return dict(n=draw(st.integers(1, 3)), c=c, o=o, k=k, d=d, pads=pads, hw=hw, out=out,
                dtype=draw(st.sampled_from([np.float32, np.float64])))


@st.composite
def direct_cases(draw):
    return _stride1_case(draw, draw(st.integers(1, 2)), draw(st.integers(1, 5)),
                         (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                         (draw(st.integers(1, 2)), draw(st.integers(1, 2))), 9)


@st.composite
def row5_cases(draw):
    """Convolutions five taps wide: the forward pass takes the row-of-five kernel, in blocks of four
    output channels and a remainder."""
    return _stride1_case(draw, draw(st.integers(1, 6)), draw(st.integers(1, 9)), (draw(st.integers(1, 5)), 5),
                         (draw(st.integers(1, 2)), 1), 12)


def _both_algorithms(monkeypatch, fn):
    """``fn()`` on the direct kernels, then on im2col + GEMM."""
    direct = fn()
    monkeypatch.setattr(cpu_conv, "DIRECT_MAX_OUT", 0)
    im2col = fn()
    monkeypatch.undo()
    return direct, im2col


def _agree_with_im2col(g, seed, calls):
    """``calls(x, w, gy, geometry)`` (a tuple of results) on random data of the case ``g``: the
    same on the direct kernels as on im2col + GEMM."""
    rng = np.random.default_rng(seed)
    dtype = g["dtype"]
    x = rng.standard_normal((g["n"], g["c"]) + g["hw"]).astype(dtype)
    w = rng.standard_normal((g["o"], g["c"]) + g["k"]).astype(dtype)
    gy = rng.standard_normal((g["n"], g["o"]) + g["out"]).astype(dtype)
    geo = ((1, 1), g["pads"], g["d"], 1)
    with pytest.MonkeyPatch.context() as mp:
        results = _both_algorithms(mp, lambda: calls(x, w, gy, geo))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for direct, im2col in zip(*results):
        assert direct.shape == im2col.shape and direct.dtype == im2col.dtype
        np.testing.assert_allclose(direct, im2col, rtol=tol, atol=tol)


@given(g=direct_cases(), seed=st.integers(0, 2**16))
def test_direct_convolution_agrees_with_im2col(g, seed):
    assert cpu_conv.use_direct(g["c"], g["o"], g["k"], (1, 1), 1)
    _agree_with_im2col(g, seed, lambda x, w, gy, geo: (
        cpu.conv2d_forward(x, w, None, *geo, g["out"]),
        cpu.conv2d_backward_data(gy, w, *geo, g["hw"]),
        cpu.conv2d_backward_weight(x, gy, g["k"], *geo)))


@given(g=row5_cases(), seed=st.integers(0, 2**16))
def test_the_five_wide_direct_kernels_agree_with_im2col(g, seed):
    assert cpu_conv.use_direct_forward(g["c"], g["o"], g["k"], (1, 1), 1, g["d"])
    _agree_with_im2col(g, seed, lambda x, w, gy, geo: (
        cpu.conv2d_forward(x, w, None, *geo, g["out"]),
        cpu.conv2d_backward_weight(x, gy, g["k"], *geo)))


def test_the_five_wide_weight_gradient_is_the_same_on_any_thread_count(small_parallel_items, restore_threads):
    """Its output channels go in blocks of four whatever the split between threads."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 2, 9, 9)).astype(np.float32)
    gy = rng.standard_normal((3, 11, 5, 5)).astype(np.float32)
    seen = set()
    for n in (1, 2, 3):
        threads.set_num_threads(n)
        seen.add(cpu.conv2d_backward_weight(x, gy, (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1).tobytes())
    assert len(seen) == 1


def test_direct_input_gradient_leaves_output_padding_at_zero():
    """A transposed convolution's output_padding adds positions no output reads."""
    w = np.ones((2, 1, 3, 3))
    gy = np.ones((1, 2, 4, 4))
    # dilation 2: 4 + 2 * 2 = 8 positions read, of 9 (output_padding 1)
    gx = cpu.conv2d_backward_data(gy, w, (1, 1), ((0, 0), (0, 0)), (2, 2), 1, (9, 9))
    assert gx.shape == (1, 1, 9, 9)
    assert not gx[0, 0, 8].any() and not gx[0, 0, :, 8].any() and gx[0, 0, :8, :8].all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_passes_the_gradient_where_the_output_is_positive_or_nan(dtype, small_parallel_items):
    y = np.array([[0.0, 1.0, np.nan], [-0.0, 2.0, 3.0]], dtype=dtype)
    g = np.arange(6, dtype=dtype).reshape(2, 3) + 1
    np.testing.assert_array_equal(cpu.relu_backward(g, y), [[0, 2, 3], [0, 5, 6]])  # NaN passes, as in PyTorch
    assert cpu.relu_backward(np.float64(2.0) * np.ones((), dtype), np.ones((), dtype)).shape == ()


def _bn_reference(x, weight, bias, eps):
    axes = (0,) + tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, dtype=np.float64)
    var = x.var(axis=axes, dtype=np.float64)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(shape) + bias.reshape(shape)
    return y, mean, var


@pytest.mark.parametrize("shape", [(4, 3), (2, 5, 7), (3, 4, 5, 6), (1, 2, 1, 3)])
def test_batch_norm_kernels_against_numpy(shape, small_parallel_items):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape) * 3 + 1
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    y, mean, invstd, var = cpu.batch_norm_forward(x, weight, bias, 1e-5)
    ref, ref_mean, ref_var = _bn_reference(x, weight, bias, 1e-5)
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-13)
    np.testing.assert_allclose(var, ref_var, rtol=1e-12)
    np.testing.assert_allclose(invstd, 1 / np.sqrt(ref_var + 1e-5), rtol=1e-13)
    # The gradients by finite differences of <g, y> in one direction.
    g = rng.standard_normal(shape)
    gx, gw, gb = cpu.batch_norm_backward(g, x, weight, mean, invstd, True, True, True)
    h = 1e-6
    for arg, grad in ((0, gx), (1, gw), (2, gb)):
        direction = rng.standard_normal(grad.shape)
        args = [x, weight, bias]
        plus = [a + h * direction if i == arg else a for i, a in enumerate(args)]
        minus = [a - h * direction if i == arg else a for i, a in enumerate(args)]
        numeric = ((_bn_reference(*plus, 1e-5)[0] - _bn_reference(*minus, 1e-5)[0]) * g).sum() / (2 * h)
        np.testing.assert_allclose((grad * direction).sum(), numeric, rtol=1e-6, atol=1e-8)


def _digest(fn):
    return [a.tobytes() for a in fn() if a is not None]


def test_new_kernels_give_the_same_bits_on_any_number_of_threads(restore_threads, small_parallel_items):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5, 7, 9)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w1 = rng.standard_normal((6, 1, 5, 5)).astype(np.float32)
    x1 = x[:, :1].copy()
    gy1 = rng.standard_normal((6, 6, 3, 5)).astype(np.float32)

    def run():
        y, mean, invstd, _ = cpu.batch_norm_forward(x, None, None, 1e-5)
        p, buf = x.copy(), g.copy()
        cpu.sgd_step(p, g, buf, 0.1, 0.0, 0.9, 0.0, False, False, False)
        return (y, mean, invstd, *cpu.batch_norm_backward(g, x, None, mean, invstd, True, True, True),
                cpu.relu_backward(g, x), p, buf,
                cpu.conv2d_forward(x1, w1, None, (1, 1), ((1, 1), (2, 2)), (1, 1), 1, (5, 9)),
                cpu.conv2d_backward_weight(x1, gy1, (5, 5), (1, 1), ((0, 0), (0, 0)), (1, 1), 1))

    digests = set()
    for n in (1, 2, 3):
        threads.set_num_threads(n)
        digests.add(tuple(_digest(run)))
    assert len(digests) == 1


@pytest.mark.parametrize("shape", [(4, 256, 4, 4, 256, 3, 1), (8, 512, 2, 2, 128, 3, 1), (4, 256, 4, 4, 512, 1, 0)],
                         ids=["3x3", "3x3-deep", "1x1"])
def test_the_weight_gradient_cut_by_output_channels_is_right(shape, restore_threads):
    """Deep layers at a small batch: the whole batch's columns fit in cache and the product is cut
    between threads by output channels or taps, with no partial sums over samples."""
    n, c, h, w_, o, k, pad = shape
    from gradcnn.backends.cpu.threads import CHUNK_BYTES, chunk_plan

    assert n * 4 * c * k * k * h * w_ <= CHUNK_BYTES and len(chunk_plan(n, 4 * c * k * k * h * w_, 2 * o * c * k * k * h * w_)) > 1
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, c, h, w_))
    gy = rng.standard_normal((n, o, h, w_))
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ref = np.zeros((o, c, k, k))
    for i in range(k):
        for j in range(k):
            ref[:, :, i, j] = np.einsum("nohw,nchw->oc", gy, xp[:, :, i:i + h, j:j + w_])
    seen = set()
    for threads_ in (1, 2, 3):
        threads.set_num_threads(threads_)
        for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-3)):
            got = cpu.conv2d_backward_weight(x.astype(dtype), gy.astype(dtype), (k, k), (1, 1), ((pad, pad), (pad, pad)),
                                             (1, 1), 1)
            assert got.dtype == dtype
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())
            if dtype == np.float32:
                seen.add(got.tobytes())
    assert len(seen) == 1, "the result depends on the thread count"
