"""CPU backend: convolution and pooling on Numba kernels, GEMMs through NumPy's BLAS.

The functions take arrays that the ops in ``gradcnn.ops.conv`` / ``gradcnn.ops.pool`` have already
validated, plus the geometry those ops computed, and have the names, arguments and results of
:mod:`gradcnn.backends.cuda`. :mod:`.conv` holds the convolutions, :mod:`.pool` the pooling,
:mod:`.threads` the worker pool that runs them and its workspaces, and :mod:`.kernels` the Numba
kernels, imported (and Numba with it) on first use.
"""

from .conv import conv2d_backward_data, conv2d_backward_weight, conv2d_forward
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
    "workspace",
    "release_workspace",
    "num_threads",
    "set_num_threads",
    "warmup",
]
