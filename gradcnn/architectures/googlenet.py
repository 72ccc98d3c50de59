"""GoogLeNet (Inception v1; Szegedy et al., "Going Deeper with Convolutions", 2014) as torchvision
builds it.

The modules and their names are torchvision's, so the state_dict keys are too
(``conv1.conv.weight``, ``conv1.bn.running_var``, ``inception3a.branch2.1.conv.weight``,
``aux1.fc2.weight``, ``fc.weight``) and converted torchvision weights load without renaming. Like
torchvision, every convolution is followed by batch norm (``BasicConv2d``), and the "5x5" branch
uses a 3x3 kernel: a known deviation from the paper that torchvision keeps because its weights
were trained with it.

``aux_logits`` defaults to False here (torchvision's class defaults to True, but its published
weights come without the auxiliary heads). With ``aux_logits=True`` the model in training mode
returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``, in eval mode the logits alone.
``transform_input`` (re-normalising ImageNet input) is not offered.

Initialisation is torchvision's: convolution and linear weights normal with std 0.01 (torchvision
truncates at +-2, which is 200 standard deviations: never), batch norms weight 1, bias 0, linear
biases PyTorch's default. The network downsamples by 32; its max pools leave nothing of
sides under 15 (as in torchvision). 64x64 input reaches the auxiliary heads at 4x4 and
``inception5b`` at 2x2.
"""

from collections import namedtuple

from .. import functional as F
from .. import nn

__all__ = ["BasicConv2d", "Inception", "InceptionAux", "GoogLeNet", "GoogLeNetOutputs", "googlenet",
           "register_all"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001), ReLU. Shape: as ``nn.Conv2d``."""

    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four branches concatenated along channels: 1x1; 1x1 then 3x3; 1x1 then 3x3 (the paper's
    5x5); 3x3 max pool then 1x1.

    Shape: ``(N, in_channels, H, W)`` to ``(N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.
    """

    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x):
        return F.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """An auxiliary classifier: adaptive average pool to 4x4, 1x1 conv to 128 channels, fc 2048 ->
    1024, ReLU, dropout, fc 1024 -> ``num_classes``.

    Shape: ``(N, in_channels, H, W)`` to ``(N, num_classes)``.
    """

    def __init__(self, in_channels, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        return self.fc2(self.dropout(F.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """The 22-layer Inception v1 network, with optional auxiliary classifiers after ``inception4a``
    (``aux1``) and ``inception4d`` (``aux2``), used only in training.

    Shape: input ``(N, in_channels, H, W)``, output ``(N, num_classes)`` (or ``GoogLeNetOutputs``
    of three such, in training with ``aux_logits``).
    """

    def __init__(self, num_classes=1000, in_channels=3, aux_logits=False, dropout=0.2, dropout_aux=0.7):
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout=dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout=dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.01)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux_logits and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux_logits and self.training else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if self.aux_logits and self.training:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes=1000, in_channels=3, **options):
    """GoogLeNet (Inception v1): 6,624,904 parameters at the defaults, 13,004,888 with
    ``aux_logits=True``. ``options``: ``aux_logits`` (False), ``dropout`` (0.2), ``dropout_aux`` (0.7)."""
    return GoogLeNet(num_classes, in_channels, **options)


def register_all(register):
    """Register the builder under its name: ``register("googlenet", googlenet)``."""
    register("googlenet", googlenet)
