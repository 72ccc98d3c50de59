"""The functional API, with ``torch.nn.functional``'s names and signatures.

``import gradcnn.functional as F``; every function here is differentiable and validates its
arguments before any computation. ``cat`` is here too (PyTorch keeps it at the top level), so that
models can be written with ``nn`` and ``functional`` alone.
"""

from .absent import missing
from .ops.activation import (
    elu,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    maxout,
    mish,
    prelu,
    relu6,
    rrelu,
    silu,
    softmax,
    softplus,
)
from .ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .ops.dropout import dropout, dropout1d, dropout2d
from .ops.elementwise import relu, sigmoid, tanh
from .ops.linalg import embedding, linear
from .ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from .ops.loss import legacy_get_string as _legacy_get_string  # noqa: F401  (for nn's loss modules)
from .ops.norm import batch_norm, group_norm, layer_norm, local_response_norm
from .ops.norm import normalized_shape_arg as _normalized_shape_arg  # noqa: F401  (for nn.LayerNorm)
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
from .ops.shape import cat, one_hot, pad
from .ops.upsample import interpolate
from .ops.upsample import interpolate_config as _interpolate_config  # noqa: F401  (for nn.Upsample)

__all__ = [
    "hardsigmoid", "hardswish", "hardtanh", "mish", "relu6", "silu", "softplus",
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
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "elu",
    "embedding",
    "group_norm",
    "huber_loss",
    "kl_div",
    "interpolate",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "linear",
    "local_response_norm",
    "log_softmax",
    "maxout",
    "mse_loss",
    "nll_loss",
    "one_hot",
    "pad",
    "prelu",
    "relu",
    "rrelu",
    "sigmoid",
    "smooth_l1_loss",
    "softmax",
    "tanh",
]


def __getattr__(name):
    raise missing("gradcnn.functional", name)
