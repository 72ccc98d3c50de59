"""The built-in layers, with PyTorch's names, arguments and default initialisation.

Each layer is a thin ``Module`` over a function of :mod:`gradcnn.functional`: it validates its
configuration when built, owns its parameters and buffers, and shows its non-default settings in
its ``repr``. Shapes use PyTorch's letters: N batch, C channels, L length, H x W image.
"""

import math
import numbers

import numpy as np

from .. import functional as F
from .. import geometry
from ..autograd.tape import no_grad
from ..creation import empty, ones, zeros
from ..errors import ShapeError
from . import init
from .module import Module, Parameter

__all__ = [
    "Linear", "Identity", "Flatten", "Embedding",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax",
    "Maxout", "Dropout", "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm",
]


def _settings(**kw):
    """``a=1, b=2`` for the settings that differ from their defaults (given as (value, default))."""
    return ", ".join(f"{k}={v!r}" for k, (v, default) in kw.items() if v != default)


def _param(shape, dtype):
    return Parameter(empty(*shape, dtype=dtype or np.float32))


def _uniform_bias(bias, fan_in):
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    init.uniform_(bias, -bound, bound)


# -- linear and friends -------------------------------------------------------------------------


class Linear(Module):
    """``y = x W^T + b``.

    Shape: input ``(*, in_features)``, output ``(*, out_features)``.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = geometry.positive_int("Linear", "in_features", in_features)
        self.out_features = geometry.positive_int("Linear", "out_features", out_features)
        self.weight = _param((out_features, in_features), dtype)
        self.bias = _param((out_features,), dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            _uniform_bias(self.bias, self.in_features)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input. Shape: any."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merge dims ``start_dim..end_dim``. Shape: ``(N, *)`` to ``(N, prod(*))`` by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1).

    Shape: integer input ``(*)``, output ``(*, embedding_dim)``.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = geometry.positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = geometry.positive_int("Embedding", "embedding_dim", embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ShapeError(f"Embedding: padding_idx {padding_idx} is outside [-{num_embeddings}, {num_embeddings})")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = _param((num_embeddings, embedding_dim), dtype)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self):
        extra = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"


# -- convolution --------------------------------------------------------------------------------


class _ConvNd(Module):
    nd = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, device=None, dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.in_channels = geometry.positive_int(owner, "in_channels", in_channels)
        self.out_channels = geometry.positive_int(owner, "out_channels", out_channels)
        self.groups = geometry.conv_groups(owner, groups, in_channels, out_channels)
        if padding_mode != "zeros":
            raise ShapeError(f"{owner}: padding_mode {padding_mode!r} is not supported; gradcnn pads with zeros")
        self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding = geometry.conv_args(
            owner, self.nd, kernel_size, stride, padding, dilation, output_padding=output_padding,
            transposed=self.transposed)
        if self.transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = _param(shape, dtype)
        self.bias = _param((out_channels,), dtype) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            _uniform_bias(self.bias, fan_in)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        ones_, zeros_ = (1,) * self.nd, (0,) * self.nd
        rest = _settings(padding=(self.padding, zeros_), dilation=(self.dilation, ones_),
                         output_padding=(self.output_padding, zeros_), groups=(self.groups, 1))
        text += (", " + rest) if rest else ""
        return text + ("" if self.bias is not None else ", bias=False")


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) layer; ``padding`` also takes "valid", "same", "full".

    Shape: input ``(N, C_in, L)``, output ``(N, C_out, L_out)``.
    """

    nd = 1

    def forward(self, input):
        return F.conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) layer; ``padding`` also takes "valid", "same", "full".

    Shape: input ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)``.
    """

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose1d(_ConvNd):
    """1-D transposed convolution. Shape: input ``(N, C_in, L)``, output ``(N, C_out, L_out)``."""

    nd = 1
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype)

    def forward(self, input):
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


class ConvTranspose2d(ConvTranspose1d):
    """2-D transposed convolution. Shape: input ``(N, C_in, H, W)``, output ``(N, C_out, H_out, W_out)``."""

    nd = 2

    def forward(self, input):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)


# -- pooling ------------------------------------------------------------------------------------


class _MaxPool(Module):
    # As in PyTorch, a pool keeps its arguments as given (``stride`` defaults to ``kernel_size``);
    # they are checked here by the same function its functional form calls.
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        stride = kernel_size if stride is None else stride
        geometry.pool_args(type(self).__name__, self.nd, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride}"
        rest = _settings(padding=(self.padding, 0), dilation=(self.dilation, 1), ceil_mode=(self.ceil_mode, False))
        return text + (", " + rest if rest else "")


class MaxPool1d(_MaxPool):
    """Max over sliding windows. Shape: ``(N, C, L)`` to ``(N, C, L_out)``."""

    nd = 1

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class MaxPool2d(_MaxPool):
    """Max over sliding windows (overlapping when stride < kernel). Shape: ``(N, C, H, W)`` to
    ``(N, C, H_out, W_out)``."""

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)


class _AvgPool(Module):
    nd = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        stride = kernel_size if stride is None else stride
        geometry.pool_args(type(self).__name__, self.nd, kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self):
        text = f"kernel_size={self.kernel_size}, stride={self.stride}"
        rest = _settings(padding=(self.padding, 0), ceil_mode=(self.ceil_mode, False),
                         count_include_pad=(self.count_include_pad, True))
        return text + (", " + rest if rest else "")


class AvgPool1d(_AvgPool):
    """Mean over sliding windows. Shape: ``(N, C, L)`` to ``(N, C, L_out)``."""

    nd = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)


class AvgPool2d(_AvgPool):
    """Mean over sliding windows. Shape: ``(N, C, H, W)`` to ``(N, C, H_out, W_out)``."""

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class _Adaptive(Module):
    nd = 2

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        geometry.adaptive_output_size(type(self).__name__, output_size, self.nd)
        self.output_size, self.return_indices = output_size, return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_Adaptive):
    """Mean over ``output_size`` evenly spread windows. Shape: ``(N, C, L)`` to ``(N, C, output_size)``."""

    nd = 1

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_Adaptive):
    """Mean over evenly spread windows; ``AdaptiveAvgPool2d(1)`` is global average pooling.
    Shape: ``(N, C, H, W)`` to ``(N, C, *output_size)``."""

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_Adaptive):
    """Max over evenly spread windows; ``AdaptiveMaxPool1d(1)`` is max-over-time pooling.
    Shape: ``(N, C, L)`` to ``(N, C, output_size)``."""

    nd = 1

    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_Adaptive):
    """Max over evenly spread windows. Shape: ``(N, C, H, W)`` to ``(N, C, *output_size)``."""

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


# -- activations --------------------------------------------------------------------------------


class ReLU(Module):
    """``max(x, 0)``. Shape: any. (``inplace`` is accepted and ignored.)"""

    def __init__(self, inplace=False):  # noqa: ARG002 (PyTorch's signature)
        super().__init__()

    def forward(self, input):
        return F.relu(input)


class LeakyReLU(Module):
    """``x`` if positive else ``negative_slope * x``. Shape: any."""

    def __init__(self, negative_slope=0.01, inplace=False):  # noqa: ARG002 (PyTorch's signature)
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class PReLU(Module):
    """Leaky ReLU whose slope is learned: one, or one per channel (dim 1). Shape: any ``(N, C, *)``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = geometry.positive_int("PReLU", "num_parameters", num_parameters)
        self.init = init
        self.weight = _param((num_parameters,), dtype)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: random slopes in ``[lower, upper]`` in training, their mean in eval."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):  # noqa: ARG002 (PyTorch's signature)
        super().__init__()
        self.lower, self.upper = lower, upper

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}"


class ELU(Module):
    """``x`` if positive else ``alpha * (exp(x) - 1)``. Shape: any."""

    def __init__(self, alpha=1.0, inplace=False):  # noqa: ARG002 (PyTorch's signature)
        super().__init__()
        self.alpha = alpha

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return _settings(alpha=(self.alpha, 1.0))


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``. Shape: any."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """``tanh(x)``. Shape: any."""

    def forward(self, input):
        return F.tanh(input)


class Softmax(Module):
    """Softmax along ``dim``. Shape: any; ``dim`` is required."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``. Shape: any; ``dim`` is required."""

    def forward(self, input):
        return F.log_softmax(input, self.dim)


class Maxout(Module):
    """Maximum over groups of ``pieces`` consecutive channels (Goodfellow et al., 2013).

    Shape: ``(N, C, *)`` to ``(N, C / pieces, *)``.
    """

    def __init__(self, pieces, dim=1):
        super().__init__()
        self.pieces = geometry.positive_int("Maxout", "pieces", pieces)
        self.dim = dim

    def forward(self, input):
        return F.maxout(input, self.pieces, self.dim)

    def extra_repr(self):
        return f"pieces={self.pieces}" + (f", dim={self.dim}" if self.dim != 1 else "")


class Dropout(Module):
    """Zero elements with probability ``p`` in training, scaling the rest by ``1 / (1 - p)``."""

    def __init__(self, p=0.5, inplace=False):  # noqa: ARG002 (PyTorch's signature)
        super().__init__()
        if not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ShapeError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = p

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


# -- normalization ------------------------------------------------------------------------------


class _BatchNorm(Module):
    expected_dims = (2, 4)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.num_features = geometry.positive_int(owner, "num_features", num_features)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = _param((num_features,), dtype)
            self.bias = _param((num_features,), dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype or np.float32))
            self.register_buffer("running_var", ones(num_features, dtype=dtype or np.float32))
            self.register_buffer("num_batches_tracked", zeros(1, dtype=np.int64).reshape(()))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        if input.ndim not in self.expected_dims:
            dims = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ShapeError(f"{type(self).__name__}: expected {dims} input, got shape {input.shape}")
        momentum = self.momentum
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.data[...] += 1
            if momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.item())
        track = self.training and self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if track or not use_batch else None,
            self.running_var if track or not use_batch else None,
            self.weight,
            self.bias,
            use_batch,
            momentum if momentum is not None else 0.0,
            self.eps,
        )

    def extra_repr(self):
        rest = _settings(eps=(self.eps, 1e-5), momentum=(self.momentum, 0.1), affine=(self.affine, True),
                         track_running_stats=(self.track_running_stats, True))
        return f"{self.num_features}" + (", " + rest if rest else "")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input, per channel C.

    Shape: ``(N, C)`` or ``(N, C, L)``, same shape out.
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input, per channel C. Shape: same in and out."""

    expected_dims = (4,)


class LocalResponseNorm(Module):
    """AlexNet's normalization across ``size`` neighbouring channels. Shape: ``(N, C, *)``, same out."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = geometry.positive_int("LocalResponseNorm", "size", size)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
