"""DenseNet (Huang et al., "Densely Connected Convolutional Networks", 2016) as torchvision builds it.

The modules and their names are torchvision's, so the state_dict keys are too
(``features.conv0.weight``, ``features.denseblock1.denselayer1.norm1.weight``,
``features.transition1.conv.weight``, ``features.norm5.running_var``, ``classifier.weight``) and
converted torchvision weights load without renaming.

Each dense layer sees the concatenation of every earlier feature map of its block and adds
``growth_rate`` channels; a transition halves the channels (compression 0.5) and the resolution.
Initialisation is torchvision's: convolutions kaiming-normal (fan_in, relu gain); batch norms weight
1, bias 0 (their default); the classifier's bias 0. The concatenations are plain ``cat``, not
torchvision's ``memory_efficient`` checkpointing, so activation memory grows with the square of a
block's depth. Each transition halves the side (floor), so inputs need a side of at least 29
(as in torchvision); 32x32 reaches the last block at 1x1.
"""

from collections import OrderedDict

from .. import functional as F
from .. import nn

__all__ = ["DenseLayer", "DenseBlock", "Transition", "DenseNet", "densenet121", "densenet169",
           "densenet201", "register_all"]


class DenseLayer(nn.Module):
    """BN-ReLU-Conv1x1 (to ``bn_size * growth_rate`` channels), BN-ReLU-Conv3x3 (to ``growth_rate``).

    Takes the list of the block's feature maps so far. Shape: ``(N, C_i, H, W)`` each, with
    ``sum(C_i) == num_input_features``, to ``(N, growth_rate, H, W)``.
    """

    def __init__(self, num_input_features, growth_rate, bn_size, drop_rate=0.0):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)

    def forward(self, features):
        x = F.cat(features, 1) if len(features) > 1 else features[0]
        x = self.conv1(self.relu1(self.norm1(x)))
        x = self.conv2(self.relu2(self.norm2(x)))
        if self.drop_rate > 0:
            x = F.dropout(x, self.drop_rate, self.training)
        return x


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers, named ``denselayer1`` ... (torchvision's names).

    Shape: ``(N, C, H, W)`` to ``(N, C + num_layers * growth_rate, H, W)``.
    """

    def __init__(self, num_layers, num_input_features, bn_size, growth_rate, drop_rate=0.0):
        super().__init__()
        for i in range(num_layers):
            layer = DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size, drop_rate)
            self.add_module(f"denselayer{i + 1}", layer)

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return F.cat(features, 1)


class Transition(nn.Sequential):
    """BN-ReLU-Conv1x1-AvgPool2x2 between dense blocks.

    Shape: ``(N, num_input_features, H, W)`` to ``(N, num_output_features, H // 2, W // 2)``.
    """

    def __init__(self, num_input_features, num_output_features):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_input_features)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(num_input_features, num_output_features, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """A 7x7 stem, dense blocks of ``block_config`` layers joined by transitions, a final batch
    norm (``features``), then ReLU, global average pooling and a linear ``classifier``.

    Shape: input ``(N, in_channels, H, W)``, output ``(N, num_classes)``.
    """

    def __init__(self, growth_rate=32, block_config=(6, 12, 24, 16), num_init_features=64, bn_size=4,
                 drop_rate=0.0, num_classes=1000, in_channels=3):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv0", nn.Conv2d(in_channels, num_init_features, kernel_size=7, stride=2, padding=3,
                                bias=False)),
            ("norm0", nn.BatchNorm2d(num_init_features)),
            ("relu0", nn.ReLU(inplace=True)),
            ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
        ]))
        num_features = num_init_features
        for i, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, num_features, bn_size, growth_rate, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            num_features += num_layers * growth_rate
            if i != len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.classifier = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.relu(self.features(x))
        return self.classifier(F.adaptive_avg_pool2d(x, (1, 1)).flatten(1))


def densenet121(num_classes=1000, in_channels=3, **options):
    """DenseNet-121: growth 32, blocks (6, 12, 24, 16); 7,978,856 parameters at the defaults.
    ``options``: ``bn_size`` (4), ``drop_rate`` (0)."""
    return DenseNet(32, (6, 12, 24, 16), 64, num_classes=num_classes, in_channels=in_channels, **options)


def densenet169(num_classes=1000, in_channels=3, **options):
    """DenseNet-169: growth 32, blocks (6, 12, 32, 32); 14,149,480 parameters at the defaults.
    ``options``: ``bn_size`` (4), ``drop_rate`` (0)."""
    return DenseNet(32, (6, 12, 32, 32), 64, num_classes=num_classes, in_channels=in_channels, **options)


def densenet201(num_classes=1000, in_channels=3, **options):
    """DenseNet-201: growth 32, blocks (6, 12, 48, 32); 20,013,928 parameters at the defaults.
    ``options``: ``bn_size`` (4), ``drop_rate`` (0)."""
    return DenseNet(32, (6, 12, 48, 32), 64, num_classes=num_classes, in_channels=in_channels, **options)


def register_all(register):
    """Register each builder under its name: ``register("densenet121", densenet121)``, ..."""
    for builder in (densenet121, densenet169, densenet201):
        register(builder.__name__, builder)
