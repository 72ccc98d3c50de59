"""Losses, with ``torch.nn.functional``'s names, arguments and reductions. All are composites.

Class dim: ``(N, C)`` or ``(N, C, d1, ...)`` inputs with ``(N,)`` or ``(N, d1, ...)`` integer
targets; ``ignore_index`` targets contribute nothing, and ``reduction="mean"`` divides by the summed
weight of the targets that count (the number of them without ``weight``), as PyTorch does.
"""

from ..backends import get_array_module
from ..errors import DTypeError, IndexOutOfRangeError, ShapeError
from ..tensor import Tensor, check_devices
from .activation import log_softmax
from .elementwise import abs, exp, log1p, where
from .reduction import mean, sum
from .shape import as_tensor_arg, getitem, permute, reshape

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy_with_logits",
]

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction, op):
    if reduction not in _REDUCTIONS:
        raise ShapeError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(loss, reduction):
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    return loss


def _classes_last(input):
    """``(M, C)`` view of an input whose class dim is 1 (or 0 for a 1-D input)."""
    if input.ndim == 1:
        return reshape(input, (1, input.shape[0]))
    if input.ndim > 2:
        input = permute(input, 0, *range(2, input.ndim), 1)
    return reshape(input, (-1, input.shape[-1]))


def _check_target(input, target, weight, ignore_index, op):
    as_tensor_arg(input, op)
    as_tensor_arg(target, op, "target")
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class dim, got a 0-d tensor")
    if target.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: target must hold integer class indices, got {target.dtype.name}; "
            "cross_entropy also accepts class probabilities of the input's shape"
        )
    expected = () if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if target.shape != expected:
        raise ShapeError(
            f"{op}: target has shape {target.shape}, expected {expected} for input of shape "
            f"{input.shape} (class dim {0 if input.ndim == 1 else 1} of size "
            f"{input.shape[0 if input.ndim == 1 else 1]})"
        )
    check_devices(op, ("input", input), ("target", target), ("weight", weight))
    classes = input.shape[0 if input.ndim == 1 else 1]
    t = target.data.reshape(-1)
    bad = (t != ignore_index) & ((t < 0) | (t >= classes))
    if bad.any():
        i = int(get_array_module(bad).flatnonzero(bad)[0])
        raise IndexOutOfRangeError(
            f"{op}: target value {int(t[i])} at flat position {i} is outside [0, {classes}) for an "
            f"input with {classes} classes (shape {input.shape})"
        )
    if weight is not None:
        as_tensor_arg(weight, op, "weight")
        if weight.shape != (classes,):
            raise ShapeError(f"{op}: weight has shape {weight.shape}, expected ({classes},), one per class")
    return classes, t


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of integer ``target`` under log-probabilities ``input``."""
    _check_reduction(reduction, "nll_loss")
    classes, t = _check_target(input, target, weight, ignore_index, "nll_loss")
    xp = get_array_module(t)
    valid = t != ignore_index
    idx = xp.where(valid, t, 0)
    picked = getitem(_classes_last(input), (xp.arange(t.shape[0]), idx))
    w = valid.astype(input.dtype)
    if weight is not None:
        w = w * weight.data[idx]
    losses = -picked * w
    if reduction == "none":
        return reshape(losses, target.shape)
    if reduction == "sum":
        return sum(losses)
    return sum(losses) / float(w.sum())


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Softmax cross-entropy of logits ``input`` against integer classes or class probabilities.

    ``label_smoothing=eps`` mixes the one-hot target with the uniform distribution:
    ``(1 - eps) * nll + eps / C * sum_c(-log p_c)`` (weighted per class when ``weight`` is given).
    Stable for large logits: it goes through ``log_softmax``.
    """
    _check_reduction(reduction, "cross_entropy")
    as_tensor_arg(input, "cross_entropy")
    as_tensor_arg(target, "cross_entropy", "target")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ShapeError(f"cross_entropy: label_smoothing must lie in [0, 1], got {label_smoothing}")
    if input.dtype.kind != "f":
        raise DTypeError(f"cross_entropy: input must hold floating logits, got {input.dtype.name}")
    class_dim = 0 if input.ndim == 1 else 1
    if target.dtype.kind == "f":
        logp = log_softmax(input, class_dim)
        return _soft_cross_entropy(input, logp, target, weight, reduction, label_smoothing, class_dim)

    # Checked before nll_loss checks it again, so that errors name the function that was called.
    classes, t = _check_target(input, target, weight, ignore_index, "cross_entropy")
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    flat = _classes_last(logp)
    valid = (t != ignore_index).astype(input.dtype)[:, None]
    per_class = flat if weight is None else flat * weight.data
    smooth = -sum(per_class * valid, 1)
    if reduction == "none":
        smooth = reshape(smooth, target.shape)
    elif reduction == "sum":
        smooth = sum(smooth)
    else:
        idx = get_array_module(t).where(t != ignore_index, t, 0)
        denom = valid.sum() if weight is None else (weight.data[idx] * valid[:, 0]).sum()
        smooth = sum(smooth) / float(denom)
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


def _soft_cross_entropy(input, logp, target, weight, reduction, eps, class_dim):
    if target.shape != input.shape:
        raise ShapeError(
            f"cross_entropy: probability target has shape {target.shape}, expected the input's "
            f"shape {input.shape}"
        )
    check_devices("cross_entropy", ("input", input), ("target", target), ("weight", weight))
    classes = input.shape[class_dim]
    if eps:
        target = target * (1.0 - eps) + eps / classes
    terms = logp * target
    if weight is not None:
        as_tensor_arg(weight, "cross_entropy", "weight")
        if weight.shape != (classes,):
            raise ShapeError(f"cross_entropy: weight has shape {weight.shape}, expected ({classes},)")
        terms = terms * reshape(weight, (classes,) + (1,) * (input.ndim - class_dim - 1))
    return _reduce(-sum(terms, class_dim), reduction)


def _check_pair(input, target, op):
    as_tensor_arg(input, op)
    if not isinstance(target, Tensor):
        raise DTypeError(f"{op}: target must be a Tensor, got {type(target).__name__}")
    if input.shape != target.shape:
        raise ShapeError(
            f"{op}: input has shape {input.shape} but target has shape {target.shape}; they must "
            "match (gradcnn does not broadcast loss targets)"
        )
    check_devices(op, ("input", input), ("target", target))


def mse_loss(input, target, reduction="mean"):
    """Mean (or summed) squared error."""
    _check_reduction(reduction, "mse_loss")
    _check_pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """Mean (or summed) absolute error."""
    _check_reduction(reduction, "l1_loss")
    _check_pair(input, target, "l1_loss")
    return _reduce(abs(input - target), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """Sigmoid plus binary cross-entropy in one stable formula:
    ``(1 - t) x + w_pos (log(1 + exp(-|x|)) + max(-x, 0))``, with ``w_pos = 1 + (pos_weight - 1) t``."""
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    _check_pair(input, target, op)
    check_devices(op, ("input", input), ("weight", weight), ("pos_weight", pos_weight))
    # log(1 + exp(-x)), stable: log1p(exp(-|x|)) + max(-x, 0). Both terms take their x <= 0 branch
    # at x = 0; abs and relu would each give slope 0 there, and the gradient 1 - t instead of 0.5 - t.
    pos = input.data > 0
    softplus_neg = log1p(exp(where(pos, -input, input))) + where(pos, 0.0, -input)
    if pos_weight is not None:
        as_tensor_arg(pos_weight, op, "pos_weight")
        loss = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus_neg
    else:
        loss = (1.0 - target) * input + softplus_neg
    if weight is not None:
        as_tensor_arg(weight, op, "weight")
        loss = loss * weight
    return _reduce(loss, reduction)
