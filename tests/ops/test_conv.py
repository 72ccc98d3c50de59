"""conv1d/conv2d/conv_transpose1d/conv_transpose2d against the naive references in
tests/reference.py, with gradients and second derivatives against finite differences."""

import warnings

import numpy as np
import pytest
from reference import ref_conv_nd, ref_conv_transpose_nd

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import DTypeError, ShapeError
from gradcnn.testing import op_test
from gradcnn.testing.strategies import conv_cases

test_conv1d = op_test(F.conv1d, ref_conv_nd, cases=conv_cases(nd=1))
test_conv2d = op_test(F.conv2d, ref_conv_nd, cases=conv_cases(nd=2))
test_conv_transpose1d = op_test(F.conv_transpose1d, ref_conv_transpose_nd, cases=conv_cases(nd=1, transposed=True))
test_conv_transpose2d = op_test(F.conv_transpose2d, ref_conv_transpose_nd, cases=conv_cases(nd=2, transposed=True))

# Second derivatives run the whole closed family (Conv, ConvData, ConvWeight) through each other.
_small = dict(max_batch=1, max_channels=2, max_size=3, max_kernel=2, max_stride=2, bias=True)
test_conv2d_second_order = op_test(F.conv2d, ref_conv_nd, cases=conv_cases(nd=2, **_small), second_order=True)
test_conv1d_second_order = op_test(F.conv1d, ref_conv_nd, cases=conv_cases(nd=1, **_small), second_order=True)
test_conv_transpose2d_second_order = op_test(
    F.conv_transpose2d, ref_conv_transpose_nd, cases=conv_cases(nd=2, transposed=True, **_small), second_order=True
)


def t(shape, dtype=np.float64, requires_grad=False):
    return gradcnn.tensor(np.ones(shape, dtype=dtype), requires_grad=requires_grad)


@pytest.mark.parametrize(
    "size, stride, kernel, expected_out, expected_pads",
    [
        # same: out = ceil(in / stride); total = (out - 1) * stride + k - in; odd zero at the end
        (7, 1, 3, 7, (1, 1)),  # total 6 + 3 - 7 = 2
        (6, 2, 3, 3, (0, 1)),  # out 3, total 2*2 + 3 - 6 = 1 -> (0, 1)
        (7, 2, 4, 4, (1, 2)),  # out 4, total 3*2 + 4 - 7 = 3 -> (1, 2)
        (5, 3, 2, 2, (0, 0)),  # out 2, total 1*3 + 2 - 5 = 0
    ],
)
def test_same_padding_output_size_and_sides(size, stride, kernel, expected_out, expected_pads):
    x = gradcnn.tensor(np.arange(size, dtype=np.float64).reshape(1, 1, size))
    w = gradcnn.tensor(np.zeros((1, 1, kernel)))
    w._data[0, 0, 0] = 1.0  # picks the first tap of each window: reveals the left padding
    y = F.conv1d(x, w, stride=stride, padding="same").numpy().reshape(-1)
    assert y.shape == (expected_out,)
    left = expected_pads[0]
    expected = [o * stride - left if o * stride - left >= 0 else 0.0 for o in range(expected_out)]
    np.testing.assert_array_equal(y, expected)


def test_full_padding_output_size():
    # full: k_eff - 1 zeros each side -> out = in + k_eff - 1; k 3 dilation 2 -> k_eff 5
    y = F.conv2d(t((1, 1, 4, 4)), t((1, 1, 3, 3)), padding="full", dilation=2)
    assert y.shape == (1, 1, 8, 8)


def test_empty_batch_gives_empty_result_and_gradients():
    x = gradcnn.zeros(0, 2, 5, 5, dtype=gradcnn.float64, requires_grad=True)
    w = gradcnn.ones(3, 2, 3, 3, dtype=gradcnn.float64, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    assert y.shape == (0, 3, 5, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5)
    np.testing.assert_array_equal(w.grad.numpy(), 0)


def test_float32_matches_float64():
    gradcnn.manual_seed(0)
    x = gradcnn.randn(2, 3, 9, 8)
    w = gradcnn.randn(4, 3, 3, 3)
    y32 = F.conv2d(x, w, stride=2, padding=1).numpy()
    y64 = F.conv2d(x.double(), w.double(), stride=2, padding=1).numpy()
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, rtol=1e-5, atol=1e-5)


def test_warmup_compiles_every_kernel_for_both_float_dtypes_and_reports_the_time(capsys):
    from numba.core.registry import CPUDispatcher

    from gradcnn.backends.cpu import kernels

    seconds = gradcnn.warmup(verbose=True)
    assert isinstance(seconds, float) and 0 < seconds < 600
    assert f"kernels ready in {seconds:.2f} s" in capsys.readouterr().out
    dispatchers = {name: k for name, k in vars(kernels).items() if isinstance(k, CPUDispatcher)}
    assert {"_im2col", "_col2im", "_max_pool_fwd", "_max_pool_scatter", "_avg_pool_fwd", "_avg_pool_bwd"} <= set(dispatchers)
    for name, kernel in dispatchers.items():
        if name == "_valid_range":  # a helper the kernels inline; it takes ints only
            continue
        dtypes = {str(a.dtype) for sig in kernel.signatures for a in sig if hasattr(a, "dtype")}
        assert {"float32", "float64"} <= dtypes, f"{name} was compiled for {sorted(dtypes)} only"


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.conv2d(t((3, 5)), t((2, 3, 3, 3))), ShapeError,
         r"4-D \(N, C, H, W\) or 3-D unbatched, got shape \(3, 5\)"),
        (lambda: F.conv2d(t((1, 3, 5, 5)), t((2, 3, 3))), ShapeError, r"weight must be 4-D"),
        (lambda: F.conv2d(t((1, 3, 5, 5)), t((2, 2, 3, 3))), ShapeError, r"expects 2 channels per group .* 3 channels"),
        (lambda: F.conv2d(t((1, 4, 5, 5)), t((3, 2, 3, 3)), groups=2), ShapeError, r"out_channels \(3\) .* groups \(2\)"),
        (lambda: F.conv2d(t((1, 1, 7, 7)), t((1, 1, 5, 5)), dilation=2), ShapeError,
         r"conv2d: kernel \(5x5, dilation 2x2 -> 9x9\) is larger than padded input \(7x7 = input 7x7 \+ padding 0x0\)"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3)), stride=0), ShapeError, r"stride must be positive, got \(0, 0\)"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3)), dilation=(1, -1)), ShapeError, "dilation must be positive"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3)), padding=-1), ShapeError, r"padding must be non-negative, got \(-1, -1\)"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3)), padding="half"), ShapeError, r"padding 'half' is not one of"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3)), stride=1.5), DTypeError, r"stride must be an int or a tuple of 2 ints, got 1.5"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3)), groups=0), ShapeError, "groups must be a positive int"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((1, 1, 3, 3), np.float32)), DTypeError, "input is float64 but weight is float32"),
        (lambda: F.conv2d(t((1, 1, 5, 5)), t((2, 1, 3, 3)), t((3,))), ShapeError, r"bias has shape \(3,\), expected \(2,\)"),
        (lambda: F.conv2d(t((1, 1, 5, 5), np.int64), t((1, 1, 3, 3))), DTypeError, "input must be floating, got int64"),
        (lambda: F.conv1d(t((1, 2, 4)), t((1, 2, 5)), padding=(0,)), ShapeError,
         r"kernel \(5, dilation 1 -> 5\) is larger than padded input \(4 = input 4 \+ padding 0\)"),
        (lambda: F.conv2d(t((1, 1, 3, 3)), t((1, 1, 5, 5)), padding=(1, 0)), ShapeError,
         r"padded input \(5x3 = input 3x3 \+ padding 2x0\)"),
        (lambda: F.conv_transpose2d(t((1, 2, 3, 3)), t((3, 1, 3, 3))), ShapeError, r"weight \(3, 1, 3, 3\) has 3 input channels"),
        (lambda: F.conv_transpose2d(t((1, 1, 3, 3)), t((1, 1, 3, 3)), stride=2, output_padding=2), ShapeError,
         r"output_padding \(2, 2\) must be smaller than stride \(2, 2\)"),
        (lambda: F.conv_transpose2d(t((1, 1, 1, 1)), t((1, 1, 1, 1)), padding=1), ShapeError,
         r"output size -1x-1 is not positive: \(input 1 - 1\) \* stride 1 - 2 \* padding 1 \+ kernel 1 "
         r"\(kernel 1, dilation 1\) \+ output_padding 0 = -1"),
        (lambda: F.conv_transpose1d(t((1, 1, 3)), t((1, 1, 3)), padding="same"), DTypeError, "string padding"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_kernels_raise_on_out_of_range_index_when_bounds_checked(tmp_path):
    # The CI runs the kernel tests under NUMBA_BOUNDSCHECK=1; prove that the checks can fire there.
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from gradcnn.backends.cpu import kernels as k\n"
        "try:\n"
        "    k._im2col(np.ones((1, 1, 3, 3)), 2, 2, 1, 1, 0, 0, 1, 1, 2, 2, np.empty((4, 3)))\n"
        "except IndexError:\n"
        "    print('raised')\n"
    )
    env = {**__import__("os").environ, "NUMBA_BOUNDSCHECK": "1", "GRADCNN_NUMBA_CACHE": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "raised", out.stderr


def _conv_all_grads(x, w, b, **kw):
    xt = gradcnn.tensor(x, requires_grad=True)
    wt = gradcnn.tensor(w, requires_grad=True)
    bt = gradcnn.tensor(b, requires_grad=True)
    y = F.conv2d(xt, wt, bt, **kw)
    gy = np.cos(np.arange(y.numel())).reshape(y.shape)
    y.backward(gradcnn.tensor(gy))
    return y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize(
    "kw", [dict(stride=2, padding=1, groups=2), dict(padding="same", dilation=2), dict(kernel=1, groups=4)]
)
def test_batch_chunks_on_the_worker_pool_match_one_inline_chunk(monkeypatch, kw):
    # Big enough that the backend splits the batch into chunks for its worker threads; then the
    # same call forced inline must agree exactly with it and with the reference.
    from gradcnn.backends.cpu import threads

    kw = dict(kw)
    k = kw.pop("kernel", 3)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((9, 8, 11, 10))
    w = rng.standard_normal((12, 8 // kw.get("groups", 1), k, k))
    b = rng.standard_normal(12)
    monkeypatch.setattr(threads, "CHUNK_BYTES", 20_000)
    monkeypatch.setattr(threads, "INLINE_BYTES", 0)
    chunked = _conv_all_grads(x, w, b, **kw)
    monkeypatch.setattr(threads, "INLINE_BYTES", 1 << 40)
    inline = _conv_all_grads(x, w, b, **kw)
    for a, c in zip(chunked, inline):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chunked[0], ref_conv_nd(x, w, b, **kw), rtol=1e-10, atol=1e-10)


def test_float16_computes_in_float32_and_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float16)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float16)
    for op, top in [(lambda a: F.conv2d(a, gradcnn.tensor(w), padding=1),
                     lambda a: torch.nn.functional.conv2d(a, torch.tensor(w), padding=1)),
                    (lambda a: F.max_pool2d(a, 2), lambda a: torch.nn.functional.max_pool2d(a, 2)),
                    (lambda a: F.avg_pool2d(a, 3, 2), lambda a: torch.nn.functional.avg_pool2d(a, 3, 2))]:
        ours = gradcnn.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        y, ty = op(ours), top(theirs)
        assert y.dtype == np.float16
        np.testing.assert_allclose(y.detach().numpy().astype(np.float32), ty.detach().numpy().astype(np.float32),
                                   rtol=2e-3, atol=2e-3)
        y.sum().backward()
        ty.sum().backward()
        assert ours.grad.dtype == np.float16
        np.testing.assert_allclose(ours.grad.numpy().astype(np.float32), theirs.grad.numpy().astype(np.float32),
                                   rtol=2e-3, atol=2e-2)


@pytest.mark.parametrize("name, weight, kw", [("conv1d", (4, 3, 3), {"padding": 1}), ("conv2d", (4, 3, 3, 2), {"stride": 2}),
                                              ("conv_transpose1d", (3, 2, 3), {"stride": 2}),
                                              ("conv_transpose2d", (3, 4, 2, 3), {"padding": 1})])
def test_unbatched_input_convolves_as_a_batch_of_one(name, weight, kw):
    rng = np.random.default_rng(4)
    shape = (3, 6) if name.endswith("1d") else (3, 6, 5)
    x = gradcnn.tensor(rng.standard_normal(shape), requires_grad=True)
    xb = gradcnn.tensor(x.detach().numpy()[None], requires_grad=True)
    w = gradcnn.tensor(rng.standard_normal(weight))
    y, yb = getattr(F, name)(x, w, **kw), getattr(F, name)(xb, w, **kw)
    assert y.shape == yb.shape[1:]
    np.testing.assert_allclose(y.detach().numpy(), yb.detach().numpy()[0])
    (y * y).sum().backward()
    (yb * yb).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xb.grad.numpy()[0])


def test_infinite_weights_spread_without_warnings():
    w = np.ones((2, 1, 3, 3))
    w[0, 0, 1, 1] = np.inf
    x = np.ones((1, 1, 4, 4))
    x[0, 0, 1, 1] = 0.0  # inf * 0: NaN, as in PyTorch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.conv2d(gradcnn.tensor(x), gradcnn.tensor(w)).numpy()
    assert np.isnan(y[0, 0, 0, 0]) and np.isinf(y[0, 0].ravel()[1:]).all() and np.isfinite(y[0, 1]).all()


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 1, 1, 1), (2, 2, 1, 1), (1, 3, 2, 1), (2, 1, 1, 2), ((1, 2), (2, 0), (2, 1), 4)])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_nonfinite_weight_skips_the_padding_as_pytorch(stride, padding, dilation, groups, bad):
    # PyTorch's CPU kernels skip padded taps of an ungrouped convolution: a NaN or infinite weight
    # spreads only where it meets the input, not the zero padding (0 x inf would be NaN there);
    # grouped convolutions multiply the padding there, and here.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 4, 7, 6)).astype(np.float32)
    w = rng.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    w[1, 0, 0, 2] = bad
    w[5, -1, 2, 0] = bad
    kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    ours = F.conv2d(gradcnn.tensor(x), gradcnn.tensor(w), gradcnn.tensor(b), **kw).numpy()
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), **kw).numpy()
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(theirs))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


def test_a_cold_warmup_compiles_part_of_the_kernels_in_a_helper_process(tmp_path):
    """With an empty cache and two threads, the kernels of ``HELPER_GROUPS`` are compiled by a
    helper process and only loaded here; every kernel ends up compiled for both dtypes."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, gradcnn\n"
        "from numba.core.registry import CPUDispatcher\n"
        "from gradcnn.backends.cpu import kernels\n"
        "gradcnn.warmup()\n"
        "print(json.dumps({name: [sum(k.stats.cache_hits.values()), sum(k.stats.cache_misses.values()),\n"
        "                         sorted({str(a.dtype) for s in k.signatures for a in s if hasattr(a, 'dtype')})]\n"
        "                  for name, k in vars(kernels).items() if isinstance(k, CPUDispatcher)}))\n"
    )
    env = dict(os.environ, GRADCNN_CACHE_DIR=str(tmp_path), GRADCNN_NUM_THREADS="2", GRADCNN_NUMBA_CACHE="1")
    env.pop("NUMBA_BOUNDSCHECK", None)  # checked builds are never cached, so never shared with a helper
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = {name for name, (hits, misses, _) in stats.items() if hits and not misses}
    compiled = {name for name, (hits, misses, _) in stats.items() if misses}
    assert {"_conv_direct_fwd_row5", "_conv_direct_wgrad_row5", "_max_pool_fwd", "_avg_pool_fwd"} <= loaded
    assert {"_im2col", "_sgd_step", "_bn_stats"} <= compiled
    for name, (_, _, dtypes) in stats.items():
        if name != "_valid_range":
            assert {"float32", "float64"} <= set(dtypes), name
