"""Tests of gradcnn/ops/loss.py: cross_entropy, nll_loss, mse_loss, l1_loss,
binary_cross_entropy_with_logits."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
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
    _assume_some_target_counts(target.data, config["ignore_index"], config["reduction"])
    return F.cross_entropy(x, target, _first_weights(weight, x, gradcnn.tensor), **config)


def _cross_entropy_ref(x, target, weight=None, **config):
    return cross_entropy_ref(x, target, _first_weights(weight, x, np.asarray), **config)


def _nll_loss(logp, target, weight=None, **config):
    _assume_some_target_counts(target.data, config["ignore_index"], config["reduction"])
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
    np.testing.assert_allclose(loss.data, [2e4, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(x.grad.data, [[1, -1, 0], [0, 0.5, -0.5]], atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_of_huge_logits_is_finite(dtype):
    x = gradcnn.tensor(np.array([1e4, -1e4, 100.0, -100.0], dtype=dtype), requires_grad=True)
    t = gradcnn.tensor(np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    loss.backward(gradcnn.ones_like(loss))
    np.testing.assert_allclose(loss.data, [1e4, 1e4, 0.0, 0.0], atol=1e-30 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(x.grad.data, [1.0, -1.0, 0.0, 0.0], atol=1e-30 if dtype == np.float64 else 1e-6)


def test_bce_with_logits_gradient_at_zero_logit():
    # Zero logits are common (a zero-initialised last layer); the loss is smooth there, with
    # derivative pos_weight * t * (sigmoid(x) - 1) + (1 - t) * sigmoid(x) = 0.5 * (1 - t - pos_weight * t).
    x = gradcnn.zeros(3, dtype=np.float64, requires_grad=True)
    t = gradcnn.tensor(np.array([0.0, 1.0, 0.3]))
    pos_weight = gradcnn.tensor(np.array([1.0, 2.0, 2.0]))
    F.binary_cross_entropy_with_logits(x, t, reduction="sum", pos_weight=pos_weight).backward()
    np.testing.assert_allclose(x.grad.data, [0.5, -1.0, 0.05], rtol=1e-12)


def test_cross_entropy_ignored_targets_get_no_gradient():
    x = gradcnn.randn(3, 4, dtype=np.float64, requires_grad=True)
    F.cross_entropy(x, gradcnn.tensor([2, -100, 1]), label_smoothing=0.2).backward()
    assert not x.grad.data[1].any()
    assert x.grad.data[[0, 2]].all()


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
    np.testing.assert_allclose(ours.data, cross_entropy_ref(x, target, weight, **config), rtol=1e-12)
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
    np.testing.assert_allclose(ours.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


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
    np.testing.assert_allclose(ours.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


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
    np.testing.assert_allclose(ours.data, expected, rtol=1e-10, atol=1e-12)


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
    np.testing.assert_allclose(ours.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx.grad.data, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


# -- errors ---------------------------------------------------------------------------------------


def _x(*shape, dtype=np.float32):
    return gradcnn.zeros(*shape, dtype=dtype)


def _t(*values):
    return gradcnn.tensor(list(values))


@pytest.mark.parametrize(
    "call, error, message",
    [
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, 5)), IndexOutOfRangeError,
                     r"cross_entropy: target value 5 at flat position 1 is outside \[0, 3\) for an input "
                     r"with 3 classes \(shape \(2, 3\)\)", id="ce-class-too-large"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(-1, 0)), IndexOutOfRangeError,
                     r"target value -1 at flat position 0 is outside \[0, 3\)", id="ce-negative-class"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, -100), ignore_index=1), IndexOutOfRangeError,
                     r"target value -100 at flat position 1", id="ce-default-ignore-index-not-ignored"),
        pytest.param(lambda: F.nll_loss(_x(2, 3, 4), gradcnn.tensor([[0, 1, 2, 3], [0, 0, 0, 0]])),
                     IndexOutOfRangeError, r"nll_loss: target value 3 at flat position 3 is outside \[0, 3\)",
                     id="nll-class-spatial"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _x(2)), ShapeError,
                     r"cross_entropy: probability target has shape \(2,\), expected the input's shape \(2, 3\)",
                     id="ce-float-target-shape"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, 1, 2)), ShapeError,
                     r"cross_entropy: target has shape \(3,\), expected \(2,\) for input of shape \(2, 3\)",
                     id="ce-target-shape"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3, 4), gradcnn.zeros(2, 3, dtype=np.int64)), ShapeError,
                     r"target has shape \(2, 3\), expected \(2, 4\) for input of shape \(2, 3, 4\)",
                     id="ce-spatial-target-shape"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, 1), reduction="avg"), ShapeError,
                     r"cross_entropy: reduction must be one of \('none', 'mean', 'sum'\), got 'avg'",
                     id="ce-reduction"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, 1), label_smoothing=1.5), ShapeError,
                     r"cross_entropy: label_smoothing must lie in \[0, 1\], got 1.5", id="ce-smoothing-high"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, 1), label_smoothing=-0.1), ShapeError,
                     r"label_smoothing must lie in \[0, 1\], got -0.1", id="ce-smoothing-negative"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _t(0, 1), weight=_x(2)), ShapeError,
                     r"cross_entropy: weight has shape \(2,\), expected \(3,\)", id="ce-weight-shape"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), _x(2, 3), weight=_x(4)), ShapeError,
                     r"cross_entropy: weight has shape \(4,\), expected \(3,\)", id="ce-probs-weight-shape"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3, dtype=np.int64), _t(0, 1)), DTypeError,
                     r"cross_entropy: input must hold floating logits, got int64", id="ce-int-logits"),
        pytest.param(lambda: F.cross_entropy(_x(), gradcnn.tensor(0)), ShapeError,
                     r"input must have a class dim, got a 0-d tensor", id="ce-0d-input"),
        pytest.param(lambda: F.cross_entropy(_x(2, 3), [0, 1]), DTypeError,
                     r"cross_entropy: target must be a Tensor, got list", id="ce-target-list"),
        pytest.param(lambda: F.nll_loss(_x(2, 3), _x(2)), DTypeError,
                     r"nll_loss: target must hold integer class indices, got float32", id="nll-float-target"),
        pytest.param(lambda: F.nll_loss(_x(2, 3), _t(0, 1), reduction="max"), ShapeError,
                     r"nll_loss: reduction must be one of .*, got 'max'", id="nll-reduction"),
        pytest.param(lambda: F.nll_loss(_x(2, 3), _t(0, 1), weight=_x(3, 1)), ShapeError,
                     r"nll_loss: weight has shape \(3, 1\), expected \(3,\)", id="nll-weight-shape"),
        pytest.param(lambda: F.mse_loss(_x(2, 3), _x(3)), ShapeError,
                     r"mse_loss: input has shape \(2, 3\) but target has shape \(3,\)", id="mse-shape"),
        pytest.param(lambda: F.mse_loss(_x(2), _x(2), reduction=None), ShapeError,
                     r"mse_loss: reduction must be one of .*, got None", id="mse-reduction"),
        pytest.param(lambda: F.l1_loss(_x(2), np.zeros(2)), DTypeError,
                     r"l1_loss: target must be a Tensor, got ndarray", id="l1-target-array"),
        pytest.param(lambda: F.l1_loss(_x(2, 1), _x(1, 2)), ShapeError,
                     r"l1_loss: input has shape \(2, 1\) but target has shape \(1, 2\)", id="l1-no-broadcast"),
        pytest.param(lambda: F.binary_cross_entropy_with_logits(_x(4), _x(2, 2)), ShapeError,
                     r"binary_cross_entropy_with_logits: input has shape \(4,\) but target has shape \(2, 2\)",
                     id="bce-shape"),
        pytest.param(lambda: F.binary_cross_entropy_with_logits(_x(4), _x(4), reduction="Mean"), ShapeError,
                     r"binary_cross_entropy_with_logits: reduction must be one of .*, got 'Mean'",
                     id="bce-reduction"),
        pytest.param(lambda: F.binary_cross_entropy_with_logits(_x(4), _x(4), pos_weight=[2.0]), DTypeError,
                     r"binary_cross_entropy_with_logits: pos_weight must be a Tensor, got list",
                     id="bce-pos-weight-list"),
    ],
)
def test_errors(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error
