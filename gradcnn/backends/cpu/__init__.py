"""CPU backend: convolution, pooling, activations, batch norm and optimizer updates on Numba kernels,
GEMMs through NumPy's BLAS.

The functions take arrays that the ops in ``gradcnn.ops.conv`` / ``gradcnn.ops.pool`` have already
validated, plus the geometry those ops computed, and have the names, arguments and results of
:mod:`gradcnn.backends.cuda`. :mod:`.conv` holds the convolutions, :mod:`.pool` the pooling,
:mod:`.gemm` the fully connected layers' products, :mod:`.activation`, :mod:`.norm` and :mod:`.optim` the one-pass kernels of ReLU, batch norm and
the optimizers, :mod:`.threads` the worker pool that runs them and its workspaces, and
:mod:`.kernels` the Numba kernels, imported (and Numba with it) on first use.
"""

from .activation import relu_backward, relu_forward
from .conv import conv2d_backward_data, conv2d_backward_weight, conv2d_forward
from .gemm import matmul2d
from .norm import batch_norm_backward, batch_norm_forward
from .optim import adam_step, sgd_step
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_forward,
    max_pool2d_gather,
    max_pool2d_scatter,
)
from .threads import num_threads, release_workspace, set_num_threads, warmup, workspace

__all__ = [
    "conv2d_forward",
    "conv2d_backward_data",
    "conv2d_backward_weight",
    "max_pool2d_forward",
    "max_pool2d_scatter",
    "max_pool2d_gather",
    "avg_pool2d_forward",
    "avg_pool2d_backward",
    "matmul2d",
    "relu_forward",
    "relu_backward",
    "batch_norm_forward",
    "batch_norm_backward",
    "sgd_step",
    "adam_step",
    "workspace",
    "release_workspace",
    "num_threads",
    "set_num_threads",
    "warmup",
]
