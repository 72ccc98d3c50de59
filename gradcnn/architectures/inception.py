"""Inception v3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", 2015)
as torchvision builds it.

The modules and their names are torchvision's, so the state_dict keys are too
(``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch5x5_2.bn.running_var``,
``Mixed_6e.branch7x7dbl_5.conv.weight``, ``AuxLogits.conv1.conv.weight``, ``fc.weight``) and
torchvision's ``inception_v3`` weights load without renaming (``examples/convert_torchvision.py``).
Every convolution is a :class:`~gradcnn.architectures.googlenet.BasicConv2d`: convolution without
bias, batch norm with eps 0.001, ReLU. As in torchvision, the pools inside the blocks are
functional calls (no modules, no keys): the 3x3 average pool before each ``branch_pool`` and the
3x3 stride-2 max pool of ``Mixed_6a`` and ``Mixed_7a``. They never lie on a block's longest path,
so :func:`gradcnn.receptive_field`, which sees modules only, still finds the network's field.

Parameters: 27,161,264 with the auxiliary head (torchvision's count for ``inception_v3``),
23,834,568 without it (the head is 98,560 + 2,459,136 + 769,000 = 3,326,696).

The network is made for 299x299 input: 35x35 maps in the ``Mixed_5`` blocks, 17x17 in ``Mixed_6``,
8x8 in ``Mixed_7``. The smallest input that reaches the end is 75x75 (``Mixed_7c`` at 1x1); the
auxiliary head, which runs only in training, needs ``Mixed_6e`` at 17x17 or more, which takes
299x299 or more.

``transform_input=True`` maps ImageNet-normalised input to the ``[-1, 1]`` scaling the original
TensorFlow weights expect (torchvision's default when it loads its weights). With
``aux_logits=True`` the model in training mode returns ``InceptionOutputs(logits, aux_logits)``,
in eval mode the logits alone.

Initialisation (``init_weights=True``) is torchvision's: convolution and linear weights normal with
std 0.1 (0.01 for ``AuxLogits.conv1``, 0.001 for ``AuxLogits.fc``), batch norms weight 1, bias 0.
torchvision truncates the normal at +-2, which is at least 20 standard deviations: never, so no
truncation is done here. ``init_weights=False`` keeps the layers' own (PyTorch's default)
initialisation, which is also what torchvision does before it loads pretrained weights.
"""

from collections import namedtuple

from .. import functional as F
from .. import nn
from ..errors import ShapeError
from .googlenet import BasicConv2d

__all__ = ["Inception3", "InceptionA", "InceptionB", "InceptionC", "InceptionD", "InceptionE",
           "InceptionAux", "InceptionOutputs", "inception_v3", "register_all"]

InceptionOutputs = namedtuple("InceptionOutputs", ["logits", "aux_logits"])

# torchvision's _transform_input: x * (std / 0.5) + (mean - 0.5) / 0.5, per channel.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class InceptionA(nn.Module):
    """Four branches at 35x35: 1x1 (64); 1x1 then 5x5 (64); 1x1 then two 3x3 (96); 3x3 average
    pool then 1x1 (``pool_features``).

    Shape: ``(N, in_channels, H, W)`` to ``(N, 224 + pool_features, H, W)``.
    """

    def __init__(self, in_channels, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return F.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    """The grid reduction 35 -> 17: 3x3 stride 2 (384); 1x1, 3x3, 3x3 stride 2 (96); 3x3 stride-2
    max pool (the input's channels).

    Shape: ``(N, in_channels, H, W)`` to ``(N, 480 + in_channels, (H - 3) // 2 + 1, (W - 3) // 2 + 1)``.
    """

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return F.cat([branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionC(nn.Module):
    """Four branches at 17x17 with factorised 7x7 convolutions (1x7 and 7x1): 1x1 (192); 1x1,
    1x7, 7x1 (192); 1x1, 7x1, 1x7, 7x1, 1x7 (192); 3x3 average pool then 1x1 (192).
    ``channels_7x7`` is the width inside the 7x7 branches.

    Shape: ``(N, in_channels, H, W)`` to ``(N, 768, H, W)``.
    """

    def __init__(self, in_channels, channels_7x7):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = x
        for conv in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            branch7x7dbl = conv(branch7x7dbl)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return F.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    """The grid reduction 17 -> 8: 1x1 then 3x3 stride 2 (320); 1x1, 1x7, 7x1, 3x3 stride 2
    (192); 3x3 stride-2 max pool (the input's channels).

    Shape: ``(N, in_channels, H, W)`` to ``(N, 512 + in_channels, (H - 3) // 2 + 1, (W - 3) // 2 + 1)``.
    """

    def __init__(self, in_channels):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = x
        for conv in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            branch7x7x3 = conv(branch7x7x3)
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return F.cat([branch3x3, branch7x7x3, branch_pool], 1)


class InceptionE(nn.Module):
    """Four branches at 8x8 with split 3x3 convolutions (1x3 and 3x1 side by side): 1x1 (320);
    1x1 then 1x3 | 3x1 (768); 1x1, 3x3, then 1x3 | 3x1 (768); 3x3 average pool then 1x1 (192).

    Shape: ``(N, in_channels, H, W)`` to ``(N, 2048, H, W)``.
    """

    def __init__(self, in_channels):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = F.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = F.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return F.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionAux(nn.Module):
    """The auxiliary classifier on ``Mixed_6e``: 5x5 stride-3 average pool, 1x1 conv (128), 5x5
    conv (768), global average pool, fc 768 -> ``num_classes``.

    Shape: ``(N, in_channels, H, W)`` with ``H, W >= 17`` to ``(N, num_classes)``.
    """

    def __init__(self, in_channels, num_classes):
        super().__init__()
        self.conv0 = BasicConv2d(in_channels, 128, kernel_size=1)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x):
        if min(x.shape[2:]) < 17:
            raise ShapeError(f"InceptionAux: input {x.shape[2]}x{x.shape[3]} is too small: the 5x5 "
                             "stride-3 average pool and the 5x5 convolution need at least 17x17 "
                             "(Mixed_6e reaches 17x17 from a 299x299 image)")
        x = self.conv1(self.conv0(F.avg_pool2d(x, kernel_size=5, stride=3)))
        return self.fc(F.adaptive_avg_pool2d(x, (1, 1)).flatten(1))


class Inception3(nn.Module):
    """Inception v3: a 3x3 stem, three ``InceptionA`` (35x35), ``InceptionB``, four
    ``InceptionC`` (17x17), ``InceptionD``, two ``InceptionE`` (8x8), global average pooling,
    dropout and ``fc``; with ``aux_logits``, an auxiliary classifier on ``Mixed_6e`` used only in
    training.

    Shape: input ``(N, in_channels, H, W)`` with ``H, W >= 75`` (299 is the design size), output
    ``(N, num_classes)``, or ``InceptionOutputs`` of two such in training with ``aux_logits``.
    """

    def __init__(self, num_classes=1000, aux_logits=True, transform_input=False, init_weights=True,
                 dropout=0.5, in_channels=3):
        super().__init__()
        if transform_input and in_channels != 3:
            raise ShapeError(f"Inception3: transform_input re-normalises 3 RGB channels, but "
                             f"in_channels is {in_channels}")
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = BasicConv2d(in_channels, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.AuxLogits = InceptionAux(768, num_classes) if aux_logits else None
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)
        if init_weights:
            self._init_weights()

    def _init_weights(self):
        special = {}
        if self.AuxLogits is not None:
            special = {id(self.AuxLogits.conv1.conv): 0.01, id(self.AuxLogits.fc): 0.001}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, special.get(id(m), 0.1))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _transform_input(self, x):
        channels = [x[:, c:c + 1] * (s / 0.5) + (m - 0.5) / 0.5 for c, (m, s) in enumerate(zip(_MEAN, _STD))]
        return F.cat(channels, 1)

    def forward(self, x):
        if x.ndim != 4 or min(x.shape[2:]) < 75:
            raise ShapeError(f"Inception3: input must be (N, C, H, W) with H, W >= 75 (299 is the "
                             f"design size), got shape {tuple(x.shape)}")
        if self.transform_input:
            x = self._transform_input(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = self.maxpool1(x)
        x = self.maxpool2(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)))
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        x = self.Mixed_6a(x)
        x = self.Mixed_6e(self.Mixed_6d(self.Mixed_6c(self.Mixed_6b(x))))
        aux = self.AuxLogits(x) if self.AuxLogits is not None and self.training else None
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        x = self.fc(self.dropout(self.avgpool(x)).flatten(1))
        if self.aux_logits and self.training:
            return InceptionOutputs(x, aux)
        return x


def inception_v3(num_classes=1000, aux_logits=True, transform_input=False, init_weights=True, **options):
    """Inception v3 as torchvision's ``inception_v3``: 27,161,264 parameters at the defaults,
    23,834,568 with ``aux_logits=False``. Input 299x299 (at least 75x75; 299x299 in training with
    ``aux_logits``). ``options``: ``dropout`` (0.5), ``in_channels`` (3)."""
    return Inception3(num_classes, aux_logits, transform_input, init_weights, **options)


def register_all(register):
    """Register the builder under its name: ``register("inception_v3", inception_v3)``."""
    register("inception_v3", inception_v3)
