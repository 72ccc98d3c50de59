"""The layers of ``gradcnn.nn``, registered under their class names, the way a third-party plugin
registers its own."""

import gradcnn

LAYERS = (
    "Linear", "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "Flatten", "Identity",
    "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Maxout",
    "Dropout", "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm", "Embedding",
    "Unflatten", "Softmax2d", "Dropout1d", "Dropout2d", "LayerNorm", "GroupNorm", "Upsample",
    "UpsamplingNearest2d", "UpsamplingBilinear2d", "LazyLinear", "LazyConv1d", "LazyConv2d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyBatchNorm1d", "LazyBatchNorm2d",
    "ConstantPad2d", "ZeroPad2d", "SiLU", "ReLU6", "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Mish",
)


@gradcnn.hookimpl
def register_layers(register):
    from gradcnn import nn

    for name in LAYERS:
        register(name, getattr(nn, name))
