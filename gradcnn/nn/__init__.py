"""Modules and layers: ``gradcnn.nn.Module``, ``Parameter``, containers, the built-in layers and
``gradcnn.nn.init``. The layers are also registered as plugins (``gradcnn.list_layers()``)."""

from . import init, utils
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (
    ELU, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, Dropout,
    Embedding, Flatten, Identity, LeakyReLU, Linear, LocalResponseNorm, LogSoftmax, Maxout,
    MaxPool1d, MaxPool2d, PReLU, ReLU, RReLU, Sigmoid, Softmax, Tanh,
)
from .module import Buffer, Module, Parameter, StateDictError

__all__ = [
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AvgPool1d",
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "ConvTranspose1d",
    "ConvTranspose2d", "Dropout", "ELU", "Embedding", "Flatten", "Identity", "LeakyReLU", "Linear",
    "LocalResponseNorm", "LogSoftmax", "MaxPool1d", "MaxPool2d", "Maxout", "Module", "ModuleDict",
    "Buffer", "ModuleList", "PReLU", "Parameter", "RReLU", "ReLU", "Sequential", "Sigmoid", "Softmax",
    "StateDictError", "Tanh", "init", "utils",
]
