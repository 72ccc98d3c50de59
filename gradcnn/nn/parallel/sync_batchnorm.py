"""``SyncBatchNorm``: batch normalization whose batch statistics cover every rank's batch.

In training, with a process group of more than one rank, the mean and variance of each channel
are those of the combined batch: per-channel sums (and the element count) are all-reduced, then
the sums of squared deviations from that mean (two passes: no cancellation in ``E[x²] - E[x]²``).
Both all-reduces are :func:`gradcnn.distributed.nn.functional.all_reduce`, which autograd goes
through, so the gradient each rank gets is that of batch normalization over the combined batch,
not of its own slice. Running statistics use the combined mean and the unbiased combined variance.
In eval mode, or without a process group (or with one rank), it is :class:`BatchNorm2d`'s code.

Every rank must run the forward and the backward of the layer (they are collectives).
"""

from ... import distributed as dist
from ... import functional as F
from ...autograd.tape import no_grad
from ...backends import get_array_module
from ...errors import ShapeError
from ...tensor import Tensor
from ..layers import _BatchNorm
from ..module import Module

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over ``(N, C, *)`` input with statistics over every rank
    (``torch.nn.SyncBatchNorm``). ``process_group``: ``None`` (the default group).

    Shape: ``(N, C, *)``, at least 2-D; same shape out.
    """

    expected_dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def forward(self, input):
        if input.ndim < 2:
            raise ShapeError(f"SyncBatchNorm: expected at least 2-D input (N, C, *), got shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ShapeError(f"SyncBatchNorm: input has {input.shape[1]} channels (dim 1 of {input.shape}) "
                             f"but the layer was built for num_features={self.num_features}")
        synced = (self.training and dist.is_initialized()
                  and dist.get_world_size(self.process_group) > 1)
        if not synced:
            return super().forward(input)
        momentum = self.momentum
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked._data[...] += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        return _sync_batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                                momentum, self.eps, self.process_group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Replace every ``BatchNorm1d/2d`` inside ``module`` (and ``module`` itself) by a
        ``SyncBatchNorm`` that takes over its parameters, running statistics and mode; returns
        the converted module (``module`` itself unless it was a batch norm)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            new = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                with no_grad():
                    new.weight, new.bias = module.weight, module.bias
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                new._buffers[name] = module._buffers[name]
            new.train(module.training)
            return new
        if isinstance(module, Module):
            for name, child in list(module._modules.items()):
                if child is not None:
                    converted = cls.convert_sync_batchnorm(child, process_group)
                    if converted is not child:
                        module._modules[name] = converted
        return module


def _sync_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps, group):
    all_reduce = dist.nn.functional.all_reduce
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, channels) + (1,) * (x.ndim - 2)
    local = x._data.size // max(channels, 1)
    count = Tensor._make(get_array_module(x._data).full((1,), local, dtype=x.dtype))
    totals = all_reduce(F.cat([x.sum(axes), count]), group=group)
    n = float(totals[channels].item())
    if n <= 1:
        raise ShapeError(f"SyncBatchNorm: training needs more than one value per channel over all ranks, "
                         f"got {int(n)} (this rank's input has shape {x.shape})")
    mean = totals[:channels] / n
    centered = x - mean.reshape(bshape)
    var = all_reduce((centered * centered).sum(axes), group=group) / n
    if running_mean is not None:
        with no_grad():
            running_mean.mul_(1.0 - momentum).add_(mean.detach() * momentum)
            running_var.mul_(1.0 - momentum).add_(var.detach() * (n / (n - 1)) * momentum)
    out = centered / (var.reshape(bshape) + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out
