"""ResNet (He et al., "Deep Residual Learning for Image Recognition", 2015) as torchvision builds it.

The modules and their names are torchvision's, so ``resnet50().state_dict()`` has exactly the keys of
``torchvision.models.resnet50().state_dict()`` (``conv1.weight``, ``layer1.0.conv1.weight``,
``layer1.0.downsample.0.weight``, ``layer4.2.bn3.running_var``, ``fc.weight``) and converted
torchvision weights load without renaming. This is torchvision's "ResNet v1.5": a bottleneck block
strides in its 3x3 convolution, not in its first 1x1.

Initialisation is torchvision's: convolutions kaiming-normal (fan_out, relu); batch norms weight 1,
bias 0 (their default); the final ``Linear`` keeps PyTorch's default. The stem downsamples by 4 and
the stages by 8 more, so any input of at least 1x1 runs; 32x32 reaches ``layer4`` at 1x1.
"""

from .. import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "register_all"]


def conv3x3(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34).

    Shape: ``(N, inplanes, H, W)`` to ``(N, planes, H / stride, W / stride)``.
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce), 3x3 (stride here: v1.5), 1x1 (expand by 4) and a shortcut (ResNet-50/101/152).

    Shape: ``(N, inplanes, H, W)`` to ``(N, 4 * planes, H / stride, W / stride)``.
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A 7x7 stem, four stages of ``block`` (``layers`` blocks each), global average pooling and a
    linear classifier.

    Shape: input ``(N, in_channels, H, W)``, output ``(N, num_classes)``.
    """

    def __init__(self, block, layers, num_classes=1000, in_channels=3):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes=1000, in_channels=3, **options):
    """ResNet-18: basic blocks (2, 2, 2, 2); 11,689,512 parameters at the defaults."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, **options)


def resnet34(num_classes=1000, in_channels=3, **options):
    """ResNet-34: basic blocks (3, 4, 6, 3); 21,797,672 parameters at the defaults."""
    return ResNet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, **options)


def resnet50(num_classes=1000, in_channels=3, **options):
    """ResNet-50: bottlenecks (3, 4, 6, 3); 25,557,032 parameters at the defaults."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, **options)


def resnet101(num_classes=1000, in_channels=3, **options):
    """ResNet-101: bottlenecks (3, 4, 23, 3); 44,549,160 parameters at the defaults."""
    return ResNet(Bottleneck, (3, 4, 23, 3), num_classes, in_channels, **options)


def resnet152(num_classes=1000, in_channels=3, **options):
    """ResNet-152: bottlenecks (3, 8, 36, 3); 60,192,808 parameters at the defaults."""
    return ResNet(Bottleneck, (3, 8, 36, 3), num_classes, in_channels, **options)


def register_all(register):
    """Register each builder under its name: ``register("resnet18", resnet18)``, ..."""
    for builder in (resnet18, resnet34, resnet50, resnet101, resnet152):
        register(builder.__name__, builder)
