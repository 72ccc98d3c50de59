"""The functional API, with ``torch.nn.functional``'s names and signatures.

``import gradcnn.functional as F``; every function here is differentiable and validates its
arguments before any computation. ``cat`` is here too (PyTorch keeps it at the top level), so that
models can be written with ``nn`` and ``functional`` alone.
"""

from .ops.activation import elu, leaky_relu, log_softmax, maxout, prelu, rrelu, softmax
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .ops.dropout import dropout
from .ops.elementwise import relu, sigmoid, tanh
from .ops.linalg import embedding, linear
from .ops.loss import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .ops.norm import batch_norm, local_response_norm
from .ops.pool import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
)
from .ops.shape import cat, pad

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
    "batch_norm",
    "cat",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "elu",
    "embedding",
    "l1_loss",
    "leaky_relu",
    "linear",
    "local_response_norm",
    "log_softmax",
    "maxout",
    "mse_loss",
    "nll_loss",
    "pad",
    "prelu",
    "relu",
    "rrelu",
    "sigmoid",
    "softmax",
    "tanh",
]
