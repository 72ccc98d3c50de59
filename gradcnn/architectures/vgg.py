"""VGG (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", 2014), configurations A, B, D and E (VGG-11, -13, -16, -19), with and without batch
norm, as torchvision builds them.

Module names are torchvision's (``features.0.weight``, ``features.1.running_mean`` in the ``_bn``
variants, ``classifier.0/3/6``), so converted torchvision state dicts load without renaming. Every
convolution is 3x3, padding 1; every pool 2x2/2; ``AdaptiveAvgPool2d((7, 7))`` feeds a 25088-wide
classifier at any input size (at 224x224 it is the identity; at 32x32 it repeats the 1x1 map).
Initialisation is torchvision's: convolutions kaiming-normal (fan_out, relu) with zero bias,
batch norms 1 and 0, linear layers N(0, 0.01) with zero bias.

Parameters for 1000 classes: vgg11 132,863,336; vgg13 133,047,848; vgg16 138,357,544;
vgg19 143,667,240; the ``_bn`` variants add 2 per channel of every convolution (vgg16_bn
138,365,992). 123,642,856 of them are the classifier's (25088*4096 + 4096*4096 + 4096*1000 + biases).
"""

from .. import nn

__all__ = ["VGG", "CONFIGS", "make_features", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn", "register_all"]

# channels of each 3x3 convolution; "M" a 2x2 max pool (the paper's Table 1, columns A, B, D, E)
CONFIGS = {
    "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg13": (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
    "vgg19": (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"),
}


def make_features(config, batch_norm=False, in_channels=3):
    """The convolutional part: conv (BN) ReLU per number in ``config``, a max pool per ``"M"``."""
    layers = []
    for value in config:
        if value == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, value, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(value))
        layers.append(nn.ReLU(inplace=True))
        in_channels = value
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """Shape: ``(N, in_channels, H, W)`` (32x32 or larger) to ``(N, num_classes)`` logits."""

    def __init__(self, features, num_classes=1000, dropout=0.5, init_weights=True):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0.0, 0.01)
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(name, batch_norm, num_classes, in_channels, **options):
    return VGG(make_features(CONFIGS[name], batch_norm, in_channels), num_classes, **options)


def vgg11(num_classes=1000, in_channels=3, **options):
    """VGG-11 (configuration A): 132,863,336 parameters. ``options``: ``dropout``, ``init_weights``."""
    return _vgg("vgg11", False, num_classes, in_channels, **options)


def vgg11_bn(num_classes=1000, in_channels=3, **options):
    """VGG-11 with batch norm after every convolution."""
    return _vgg("vgg11", True, num_classes, in_channels, **options)


def vgg13(num_classes=1000, in_channels=3, **options):
    """VGG-13 (configuration B): 133,047,848 parameters."""
    return _vgg("vgg13", False, num_classes, in_channels, **options)


def vgg13_bn(num_classes=1000, in_channels=3, **options):
    """VGG-13 with batch norm after every convolution."""
    return _vgg("vgg13", True, num_classes, in_channels, **options)


def vgg16(num_classes=1000, in_channels=3, **options):
    """VGG-16 (configuration D): 138,357,544 parameters."""
    return _vgg("vgg16", False, num_classes, in_channels, **options)


def vgg16_bn(num_classes=1000, in_channels=3, **options):
    """VGG-16 with batch norm after every convolution: 138,365,992 parameters."""
    return _vgg("vgg16", True, num_classes, in_channels, **options)


def vgg19(num_classes=1000, in_channels=3, **options):
    """VGG-19 (configuration E): 143,667,240 parameters."""
    return _vgg("vgg19", False, num_classes, in_channels, **options)


def vgg19_bn(num_classes=1000, in_channels=3, **options):
    """VGG-19 with batch norm after every convolution."""
    return _vgg("vgg19", True, num_classes, in_channels, **options)


def register_all(register):
    """Register the eight builders under their names: ``register("vgg16", vgg16)``, ..."""
    for builder in (vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn):
        register(builder.__name__, builder)
