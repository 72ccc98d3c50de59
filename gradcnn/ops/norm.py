"""Batch normalization, as a composite of reductions and elementwise ops (so it has second
derivatives for free).

Training normalizes with the batch statistics (biased variance) and updates the running
statistics in place with ``momentum``, storing the *unbiased* variance there, as PyTorch does.
Eval normalizes with the running statistics.
"""

import numbers

from ..autograd.tape import no_grad
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, check_devices
from .elementwise import sqrt
from .pool import avg_pool2d
from .reduction import mean
from .shape import as_tensor_arg, pad, reshape

__all__ = ["batch_norm", "local_response_norm"]


def _check_stat(t, name, channels, input):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise DTypeError(f"batch_norm: {name} must be a Tensor or None, got {type(t).__name__}")
    if t.shape != (channels,):
        raise ShapeError(
            f"batch_norm: {name} has shape {t.shape}, expected ({channels},): one entry per "
            f"channel (dim 1) of the input {input.shape}"
        )


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) of ``(N, C, *)`` input, then scale by ``weight`` and shift by
    ``bias`` (each ``(C,)``, optional). ``running_mean``/``running_var`` may be ``None`` in training."""
    as_tensor_arg(input, "batch_norm")
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: input must be (N, C, *), got shape {input.shape}")
    if input.dtype.kind != "f":
        raise DTypeError(f"batch_norm: input must be floating, got {input.dtype.name}")
    channels = input.shape[1]
    stats = (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))
    for name, t in stats:
        _check_stat(t, name, channels, input)
    check_devices("batch_norm", ("input", input), *stats)
    if not isinstance(eps, numbers.Real) or eps < 0:
        raise ShapeError(f"batch_norm: eps must be a non-negative number, got {eps!r}")
    axes = (0,) + tuple(range(2, input.ndim))
    bshape = (1, channels) + (1,) * (input.ndim - 2)
    count = input.data.size // max(channels, 1)

    if training:
        if count <= 1:
            raise ShapeError(
                f"batch_norm: training needs more than one value per channel, got input of shape "
                f"{input.shape} ({count} per channel)"
            )
        mu = mean(input, axes, keepdim=True)
        centered = input - mu
        var = mean(centered * centered, axes, keepdim=True)
        if running_mean is not None or running_var is not None:
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1.0 - momentum).add_(reshape(mu.detach(), (channels,)) * momentum)
                if running_var is not None:
                    unbiased = reshape(var.detach(), (channels,)) * (count / (count - 1))
                    running_var.mul_(1.0 - momentum).add_(unbiased * momentum)
    else:
        if running_mean is None or running_var is None:
            raise ShapeError("batch_norm: eval mode (training=False) needs running_mean and running_var")
        centered = input - reshape(running_mean, bshape)
        var = reshape(running_var, bshape)
    out = centered / sqrt(var + eps)
    if weight is not None:
        out = out * reshape(weight, bshape)
    if bias is not None:
        out = out + reshape(bias, bshape)
    return out


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """AlexNet's local response normalization across channels, as PyTorch computes it:
    ``x / (k + alpha * mean(x^2 over size neighbouring channels)) ** beta``, the window zero-padded
    by ``size // 2`` before and ``(size - 1) // 2`` after. A composite of differentiable ops."""
    as_tensor_arg(input, "local_response_norm")
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: input must be (N, C, *) with at least 3 dims, got {input.shape}")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise ShapeError(f"local_response_norm: size must be a positive int, got {size!r}")
    n, c = input.shape[:2]
    squares = reshape(input * input, (n, 1, c, -1))
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
    mean_sq = reshape(avg_pool2d(squares, (size, 1), stride=1), input.shape)
    return input / (mean_sq * alpha + k) ** beta
