"""Losses, with ``torch.nn.functional``'s names, signatures, defaults, results and error classes.

``binary_cross_entropy`` is a primitive (its gradient is PyTorch's, ``(x - t) / max(x (1 - x),
1e-12)``, finite where the clamped log is flat); every other loss is a composite.

Class dim: ``(N, C)`` or ``(N, C, d1, ...)`` inputs with ``(N,)`` or ``(N, d1, ...)`` integer
targets (int64 or uint8, as PyTorch accepts); ``ignore_index`` targets contribute nothing, and
``reduction="mean"`` divides by the summed weight of the targets that count (the number of them
without ``weight``), as PyTorch does. ``cross_entropy`` also takes class probabilities: a floating
target of the input's shape.

Reductions are ``"none"``, ``"mean"`` and ``"sum"`` (and ``"batchmean"`` for ``kl_div``). A mean
over nothing is nan and a sum over nothing is 0, as in PyTorch. The legacy ``size_average`` and
``reduce`` arguments keep their positions and meaning (with PyTorch's deprecation warning).

Errors come in PyTorch's families: where PyTorch raises a RuntimeError (a ``label_smoothing``
above 1, a weight of the wrong length, a float class target, shapes that do not broadcast),
gradcnn raises :class:`LossValueError` or :class:`LossDTypeError`, which are also ``ShapeError``
and ``DTypeError``. gradcnn goes further than PyTorch in one place: a negative or nan
``label_smoothing`` is refused (PyTorch silently ignores it).
"""

import math
import numbers
import warnings

import numpy as np

from ..autograd.function import Function
from ..backends import get_array_module
from ..errors import DTypeError, IndexOutOfRangeError, LossDTypeError, LossValueError, ShapeError
from ..tensor import Tensor, check_devices
from .activation import log_softmax
from .elementwise import abs, clamp, exp, log, log1p, where
from .reduction import sum
from .shape import as_tensor_arg, getitem, permute, reshape

__all__ = [
    "LossDTypeError",
    "LossValueError",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "legacy_get_string",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]


_REDUCTIONS = ("none", "mean", "sum")
_CLASS_TARGET_DTYPES = (np.dtype(np.int64), np.dtype(np.uint8))


# -- argument checks ------------------------------------------------------------------------------


def legacy_get_string(size_average, reduce, op="loss", stacklevel=4):
    """The ``reduction`` that PyTorch's deprecated ``size_average`` / ``reduce`` pair stands for
    (``None`` counts as True), with PyTorch's deprecation warning (``stacklevel`` as for
    :func:`warnings.warn`, counted from this function)."""
    for name, value in (("size_average", size_average), ("reduce", reduce)):
        if value is not None and not isinstance(value, (bool, np.bool_)):
            raise DTypeError(f"{op}: {name} must be a bool or None, got {value!r}")
    size_average = True if size_average is None else bool(size_average)
    reduce = True if reduce is None else bool(reduce)
    reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    warnings.warn(f"{op}: size_average and reduce are deprecated; use reduction='{reduction}' instead",
                  UserWarning, stacklevel=stacklevel)
    return reduction


def _reduction(op, reduction, size_average=None, reduce=None, choices=_REDUCTIONS):
    if size_average is not None or reduce is not None:
        return legacy_get_string(size_average, reduce, op)
    if not isinstance(reduction, str) or reduction not in choices:
        raise ShapeError(f"{op}: reduction must be one of {choices}, got {reduction!r}")
    return reduction


def _real(op, name, value):
    """``value`` as a float: any real number (NumPy's too) but a bool; nan is refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise DTypeError(f"{op}: {name} must be a float, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value):
        raise LossValueError(f"{op}: {name} must be a number, got nan")
    return value


def _float_tensor(op, value, name="input"):
    as_tensor_arg(value, op, name)
    if value.dtype.kind != "f":
        raise LossDTypeError(f"{op}: {name} must be floating, got {value.dtype.name} (shape {value.shape})")
    return value


def _optional_tensor(op, value, name):
    if value is not None:
        as_tensor_arg(value, op, name)
    return value


def _broadcast_shape(op, input, target, warn=True):
    """The shape ``input - target`` has; PyTorch's warning when it differs from the input's."""
    shape = []
    for d in range(1, max(input.ndim, target.ndim) + 1):
        a = input.shape[-d] if d <= input.ndim else 1
        b = target.shape[-d] if d <= target.ndim else 1
        if a != b and 1 not in (a, b):
            raise LossValueError(
                f"{op}: input of shape {input.shape} and target of shape {target.shape} do not "
                f"broadcast: sizes {a} and {b} meet in dim -{d} (sizes must be equal or 1)"
            )
        shape.insert(0, max(a, b) if 0 not in (a, b) else 0)
    if warn and target.shape != input.shape:
        warnings.warn(
            f"{op}: target shape {target.shape} differs from input shape {input.shape}; they are "
            f"broadcast to {tuple(shape)}, which is likely not what you want: give them the same shape",
            UserWarning, stacklevel=4,  # the caller of the loss function
        )
    return tuple(shape)


def _check_broadcasts_to(op, name, value, shape):
    """``value`` (a weight) must broadcast to ``shape`` without growing it, as PyTorch multiplies
    the loss by it in place."""
    if value is None:
        return
    ok = value.ndim <= len(shape) and all(
        s in (1, t) for s, t in zip(value.shape[::-1], shape[::-1])
    )
    if not ok:
        raise LossValueError(
            f"{op}: {name} of shape {value.shape} does not broadcast to the loss's shape {shape} "
            f"(each of its trailing sizes must equal the loss's or be 1)"
        )


def _class_weight(op, weight, input, classes):
    if weight is None:
        return None
    as_tensor_arg(weight, op, "weight")
    if weight.shape != (classes,):
        raise LossValueError(
            f"{op}: weight has shape {weight.shape}, expected ({classes},): one weight for each of "
            f"the {classes} classes of the input (shape {input.shape})"
        )
    if weight.dtype != input.dtype:
        raise LossDTypeError(f"{op}: weight has dtype {weight.dtype.name}, the input {input.dtype.name}; "
                             "they must match")
    return weight


# -- reductions -----------------------------------------------------------------------------------


def _divide(total, denom):
    """``total / denom`` for a Python ``denom``; 0 / 0 is nan (a mean over nothing) without NumPy's
    warning, and x / 0 is +-inf, as in PyTorch. A 0-d device array ``denom`` divides on the device
    (the same results, without reading it back)."""
    if not isinstance(denom, numbers.Number):
        return total / Tensor._make(denom.astype(total.dtype))
    if denom != 0:
        return total / float(denom)
    value = float(total._data)
    return total * (math.nan if value == 0 or math.isnan(value) else math.copysign(math.inf, value))


def _reduce(loss, reduction):
    if reduction == "mean":
        return _divide(sum(loss), loss.numel())
    if reduction == "sum":
        return sum(loss)
    return loss


# -- class targets ----------------------------------------------------------------------------------


def _classes_last(input):
    """``(M, C)`` view of an input whose class dim is 1 (or 0 for a 1-D input)."""
    if input.ndim == 1:
        return reshape(input, (1, input.shape[0]))
    if input.ndim > 2:
        input = permute(input, 0, *range(2, input.ndim), 1)
    return reshape(input, (-1, input.shape[-1]))


def _class_target(op, input, target, ignore_index):
    """Check an integer class target against ``input``; returns ``(classes, flat targets)``."""
    if input.ndim == 0:
        raise LossValueError(f"{op}: input must have a class dim, got a 0-d tensor")
    if target.dtype not in _CLASS_TARGET_DTYPES:
        raise LossDTypeError(
            f"{op}: target must hold class indices as int64 or uint8, got {target.dtype.name} "
            f"(shape {target.shape}); cross_entropy takes class probabilities as a floating target "
            f"of the input's shape {input.shape}"
        )
    classes = input.shape[0 if input.ndim == 1 else 1]
    if input.ndim == 1:
        if target.shape not in ((), (1,)):
            raise ShapeError(f"{op}: for an input of shape {input.shape} (one sample of {classes} "
                             f"classes) the target must be 0-d or of shape (1,), got {target.shape}")
    else:
        expected = (input.shape[0],) + input.shape[2:]
        batch = target.shape[0] if target.ndim else 0
        if batch != input.shape[0]:
            raise ShapeError(f"{op}: input has a batch of {input.shape[0]} (shape {input.shape}) but "
                             f"target has a batch of {batch} (shape {target.shape})")
        if target.shape != expected:
            raise LossValueError(
                f"{op}: target has shape {target.shape}, expected {expected} for input of shape "
                f"{input.shape} (class dim 1 of size {classes})"
            )
    t = target._data.reshape(-1)
    bad = (t != ignore_index) & ((t < 0) | (t >= classes)) if t.dtype.kind == "i" else (
        (t != ignore_index) & (t >= classes))
    if type(bad) is not np.ndarray:
        # On a GPU, asking whether any target is bad would wait for the device: the loss is made
        # nan instead (:func:`_nll`), as a device-side check would, and the step runs on.
        return classes, t, bad
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IndexOutOfRangeError(
            f"{op}: target value {int(t[i])} at flat position {i} is outside [0, {classes}) for an "
            f"input with {classes} classes (shape {input.shape})"
        )
    return classes, t, None


def _ignore_index(op, ignore_index):
    if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(ignore_index, numbers.Integral):
        raise DTypeError(f"{op}: ignore_index must be an int, got {ignore_index!r} "
                         f"({type(ignore_index).__name__})")
    return int(ignore_index)


def _nll(logp, t, target, weight, ignore_index, reduction, bad=None):
    """``-weight[t] * logp[t]`` per sample and its reduction; ``t`` is the flat target array and
    ``bad`` (on a GPU) marks targets out of range, which make the loss nan. Returns the loss and
    the total weight of the targets that count: a number on the CPU, a 0-d array on a GPU, where
    reading it would wait for the device. The gradient goes to the target's classes: changing
    ``target`` in place before backward is an error, as in PyTorch."""
    target_shape = target.shape
    xp = get_array_module(t)
    valid = t != ignore_index
    idx = xp.where(valid if bad is None else valid & ~bad, t, 0).astype(np.int64, copy=False)
    picked = getitem(_classes_last(logp), (xp.arange(t.shape[0]), idx), _checked=True, _watch=(target,))
    w = valid.astype(logp.dtype)
    if weight is not None:
        w = w * weight._data[idx]
    losses = -picked * w
    if bad is not None:
        losses = losses + Tensor._make(xp.where(bad.any(), np.nan, 0.0).astype(logp.dtype))
    total_weight = float(w.sum()) if type(w) is np.ndarray else w.sum()
    if reduction == "none":
        return reshape(losses, () if logp.ndim == 1 else target_shape), total_weight
    if reduction == "sum":
        return sum(losses), total_weight
    return _divide(sum(losses), total_weight), total_weight


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of integer ``target`` under log-probabilities ``input``.

    Shape: input ``(C,)``, ``(N, C)`` or ``(N, C, d1, ...)``; target ``()``, ``(N,)`` or
    ``(N, d1, ...)``; ``weight`` ``(C,)`` gets no gradient (as in PyTorch).
    """
    op = "nll_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    _float_tensor(op, input)
    as_tensor_arg(target, op, "target")
    ignore_index = _ignore_index(op, ignore_index)
    classes, t, bad = _class_target(op, input, target, ignore_index)
    weight = _class_weight(op, weight, input, classes)
    check_devices(op, ("input", input), ("target", target), ("weight", weight))
    return _nll(input, t, target, weight, ignore_index, reduction, bad)[0]


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits ``input`` against integer classes or class probabilities.

    Integer targets: as :func:`nll_loss` of ``log_softmax(input, class dim)``. A floating target of
    the input's shape holds class probabilities (``ignore_index`` must then stay negative); its
    ``mean`` divides by the number of samples. ``label_smoothing=eps`` in ``[0, 1]`` mixes the target
    with the uniform distribution: ``(1 - eps) * nll + eps / C * sum_c(-w_c log p_c)``. Stable for
    large logits: it goes through ``log_softmax``.
    """
    op = "cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    _float_tensor(op, input)
    as_tensor_arg(target, op, "target")
    ignore_index = _ignore_index(op, ignore_index)
    eps = _real(op, "label_smoothing", label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise LossValueError(f"{op}: label_smoothing must lie in [0, 1], got {label_smoothing}")
    if input.ndim == 0:  # PyTorch's error: dim 1, the classes, is out of range
        raise IndexOutOfRangeError(f"{op}: input must have a class dim, got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]

    if target.shape == input.shape:  # class probabilities, as PyTorch decides
        if target.dtype.kind != "f":
            raise LossDTypeError(
                f"{op}: a target of the input's shape {input.shape} holds class probabilities and "
                f"must be floating, got {target.dtype.name}"
            )
        if ignore_index >= 0:
            raise LossValueError(f"{op}: ignore_index={ignore_index} is not supported for class "
                                 "probability targets (leave it negative)")
        weight = _class_weight(op, weight, input, classes)
        check_devices(op, ("input", input), ("target", target), ("weight", weight))
        logp = log_softmax(input, class_dim)
        if eps > 0:
            target = target * (1.0 - eps) + eps / classes
        terms = logp * target
        if weight is not None:
            terms = terms * reshape(weight, (classes,) + (1,) * (input.ndim - class_dim - 1))
        return _reduce(-sum(terms, class_dim), reduction)

    classes, t, bad = _class_target(op, input, target, ignore_index)
    weight = _class_weight(op, weight, input, classes)
    check_devices(op, ("input", input), ("target", target), ("weight", weight))
    logp = log_softmax(input, class_dim)
    nll, total_weight = _nll(logp, t, target, weight, ignore_index, reduction, bad)
    if eps == 0.0:
        return nll
    valid = (t != ignore_index).astype(input.dtype)[:, None]
    flat = _classes_last(logp)
    per_class = flat if weight is None else flat * weight._data
    smooth = -sum(per_class * valid, 1)
    if reduction == "none":
        smooth = reshape(smooth, () if input.ndim == 1 else target.shape)
    elif reduction == "sum":
        smooth = sum(smooth)
    else:
        smooth = _divide(sum(smooth), total_weight)
    return nll * (1.0 - eps) + smooth * (eps / classes)


# -- regression losses ----------------------------------------------------------------------------


def _regression(op, input, target, weight=None, bools=True):
    """Check ``input`` and ``target`` (which broadcast, with a warning unless they match) and an
    optional elementwise ``weight`` of the input's shape; return them, a bool one (``bools``: as
    PyTorch's kernels take it, not its subtraction) as the other's floating dtype."""
    as_tensor_arg(input, op)
    as_tensor_arg(target, op, "target")
    kinds = "iufb" if bools else "iuf"
    if input.dtype.kind not in kinds or target.dtype.kind not in kinds or "f" not in (
            input.dtype.kind + target.dtype.kind):
        raise LossDTypeError(f"{op}: input and target must be numeric, one of them floating; got "
                             f"{input.dtype.name} and {target.dtype.name}")
    if weight is not None:
        as_tensor_arg(weight, op, "weight")
        if weight.shape != input.shape:
            raise ShapeError(f"{op}: weight has shape {weight.shape}; it must have the input's shape "
                             f"{input.shape}")
    check_devices(op, ("input", input), ("target", target), ("weight", weight))
    _broadcast_shape(op, input, target)
    if input.dtype.kind == "b":
        input = input.to(target.dtype)
    elif target.dtype.kind == "b":
        target = target.to(input.dtype)
    return input, target


def _weighted_mean(loss, weight, reduction):
    """PyTorch's weighted mean for mse and l1: divided by the summed weight."""
    loss = loss * weight
    if reduction != "mean":
        return _reduce(loss, reduction)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sum(loss) / sum(weight)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Squared error ``(input - target)**2``, reduced; ``weight`` (the input's shape) scales each
    term, and then ``mean`` divides by the summed weight."""
    op = "mse_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    input, target = _regression(op, input, target, weight)
    d = input - target
    loss = d * d
    return _reduce(loss, reduction) if weight is None else _weighted_mean(loss, weight, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Absolute error ``|input - target|``, reduced; ``weight`` as in :func:`mse_loss`. The
    gradient at ``input == target`` is 0."""
    op = "l1_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    input, target = _regression(op, input, target, weight, bools=False)
    loss = abs(input - target)
    return _reduce(loss, reduction) if weight is None else _weighted_mean(loss, weight, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """``0.5 d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta`` (``d = input - target``);
    ``beta=0`` is :func:`l1_loss`. ``beta`` must be >= 0 (inf is allowed, as in PyTorch)."""
    op = "smooth_l1_loss"
    reduction = _reduction(op, reduction, size_average, reduce)
    beta = _real(op, "beta", beta)
    if beta < 0:
        raise LossValueError(f"{op}: beta must be >= 0, got beta={beta}")
    input, target = _regression(op, input, target)
    d = input - target
    ad = abs(d)
    if beta == 0.0:
        return _reduce(ad, reduction)
    inside = ad._data < beta
    # Only the chosen branch may overflow (a tiny beta); PyTorch's order of operations, so that
    # values agree to the last bit.
    dq = where(inside, d, 0.0)
    loss = where(inside, dq * dq * 0.5 / beta if math.isfinite(beta) else dq * dq * 0.0, ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d**2`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)`` (``d = input - target``);
    ``delta`` must be > 0. ``weight`` (the input's shape) scales each term; ``mean`` then divides
    by the number of terms, as PyTorch does (not by the summed weight)."""
    op = "huber_loss"
    reduction = _reduction(op, reduction)
    delta = _real(op, "delta", delta)
    if delta <= 0:
        raise LossValueError(f"{op}: delta must be > 0, got delta={delta}")
    as_tensor_arg(input, op)
    if input.dtype.kind != "f":  # PyTorch computes in the input's dtype, and cannot store a float in it
        raise LossDTypeError(f"{op}: input must be floating (the loss has its dtype), got {input.dtype.name}")
    input, target = _regression(op, input, target, weight)
    if target.dtype != input.dtype:  # PyTorch computes in the input's dtype here, without promotion
        target = target.to(input.dtype)
    d = input - target
    if math.isinf(delta):
        loss = d * d * 0.5
    else:
        ad = abs(d)
        inside = ad._data < delta
        dq = where(inside, d, 0.0)  # no overflow in the branch not taken
        loss = where(inside, dq * dq * 0.5, (ad - 0.5 * delta) * delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# -- binary and distribution losses ----------------------------------------------------------------


_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's bound, a float32 constant


class BinaryCrossEntropy(Function):
    """``-(t log x + (1 - t) log(1 - x))`` with each log clamped below at -100, as PyTorch does, so
    that ``x = 0`` or ``1`` gives 100 instead of inf. PyTorch's gradients: ``(x - t) / max(x (1 -
    x), 1e-12)`` for ``x`` and ``-logit(x)`` for ``t``."""

    @staticmethod
    def forward(ctx, x, t):
        xp = get_array_module(x)
        ctx.save_for_backward(x, t)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        return ((t - 1) * log_1mx - t * log_x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        gx = gt = None
        # At x = 0 or 1 the target's gradient is +-inf, as in PyTorch; NumPy need not warn about it.
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                gx = g * (x - t) / clamp((1.0 - x) * x, min=_BCE_EPSILON)
            if ctx.needs_input_grad[1]:
                gt = -g * log(x / (1.0 - x))
        return gx, gt


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` (all in [0, 1]) against ``target`` (all in
    [0, 1], the input's shape and dtype); ``weight`` broadcasts to the input's shape."""
    op = "binary_cross_entropy"
    reduction = _reduction(op, reduction, size_average, reduce)
    _float_tensor(op, input)
    as_tensor_arg(target, op, "target")
    _optional_tensor(op, weight, "weight")
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target has shape {target.shape} but input has shape {input.shape}; "
                         "they must be the same")
    if target.dtype != input.dtype:
        raise LossDTypeError(f"{op}: target has dtype {target.dtype.name} but input has "
                             f"{input.dtype.name}; they must be the same")
    _check_broadcasts_to(op, "weight", weight, input.shape)
    check_devices(op, ("input", input), ("target", target), ("weight", weight))
    for name, value in (("input", input), ("target", target)):
        data = value._data
        outside = (data < 0) | (data > 1) | (data != data)  # nan is outside too
        if outside.any():
            i = int(get_array_module(outside).flatnonzero(outside.reshape(-1))[0])
            raise LossValueError(f"{op}: every element of {name} must lie in [0, 1], got "
                                 f"{float(data.reshape(-1)[i])} at flat position {i}")
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * (weight if weight.dtype == loss.dtype else weight.to(loss.dtype))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    """Sigmoid plus binary cross-entropy in one stable formula:
    ``(1 - t) x + w_pos (log(1 + exp(-|x|)) + max(-x, 0))``, with ``w_pos = 1 + (pos_weight - 1) t``.
    ``weight`` and ``pos_weight`` broadcast to the input's shape (``pos_weight`` along the last dim,
    one per class)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(op, reduction, size_average, reduce)
    _float_tensor(op, input)
    as_tensor_arg(target, op, "target")
    _optional_tensor(op, weight, "weight")
    _optional_tensor(op, pos_weight, "pos_weight")
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target has shape {target.shape} but input has shape {input.shape}; "
                         "they must be the same")
    if target.dtype.kind != "f":
        raise LossDTypeError(f"{op}: target must be floating, got {target.dtype.name}")
    _check_broadcasts_to(op, "weight", weight, input.shape)
    _check_broadcasts_to(op, "pos_weight", pos_weight, input.shape)
    check_devices(op, ("input", input), ("target", target), ("weight", weight), ("pos_weight", pos_weight))
    # log(1 + exp(-x)), stable: log1p(exp(-|x|)) + max(-x, 0). Both terms take their x <= 0 branch
    # at x = 0; abs and relu would each give slope 0 there, and the gradient 1 - t instead of 0.5 - t.
    dtype = target.dtype  # PyTorch computes in place in the target's dtype
    if input.dtype != dtype:
        input = input.to(dtype)
    pos = input._data > 0
    with np.errstate(invalid="ignore", over="ignore"):  # an infinite logit gives nan or inf, as in PyTorch
        softplus_neg = log1p(exp(where(pos, -input, input))) + where(pos, 0.0, -input)
        if pos_weight is not None:
            pos_weight = pos_weight if pos_weight.dtype == dtype else pos_weight.to(dtype)
            loss = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus_neg
        else:
            loss = (1.0 - target) * input + softplus_neg
        if weight is not None:
            loss = loss * (weight if weight.dtype == dtype else weight.to(dtype))
        return _reduce(loss, reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence with ``input`` holding log-probabilities: pointwise
    ``target * (log(target) - input)`` (0 where ``target == 0``), or with ``log_target=True``
    ``exp(target) * (target - input)``. ``reduction="batchmean"`` divides the sum by the batch size
    (dim 0), which is the KL divergence; ``"mean"`` divides by the number of elements and warns, as
    PyTorch does. At ``target == 0`` the target's gradient is ``-input`` (PyTorch gives nan)."""
    op = "kl_div"
    legacy = size_average is not None or reduce is not None
    reduction = _reduction(op, reduction, size_average, reduce, choices=_REDUCTIONS + ("batchmean",))
    if reduction == "mean" and not legacy:
        warnings.warn(
            "kl_div: reduction='mean' divides the total loss by both the batch size and the "
            "support size; 'batchmean' divides only by the batch size, which is the KL "
            "divergence. 'mean' will behave as 'batchmean' in a future PyTorch release.",
            UserWarning, stacklevel=2,
        )
    if not isinstance(log_target, (bool, np.bool_)):
        raise DTypeError(f"{op}: log_target must be a bool, got {log_target!r}")
    _float_tensor(op, input)
    _float_tensor(op, target, "target")
    check_devices(op, ("input", input), ("target", target))
    _broadcast_shape(op, input, target, warn=False)
    if log_target:
        loss = exp(target) * (target - input)
    else:
        nonzero = target._data != 0
        with np.errstate(invalid="ignore"):  # a negative target gives nan, as in PyTorch
            entropy = where(nonzero, target * log(where(nonzero, target, 1.0)), 0.0)
        loss = entropy - target * input
    if reduction == "batchmean":
        total = sum(loss)
        return total if input.ndim == 0 else _divide(total, input.shape[0])
    return _reduce(loss, reduction)

