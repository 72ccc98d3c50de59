"""Differentiable collectives, as ``torch.distributed.nn.functional``.

``all_reduce(tensor)`` returns the sum over ranks as a new tensor (the input is left alone) and
records it on the tape: if every rank's loss depends on the sum, the gradient reaching each rank's
input is the sum over ranks of the gradients reaching the output, which is an all-reduce again.
So the backward pass is itself a collective, and every rank must run it (every rank calls
``backward()``, as in data-parallel training). :class:`gradcnn.nn.SyncBatchNorm` is built on it.
"""

from ...autograd.function import Function
from ...errors import DTypeError
from ...tensor import Tensor
from .. import process_group as pg

__all__ = ["all_reduce"]


class AllReduceSum(Function):
    """``y = sum over ranks of x``; ``dx = sum over ranks of dy``."""

    @staticmethod
    def forward(ctx, x):
        out = Tensor._make(x.copy())
        pg.all_reduce(out, pg.ReduceOp.SUM)
        return out._data

    @staticmethod
    def backward(ctx, gy):
        return AllReduceSum.apply(gy)


def all_reduce(tensor, op=pg.ReduceOp.SUM, group=None):
    """The sum of ``tensor`` over every rank, as a new tensor that gradients flow through.
    Only ``ReduceOp.SUM`` is differentiable here, as in PyTorch's NCCL and Gloo backends."""
    pg._group(group, "all_reduce")
    if op is not pg.ReduceOp.SUM:
        raise DTypeError(f"distributed.nn.functional.all_reduce: only ReduceOp.SUM is differentiable, got {op!r}")
    if not isinstance(tensor, Tensor):
        raise DTypeError(f"distributed.nn.functional.all_reduce: tensor must be a gradcnn Tensor, got "
                         f"{type(tensor).__name__}")
    return AllReduceSum.apply(tensor)
