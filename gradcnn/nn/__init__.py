"""Modules and layers: ``gradcnn.nn.Module``, ``Parameter``, containers, the built-in layers and
``gradcnn.nn.init``. The layers are also registered as plugins (``gradcnn.list_layers()``)."""

from . import functional, init, parameter, utils
from .containers import DataParallel, ModuleDict, ModuleList, Sequential
from .layers import (
    ELU, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Dropout,
    Embedding, Flatten, Identity, LeakyReLU, Linear, LocalResponseNorm, LogSoftmax, Maxout,
    MaxPool1d, MaxPool2d, PReLU, ReLU, RReLU, Sigmoid, Softmax, Tanh,
)
from .layers import (
    Dropout1d, Dropout2d, GroupNorm, LayerNorm, LazyBatchNorm1d, LazyBatchNorm2d, LazyConv1d, LazyConv2d,
    LazyConvTranspose1d, LazyConvTranspose2d, LazyLinear, Softmax2d, Unflatten, Upsample, UpsamplingBilinear2d,
    UpsamplingNearest2d,
)
from .layers import ConstantPad2d, Hardsigmoid, Hardswish, Hardtanh, Mish, ReLU6, SiLU, Softplus, ZeroPad2d
from .loss import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss,
    SmoothL1Loss,
)
from .module import Buffer, Module, Parameter, StateDictError
from .module import RemovableHandle, UninitializedBuffer, UninitializedParameter
from .parallel import SyncBatchNorm  # also binds gradcnn.nn.parallel (DistributedDataParallel)

__all__ = [
    "ConstantPad2d", "ZeroPad2d", "Hardsigmoid", "Hardswish", "Hardtanh", "Mish", "ReLU6", "SiLU", "Softplus",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d",
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose1d",
    "ConvTranspose2d", "Dropout", "ELU", "Embedding", "Flatten", "Identity", "LeakyReLU", "Linear",
    "LocalResponseNorm", "LogSoftmax", "MaxPool1d", "MaxPool2d", "Maxout", "Module", "ModuleDict",
    "Buffer", "ModuleList", "PReLU", "Parameter", "RReLU", "ReLU", "Sequential", "Sigmoid", "Softmax",
    "StateDictError", "Tanh", "init", "parameter", "utils",
    "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "HuberLoss", "KLDivLoss", "L1Loss",
    "MSELoss", "NLLLoss", "SmoothL1Loss",
]
__all__ += ["SyncBatchNorm", "parallel"]
__all__ += [
    "DataParallel", "Dropout1d", "Dropout2d", "GroupNorm", "LayerNorm", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "LazyConv1d", "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyLinear", "RemovableHandle",
    "Softmax2d", "UninitializedBuffer", "UninitializedParameter", "Unflatten", "Upsample",
    "UpsamplingBilinear2d", "UpsamplingNearest2d",
]


def __getattr__(name):
    from ..absent import missing  # a leaf module; imported here so the table loads only on a miss

    raise missing("gradcnn.nn", name)
