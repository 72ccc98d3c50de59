"""The built-in layers, with PyTorch's names, arguments and default initialisation.

Each layer is a thin ``Module`` over a function of :mod:`gradcnn.functional`: it validates its
configuration when built, owns its parameters and buffers, and shows its non-default settings in
its ``repr``. Shapes use PyTorch's letters: N batch, C channels, L length, H x W image.

The lazy layers (``LazyLinear``, ``LazyConv1d``/``2d``, ``LazyConvTranspose1d``/``2d``,
``LazyBatchNorm1d``/``2d``) leave ``in_features``, ``in_channels`` or ``num_features`` to their
first input: that call sizes the parameters, initialises them as the ordinary layer does, and turns
the module into the ordinary layer (``type(m) is nn.Linear`` afterwards), as in PyTorch.
"""

import math
import numbers

import numpy as np

from .. import functional as F
from .. import geometry
from ..arguments import flag, integer, number, probability
from ..autograd.tape import no_grad
from ..creation import empty, ones, zeros
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, resolve_dtype
from . import init
from .module import LazyModuleMixin, Module, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = [
    "Linear", "Identity", "Flatten", "Unflatten", "Embedding", "ConstantPad2d", "ZeroPad2d",
    "SiLU", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Mish",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softmax2d",
    "Maxout", "Dropout", "Dropout1d", "Dropout2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "LocalResponseNorm", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
    "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d",
    "LazyBatchNorm1d", "LazyBatchNorm2d",
]


def _settings(**kw):
    """``a=1, b=2`` for the settings that differ from their defaults (given as (value, default))."""
    return ", ".join(f"{k}={v!r}" for k, (v, default) in kw.items() if v != default)


def _param_dtype(owner, dtype):
    """The dtype of a layer's parameters: float32 by default, else a floating dtype object (as in
    PyTorch, a dtype's name as a string is refused, and so is a dtype that cannot require grad)."""
    if dtype is None:
        return np.dtype(np.float32)
    if isinstance(dtype, str):
        raise DTypeError(f"{owner}: dtype must be a dtype such as gradcnn.float32, not the str {dtype!r}")
    dt = resolve_dtype(dtype, f"{owner}: dtype")
    if dt.kind != "f":
        raise DTypeError(f"{owner}: dtype must be floating, as parameters require grad; got dtype={dt.name}")
    return dt


def _param(shape, dtype, owner="layer"):
    return Parameter(empty(*shape, dtype=_param_dtype(owner, dtype)))


def _uniform_bias(bias, fan_in):
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    init.uniform_(bias, -bound, bound)


def _affine(module, shape, dtype, affine, bias):
    """Register ``weight`` (and ``bias``, unless ``bias=False``) of ``shape`` when ``affine``, else
    both as None: the scale and shift of the normalization layers."""
    owner = type(module).__name__
    dtype = _param_dtype(owner, dtype)
    module.register_parameter("weight", _param(shape, dtype, owner) if affine else None)
    module.register_parameter("bias", _param(shape, dtype, owner) if affine and bias else None)


def _reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


def _check_eps(owner, eps):
    """``eps`` as a number >= 0 (inf too, as in PyTorch)."""
    return number(owner, "eps", eps, 0, finite=False)


def _tensor_input(owner, input):
    if not isinstance(input, Tensor):
        raise DTypeError(f"{owner}: input must be a Tensor, got {type(input).__name__}")
    return input


# -- linear and friends -------------------------------------------------------------------------


class Linear(Module):
    """``y = x W^T + b``.

    Shape: input ``(*, in_features)``, output ``(*, out_features)``; either may be 0, as in PyTorch.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = integer("Linear", "in_features", in_features, minimum=0)
        self.out_features = integer("Linear", "out_features", out_features, minimum=0)
        self.weight = _param((self.out_features, self.in_features), dtype, "Linear")
        if bias:
            self.bias = _param((self.out_features,), dtype, "Linear")
        else:
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


class ConstantPad2d(Module):
    """Pad the last two dims with ``value``: ``padding`` is an int or ``(left, right, top, bottom)``
    (negative values crop, as in ``F.pad``). Shape: ``(*, H, W)`` to ``(*, H + top + bottom,
    W + left + right)``."""

    def __init__(self, padding, value):
        super().__init__()
        single = isinstance(padding, numbers.Integral) and not isinstance(padding, bool)
        pads = (int(padding),) * 4 if single else geometry.pad_sizes(type(self).__name__, "padding", padding)
        if len(pads) % 2:
            raise ShapeError(f"{type(self).__name__}: padding must hold (left, right) pairs, got {tuple(pads)} "
                             f"({len(pads)} values)")
        # a tuple of another length than 4 pads as F.pad does (its pairs from the last dim)
        self.padding = pads
        self.value = float(number(type(self).__name__, "value", value, finite=False))

    def forward(self, input):
        return F.pad(input, self.padding, value=self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros (see :class:`ConstantPad2d`)."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


class Flatten(Module):
    """Merge dims ``start_dim..end_dim``. Shape: ``(N, *)`` to ``(N, prod(*))`` by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (one entry may be -1), the inverse of ``Flatten``.

    Shape: ``(*, S, *)`` to ``(*, *unflattened_size, *)`` where ``prod(unflattened_size) == S``.
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
            raise DTypeError(f"Unflatten: dim must be an int, got {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in unflattened_size):
            raise DTypeError(f"Unflatten: unflattened_size must be a tuple of ints, got {unflattened_size!r}")
        if sum(s == -1 for s in unflattened_size) > 1 or any(s < -1 for s in unflattened_size):
            raise ShapeError(f"Unflatten: unflattened_size {tuple(unflattened_size)} may hold one -1 and sizes >= 0")
        self.dim, self.unflattened_size = int(dim), tuple(int(s) for s in unflattened_size)

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1).

    Shape: integer input ``(*)``, output ``(*, embedding_dim)``.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = geometry.positive_int("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = integer("Embedding", "embedding_dim", embedding_dim, minimum=0)
        padding_idx = integer("Embedding", "padding_idx", padding_idx, allow_none=True)
        num_embeddings = self.num_embeddings
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ShapeError(f"Embedding: padding_idx {padding_idx} is outside [-{num_embeddings}, {num_embeddings})")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = _param((num_embeddings, self.embedding_dim), dtype, "Embedding")
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight._data[self.padding_idx] = 0

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
        geometry.positive_int(owner, "in_channels", in_channels)  # None is for the lazy layers alone
        self._configure(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, padding_mode,
                        output_padding)
        dtype = _param_dtype(owner, dtype)
        self.weight = _param(self._weight_shape(), dtype, owner)
        if bias:
            self.bias = _param((out_channels,), dtype, owner)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def _configure(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, padding_mode,
                   output_padding):
        """Check and keep the settings; ``in_channels`` None leaves it to the first input (lazy)."""
        owner = type(self).__name__
        self.in_channels = 0 if in_channels is None else geometry.positive_int(owner, "in_channels", in_channels)
        self.out_channels = geometry.positive_int(owner, "out_channels", out_channels)
        self.groups = geometry.conv_groups(owner, groups, self.in_channels, out_channels)
        if padding_mode != "zeros":
            raise ShapeError(f"{owner}: padding_mode {padding_mode!r} is not supported; gradcnn pads with zeros")
        self.padding_mode = padding_mode
        self.kernel_size, self.stride, self.padding, self.dilation, self.output_padding = geometry.conv_args(
            owner, self.nd, kernel_size, stride, padding, dilation, output_padding=output_padding,
            transposed=self.transposed)

    def _weight_shape(self):
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        return (self.out_channels, self.in_channels // self.groups) + self.kernel_size

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.fan_in_and_fan_out(self.weight)
            _uniform_bias(self.bias, fan_in)

    def extra_repr(self):
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        ones_, zeros_ = (1,) * self.nd, (0,) * self.nd
        text += f", padding={self.padding}" if self.padding != zeros_ else ""  # 'same' without quotes
        rest = _settings(dilation=(self.dilation, ones_), output_padding=(self.output_padding, zeros_),
                         groups=(self.groups, 1))
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
        owner = type(self).__name__
        geometry.pool_args(owner, self.nd, kernel_size, stride, padding, dilation)
        ceil_mode = flag(owner, "ceil_mode", ceil_mode)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.return_indices, self.ceil_mode = dilation, return_indices, ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


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
        owner = type(self).__name__
        geometry.pool_args(owner, self.nd, kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode = flag(owner, "ceil_mode", ceil_mode)
        self.count_include_pad = flag(owner, "count_include_pad", count_include_pad)
        self.divisor_override = integer(owner, "divisor_override", divisor_override, allow_none=True)

    def extra_repr(self):
        # PyTorch shows neither ceil_mode nor count_include_pad, and AvgPool1d's sizes as 1-tuples.
        one = (lambda v: (v,) if isinstance(v, numbers.Integral) else tuple(v)) if self.nd == 1 else (lambda v: v)
        return f"kernel_size={one(self.kernel_size)}, stride={one(self.stride)}, padding={one(self.padding)}"


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
        geometry.adaptive_output_size(type(self).__name__, output_size, self.nd, allow_none=self.nd > 1)
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

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """``x`` if positive else ``negative_slope * x``. Shape: any."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """Leaky ReLU whose slope is learned: one, or one per channel (dim 1). Shape: any ``(N, C, *)``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters = geometry.positive_int("PReLU", "num_parameters", num_parameters)
        self.init = number("PReLU", "init", init, finite=False)
        self.weight = _param((num_parameters,), dtype, "PReLU")
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

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        self.lower, self.upper = number("RReLU", "lower", lower), number("RReLU", "upper", upper)
        if self.lower > self.upper:
            raise ShapeError(f"RReLU: lower must be <= upper, got lower={self.lower}, upper={self.upper}")
        self.inplace = inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """``x`` if positive else ``alpha * (exp(x) - 1)``. Shape: any."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = number("ELU", "alpha", alpha), inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class _Pointwise(Module):
    """An activation that is one function of ``F`` with settings (and maybe ``inplace``)."""

    _fn = None
    _settings = ()

    def __init__(self, *args, inplace=False, **kwargs):
        super().__init__()
        names = [n for n, _ in self._settings]
        values = dict(self._settings)
        for name, value in zip(names, args):
            values[name] = value
        for name, value in kwargs.items():
            if name not in values:
                raise DTypeError(f"{type(self).__name__}: unexpected argument {name!r}")
            values[name] = value
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise DTypeError(f"{type(self).__name__}: {name} must be a number, got {value!r}")
            setattr(self, name, value)
        self.inplace = bool(inplace)

    def forward(self, input):
        settings = {n: getattr(self, n) for n, _ in self._settings}
        if "inplace" in self._fn.__code__.co_varnames[: self._fn.__code__.co_argcount]:
            settings["inplace"] = self.inplace
        return type(self)._fn(input, **settings)

    def extra_repr(self):
        parts = [f"{n}={getattr(self, n)}" for n, _ in self._settings]
        if self.inplace:
            parts.append("inplace=True")
        return ", ".join(parts)


class SiLU(_Pointwise):
    """``x * sigmoid(x)``. Shape: any."""

    _fn = staticmethod(F.silu)


class ReLU6(_Pointwise):
    """``min(max(x, 0), 6)``. Shape: any."""

    _fn = staticmethod(F.relu6)


class Hardtanh(_Pointwise):
    """``x`` clamped to ``[min_val, max_val]``. Shape: any."""

    _fn = staticmethod(F.hardtanh)
    _settings = (("min_val", -1.0), ("max_val", 1.0))


class Hardsigmoid(_Pointwise):
    """``clamp(x / 6 + 1/2, 0, 1)``. Shape: any."""

    _fn = staticmethod(F.hardsigmoid)


class Hardswish(_Pointwise):
    """``x * hardsigmoid(x)``. Shape: any."""

    _fn = staticmethod(F.hardswish)


class Softplus(_Pointwise):
    """``log(1 + exp(beta * x)) / beta``, linear above ``threshold``. Shape: any."""

    _fn = staticmethod(F.softplus)
    _settings = (("beta", 1.0), ("threshold", 20.0))


class Mish(_Pointwise):
    """``x * tanh(softplus(x))``. Shape: any."""

    _fn = staticmethod(F.mish)


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
    """Zero elements with probability ``p`` in training, scaling the rest by ``1 / (1 - p)``.
    Shape: any."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        self.p, self.inplace = probability(type(self).__name__, p), inplace

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels with probability ``p`` in training, scaling the rest by ``1 / (1 - p)``.

    Shape: ``(N, C, L)`` or ``(C, L)``, same shape out.
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(Dropout):
    """Zero whole channels with probability ``p`` in training, scaling the rest by ``1 / (1 - p)``.

    Shape: ``(N, C, H, W)``, same shape out (a 3-D input is read as ``(N, C, L)``, with PyTorch's
    warning).
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Softmax2d(Module):
    """Softmax over the channels of every position. Shape: ``(N, C, H, W)`` or ``(C, H, W)``."""

    def forward(self, input):
        _tensor_input("Softmax2d", input)
        if input.ndim not in (3, 4):
            raise ShapeError(f"Softmax2d: expected 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {input.shape}")
        return F.softmax(input, -3)


# -- normalization ------------------------------------------------------------------------------


class _BatchNorm(Module):
    expected_dims = (2, 4)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        super().__init__()
        geometry.positive_int(type(self).__name__, "num_features", num_features)  # None is for the lazy layers
        self._configure(num_features, eps, momentum, affine, track_running_stats)
        dtype = _param_dtype(type(self).__name__, dtype)
        _affine(self, (num_features,), dtype, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", zeros(1, dtype=np.int64).reshape(()))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def _configure(self, num_features, eps, momentum, affine, track_running_stats):
        """Check and keep the settings; ``num_features`` None leaves it to the first input (lazy)."""
        owner = type(self).__name__
        self.num_features = 0 if num_features is None else geometry.positive_int(owner, "num_features", num_features)
        self.eps = _check_eps(owner, eps)
        self.momentum = None if momentum is None else number(owner, "momentum", momentum)
        self.affine, self.track_running_stats = affine, track_running_stats

    def reset_running_stats(self):
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dims(self, input):
        _tensor_input(type(self).__name__, input)
        if input.ndim not in self.expected_dims:
            dims = " or ".join(f"{d}-D" for d in self.expected_dims)
            raise ShapeError(f"{type(self).__name__}: expected {dims} input, got shape {input.shape}")

    def forward(self, input):
        self._check_input_dims(input)
        momentum = self.momentum
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked._data[...] += 1
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
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) input, per channel C.

    Shape: ``(N, C)`` or ``(N, C, L)``, same shape out.
    """

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) input, per channel C. Shape: same in and out."""

    expected_dims = (4,)


class LayerNorm(Module):
    """Normalize each sample over its last ``len(normalized_shape)`` dims, then (with
    ``elementwise_affine``) multiply by ``weight`` (ones) and add ``bias`` (zeros), both of
    ``normalized_shape``.

    Shape: ``(*, *normalized_shape)``, same shape out.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = F._normalized_shape_arg("LayerNorm", normalized_shape)
        self.eps, self.elementwise_affine = _check_eps("LayerNorm", eps), elementwise_affine
        _affine(self, self.normalized_shape, dtype, elementwise_affine, bias)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalize each sample over groups of ``num_channels // num_groups`` channels (and all their
    positions), then (with ``affine``) scale and shift per channel by ``weight`` (ones) and ``bias``
    (zeros).

    Shape: ``(N, C, *)`` with ``C == num_channels``, same shape out.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_groups = geometry.positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = geometry.positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ShapeError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = _check_eps("GroupNorm", eps), affine
        _affine(self, (num_channels,), dtype, affine, bias)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"


class LocalResponseNorm(Module):
    """AlexNet's normalization across ``size`` neighbouring channels. Shape: ``(N, C, *)``, same out."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = geometry.positive_int("LocalResponseNorm", "size", size)
        owner = "LocalResponseNorm"
        self.alpha, self.beta, self.k = number(owner, "alpha", alpha), number(owner, "beta", beta), number(owner, "k", k)

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# -- resampling ---------------------------------------------------------------------------------


class Upsample(Module):
    """Resize the spatial dims to ``size`` or by ``scale_factor`` with ``F.interpolate``: modes
    ``nearest`` (default), ``nearest-exact``, ``linear`` (3-D input), ``bilinear`` (4-D input) and
    ``area``, ``align_corners`` for the linear ones.

    Shape: ``(N, C, L)`` or ``(N, C, H, W)`` to the same with resized spatial dims.
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None):
        super().__init__()
        F._interpolate_config(type(self).__name__, size, scale_factor, mode, align_corners, recompute_scale_factor)
        self.size = tuple(size) if isinstance(size, list) else size
        if isinstance(scale_factor, (tuple, list)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = None if scale_factor is None else float(scale_factor)
        self.mode, self.align_corners, self.recompute_scale_factor = mode, align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        shown = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{shown}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode="nearest")``. Shape: ``(N, C, H, W)`` in and out."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode="bilinear", align_corners=True)``. Shape: ``(N, C, H, W)``
    in and out."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# -- lazy layers ----------------------------------------------------------------------------------


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dim of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        self._lazy_init()
        self.in_features = 0
        self.out_features = geometry.positive_int(type(self).__name__, "out_features", out_features)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        _tensor_input(type(self).__name__, input)
        if self.has_uninitialized_params():
            if input.ndim < 1:
                raise ShapeError(f"{type(self).__name__}: expected input (*, in_features), got a 0-d tensor")
            self.in_features = geometry.positive_int(type(self).__name__, "in_features", input.shape[-1])
            self.weight.materialize((self.out_features, self.in_features))
            if self.bias is not None:
                self.bias.materialize((self.out_features,))
            self.reset_parameters()
        else:  # loaded from a state dict
            self.in_features = self.weight.shape[1]


class _LazyConvNd(LazyModuleMixin):
    def __init__(self, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                 output_padding, device, dtype):
        self._lazy_init()
        self._configure(None, out_channels, kernel_size, stride, padding, dilation, groups, padding_mode,
                        output_padding)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        owner = type(self).__name__
        _tensor_input(owner, input)
        if self.has_uninitialized_params():
            if input.ndim not in (self.nd + 1, self.nd + 2):
                raise ShapeError(
                    f"{owner}: expected {self.nd + 1}-D (unbatched) or {self.nd + 2}-D (batched) input, "
                    f"got shape {input.shape}"
                )
            channels = input.shape[1] if input.ndim == self.nd + 2 else input.shape[0]
            self.in_channels = geometry.positive_int(owner, "in_channels", channels)
            geometry.conv_groups(owner, self.groups, self.in_channels, self.out_channels)
            self.weight.materialize(self._weight_shape())
            if self.bias is not None:
                self.bias.materialize((self.out_channels,))
            self.reset_parameters()
        else:  # loaded from a state dict
            shape = self.weight.shape
            self.in_channels = shape[0] if self.transposed else shape[1] * self.groups


class LazyConv1d(_LazyConvNd, Conv1d):
    """``Conv1d`` whose ``in_channels`` is dim 1 of its first input (dim 0 if unbatched)."""

    cls_to_become = Conv1d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, 0,
                         device, dtype)


class LazyConv2d(_LazyConvNd, Conv2d):
    """``Conv2d`` whose ``in_channels`` is dim 1 of its first input (dim 0 if unbatched)."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", device=None, dtype=None):
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, 0,
                         device, dtype)


class LazyConvTranspose1d(_LazyConvNd, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` is dim 1 of its first input (dim 0 if unbatched)."""

    cls_to_become = ConvTranspose1d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         output_padding, device, dtype)


class LazyConvTranspose2d(_LazyConvNd, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` is dim 1 of its first input (dim 0 if unbatched)."""

    cls_to_become = ConvTranspose2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True,
                 dilation=1, padding_mode="zeros", device=None, dtype=None):
        super().__init__(out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         output_padding, device, dtype)


class _LazyBatchNorm(LazyModuleMixin):
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None,
                 *, bias=True):
        self._lazy_init()
        self._configure(None, eps, momentum, affine, track_running_stats)
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", UninitializedBuffer(device=device, dtype=dtype))
            self.register_buffer("running_var", UninitializedBuffer(device=device, dtype=dtype))
            count = zeros(1, dtype=np.int64).reshape(())
            self.register_buffer("num_batches_tracked", count if device is None else count.to(device))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_parameters(self):
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input, *args, **kwargs):
        self._check_input_dims(input)
        if self.has_uninitialized_params():
            self.num_features = geometry.positive_int(type(self).__name__, "num_features", input.shape[1])
            for t in (self.weight, self.bias, self.running_mean, self.running_var):
                if t is not None:
                    t.materialize((self.num_features,))
            self.reset_parameters()
        else:  # loaded from a state dict, or nothing to size (no affine, no running statistics)
            known = [t for t in (self.weight, self.running_mean) if t is not None]
            self.num_features = known[0].shape[0] if known else input.shape[1]


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is dim 1 of its first input."""

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is dim 1 of its first input."""

    cls_to_become = BatchNorm2d
