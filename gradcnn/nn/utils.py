"""Gradient utilities: ``clip_grad_norm_``."""

import math

from ..backends import get_array_module
from ..errors import ShapeError
from ..tensor import Tensor, check_devices

__all__ = ["clip_grad_norm_"]


def _vector_norm(xp, x, norm_type):
    if norm_type == math.inf:
        return xp.abs(x).max()
    if norm_type == -math.inf:
        return xp.abs(x).min()
    if norm_type == 0:
        return (x != 0).sum().astype(x.dtype)
    if norm_type == 1:
        return xp.abs(x).sum()
    if norm_type == 2:
        return xp.sqrt((x * x).sum())
    return (xp.abs(x) ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients in place so that their joint ``norm_type``-norm is at most ``max_norm``;
    returns the norm before clipping as a 0-d Tensor.

    The norm is that of all gradients seen as one vector; every gradient is multiplied by
    ``min(max_norm / (total_norm + 1e-6), 1)``, as PyTorch does.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    check_devices("clip_grad_norm_", *((f"gradient {i}", g) for i, g in enumerate(grads)))
    xp = get_array_module(grads[0])
    norms = xp.stack([_vector_norm(xp, g._data, norm_type) for g in grads])
    total = _vector_norm(xp, norms, norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise ShapeError(
            f"clip_grad_norm_: the total {norm_type}-norm of the gradients of {len(grads)} "
            f"parameters is {float(total)}, so they cannot be clipped; pass "
            "error_if_nonfinite=False to scale them anyway"
        )
    coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        g._data *= coef
    return Tensor._make(xp.asarray(total))
