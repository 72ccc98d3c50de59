"""Tests of gradcnn/ops/upsample.py: interpolate in every mode against a naive NumPy reference and
against torch (values and gradients, float64), the transposed table, NaN and errors."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import DTypeError, ShapeError
from gradcnn.ops.upsample import Resample, _linear_table, _nearest_table
from gradcnn.testing import arrays, gradcheck, op_test

# -- NumPy reference ------------------------------------------------------------------------------


def _nearest_source(o, n, out, scale, exact):
    s = 1.0 / scale if scale else n / out
    return min(math.floor((o + (0.5 if exact else 0.0)) * s), n - 1)


def _linear_source(o, n, out, scale, align_corners):
    """``(i0, i1, lambda1)``: the two inputs output ``o`` mixes, and the weight of the second."""
    if out == n:
        return o, o, 0.0
    if align_corners:
        src = o * (n - 1) / (out - 1) if out > 1 else 0.0
    else:
        s = 1.0 / scale if scale else n / out
        src = max(s * (o + 0.5) - 0.5, 0.0)
    i0 = min(math.floor(src), n - 1)
    return i0, min(i0 + 1, n - 1), min(max(src - i0, 0.0), 1.0)


def _cubic_weight(d, a=-0.75):
    """Keys' cubic convolution kernel at distance ``d``."""
    d = abs(d)
    if d <= 1:
        return (a + 2) * d**3 - (a + 3) * d**2 + 1
    return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a if d < 2 else 0.0


def _cubic_source(o, n, out, scale, align_corners):
    """The four ``(input, weight)`` pairs output ``o`` mixes (inputs clamped to the edges)."""
    if align_corners:
        src = o * (n - 1) / (out - 1) if out > 1 else 0.0
    else:
        src = (1.0 / scale if scale else n / out) * (o + 0.5) - 0.5
    i0 = math.floor(src)
    return [(min(max(i0 + k, 0), n - 1), _cubic_weight(src - (i0 + k))) for k in (-1, 0, 1, 2)]


def _resize_axis(x, axis, out, scale, mode, align_corners):
    n = x.shape[axis]
    pieces = []
    for o in range(out):
        if mode in ("nearest", "nearest-exact"):
            two_d_shortcut = mode == "nearest" and x.ndim >= 4 and out in (n, 2 * n)
            i = (o if out == n else o // 2) if two_d_shortcut else _nearest_source(o, n, out, scale, mode != "nearest")
            pieces.append(np.take(x, [i], axis=axis))
        elif mode == "bicubic":
            pieces.append(sum(w * np.take(x, [i], axis=axis) for i, w in _cubic_source(o, n, out, scale, align_corners)))
        else:
            i0, i1, lam = _linear_source(o, n, out, scale, align_corners)
            pieces.append((1 - lam) * np.take(x, [i0], axis=axis) + lam * np.take(x, [i1], axis=axis))
    return np.concatenate(pieces, axis=axis)


def interpolate_ref(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                    recompute_scale_factor=None):
    nd = x.ndim - 2
    sizes = x.shape[2:]
    if size is not None:
        outs, scales = (size,) * nd if isinstance(size, int) else tuple(size), (None,) * nd
    else:
        factors = (scale_factor,) * nd if not isinstance(scale_factor, tuple) else scale_factor
        outs = tuple(math.floor(n * f) for n, f in zip(sizes, factors))
        scales = (None,) * nd if recompute_scale_factor else factors
    if mode == "area":
        out = x
        for axis, (n, o) in enumerate(zip(sizes, outs), start=2):
            starts = [(i * n) // o for i in range(o)]
            ends = [-((-(i + 1) * n) // o) for i in range(o)]
            out = np.concatenate([np.take(out, range(a, b), axis=axis).mean(axis=axis, keepdims=True)
                                  for a, b in zip(starts, ends)], axis=axis)
        return out
    out = x
    for axis in reversed(range(2, x.ndim)):
        out = _resize_axis(out, axis, outs[axis - 2], scales[axis - 2], mode, align_corners)
    return out


def ambiguous(n, out, scale, exact, two_d=False):
    """Whether PyTorch's kernels (and so gradcnn) may read another source index for some output:
    ``o * scale`` lies within float32 rounding of an integer, or a 2-D shortcut disagrees with the
    formula. The naive reference and the torch comparisons skip those sizes."""
    o = np.arange(out)
    off = 0.5 if exact else 0.0
    s32 = np.float32(1.0 / scale) if scale else np.float32(n) / np.float32(out)
    s64 = 1.0 / scale if scale else n / out
    candidates = [np.floor((o.astype(np.float32) + np.float32(off)) * s32),
                  np.floor(((o + off) * np.float64(s32)).astype(np.float32)),
                  np.floor(((o + off) * s64).astype(np.float32)),
                  np.floor((o + off) * s64)]
    if two_d and not exact and out in (n, 2 * n):
        candidates.append(o if out == n else o // 2)
    candidates = [np.minimum(c, n - 1) for c in candidates]
    return any(not np.array_equal(candidates[0], c) for c in candidates[1:])


# -- cases ----------------------------------------------------------------------------------------


@st.composite
def interpolate_cases(draw, modes=("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"),
                      max_in=5, max_out=8):
    mode = draw(st.sampled_from(modes))
    nd = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}.get(mode) or draw(st.sampled_from([1, 2, 3]))
    if nd == 3:
        max_in, max_out = min(max_in, 3), min(max_out, 4)
    sizes = tuple(draw(st.integers(1, max_in)) for _ in range(nd))
    config = {"mode": mode}
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        config["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        outs = tuple(draw(st.integers(1, max_out)) for _ in range(nd))
        config["size"] = outs if nd > 1 or draw(st.booleans()) else outs[0]
        scales = (None,) * nd
    else:
        factors = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0])) for _ in range(nd))
        outs = tuple(math.floor(n * f) for n, f in zip(sizes, factors))
        if min(outs) < 1:
            factors, outs = (2.0,) * nd, tuple(2 * n for n in sizes)
        config["scale_factor"] = factors if nd > 1 or draw(st.booleans()) else factors[0]
        recompute = mode != "area" and draw(st.booleans())
        if recompute:
            config["recompute_scale_factor"] = True
        scales = (None,) * nd if recompute else factors
    if mode in ("nearest", "nearest-exact"):
        for n, o, s in zip(sizes, outs, scales):
            if ambiguous(n, o, s, mode == "nearest-exact", nd >= 2):
                # these sizes sit on a rounding tie; resize to twice the size instead (no tie)
                config.pop("scale_factor", None)
                config.pop("recompute_scale_factor", None)
                config["size"] = tuple(2 * n for n in sizes)
                break
    x = draw(arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2))) + sizes))
    return (x,), config


# -- forward and gradients against the reference ----------------------------------------------------

test_interpolate = op_test(F.interpolate, interpolate_ref, cases=interpolate_cases(), atol=1e-10, rtol=1e-10)
test_interpolate_second_order = op_test(F.interpolate, interpolate_ref,
                                        cases=interpolate_cases(modes=("nearest", "bilinear"), max_in=3, max_out=4),
                                        atol=1e-10, rtol=1e-10, second_order=True)


@given(n=st.integers(1, 9), out=st.integers(1, 12), align_corners=st.booleans(),
       nearest=st.booleans(), g=arrays((2, 12)))
def test_backward_is_the_transposed_table(n, out, align_corners, nearest, g):
    # <A x, g> == <x, A^T g> for every x: the backward pass applies the adjoint
    table = _nearest_table(n, out, None, False, True, False) if nearest else _linear_table(
        n, out, None, align_corners, True)
    x = np.random.default_rng(n * 100 + out).standard_normal((2, n))
    ax = table.apply(x, 1)
    atg = table.transpose().apply(g[:, :out], 1)
    np.testing.assert_allclose((ax * g[:, :out]).sum(), (x * atg).sum(), rtol=1e-12, atol=1e-12)
    assert table.transpose().transpose() is table


def test_upsampling_gradient_against_finite_differences_on_a_larger_image():
    x = gradcnn.tensor(np.random.default_rng(0).standard_normal((2, 3, 6, 5)), requires_grad=True)
    gradcheck(lambda t: F.interpolate(t, size=(11, 13), mode="bilinear"), x, fast=True)
    gradcheck(lambda t: F.interpolate(t, scale_factor=2.5, mode="nearest"), x, fast=True)


def test_dtypes_are_kept_and_float16_is_interpolated_in_float32():
    x = np.random.default_rng(1).standard_normal((1, 2, 5, 4))
    for dtype in (np.float16, np.float32, np.float64):
        y = F.interpolate(gradcnn.tensor(x.astype(dtype)), size=(7, 9), mode="bilinear")
        assert y.dtype == dtype
    half = F.interpolate(gradcnn.tensor(x.astype(np.float16)), size=(7, 9), mode="bilinear").numpy()
    single = F.interpolate(gradcnn.tensor(x.astype(np.float16).astype(np.float32)), size=(7, 9), mode="bilinear")
    np.testing.assert_array_equal(half, single.numpy().astype(np.float16))


def test_same_size_is_a_copy_not_the_input():
    x = gradcnn.randn(1, 2, 3, 3)
    y = F.interpolate(x, size=3)
    assert y is not x and y._data is not x._data
    np.testing.assert_array_equal(y.numpy(), x.numpy())


# -- against torch.nn.functional.interpolate ---------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed; the comparisons with torch are skipped")


@given(case=interpolate_cases(max_in=7, max_out=15))
def test_interpolate_agrees_with_torch(torch, case):
    (x,), config = case
    seed = np.linspace(-1.0, 1.0, 1000)
    t_x = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    expected = torch.nn.functional.interpolate(t_x, **config)
    g_x = gradcnn.tensor(x, requires_grad=True)
    ours = F.interpolate(g_x, **config)
    assert ours.shape == tuple(expected.shape)
    np.testing.assert_allclose(ours.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    upstream = seed[: ours.numel()].reshape(ours.shape)
    expected.backward(torch.tensor(upstream))
    ours.backward(gradcnn.tensor(upstream))
    np.testing.assert_allclose(g_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-12, atol=1e-12)


@given(n=st.integers(1, 40), out=st.integers(1, 90), nd=st.sampled_from([1, 2]),
       mode=st.sampled_from(["nearest", "nearest-exact"]))
def test_nearest_float32_picks_torchs_indices(torch, n, out, nd, mode):
    if ambiguous(n, out, None, mode == "nearest-exact", nd == 2):
        return
    shape = (1, 2) + ((n,) if nd == 1 else (3, n))
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    size = out if nd == 1 else (3, out)
    expected = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode).numpy()
    np.testing.assert_array_equal(F.interpolate(gradcnn.tensor(x), size=size, mode=mode).numpy(), expected)


@given(n=st.integers(2, 30), out=st.integers(2, 60), align_corners=st.booleans(), nd=st.sampled_from([1, 2]))
def test_linear_float32_within_a_few_ulps_of_torch(torch, n, out, align_corners, nd):
    mode = "linear" if nd == 1 else "bilinear"
    shape = (2, 3) + ((n,) if nd == 1 else (n, n + 1))
    x = np.random.default_rng(n * 1000 + out).standard_normal(shape).astype(np.float32)
    size = out if nd == 1 else (out, out + 2)
    expected = torch.nn.functional.interpolate(torch.tensor(x), size=size, mode=mode, align_corners=align_corners)
    ours = F.interpolate(gradcnn.tensor(x), size=size, mode=mode, align_corners=align_corners)
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-6, atol=1e-6)


def test_nan_and_inf_spread_as_in_torch(torch):
    nan, inf = float("nan"), float("inf")
    cases = [
        (np.array([[[0.0, inf, 1.0, 2.0]]]), {"size": 4, "mode": "linear"}),  # same size: x + 0 * x
        (np.array([[[0.0, inf, 1.0, 2.0]]]), {"size": 8, "mode": "linear"}),
        (np.array([[[nan, 1.0, 2.0]]]), {"size": 6, "mode": "linear", "align_corners": True}),
        (np.array([[[0.0, 1.0, nan]]]), {"size": 5, "mode": "linear"}),
        (np.array([[[[0.0, inf], [1.0, 2.0]]]]), {"size": (2, 3), "mode": "bilinear", "align_corners": True}),
        (np.array([[[[nan, 1.0], [1.0, 2.0]]]]), {"scale_factor": 2, "mode": "nearest"}),
        (np.array([[[[nan, 1.0], [1.0, 2.0]]]]), {"size": 1, "mode": "area"}),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 * inf in NumPy
        for x, config in cases:
            expected = torch.nn.functional.interpolate(torch.tensor(x), **config).numpy()
            ours = F.interpolate(gradcnn.tensor(x), **config).numpy()
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(expected), err_msg=str(config))
            np.testing.assert_allclose(ours, expected, rtol=1e-12, err_msg=str(config))


def test_empty_batch_resizes_to_an_empty_batch(torch):
    for mode, shape in (("nearest", (0, 2, 3, 3)), ("bilinear", (0, 2, 3, 3)), ("linear", (0, 2, 3))):
        expected = torch.nn.functional.interpolate(torch.zeros(shape), size=5, mode=mode)
        assert F.interpolate(gradcnn.zeros(*shape), size=5, mode=mode).shape == tuple(expected.shape)


# -- errors ---------------------------------------------------------------------------------------


def _x(*shape):
    return gradcnn.zeros(*shape)


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3)), ShapeError,
                     r"interpolate: give size or scale_factor$", id="neither"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, scale_factor=2), ShapeError,
                     r"give size or scale_factor, not both \(got size=4, scale_factor=2\)", id="both"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, align_corners=True), ShapeError,
                     r"align_corners=True is only for the interpolating modes linear \| bilinear \| bicubic \| trilinear, "
                     r"not mode "
                     r"'nearest'", id="align-corners-nearest"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, mode="linear"), ShapeError,
                     r"got 4-D input \(1, 1, 3, 3\), but linear mode needs 3-D input", id="linear-4d"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3), size=4, mode="bilinear"), ShapeError,
                     r"got 3-D input \(1, 1, 3\), but bilinear mode needs 4-D input", id="bilinear-3d"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3), size=4, mode="bicubic"), ShapeError,
                     r"got 3-D input \(1, 1, 3\), but bicubic mode needs 4-D input", id="bicubic-3d"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, mode="lanczos"), ShapeError,
                     r"mode 'lanczos' is not provided by gradcnn", id="lanczos"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, mode="foo"), ShapeError,
                     r"mode 'foo' is not one of \('nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', "
                     r"'trilinear', 'area'\)",
                     id="unknown-mode"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=(4, 5, 6)), ShapeError,
                     r"size \(4, 5, 6\) has 3 entries but the input has 2 spatial dims \(3, 3\)", id="size-length"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), scale_factor=(2,)), ShapeError,
                     r"scale_factor \(2,\) has 1 entries but the input has 2 spatial dims", id="scale-length"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=0), ShapeError,
                     r"output size must be positive, got size=0", id="size-zero"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=2.5), DTypeError,
                     r"size must be an int or a tuple of ints, got 2.5", id="size-float"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), scale_factor=0.1), ShapeError,
                     r"input and output sizes must be positive, got input \(H: 3, W: 3\) and output \(H: 0, W: 0\)",
                     id="scale-to-nothing"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), scale_factor=-1), ShapeError,
                     r"scale_factor must be positive and finite, got scale_factor=-1", id="scale-negative"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 0, 3), size=4, mode="bilinear"), ShapeError,
                     r"input and output sizes must be positive, got input \(H: 0, W: 3\)", id="empty-spatial"),
        pytest.param(lambda: F.interpolate(_x(1, 0, 3, 3), size=4), ShapeError,
                     r"input of shape \(1, 0, 3, 3\) has no channels", id="no-channels"),
        pytest.param(lambda: F.interpolate(_x(3, 3), size=4), ShapeError,
                     r"input must be 3-D \(N, C, L\), 4-D \(N, C, H, W\) or 5-D \(N, C, D, H, W\), got shape \(3, 3\)",
                     id="2d"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, recompute_scale_factor=True), ShapeError,
                     r"recompute_scale_factor=True is not meaningful with an explicit size", id="recompute-size"),
        pytest.param(lambda: F.interpolate(_x(1, 1, 3, 3), size=4, antialias=True), ShapeError,
                     r"antialias=True is not provided", id="antialias"),
        pytest.param(lambda: F.interpolate(gradcnn.zeros(1, 1, 3, 3, dtype=np.int64), size=4), DTypeError,
                     r"input must be floating, got int64", id="int-input"),
        pytest.param(lambda: F.interpolate(np.zeros((1, 1, 3, 3)), size=4), DTypeError,
                     r"interpolate: input must be a Tensor, got ndarray", id="array-input"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_resample_is_one_primitive_per_resized_dim():
    x = gradcnn.randn(1, 1, 3, 3, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="bilinear")
    assert y.grad_fn.name() == "Resample"
    assert Resample.__name__ == "Resample"


@pytest.mark.gpu
@given(case=interpolate_cases(max_in=6, max_out=12))
def test_interpolate_on_cuda_matches_the_cpu(case):
    (x,), config = case
    results = []
    for device in ("cpu", "cuda"):
        xt = gradcnn.tensor(x, device=device, requires_grad=True)
        y = F.interpolate(xt, **config)
        y.backward(gradcnn.tensor(np.linspace(-1, 1, y.numel()).reshape(y.shape), device=device))
        assert y.device.startswith(device) and xt.grad.device.startswith(device)
        results.append((y.detach().cpu().numpy(), xt.grad.cpu().numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
