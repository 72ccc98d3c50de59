"""CUDA backend: convolution and pooling on CuPy RawKernels, GEMMs through ``cupy.matmul`` (cuBLAS).

The functions have the names, arguments and results of :mod:`gradcnn.backends.cpu` and take arrays
that the ops in ``gradcnn.ops.conv`` / ``gradcnn.ops.pool`` have already validated. :mod:`.conv`
holds the convolutions and the choice between im2col + GEMM and the direct kernels
(``gradcnn.backends.cuda.conv.CONV_ALGORITHM``), :mod:`.pool` the pooling, :mod:`.gemm` the fully connected layers' products, :mod:`.activation`,
:mod:`.norm` and :mod:`.optim` ReLU, batch norm and the optimizer updates (CuPy array
expressions), and :mod:`.launch` the
kernel sources (``conv.cu``, ``pool.cu``, package data), their compiled modules and the launcher.
Importing this package imports no CuPy; the first launch does.
"""

from .activation import relu_backward, relu_forward
from .conv import (
    DIRECT_MAX_TAPS,
    conv2d_backward_data,
    conv2d_backward_weight,
    conv2d_forward,
    conv_algorithm,
    conv_taps,
    use_conv_algorithm,
)
from .gemm import matmul2d
from .launch import COMPILE_OPTIONS, KERNELS, SOURCES, source, warmup
from .norm import batch_norm_backward, batch_norm_forward
from .optim import adam_step, sgd_step
from .pool import (
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_forward,
    max_pool2d_gather,
    max_pool2d_scatter,
)

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
    "SOURCES",
    "KERNELS",
    "COMPILE_OPTIONS",
    "DIRECT_MAX_TAPS",
    "conv_algorithm",
    "conv_taps",
    "use_conv_algorithm",
    "source",
    "warmup",
]
