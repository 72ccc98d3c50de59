"""Max, average and adaptive pooling against the naive references in tests/reference.py, with
gradients and second derivatives (scatter/gather, adjoint pairs) against finite differences."""

import numpy as np
import pytest
from reference import (
    ref_adaptive_avg_pool_nd,
    ref_adaptive_max_pool_nd,
    ref_avg_pool_nd,
    ref_max_pool_nd,
    values_only,
)

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.testing import op_test
from gradcnn.testing.strategies import pool_cases

test_max_pool1d = op_test(F.max_pool1d, values_only(ref_max_pool_nd), cases=pool_cases(1, "max"), second_order=True)
test_max_pool2d = op_test(F.max_pool2d, values_only(ref_max_pool_nd), cases=pool_cases(2, "max"), second_order=True)
test_avg_pool1d = op_test(F.avg_pool1d, ref_avg_pool_nd, cases=pool_cases(1, "avg"), second_order=True)
test_avg_pool2d = op_test(F.avg_pool2d, ref_avg_pool_nd, cases=pool_cases(2, "avg"), second_order=True)
test_adaptive_avg_pool1d = op_test(F.adaptive_avg_pool1d, ref_adaptive_avg_pool_nd, cases=pool_cases(1, "adaptive_avg"))
test_adaptive_avg_pool2d = op_test(F.adaptive_avg_pool2d, ref_adaptive_avg_pool_nd, cases=pool_cases(2, "adaptive_avg"),
                                   second_order=True)
test_adaptive_max_pool1d = op_test(F.adaptive_max_pool1d, values_only(ref_adaptive_max_pool_nd),
                                   cases=pool_cases(1, "adaptive_max"))
test_adaptive_max_pool2d = op_test(F.adaptive_max_pool2d, values_only(ref_adaptive_max_pool_nd),
                                   cases=pool_cases(2, "adaptive_max"), second_order=True)


def test_max_pool_indices_match_reference():
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 3 * 7 * 6).reshape(2, 3, 7, 6).astype(np.float64)
    values, indices = F.max_pool2d(gradcnn.tensor(x), 3, 2, padding=1, ceil_mode=True, return_indices=True)
    ref_values, ref_indices = ref_max_pool_nd(x, 3, 2, padding=1, ceil_mode=True)
    np.testing.assert_array_equal(values.numpy(), ref_values)
    np.testing.assert_array_equal(indices.numpy(), ref_indices)
    assert indices.dtype == np.int64


def test_overlapping_max_pool_routes_gradient_to_each_window_max():
    # 3x3 windows, stride 2, on a 5x5 ramp: the centre 3x3 max (position 12) is in all 4 windows
    x = gradcnn.tensor(np.arange(25.0).reshape(1, 1, 5, 5), requires_grad=True)
    F.max_pool2d(x, 3, 2).sum().backward()
    g = x.grad.numpy().reshape(5, 5)
    # window maxima are at (2, 2), (2, 4), (4, 2), (4, 4): each gets 1
    expected = np.zeros((5, 5))
    expected[[2, 2, 4, 4], [2, 4, 2, 4]] = 1
    np.testing.assert_array_equal(g, expected)


def test_global_pools():
    x = gradcnn.randn(2, 3, 4, 5, dtype=gradcnn.float64)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy()[..., 0, 0], x.numpy().mean((2, 3)))
    seq = gradcnn.randn(2, 3, 7, dtype=gradcnn.float64)
    np.testing.assert_allclose(F.adaptive_max_pool1d(seq, 1).numpy()[..., 0], seq.numpy().max(2))


def test_nan_propagates_through_max_pool():
    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 1, 0] = np.nan
    assert np.isnan(F.max_pool2d(gradcnn.tensor(x), 2).item())


def test_empty_batch_pools():
    x = gradcnn.zeros(0, 2, 4, 4, dtype=gradcnn.float64, requires_grad=True)
    y = F.max_pool2d(x, 2) + F.avg_pool2d(x, 2)
    assert y.shape == (0, 2, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 4, 4)


@pytest.mark.parametrize("name, args", [("max_pool1d", (2,)), ("avg_pool1d", (3, 1, 1)), ("adaptive_avg_pool1d", (4,)),
                                        ("adaptive_max_pool1d", (4,)), ("max_pool2d", (2,)), ("avg_pool2d", (3, 1, 1)),
                                        ("adaptive_avg_pool2d", ((None, 2),)), ("adaptive_max_pool2d", (4,))])
def test_unbatched_input_pools_as_a_batch_of_one(name, args):
    rng = np.random.default_rng(2)
    shape = (3, 6) if name.endswith("1d") else (3, 6, 5)
    x = gradcnn.tensor(rng.standard_normal(shape), requires_grad=True)
    xb = gradcnn.tensor(x.detach().numpy()[None], requires_grad=True)
    y, yb = getattr(F, name)(x, *args), getattr(F, name)(xb, *args)
    assert y.shape == yb.shape[1:]
    np.testing.assert_array_equal(y.detach().numpy(), yb.detach().numpy()[0])
    (y * y).sum().backward()
    (yb * yb).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xb.grad.numpy()[0])


def test_integer_pools_follow_pytorch():
    # max pooling keeps the dtype; int64 average pooling divides and truncates toward zero
    x = gradcnn.tensor(np.array([[[1, 2, -1, -2, -3, -6, 7, 7]]], dtype=np.int64))
    assert F.max_pool1d(x, 2, return_indices=True)[0].tolist() == [[[2, -1, -3, 7]]]
    assert F.avg_pool1d(x, 2).tolist() == [[[1, -1, -4, 7]]]
    assert F.avg_pool1d(x, 3, padding=1).tolist() == [[[1, -2, 2]]]
    y = F.max_pool2d(gradcnn.tensor(np.arange(16, dtype=np.uint8).reshape(1, 4, 4)), 2)
    assert y.dtype == np.uint8 and y.tolist() == [[[5, 7], [13, 15]]]


def test_adaptive_output_size_zero_gives_an_empty_result():
    x = gradcnn.tensor(np.ones((2, 3, 6, 6)))
    assert F.adaptive_avg_pool2d(x, 0).shape == (2, 3, 0, 0)
    values, indices = F.adaptive_max_pool2d(x, (1, 0), return_indices=True)
    assert values.shape == indices.shape == (2, 3, 1, 0)


def t(shape, dtype=np.float64):
    return gradcnn.tensor(np.ones(shape, dtype=dtype))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.max_pool2d(t((4, 4)), 2), IndexOutOfRangeError, r"\(N, C, H, W\), got shape \(4, 4\)"),
        (lambda: F.avg_pool1d(t((1, 1, 1, 4)), 2), ShapeError, r"\(N, C, L\), got shape \(1, 1, 1, 4\)"),
        (lambda: F.max_pool2d(t((1, 1, 4, 4)), 0), ShapeError, r"kernel_size must be positive, got \(0, 0\)"),
        (lambda: F.max_pool2d(t((1, 1, 4, 4)), 2, stride=-1), ShapeError, "stride must be positive"),
        (lambda: F.max_pool2d(t((1, 1, 4, 4)), 3, padding=2), ShapeError,
         r"padding \(2, 2\) must be at most half the kernel size \(3, 3\)"),
        (lambda: F.max_pool2d(t((1, 1, 2, 2)), 3), ShapeError,
         r"max_pool2d: kernel \(3x3, dilation 1x1 -> 3x3\) is larger than padded input \(2x2 = input 2x2 \+ padding 0x0\)"),
        (lambda: F.max_pool1d(t((1, 1, 4)), 2.5), DTypeError, "kernel_size must be an int"),
        (lambda: F.avg_pool2d(t((1, 1, 4, 4), np.int32), 2), DTypeError, "floating or int64, got int32"),
        (lambda: F.max_pool2d(t((1, 1, 4, 4), np.bool_), 2), DTypeError, "floating or integer, got bool"),
        (lambda: F.adaptive_avg_pool2d(t((1, 1, 4, 4), np.int64), 2), DTypeError, "floating, got int64"),
        (lambda: F.max_pool1d(t((1, 1, 4), np.int64), 2), DTypeError, "return_indices"),
        (lambda: F.avg_pool2d(t((1, 1, 4, 4)), 2, divisor_override=0), ShapeError, "divisor_override must not be zero"),
        (lambda: F.avg_pool2d(t((1, 1, 4, 4)), 2, divisor_override=2.0), DTypeError, "divisor_override must be an int"),
        (lambda: F.avg_pool2d(t((1, 1, 4, 4)), 2, ceil_mode=1), DTypeError, "ceil_mode must be a bool, got 1"),
        (lambda: F.avg_pool1d(t((1, 1, 4)), 2, count_include_pad=None), DTypeError, "count_include_pad must be a bool"),
        (lambda: F.max_pool1d(t((1, 1, 4)), 2, ceil_mode="yes"), DTypeError, "ceil_mode must be a bool"),
        (lambda: F.adaptive_avg_pool2d(t((1, 1, 4, 4)), -1), ShapeError, r"output_size must be non-negative, got \(-1, -1\)"),
        (lambda: F.adaptive_max_pool1d(t((1, 1, 4)), (None,)), DTypeError, "output_size must be an int"),
        (lambda: F.adaptive_max_pool2d(t((1, 1, 4, 4)), (1, 2, 3)), ShapeError,
         r"output_size must be an int or a tuple of 2 ints, got \(1, 2, 3\) \(3 entries\)"),
        (lambda: F.adaptive_avg_pool2d(t((1, 1, 4, 4)), (None, -1)), ShapeError, r"output_size\[1\] must be >= 0"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_dilated_window_wholly_in_padding_gives_minus_inf_and_no_gradient():
    # input 1, kernel 2, dilation 2, padding 1: taps at -1 and 1, both outside the input
    x = gradcnn.tensor(np.array([[[3.0]]]), requires_grad=True)
    y, idx = F.max_pool1d(x, 2, stride=1, padding=1, dilation=2, return_indices=True)
    assert y.shape == (1, 1, 1) and y.item() == -np.inf and idx.item() == -1
    y.backward(gradcnn.ones_like(y))
    assert x.grad.item() == 0.0


@pytest.mark.parametrize("pool", ["max", "avg"])
def test_batch_chunks_on_the_worker_pool_match_the_reference(monkeypatch, pool):
    from gradcnn.backends.cpu import threads

    monkeypatch.setattr(threads, "CHUNK_BYTES", 2_000)
    monkeypatch.setattr(threads, "INLINE_BYTES", 0)
    rng = np.random.default_rng(5)
    x = rng.permutation(7 * 3 * 9 * 8).reshape(7, 3, 9, 8).astype(np.float64)
    xt = gradcnn.tensor(x, requires_grad=True)
    if pool == "max":
        y = F.max_pool2d(xt, 3, 2, padding=1)
        expected = ref_max_pool_nd(x, 3, 2, padding=1)[0]
    else:
        y = F.avg_pool2d(xt, 3, 2, padding=1, count_include_pad=False)
        expected = ref_avg_pool_nd(x, 3, 2, padding=1, count_include_pad=False)
    np.testing.assert_allclose(y.detach().numpy(), expected)
    y.sum().backward()
    assert xt.grad.shape == x.shape and np.isfinite(xt.grad.numpy()).all()
    assert xt.grad.numpy().sum() == pytest.approx(y.numel() if pool == "max" else y.numel())
