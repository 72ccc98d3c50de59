"""Tests of gradcnn/ops/loss.py: cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss,
huber_loss, binary_cross_entropy, binary_cross_entropy_with_logits, kl_div.

Each loss has a property test against a NumPy reference (forward, and gradients against finite
differences in float64), a hypothesis comparison with torch.nn.functional (values and gradients,
float64, rtol 1e-10), and its argument errors checked against the exception torch raises for the
same call."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import (
    DTypeError,
    GradcnnError,
    IndexOutOfRangeError,
    LossDTypeError,
    LossValueError,
    ShapeError,
)
from gradcnn.testing import arrays, floats, gradcheck, op_test
from gradcnn.testing.strategies import array_shapes

MAX_CLASSES = 4

# -- NumPy references ---------------------------------------------------------------------------


def log_softmax_ref(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


def _rows(x):
    """``(samples, classes)``: the class dim (1, or 0 for a 1-D input) moved last, the rest flattened."""
    class_dim = 0 if x.ndim == 1 else 1
    return np.moveaxis(x, class_dim, -1).reshape(-1, x.shape[class_dim])


def _reduce(losses, reduction, shape, total_weight):
    if reduction == "none":
        return losses.reshape(shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / total_weight


def nll_loss_ref(logp, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """One sample at a time: ``-w[t] logp[t]``, mixed with ``-sum_c w[c] logp[c] / C`` for smoothing;
    the mean divides by the summed ``w[t]`` of the samples not ignored."""
    rows = _rows(logp)
    classes = rows.shape[1]
    w = np.ones(classes) if weight is None else weight
    losses, total_weight = [], 0.0
    for row, t in zip(rows, target.reshape(-1)):
        if t == ignore_index:
            losses.append(0.0)
            continue
        nll = -w[t] * row[t]
        smooth = -(w * row).sum() / classes
        losses.append((1 - label_smoothing) * nll + label_smoothing * smooth)
        total_weight += w[t]
    return _reduce(np.array(losses), reduction, target.shape, total_weight)


def cross_entropy_ref(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    class_dim = 0 if x.ndim == 1 else 1
    return nll_loss_ref(log_softmax_ref(x, class_dim), target, weight, ignore_index, reduction, label_smoothing)


def cross_entropy_probs_ref(x, target, weight=None, reduction="mean", label_smoothing=0.0):
    """Class-probability targets: ``-sum_c w[c] q[c] logp[c]`` with ``q`` mixed with the uniform
    distribution; the mean is over samples."""
    rows, q = _rows(log_softmax_ref(x, 0 if x.ndim == 1 else 1)), _rows(target)
    classes = rows.shape[1]
    q = (1 - label_smoothing) * q + label_smoothing / classes
    w = np.ones(classes) if weight is None else weight
    losses = -(w * q * rows).sum(axis=1)
    return _reduce(losses, reduction, x.shape[:1] + x.shape[2:] if x.ndim > 1 else (), len(losses))


def mse_loss_ref(x, target, reduction="mean"):
    return _reduce((x - target) ** 2, reduction, x.shape, x.size)


def l1_loss_ref(x, target, reduction="mean"):
    return _reduce(np.abs(x - target), reduction, x.shape, x.size)


def bce_with_logits_ref(x, target, weight=None, pos_weight=None, reduction="mean"):
    p = 1 / (1 + np.exp(-x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * target * np.log(p) + (1 - target) * np.log(1 - p))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, loss.shape, loss.size)


def smooth_l1_ref(x, target, reduction="mean", beta=1.0):
    z = np.abs(x - target)
    loss = z if beta == 0 else np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)
    return _reduce(loss, reduction, loss.shape, loss.size)


def huber_ref(x, target, reduction="mean", delta=1.0):
    z = np.abs(x - target)
    loss = np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))
    return _reduce(loss, reduction, loss.shape, loss.size)


def bce_ref(x, target, weight=None, reduction="mean"):
    """Each log clamped below at -100, as PyTorch does."""
    with np.errstate(divide="ignore"):
        loss = -(target * np.maximum(np.log(x), -100) + (1 - target) * np.maximum(np.log(1 - x), -100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, loss.shape, loss.size)


def kl_div_ref(x, target, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(target) * (target - x)
    else:
        safe = np.where(target > 0, target, 1.0)
        loss = np.where(target > 0, target * np.log(safe), 0.0) - target * x
    if reduction == "batchmean":
        return loss.sum() / (x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction, loss.shape, loss.size)


# -- strategies ---------------------------------------------------------------------------------


@st.composite
def class_inputs(draw, float_target=False, max_side=3, spatial=True):
    """Logits ``(C,)``, ``(N, C)`` or ``(N, C, d1[, d2])`` and integer targets (or, with
    ``float_target``, class probabilities of the logits' shape)."""
    c = draw(st.integers(1, MAX_CLASSES))
    n = draw(st.integers(1, max_side))
    layouts = [(c,), (n, c)]
    if spatial:
        layouts.append((n, c) + draw(array_shapes(min_dims=1, max_dims=2, max_side=max_side)))
    shape = draw(st.sampled_from(layouts))
    x = draw(arrays(shape, min_value=-5.0, max_value=5.0))
    if float_target:
        return x, draw(arrays(shape, min_value=0.0, max_value=1.0))
    target_shape = () if len(shape) == 1 else shape[:1] + shape[2:]
    return x, draw(arrays(target_shape, dtype=np.int64, min_value=0, max_value=c - 1))


reductions = st.sampled_from(["none", "mean", "sum"])
# A weight for each of up to MAX_CLASSES classes: kwargs are drawn before the number of classes is
# known, so the ops below use the first C of them.
class_weights = st.none() | arrays((MAX_CLASSES,), min_value=0.1, max_value=2.0)
smoothing = st.just(0.0) | floats(0.0, 1.0)

ce_config = st.fixed_dictionaries({
    "weight": class_weights,
    "ignore_index": st.sampled_from([-100, 0, 1]),
    "reduction": reductions,
    "label_smoothing": smoothing,
})


def _classes(x):
    return x.shape[0 if x.ndim == 1 else 1]


def _first_weights(weight, x, wrap):
    return None if weight is None else wrap(np.asarray(weight)[: _classes(x)])


def _assume_some_target_counts(target, ignore_index, reduction):
    # A mean over no targets is 0 / 0 (nan in PyTorch too): not a case for a gradient check.
    assume(reduction != "mean" or (np.asarray(target) != ignore_index).any())


def _cross_entropy(x, target, weight=None, **config):
    _assume_some_target_counts(target._data, config["ignore_index"], config["reduction"])
    return F.cross_entropy(x, target, _first_weights(weight, x, gradcnn.tensor), **config)


def _cross_entropy_ref(x, target, weight=None, **config):
    return cross_entropy_ref(x, target, _first_weights(weight, x, np.asarray), **config)


def _nll_loss(logp, target, weight=None, **config):
    _assume_some_target_counts(target._data, config["ignore_index"], config["reduction"])
    return F.nll_loss(logp, target, _first_weights(weight, logp, gradcnn.tensor), **config)


def _nll_loss_ref(logp, target, weight=None, **config):
    return nll_loss_ref(logp, target, _first_weights(weight, logp, np.asarray), **config)


def _cross_entropy_probs(x, target, weight=None, **config):
    return F.cross_entropy(x, target, _first_weights(weight, x, gradcnn.tensor), **config)


def _cross_entropy_probs_ref(x, target, weight=None, **config):
    return cross_entropy_probs_ref(x, target, _first_weights(weight, x, np.asarray), **config)


# -- forward and gradients against the references -------------------------------------------


test_cross_entropy = op_test(_cross_entropy, _cross_entropy_ref, class_inputs(), kwargs=ce_config)

test_cross_entropy_second_order = op_test(
    _cross_entropy, _cross_entropy_ref, class_inputs(max_side=2, spatial=False), kwargs=ce_config,
    second_order=True,
)

test_cross_entropy_probability_targets = op_test(
    _cross_entropy_probs, _cross_entropy_probs_ref, class_inputs(float_target=True),
    kwargs=st.fixed_dictionaries({"weight": class_weights, "reduction": reductions,
                                  "label_smoothing": smoothing}),
)

test_nll_loss = op_test(
    _nll_loss, _nll_loss_ref, class_inputs(),
    kwargs=st.fixed_dictionaries({"weight": class_weights, "ignore_index": st.sampled_from([-100, 0, 1]),
                                  "reduction": reductions}),
)


@st.composite
def pairs(draw, apart=False):
    """``(input, target)`` of one shape; with ``apart``, never closer than 1e-3 (where |x - t| kinks)."""
    x = draw(arrays(array_shapes(min_dims=0, max_dims=3, max_side=3)))
    return x, x - draw(arrays(x.shape, avoid=(0,) if apart else ()))


test_mse_loss = op_test(F.mse_loss, mse_loss_ref, pairs(), kwargs=st.fixed_dictionaries({"reduction": reductions}))
test_l1_loss = op_test(
    F.l1_loss, l1_loss_ref, pairs(apart=True), kwargs=st.fixed_dictionaries({"reduction": reductions})
)


@st.composite
def bce_inputs(draw, weighted=False):
    """Logits, targets in [0, 1]; with ``weighted`` also a weight (the input's shape or its last dim,
    broadcast) and a positive ``pos_weight`` (one per class of the last dim, or one)."""
    x = draw(arrays(array_shapes(min_dims=1, max_dims=3, max_side=3)))
    target = draw(arrays(x.shape, min_value=0.0, max_value=1.0))
    if not weighted:
        return x, target
    weight = draw(arrays(draw(st.sampled_from([x.shape, x.shape[-1:]])), min_value=0.0, max_value=2.0))
    pos_weight = draw(arrays(draw(st.sampled_from([x.shape[-1:], (1,)])), min_value=0.1, max_value=5.0))
    return x, target, weight, pos_weight


test_binary_cross_entropy_with_logits = op_test(
    F.binary_cross_entropy_with_logits, bce_with_logits_ref, bce_inputs(),
    kwargs=st.fixed_dictionaries({"reduction": reductions}),
)


def _bce_weighted(x, target, weight, pos_weight, reduction):
    return F.binary_cross_entropy_with_logits(x, target, weight, reduction=reduction, pos_weight=pos_weight)


def _bce_weighted_ref(x, target, weight, pos_weight, reduction):
    return bce_with_logits_ref(x, target, weight, pos_weight, reduction)


test_binary_cross_entropy_with_logits_weighted = op_test(
    _bce_weighted, _bce_weighted_ref, bce_inputs(weighted=True),
    kwargs=st.fixed_dictionaries({"reduction": reductions}),
)


# -- properties the references cannot state ------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_of_huge_logits_is_finite(dtype):
    x = gradcnn.tensor(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype), requires_grad=True)
    loss = F.cross_entropy(x, gradcnn.tensor([1, 2]), reduction="none")
    loss.backward(gradcnn.ones_like(loss))
    np.testing.assert_allclose(loss._data, [2e4, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad._data, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_of_huge_logits_is_finite(dtype):
    x = gradcnn.tensor(np.array([1e4, -1e4, 100.0, -100.0], dtype=dtype), requires_grad=True)
    t = gradcnn.tensor(np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    loss.backward(gradcnn.ones_like(loss))
    np.testing.assert_allclose(loss._data, [1e4, 1e4, 0.0, 0.0], atol=1e-30 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(x.grad._data, [1.0, -1.0, 0.0, 0.0], atol=1e-30 if dtype == np.float64 else 1e-6)


def test_bce_with_logits_gradient_at_zero_logit():
    # Zero logits are common (a zero-initialised last layer); the loss is smooth there, with
    # derivative pos_weight * t * (sigmoid(x) - 1) + (1 - t) * sigmoid(x) = 0.5 * (1 - t - pos_weight * t).
    x = gradcnn.zeros(3, dtype=np.float64, requires_grad=True)
    t = gradcnn.tensor(np.array([0.0, 1.0, 0.3]))
    pos_weight = gradcnn.tensor(np.array([1.0, 2.0, 2.0]))
    F.binary_cross_entropy_with_logits(x, t, reduction="sum", pos_weight=pos_weight).backward()
    np.testing.assert_allclose(x.grad._data, [0.5, -1.0, 0.05], rtol=1e-12)


def test_cross_entropy_ignored_targets_get_no_gradient():
    x = gradcnn.randn(3, 4, dtype=np.float64, requires_grad=True)
    F.cross_entropy(x, gradcnn.tensor([2, -100, 1]), label_smoothing=0.2).backward()
    assert not x.grad._data[1].any()
    assert x.grad._data[[0, 2]].all()


def _combination(weighted, ignore_index):
    """Logits (3, 4, 2) and targets where two of six are ``ignore_index``."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 2)) * 2.0
    target = np.array([[0, ignore_index], [3, 2], [ignore_index, 1 if ignore_index != 1 else 0]])
    weight = np.array([0.2, 1.0, 1.7, 0.6]) if weighted else None
    return x, target, weight


COMBINATIONS = [
    pytest.param(weighted, ignore_index, reduction, label_smoothing,
                 id=f"{'weight' if weighted else 'no_weight'}-ignore{ignore_index}-{reduction}-ls{label_smoothing}")
    for weighted in (False, True)
    for ignore_index in (-100, 1)
    for reduction in ("none", "mean", "sum")
    for label_smoothing in (0.0, 0.3)
]


@pytest.mark.parametrize("weighted, ignore_index, reduction, label_smoothing", COMBINATIONS)
def test_cross_entropy_combinations(weighted, ignore_index, reduction, label_smoothing):
    x, target, weight = _combination(weighted, ignore_index)
    config = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": label_smoothing}
    t = gradcnn.tensor(x, requires_grad=True)
    ours = F.cross_entropy(t, gradcnn.tensor(target), None if weight is None else gradcnn.tensor(weight), **config)
    np.testing.assert_allclose(ours._data, cross_entropy_ref(x, target, weight, **config), rtol=1e-12)
    gradcheck(lambda t: F.cross_entropy(t, gradcnn.tensor(target),
                                        None if weight is None else gradcnn.tensor(weight), **config), t)


# -- against torch.nn.functional (verifies the references) ----------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed; the comparisons with torch are skipped")


@given(xt=class_inputs(), config=ce_config)
def test_cross_entropy_agrees_with_torch(torch, xt, config):
    x, target = xt
    weight = config.pop("weight")
    weight = None if weight is None else weight[: _classes(x)]
    _assume_some_target_counts(target, config["ignore_index"], config["reduction"])
    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(
        tx, torch.tensor(target), None if weight is None else torch.tensor(weight), **config
    )
    expected.backward(torch.ones_like(expected))
    gx = gradcnn.tensor(x, requires_grad=True)
    ours = F.cross_entropy(gx, gradcnn.tensor(target), None if weight is None else gradcnn.tensor(weight), **config)
    ours.backward(gradcnn.ones_like(ours))
    np.testing.assert_allclose(cross_entropy_ref(x, target, weight, **config), expected.detach().numpy(),
                               rtol=1e-10, atol=1e-12, err_msg="the reference differs from torch")
    np.testing.assert_allclose(ours._data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weighted, ignore_index, reduction, label_smoothing", COMBINATIONS)
def test_cross_entropy_combinations_agree_with_torch(torch, weighted, ignore_index, reduction, label_smoothing):
    x, target, weight = _combination(weighted, ignore_index)
    config = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": label_smoothing}
    tx = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx, torch.tensor(target),
                                                 None if weight is None else torch.tensor(weight), **config)
    expected.backward(torch.ones_like(expected))
    gx = gradcnn.tensor(x, requires_grad=True)
    ours = F.cross_entropy(gx, gradcnn.tensor(target), None if weight is None else gradcnn.tensor(weight), **config)
    ours.backward(gradcnn.ones_like(ours))
    np.testing.assert_allclose(cross_entropy_ref(x, target, weight, **config), expected.detach().numpy(),
                               rtol=1e-12, err_msg="the reference differs from torch")
    np.testing.assert_allclose(ours._data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


@given(xt=class_inputs(float_target=True), weight=class_weights, reduction=reductions, label_smoothing=smoothing)
def test_cross_entropy_probability_targets_agree_with_torch(torch, xt, weight, reduction, label_smoothing):
    x, target = xt
    weight = None if weight is None else weight[: _classes(x)]
    config = {"reduction": reduction, "label_smoothing": label_smoothing}
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(x), torch.tensor(target), None if weight is None else torch.tensor(weight), **config
    ).numpy()
    np.testing.assert_allclose(cross_entropy_probs_ref(x, target, weight, **config), expected, rtol=1e-10, atol=1e-12)
    ours = F.cross_entropy(gradcnn.tensor(x), gradcnn.tensor(target),
                           None if weight is None else gradcnn.tensor(weight), **config)
    np.testing.assert_allclose(ours._data, expected, rtol=1e-10, atol=1e-12)


@given(inputs=bce_inputs(weighted=True), reduction=reductions)
def test_bce_with_logits_agrees_with_torch(torch, inputs, reduction):
    x, target, weight, pos_weight = inputs
    tx = torch.tensor(x, requires_grad=True)
    tpw = torch.tensor(pos_weight)  # torch has no gradient for pos_weight; op_test checks ours
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.tensor(target), torch.tensor(weight), reduction=reduction, pos_weight=tpw
    )
    expected.backward(torch.ones_like(expected))
    gx = gradcnn.tensor(x, requires_grad=True)
    gpw = gradcnn.tensor(pos_weight)
    ours = F.binary_cross_entropy_with_logits(
        gx, gradcnn.tensor(target), gradcnn.tensor(weight), reduction=reduction, pos_weight=gpw
    )
    ours.backward(gradcnn.ones_like(ours))
    np.testing.assert_allclose(bce_with_logits_ref(x, target, weight, pos_weight, reduction),
                               expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours._data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


# -- the other losses against their references ------------------------------------------------------


@st.composite
def kink_cases(draw, param, allow_zero=False, weighted=False):
    """``((input, target[, weight]), {"reduction", param})`` with ``input - target`` kept away from
    the kinks at 0 and +-``param`` (beta or delta), where the loss has no second derivative."""
    choices = [0.5, 1.0, 2.5] + ([0.0] if allow_zero else [])
    value = draw(st.sampled_from(choices))
    x = draw(arrays(array_shapes(min_dims=0, max_dims=3, max_side=3), min_value=-5, max_value=5))
    d = draw(arrays(x.shape, min_value=-5, max_value=5, avoid=(0.0, value, -value)))
    inputs = (x, x - d)
    if weighted:
        inputs += (draw(arrays(x.shape, min_value=0.1, max_value=2.0)),)
    return inputs, {"reduction": draw(reductions), param: value}


test_smooth_l1_loss = op_test(F.smooth_l1_loss, smooth_l1_ref, cases=kink_cases("beta", allow_zero=True))
test_huber_loss = op_test(F.huber_loss, huber_ref, cases=kink_cases("delta"))


def _huber_weighted(x, target, weight, reduction, delta):
    return F.huber_loss(x, target, reduction=reduction, delta=delta, weight=weight)


def _huber_weighted_ref(x, target, weight, reduction, delta):
    z = np.abs(x - target)
    loss = np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta)) * weight
    return _reduce(loss, reduction, loss.shape, loss.size)  # PyTorch: a plain mean, even weighted


test_huber_loss_weighted = op_test(_huber_weighted, _huber_weighted_ref, cases=kink_cases("delta", weighted=True))


@st.composite
def weighted_pairs(draw, apart=False):
    x, t = draw(pairs(apart))
    return x, t, draw(arrays(x.shape, min_value=0.1, max_value=2.0))


def _weighted_ref(fn):
    def ref(x, target, weight, reduction):
        loss = fn(x - target) * weight
        return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction, loss.shape, 0)

    return ref


test_mse_loss_weighted = op_test(
    lambda x, t, w, reduction: F.mse_loss(x, t, reduction=reduction, weight=w), _weighted_ref(np.square),
    weighted_pairs(), kwargs=st.fixed_dictionaries({"reduction": reductions}),
)
test_l1_loss_weighted = op_test(
    lambda x, t, w, reduction: F.l1_loss(x, t, reduction=reduction, weight=w), _weighted_ref(np.abs),
    weighted_pairs(apart=True), kwargs=st.fixed_dictionaries({"reduction": reductions}),
)


@st.composite
def probability_inputs(draw, weighted=False, interior=True):
    """Probabilities and targets in [0.02, 0.98] (finite differences stay inside [0, 1]), or,
    without ``interior``, in [0, 1], ends included; with ``weighted``, a weight that broadcasts."""
    lo, hi = (0.02, 0.98) if interior else (0.0, 1.0)
    x = draw(arrays(array_shapes(min_dims=0, max_dims=3, max_side=3), min_value=lo, max_value=hi))
    target = draw(arrays(x.shape, min_value=lo, max_value=hi))
    if not weighted:
        return x, target
    shape = draw(st.sampled_from([x.shape, x.shape[-1:], (1,) * x.ndim]))
    return x, target, draw(arrays(shape, min_value=0.0, max_value=2.0))


test_binary_cross_entropy = op_test(
    F.binary_cross_entropy, bce_ref, probability_inputs(weighted=True),
    kwargs=st.fixed_dictionaries({"reduction": reductions}),
)

# Its own backward is a primitive's: the second derivative goes through that formula.
test_binary_cross_entropy_second_order = op_test(
    F.binary_cross_entropy, bce_ref, probability_inputs(), kwargs=st.fixed_dictionaries({"reduction": reductions}),
    second_order=True,
)


@st.composite
def kl_inputs(draw, log_target=False):
    x = draw(arrays(array_shapes(min_dims=0, max_dims=3, max_side=3), min_value=-4, max_value=1))
    lo, hi = (-4.0, 1.0) if log_target else (0.05, 1.0)  # positive targets: t log t is smooth there
    return x, draw(arrays(x.shape, min_value=lo, max_value=hi))


kl_reductions = st.sampled_from(["none", "sum", "batchmean"])  # "mean" warns; it has its own test

test_kl_div = op_test(F.kl_div, kl_div_ref, kl_inputs(),
                      kwargs=st.fixed_dictionaries({"reduction": kl_reductions}))
test_kl_div_log_target = op_test(
    F.kl_div, kl_div_ref, kl_inputs(log_target=True),
    kwargs=st.fixed_dictionaries({"reduction": kl_reductions, "log_target": st.just(True)}),
)


# -- every loss against torch.nn.functional, values and gradients (float64) ----------------------------

TOL = {"rtol": 1e-10, "atol": 1e-12}


def _call(torch, lib, name, arrays_, grad, kwargs):
    """``F.<name>(*arrays_, **kwargs)`` in gradcnn or torch, then backward from ones; returns the
    value and the gradients of the arrays whose index is in ``grad``."""
    if lib == "torch":  # (contiguous: torch's nll_loss2d backward fails on a Fortran-ordered input)
        f = getattr(torch.nn.functional, name)

        def make(a, requires_grad=False):
            return torch.tensor(np.array(a, order="C"), requires_grad=requires_grad)
    else:
        f, make = getattr(F, name), gradcnn.tensor
    ts = [make(a, requires_grad=i in grad) for i, a in enumerate(arrays_)]
    kw = {k: make(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # kl_div's "mean" warning, in both
        out = f(*ts, **kw)
    # (contiguous ones: torch's nll_loss backward refuses a strided seed)
    out.backward(torch.ones(out.shape, dtype=out.dtype) if lib == "torch" else gradcnn.ones_like(out))
    value = out.detach().numpy() if lib == "torch" else out._data
    grads = [(ts[i].grad.numpy() if lib == "torch" else ts[i].grad._data) for i in sorted(grad)]
    return value, grads


def _assert_same_as_torch(torch, name, arrays_, grad=(0, 1), skip=None, **kwargs):
    ours, our_grads = _call(torch, "gradcnn", name, arrays_, set(grad), kwargs)
    theirs, their_grads = _call(torch, "torch", name, arrays_, set(grad), kwargs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, **TOL)
    for i, a, b in zip(sorted(grad), our_grads, their_grads):
        if skip is not None and i in skip:  # entries where torch's gradient is nan and ours is not
            a, b = a[~skip[i]], b[~skip[i]]
        np.testing.assert_allclose(a, b, **TOL, err_msg=f"gradient of argument {i}")


@given(xt=pairs(), weighted=st.booleans(), reduction=reductions, name=st.sampled_from(["mse_loss", "l1_loss"]))
def test_mse_and_l1_agree_with_torch(torch, xt, weighted, reduction, name):
    x, t = xt
    weight = {"weight": np.linspace(0.5, 1.5, x.size).reshape(x.shape)} if weighted else {}
    _assert_same_as_torch(torch, name, [x, t], reduction=reduction, **weight)


# (beta above 1e-3: with a subnormal beta the quadratic branch's gradient 1 / beta overflows)
@given(xt=pairs(), beta=st.just(0.0) | floats(1e-3, 3.0), reduction=reductions)
def test_smooth_l1_agrees_with_torch(torch, xt, beta, reduction):
    _assert_same_as_torch(torch, "smooth_l1_loss", list(xt), reduction=reduction, beta=beta)


@given(xt=pairs(), delta=floats(0.01, 3.0), weighted=st.booleans(), reduction=reductions)
def test_huber_agrees_with_torch(torch, xt, delta, weighted, reduction):
    x, t = xt
    weight = {"weight": np.linspace(0.5, 1.5, x.size).reshape(x.shape)} if weighted else {}
    _assert_same_as_torch(torch, "huber_loss", [x, t], reduction=reduction, delta=delta, **weight)


@given(inputs=probability_inputs(weighted=True, interior=False), reduction=reductions)
def test_bce_agrees_with_torch(torch, inputs, reduction):
    # ends included: x = 0 or 1 gives the clamped log (100) and torch's 1e12-bounded gradient
    x, t, weight = inputs
    _assert_same_as_torch(torch, "binary_cross_entropy", [x, t], weight=weight, reduction=reduction)


@given(inputs=kl_inputs(), zeros=st.booleans(), reduction=st.sampled_from(["none", "sum", "mean", "batchmean"]))
def test_kl_div_agrees_with_torch(torch, inputs, zeros, reduction):
    x, t = inputs
    if zeros and t.size:
        t = t.copy()
        t.reshape(-1)[::2] = 0.0
    _assert_same_as_torch(torch, "kl_div", [x, t], reduction=reduction, skip={1: t == 0})


@given(inputs=kl_inputs(log_target=True), reduction=st.sampled_from(["none", "sum", "mean", "batchmean"]))
def test_kl_div_log_target_agrees_with_torch(torch, inputs, reduction):
    _assert_same_as_torch(torch, "kl_div", list(inputs), reduction=reduction, log_target=True)


@given(xt=class_inputs(), config=st.fixed_dictionaries({
    "weight": class_weights, "ignore_index": st.sampled_from([-100, 0, 1]), "reduction": reductions}))
def test_nll_loss_agrees_with_torch(torch, xt, config):
    x, target = xt
    _assume_some_target_counts(target, config["ignore_index"], config["reduction"])
    weight = config.pop("weight")
    if weight is not None:
        config["weight"] = np.asarray(weight)[: _classes(x)]
    _assert_same_as_torch(torch, "nll_loss", [x, target], grad=(0,), **config)


@given(xt=class_inputs(float_target=True), weight=class_weights, reduction=reductions, label_smoothing=smoothing)
def test_cross_entropy_probability_gradients_agree_with_torch(torch, xt, weight, reduction, label_smoothing):
    x, target = xt
    config = {"reduction": reduction, "label_smoothing": label_smoothing}
    if weight is not None:
        config["weight"] = np.asarray(weight)[: _classes(x)]
    _assert_same_as_torch(torch, "cross_entropy", [x, target], **config)


def test_uint8_class_targets_agree_with_torch(torch):
    # (torch takes uint8 targets for (N, C) inputs only; gradcnn for every layout)
    x = np.random.default_rng(4).normal(size=(6, 4))
    target = np.array([0, 3, 2, 1, 1, 1], dtype=np.uint8)
    _assert_same_as_torch(torch, "cross_entropy", [x, target], grad=(0,), ignore_index=1)
    _assert_same_as_torch(torch, "nll_loss", [x, target], grad=(0,), weight=np.array([0.5, 1.0, 2.0, 1.5]))
    # (torch refuses uint8 targets with label smoothing; gradcnn accepts them)
    ours = F.cross_entropy(gradcnn.tensor(x), gradcnn.tensor(target), label_smoothing=0.1)
    same = F.cross_entropy(gradcnn.tensor(x), gradcnn.tensor(target.astype(np.int64)), label_smoothing=0.1)
    np.testing.assert_array_equal(ours._data, same._data)


def test_broadcast_targets_warn_and_agree_with_torch(torch):
    x, t = np.random.default_rng(5).normal(size=(2, 3)), np.array([0.5, -1.0, 2.0])
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match=rf"{name}: target shape \(3,\) differs from input shape \(2, 3\)"):
            getattr(F, name)(gradcnn.tensor(x), gradcnn.tensor(t))
        _assert_same_as_torch(torch, name, [x, t], reduction="none")
        _assert_same_as_torch(torch, name, [t, x], reduction="sum")  # the input broadcasts too


def test_dtype_promotion_agrees_with_torch(torch):
    x32, t64 = np.full((2, 3), 0.25, np.float32), np.full((2, 3), 0.5)
    i64 = np.ones((2, 3), np.int64)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
                 "binary_cross_entropy_with_logits", "cross_entropy"):
        for a, b in [(x32, t64), (t64, x32)] + ([(i64, x32), (x32, i64)] if name.endswith("1_loss") else []):
            ours = getattr(F, name)(gradcnn.tensor(a), gradcnn.tensor(b), reduction="sum")
            theirs = getattr(torch.nn.functional, name)(torch.tensor(a), torch.tensor(b), reduction="sum")
            assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (name, a.dtype, b.dtype)
    # a float64 weight keeps the float32 result, as PyTorch's in-place scaling does
    ours = F.binary_cross_entropy_with_logits(gradcnn.tensor(x32), gradcnn.tensor(x32), gradcnn.tensor(t64))
    assert ours.dtype == np.float32
    ours = F.binary_cross_entropy(gradcnn.tensor(x32), gradcnn.tensor(x32), gradcnn.tensor(t64))
    assert ours.dtype == np.float32


# -- empty batches and means over nothing ------------------------------------------------------------

EMPTY = [
    ("cross_entropy", (0, 3), "long"), ("cross_entropy", (0, 3, 2), "long"), ("cross_entropy", (0, 3), "float"),
    ("nll_loss", (0, 3), "long"), ("mse_loss", (0,), "float"), ("l1_loss", (0, 2), "float"),
    ("smooth_l1_loss", (0,), "float"), ("huber_loss", (0,), "float"), ("binary_cross_entropy", (0,), "float"),
    ("binary_cross_entropy_with_logits", (0, 2), "float"), ("kl_div", (0, 2), "float"),
]


@pytest.mark.parametrize("name, shape, target_kind", EMPTY, ids=[f"{n}-{s}-{k}" for n, s, k in EMPTY])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
def test_empty_batches_agree_with_torch(torch, name, shape, target_kind, reduction):
    if reduction == "batchmean" and name != "kl_div":
        return
    target_shape = shape[:1] + shape[2:] if target_kind == "long" else shape
    target = np.zeros(target_shape, np.int64 if target_kind == "long" else np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nan without NumPy's division warnings
        warnings.filterwarnings("ignore", "kl_div: reduction='mean'", UserWarning)
        x = gradcnn.zeros(*shape, dtype=np.float64, requires_grad=True)
        ours = getattr(F, name)(x, gradcnn.tensor(target), reduction=reduction)
        ours.backward(gradcnn.ones_like(ours))
    warnings.filterwarnings("ignore", "reduction: 'mean'", UserWarning)
    theirs = getattr(torch.nn.functional, name)(torch.zeros(shape, dtype=torch.float64), torch.tensor(target),
                                                reduction=reduction)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours._data, theirs.numpy())  # nan for a mean, 0 for a sum
    assert x.grad.shape == shape


def test_means_over_no_counted_target_are_nan_without_warnings():
    x = gradcnn.randn(2, 3, dtype=np.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for smoothing in (0.0, 0.2):
            loss = F.cross_entropy(x, gradcnn.tensor([-100, -100]), label_smoothing=smoothing)
            assert math.isnan(float(loss._data))
            loss.backward()
        loss = F.nll_loss(x, gradcnn.tensor([1, 2]), weight=gradcnn.zeros(3, dtype=np.float64))
        assert math.isnan(float(loss._data))


def test_bce_at_the_ends_clamps_the_log_and_bounds_the_gradient():
    x = gradcnn.tensor([0.0, 1.0, 0.0, 1.0], dtype=np.float64, requires_grad=True)
    t = gradcnn.tensor([0.0, 1.0, 1.0, 0.0], dtype=np.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(x, t, reduction="none")
        loss.backward(gradcnn.ones_like(loss))
    np.testing.assert_array_equal(loss._data, [0.0, 0.0, 100.0, 100.0])
    bound = 1 / float(np.float32(1e-12))  # PyTorch divides by its float32 epsilon
    np.testing.assert_array_equal(x.grad._data, [0.0, 0.0, -bound, bound])
    np.testing.assert_array_equal(t.grad._data, [np.inf, -np.inf, np.inf, -np.inf])


def test_kl_div_mean_warns_as_torch_does():
    x, t = gradcnn.zeros(2, 3), gradcnn.full((2, 3), 0.5)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.kl_div(x, t, reduction="batchmean")


def test_legacy_size_average_and_reduce(torch):
    x = np.random.default_rng(6).normal(size=(4, 3))
    t = np.array([0, 2, 1, 1])
    for size_average, reduce in [(None, False), (False, None), (True, True), (False, True), (True, False)]:
        with pytest.warns(UserWarning, match="size_average and reduce are deprecated"):
            ours = F.cross_entropy(gradcnn.tensor(x), gradcnn.tensor(t), size_average=size_average, reduce=reduce)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t), size_average=size_average,
                                                       reduce=reduce)
        np.testing.assert_allclose(ours._data, theirs.numpy(), **TOL)


# -- errors: messages, and the same exception family as torch ---------------------------------------------


class _Lib:
    """The few constructors the error cases need, for gradcnn or torch."""

    def __init__(self, torch=None):
        self.torch = torch
        self.F = torch.nn.functional if torch else F

    def x(self, *shape, dtype="float32", fill=0.0):
        if self.torch:
            return self.torch.full(shape, fill, dtype=getattr(self.torch, dtype))
        return gradcnn.full(shape, fill, dtype=getattr(gradcnn, dtype))

    def t(self, *values, dtype="int64"):
        values = list(values)
        if self.torch:
            return self.torch.tensor(values, dtype=getattr(self.torch, dtype))
        return gradcnn.tensor(np.array(values, dtype=dtype))


ERRORS = [
    # (id, call, gradcnn class, message)
    ("ce-class-too-large", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 5)), IndexOutOfRangeError,
     r"cross_entropy: target value 5 at flat position 1 is outside \[0, 3\) for an input with 3 classes "
     r"\(shape \(2, 3\)\)"),
    ("ce-negative-class", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(-1, 0)), IndexOutOfRangeError,
     r"target value -1 at flat position 0 is outside \[0, 3\)"),
    ("ce-default-ignore-index-not-ignored", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, -100), ignore_index=1),
     IndexOutOfRangeError, r"target value -100 at flat position 1"),
    ("nll-class-spatial", lambda m: m.F.nll_loss(m.x(2, 3, 4), m.t([0, 1, 2, 3], [0, 0, 0, 0])),
     IndexOutOfRangeError, r"nll_loss: target value 3 at flat position 3 is outside \[0, 3\)"),
    ("ce-float-target-of-other-shape", lambda m: m.F.cross_entropy(m.x(2, 3), m.x(2)), LossDTypeError,
     r"cross_entropy: target must hold class indices as int64 or uint8, got float32 \(shape \(2,\)\)"),
    ("ce-int32-target", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1, dtype="int32")), LossDTypeError,
     r"target must hold class indices as int64 or uint8, got int32"),
    ("ce-int-probabilities", lambda m: m.F.cross_entropy(m.x(2, 2), m.t([0, 1], [1, 0])), LossDTypeError,
     r"a target of the input's shape \(2, 2\) holds class probabilities and must be floating, got int64"),
    ("ce-probabilities-ignore-index", lambda m: m.F.cross_entropy(m.x(2, 3), m.x(2, 3), ignore_index=0),
     LossValueError, r"ignore_index=0 is not supported for class probability targets"),
    ("ce-batch", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1, 2)), ShapeError,
     r"cross_entropy: input has a batch of 2 \(shape \(2, 3\)\) but target has a batch of 3 \(shape \(3,\)\)"),
    ("ce-spatial-target-shape", lambda m: m.F.cross_entropy(m.x(2, 3, 4), m.t([0, 0, 0], [0, 0, 0])),
     LossValueError, r"target has shape \(2, 3\), expected \(2, 4\) for input of shape \(2, 3, 4\)"),
    ("nll-1d-input-target", lambda m: m.F.nll_loss(m.x(3), m.t(1, 1)), ShapeError,
     r"nll_loss: for an input of shape \(3,\) \(one sample of 3 classes\) the target must be 0-d or of "
     r"shape \(1,\), got \(2,\)"),
    ("ce-reduction", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), reduction="avg"), ShapeError,
     r"cross_entropy: reduction must be one of \('none', 'mean', 'sum'\), got 'avg'"),
    ("ce-reduction-batchmean", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), reduction="batchmean"),
     ShapeError, r"got 'batchmean'"),
    ("ce-smoothing-high", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), label_smoothing=1.5), LossValueError,
     r"cross_entropy: label_smoothing must lie in \[0, 1\], got 1.5"),
    ("ce-smoothing-none", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), label_smoothing=None), DTypeError,
     r"cross_entropy: label_smoothing must be a float, got None \(NoneType\)"),
    ("ce-ignore-index-float", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), ignore_index=1.5), DTypeError,
     r"cross_entropy: ignore_index must be an int, got 1.5 \(float\)"),
    ("ce-weight-length", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), weight=m.x(2)), LossValueError,
     r"cross_entropy: weight has shape \(2,\), expected \(3,\): one weight for each of the 3 classes of the "
     r"input \(shape \(2, 3\)\)"),
    ("ce-probabilities-weight-length", lambda m: m.F.cross_entropy(m.x(2, 3), m.x(2, 3), weight=m.x(4)),
     LossValueError, r"cross_entropy: weight has shape \(4,\), expected \(3,\)"),
    ("ce-weight-dtype", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), weight=m.x(3, dtype="float64")),
     LossDTypeError, r"weight has dtype float64, the input float32; they must match"),
    ("ce-weight-list", lambda m: m.F.cross_entropy(m.x(2, 3), m.t(0, 1), weight=[1.0, 1.0, 1.0]), DTypeError,
     r"cross_entropy: weight must be a Tensor, got list"),
    ("ce-int-logits", lambda m: m.F.cross_entropy(m.x(2, 3, dtype="int64"), m.t(0, 1)), LossDTypeError,
     r"cross_entropy: input must be floating, got int64 \(shape \(2, 3\)\)"),
    ("ce-target-list", lambda m: m.F.cross_entropy(m.x(2, 3), [0, 1]), DTypeError,
     r"cross_entropy: target must be a Tensor, got list"),
    ("nll-float-target", lambda m: m.F.nll_loss(m.x(2, 3), m.x(2)), LossDTypeError,
     r"nll_loss: target must hold class indices as int64 or uint8, got float32"),
    ("nll-reduction", lambda m: m.F.nll_loss(m.x(2, 3), m.t(0, 1), reduction="max"), ShapeError,
     r"nll_loss: reduction must be one of .*, got 'max'"),
    ("nll-weight-shape", lambda m: m.F.nll_loss(m.x(2, 3), m.t(0, 1), weight=m.x(3, 1)), LossValueError,
     r"nll_loss: weight has shape \(3, 1\), expected \(3,\)"),
    ("mse-no-broadcast", lambda m: m.F.mse_loss(m.x(2, 3), m.x(4)), LossValueError,
     r"mse_loss: input of shape \(2, 3\) and target of shape \(4,\) do not broadcast: sizes 3 and 4 meet "
     r"in dim -1"),
    ("mse-reduction", lambda m: m.F.mse_loss(m.x(2), m.x(2), reduction=None), ShapeError,
     r"mse_loss: reduction must be one of .*, got None"),
    ("mse-weight-shape", lambda m: m.F.mse_loss(m.x(2, 3), m.x(2, 3), weight=m.x(3)), ShapeError,
     r"mse_loss: weight has shape \(3,\); it must have the input's shape \(2, 3\)"),
    ("mse-int-input-and-target", lambda m: m.F.mse_loss(m.x(2, dtype="int64"), m.x(2, dtype="int64")),
     LossDTypeError, r"mse_loss: input and target must be numeric, one of them floating; got int64 and int64"),
    ("l1-target-array", lambda m: m.F.l1_loss(m.x(2), np.zeros(2)), DTypeError,
     r"l1_loss: target must be a Tensor, got ndarray"),
    ("smooth-l1-negative-beta", lambda m: m.F.smooth_l1_loss(m.x(2), m.x(2), beta=-1.0), LossValueError,
     r"smooth_l1_loss: beta must be >= 0, got beta=-1.0"),
    ("smooth-l1-nan-beta", lambda m: m.F.smooth_l1_loss(m.x(2), m.x(2), beta=math.nan), LossValueError,
     r"smooth_l1_loss: beta must be a number, got nan"),
    ("smooth-l1-str-beta", lambda m: m.F.smooth_l1_loss(m.x(2), m.x(2), beta="1"), DTypeError,
     r"smooth_l1_loss: beta must be a float, got '1' \(str\)"),
    ("huber-zero-delta", lambda m: m.F.huber_loss(m.x(2), m.x(2), delta=0.0), LossValueError,
     r"huber_loss: delta must be > 0, got delta=0.0"),
    ("huber-weight-shape", lambda m: m.F.huber_loss(m.x(2), m.x(2), weight=m.x(1)), ShapeError,
     r"huber_loss: weight has shape \(1,\); it must have the input's shape \(2,\)"),
    ("bce-shape", lambda m: m.F.binary_cross_entropy(m.x(4), m.x(2, 2)), ShapeError,
     r"binary_cross_entropy: target has shape \(2, 2\) but input has shape \(4,\); they must be the same"),
    ("bce-input-range", lambda m: m.F.binary_cross_entropy(m.x(3, fill=1.5), m.x(3)), LossValueError,
     r"binary_cross_entropy: every element of input must lie in \[0, 1\], got 1.5 at flat position 0"),
    ("bce-nan-input", lambda m: m.F.binary_cross_entropy(m.x(3, fill=math.nan), m.x(3)), LossValueError,
     r"every element of input must lie in \[0, 1\], got nan at flat position 0"),
    ("bce-target-range", lambda m: m.F.binary_cross_entropy(m.x(3), m.x(3, fill=-0.5)), LossValueError,
     r"every element of target must lie in \[0, 1\], got -0.5"),
    ("bce-target-dtype", lambda m: m.F.binary_cross_entropy(m.x(3), m.x(3, dtype="float64")), LossDTypeError,
     r"binary_cross_entropy: target has dtype float64 but input has float32; they must be the same"),
    ("bce-weight-shape", lambda m: m.F.binary_cross_entropy(m.x(2, 4), m.x(2, 4), weight=m.x(3)), LossValueError,
     r"binary_cross_entropy: weight of shape \(3,\) does not broadcast to the loss's shape \(2, 4\)"),
    ("bce-weight-larger", lambda m: m.F.binary_cross_entropy(m.x(3), m.x(3), weight=m.x(2, 3), reduction="none"),
     LossValueError, r"weight of shape \(2, 3\) does not broadcast to the loss's shape \(3,\)"),
    ("bcel-shape", lambda m: m.F.binary_cross_entropy_with_logits(m.x(4), m.x(2, 2)), ShapeError,
     r"binary_cross_entropy_with_logits: target has shape \(2, 2\) but input has shape \(4,\)"),
    ("bcel-reduction", lambda m: m.F.binary_cross_entropy_with_logits(m.x(4), m.x(4), reduction="Mean"),
     ShapeError, r"binary_cross_entropy_with_logits: reduction must be one of .*, got 'Mean'"),
    ("bcel-int-target", lambda m: m.F.binary_cross_entropy_with_logits(m.x(4), m.x(4, dtype="int64")),
     LossDTypeError, r"binary_cross_entropy_with_logits: target must be floating, got int64"),
    ("bcel-pos-weight-shape", lambda m: m.F.binary_cross_entropy_with_logits(m.x(2, 4), m.x(2, 4), pos_weight=m.x(3)),
     LossValueError, r"pos_weight of shape \(3,\) does not broadcast to the loss's shape \(2, 4\)"),
    ("bcel-pos-weight-list", lambda m: m.F.binary_cross_entropy_with_logits(m.x(4), m.x(4), pos_weight=[2.0]),
     DTypeError, r"binary_cross_entropy_with_logits: pos_weight must be a Tensor, got list"),
    ("kl-reduction", lambda m: m.F.kl_div(m.x(2), m.x(2), reduction="avg"), ShapeError,
     r"kl_div: reduction must be one of \('none', 'mean', 'sum', 'batchmean'\), got 'avg'"),
    ("kl-int-target", lambda m: m.F.kl_div(m.x(2), m.x(2, dtype="int64"), reduction="sum"), LossDTypeError,
     r"kl_div: target must be floating, got int64"),
    ("kl-log-target-none", lambda m: m.F.kl_div(m.x(2), m.x(2), reduction="sum", log_target=None), DTypeError,
     r"kl_div: log_target must be a bool, got None"),
]


@pytest.mark.parametrize("call, error, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call(_Lib())
    assert type(info.value) is error


def _family(exc):
    """The built-in class a caller would catch: IndexError before ValueError (an index out of range
    is both in gradcnn), NotImplementedError counts as the RuntimeError it is."""
    return next(c for c in (IndexError, ValueError, TypeError, RuntimeError) if isinstance(exc, c))


@pytest.mark.parametrize("call", [e[1] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors_are_in_torchs_family(torch, call):
    with pytest.raises(Exception) as theirs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            call(_Lib(torch))
    with pytest.raises(GradcnnError) as ours:
        call(_Lib())
    assert isinstance(ours.value, _family(theirs.value)), (
        f"torch raises {type(theirs.value).__name__}: {theirs.value}; gradcnn {type(ours.value).__mro__}"
    )


@pytest.mark.parametrize("smoothing", [-0.1, math.nan])
def test_label_smoothing_below_zero_or_nan_is_refused(smoothing):
    # PyTorch silently ignores these; a typo should not train a different model without a word
    with pytest.raises(LossValueError, match="label_smoothing"):
        F.cross_entropy(gradcnn.zeros(2, 3), gradcnn.tensor([0, 1]), label_smoothing=smoothing)


def test_numpy_numbers_are_accepted():
    x, t = gradcnn.randn(2, 3), gradcnn.tensor([0, 1])
    F.cross_entropy(x, t, label_smoothing=np.float32(0.1), ignore_index=np.int64(-100))
    F.smooth_l1_loss(x, x, beta=np.float64(0.5))
    F.huber_loss(x, x, delta=np.float32(2.0))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"])
def test_signatures_and_defaults_are_torchs(torch, name):
    import inspect

    ours = inspect.signature(getattr(F, name))
    theirs = inspect.signature(getattr(torch.nn.functional, name))
    assert list(ours.parameters) == list(theirs.parameters)
    for pname, param in theirs.parameters.items():
        assert ours.parameters[pname].default == param.default, pname
