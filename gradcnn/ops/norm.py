"""Normalization layers' functions, as composites of reductions and elementwise ops (so they have
second derivatives for free): batch, layer, group and local response normalization.

Batch norm in training normalizes with the batch statistics (biased variance) and updates the
running statistics in place with ``momentum``, storing the *unbiased* variance there, as PyTorch
does; eval normalizes with the running statistics. Layer norm normalizes each sample over its last
``len(normalized_shape)`` dims, group norm each sample over each group of channels (and all their
positions); both use the biased variance and apply ``weight``/``bias`` elementwise (layer norm: of
``normalized_shape``) or per channel (group norm).

Edge cases follow PyTorch: an empty input gives an empty output (batch norm then leaves its running
statistics alone); NaN spreads to every value normalized with it; batch norm in training refuses
exactly one value per channel, group norm exactly one value in all (a batch of one sample with one
value per group).

Dtypes follow PyTorch's CPU kernels: the weights and statistics share the input's dtype, or are all
float32 for float16 input, which is then normalized in float32 and returned in float16.

Batch norm in training is one primitive, :class:`BatchNorm`, as in PyTorch: a backend kernel
computes the statistics (in float64) and the output in two passes, and its backward is one kernel
for the sums and one for the input gradient. With ``create_graph=True`` its backward is written
with differentiable ops instead (the same formula, the statistics recomputed from the input), so
higher derivatives exist as for the composites.
"""

import math

import numpy as np

from .. import geometry
from ..arguments import flag, integer, number
from ..autograd.function import Function
from ..autograd.tape import is_grad_enabled
from ..backends import backend_of
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, check_devices
from .elementwise import cast, sqrt
from .pool import avg_pool2d
from .reduction import mean
from .reduction import sum as _sum
from .shape import as_tensor_arg, pad, reshape

__all__ = ["batch_norm", "layer_norm", "group_norm", "local_response_norm", "normalized_shape_arg"]


def _check_input(input, op, min_dims=2, layout="(N, C, *)"):
    as_tensor_arg(input, op)
    if input.ndim < min_dims:
        raise ShapeError(f"{op}: input must be {layout}, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise DTypeError(f"{op}: input must be floating, got {input.dtype.name}")


def _check_eps(op, eps):
    return number(op, "eps", eps, 0)


def _check_dtypes(op, input, *params):
    """The ``(name, tensor or None)`` pairs of ``params`` all in the input's dtype, or all float32
    for float16 input (PyTorch's CPU kernels take those two, and no other mix)."""
    given = [(name, t.dtype) for name, t in params if t is not None]
    first = given[0][1] if given else input.dtype
    allowed = (input.dtype, np.float32) if input.dtype == np.float16 else (input.dtype,)
    for name, dtype in given:
        if dtype != first or dtype not in allowed:
            raise DTypeError(f"{op}: {name} is {dtype.name} but input is {input.dtype.name}"
                             f"{'' if dtype == first else f' and {given[0][0]} is {first.name}'}; convert "
                             f"them to one dtype (e.g. {name}.to(input.dtype))")


def _opmath(input):
    """float16 input as float32: PyTorch normalizes it in float32 and rounds the result once."""
    return cast(input, np.float32) if input.dtype == np.float16 else input


def _normalize(input, axes, eps):
    """``((input - mean) / sqrt(var + eps), mean, var)`` over ``axes`` (kept as size 1), with the
    biased variance; an empty input passes through, with no statistics (``None``)."""
    if input._data.size == 0:
        return input, None, None
    with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN spread, as in PyTorch
        mu = mean(input, axes, keepdim=True)
        centered = input - mu
        var = mean(centered * centered, axes, keepdim=True)
        return centered / sqrt(var + eps), mu, var


class BatchNorm(Function):
    """Training-mode batch norm of ``(N, C, *)`` input: outputs the normalized input and, not
    differentiable, the batch's mean and biased variance per channel (float64, for the running
    statistics)."""

    @staticmethod
    def forward(ctx, x, weight, bias, *, eps):
        y, mu, invstd, var = backend_of(x).batch_norm_forward(x, weight, bias, eps)
        ctx.eps, ctx.mean, ctx.invstd = eps, mu, invstd
        nx, nw, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if nx or nw else None, weight if nx else None)
        ctx.mark_non_differentiable(mu, var)
        return y, mu, var

    @staticmethod
    def backward(ctx, g, _g_mean=None, _g_var=None):
        x, weight = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad
        if is_grad_enabled():
            return _batch_norm_grads(g, x, weight, ctx.eps, nx, nw, nb)
        gx, gw, gb = backend_of(x._data).batch_norm_backward(
            g._data, x._data, None if weight is None else weight._data, ctx.mean, ctx.invstd, nx, nw, nb)
        return tuple(None if a is None else Tensor._make(a) for a in (gx, gw, gb))


def _batch_norm_grads(g, x, weight, eps, nx, nw, nb):
    """:class:`BatchNorm`'s gradients as differentiable ops of ``g``, ``x`` and ``weight``."""
    axes = (0,) + tuple(range(2, x.ndim))
    channels = x.shape[1]
    count = x._data.size // channels
    centered = x - mean(x, axes, keepdim=True)
    invstd = 1.0 / sqrt(mean(centered * centered, axes, keepdim=True) + eps)
    xhat = centered * invstd
    sum_g = _sum(g, axes, keepdim=True)
    sum_gxhat = _sum(g * xhat, axes, keepdim=True)
    gx = gw = gb = None
    if nx:
        scale = invstd if weight is None else invstd * reshape(weight, sum_g.shape)
        gx = (g - sum_g / float(count) - xhat * (sum_gxhat / float(count))) * scale
    if nw:
        gw = reshape(sum_gxhat, (channels,))
    if nb:
        gb = reshape(sum_g, (channels,))
    return gx, gw, gb


def _check_stat(t, name, channels, input, op="batch_norm"):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise DTypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
    if t.shape != (channels,):
        raise ShapeError(
            f"{op}: {name} has shape {t.shape}, expected ({channels},): one entry per "
            f"channel (dim 1) of the input {input.shape}"
        )


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Normalize each channel (dim 1) of ``(N, C, *)`` input, then scale by ``weight`` and shift by
    ``bias`` (each ``(C,)``, optional). ``running_mean``/``running_var`` may be ``None`` in training."""
    _check_input(input, "batch_norm")
    channels = input.shape[1]
    stats = (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias))
    for name, t in stats:
        _check_stat(t, name, channels, input)
    check_devices("batch_norm", ("input", input), *stats)
    _check_dtypes("batch_norm", input, *stats)
    training = flag("batch_norm", "training", training)
    momentum = number("batch_norm", "momentum", momentum)
    eps = _check_eps("batch_norm", eps)
    bshape = (1, channels) + (1,) * (input.ndim - 2)
    count = input._data.size // max(channels, 1)

    if training:
        if not eps > 0:
            raise ShapeError(f"batch_norm: eps must be positive in training (as in PyTorch), got {eps!r}")
        if count == 1:
            raise ShapeError(
                f"batch_norm: training needs more than one value per channel, got input of shape "
                f"{input.shape} ({count} per channel)"
            )
        if input._data.size == 0:
            return _affine(input, weight, bias, bshape)
        out, mu, var = BatchNorm.apply(input, weight, bias, eps=eps)
        # The running statistics change in place, on the arrays (the same operations as
        # ``running_mean.mul_(1 - momentum).add_(mean * momentum)``, without the ops' dispatch).
        if running_mean is not None:
            _update_running(running_mean, mu._data.astype(input.dtype) * momentum, momentum)
        if running_var is not None:
            unbiased = var._data.astype(input.dtype) * (count / (count - 1))
            _update_running(running_var, unbiased * momentum, momentum)
        return out
    else:
        if running_mean is None or running_var is None:
            raise ShapeError("batch_norm: eval mode (training=False) needs running_mean and running_var")
        with np.errstate(invalid="ignore", divide="ignore"):  # a negative running_var gives NaN, as in PyTorch
            out = (input - reshape(running_mean, bshape)) / sqrt(reshape(running_var, bshape) + eps)
    # float16 input with float32 statistics is computed in float32, and returned in float16
    return cast(_affine(out, weight, bias, bshape), input.dtype)


def _update_running(stat, new, momentum):
    """``stat = stat * (1 - momentum) + new`` in place (``new`` already scaled by momentum)."""
    data = stat._data
    data *= 1.0 - momentum
    data += new
    stat._version.value += 1


def _affine(out, weight, bias, bshape):
    if weight is not None:
        out = out * reshape(weight, bshape)
    if bias is not None:
        out = out + reshape(bias, bshape)
    return out


def normalized_shape_arg(op, normalized_shape):
    """``normalized_shape`` (an int, or a tuple or list of ints) as a non-empty tuple of
    non-negative ints; ``nn.LayerNorm`` checks its argument with this function too."""
    n = len(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else 1
    shape = geometry.int_tuple(op, "normalized_shape", normalized_shape, n, minimum=0)
    if not shape:
        raise ShapeError(f"{op}: normalized_shape must name at least one dim, got {tuple(normalized_shape)}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize each sample over its last ``len(normalized_shape)`` dims (which must equal
    ``normalized_shape``), then multiply by ``weight`` and add ``bias`` (each of
    ``normalized_shape``, optional), as ``torch.nn.functional.layer_norm``."""
    op = "layer_norm"
    _check_input(input, op, 1, "at least 1-D")
    if not isinstance(normalized_shape, (tuple, list)):  # an int is for nn.LayerNorm only, as in PyTorch
        raise DTypeError(f"{op}: normalized_shape must be a tuple of ints, got {normalized_shape!r} "
                         f"({type(normalized_shape).__name__})")
    shape = normalized_shape_arg(op, normalized_shape)
    if input.shape[input.ndim - len(shape):] != shape or input.ndim < len(shape):
        raise ShapeError(
            f"{op}: normalized_shape {shape} must equal the last {len(shape)} dims of the input, "
            f"got input of shape {input.shape}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise DTypeError(f"{op}: {name} must be a Tensor or None, got {type(t).__name__}")
        if t is not None and t.shape != shape:
            raise ShapeError(f"{op}: {name} has shape {t.shape}, expected normalized_shape {shape}")
    check_devices(op, ("input", input), ("weight", weight), ("bias", bias))
    _check_dtypes(op, input, ("weight", weight), ("bias", bias))
    eps = _check_eps(op, eps)
    out = _normalize(_opmath(input), tuple(range(input.ndim - len(shape), input.ndim)), eps)[0]
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return cast(out, input.dtype)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Split the channels of ``(N, C, *)`` input into ``num_groups`` groups and normalize each
    sample over each group (its channels and positions), then scale by ``weight`` and shift by
    ``bias`` (each ``(C,)``, optional), as ``torch.nn.functional.group_norm``."""
    op = "group_norm"
    _check_input(input, op)
    num_groups = geometry.positive_int(op, "num_groups", num_groups)
    n, channels = input.shape[:2]
    if channels % num_groups:
        raise ShapeError(
            f"{op}: the input's {channels} channels (shape {input.shape}) do not split into "
            f"num_groups={num_groups} equal groups"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        _check_stat(t, name, channels, input, op)
    check_devices(op, ("input", input), ("weight", weight), ("bias", bias))
    _check_dtypes(op, input, ("weight", weight), ("bias", bias))
    eps = _check_eps(op, eps)
    per_group = channels // num_groups * math.prod(input.shape[2:])
    if n * per_group == 1:
        raise ShapeError(
            f"{op}: expected more than one value to normalize, got input of shape {input.shape} with "
            f"num_groups={num_groups} (1 sample, 1 value per group)"
        )
    grouped = reshape(_opmath(input), (n, num_groups, per_group))
    out = reshape(_normalize(grouped, (2,), eps)[0], input.shape)
    bshape = (1, channels) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * reshape(weight, bshape)
    if bias is not None:
        out = out + reshape(bias, bshape)
    return cast(out, input.dtype)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """AlexNet's local response normalization across channels, as PyTorch computes it:
    ``x / (k + alpha * mean(x^2 over size neighbouring channels)) ** beta``, the window zero-padded
    by ``size // 2`` before and ``(size - 1) // 2`` after. A composite of differentiable ops."""
    op = "local_response_norm"
    as_tensor_arg(input, op)
    if input.ndim < 3:
        raise ShapeError(f"{op}: input must be (N, C, *) with at least 3 dims, got {input.shape}")
    # int64 runs as in PyTorch: the window means are int64 (truncated), the result float32
    if input.dtype.kind != "f" and input.dtype != np.int64:
        raise DTypeError(f"{op}: input must be floating or int64, got {input.dtype.name}")
    size = integer(op, "size", size, minimum=1)
    alpha, beta, k = number(op, "alpha", alpha), number(op, "beta", beta), number(op, "k", k)
    if input._data.size == 0:
        return input * 1.0  # an empty batch (or no channels): nothing to normalize
    n, c = input.shape[:2]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # inf and NaN spread, as in PyTorch
        squares = reshape(input * input, (n, 1, c, -1))
        squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))
        mean_sq = reshape(avg_pool2d(squares, (size, 1), stride=1), input.shape)
        return input / (mean_sq * alpha + k) ** beta
