"""AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional
Neural Networks", NIPS 2012), with the paper's channel counts (96-256-384-384-256) on 227x227 input.

======================  ============  ===============================================
layer                   output @227   parameters (groups=1 / groups=2)
======================  ============  ===============================================
conv1 96 11x11/4        96x55x55      96*(3*121) + 96 = 34,944
maxpool 3/2             96x27x27
conv2 256 5x5 pad 2     256x27x27     256*(96*25) + 256 = 614,656 / 256*(48*25) + 256 = 307,456
maxpool 3/2             256x13x13
conv3 384 3x3 pad 1     384x13x13     384*(256*9) + 384 = 885,120
conv4 384 3x3 pad 1     384x13x13     1,327,488 / 663,936
conv5 256 3x3 pad 1     256x13x13     884,992 / 442,624
maxpool 3/2             256x6x6
fc6 4096                4096          9216*4096 + 4096 = 37,752,832
fc7 4096                4096          16,781,312
fc8 num_classes         1000          4,097,000
======================  ============  ===============================================

Total 62,378,344; with ``groups=2`` (the paper's two-GPU split: conv2, conv4 and conv5 see only
their own GPU's half of the maps; conv3 and the fully connected layers see both) 60,965,224.

Choices, for the next reader:

* The max pools round up (``ceil_mode=True``), as Caffe's pooling does. At 227x227 that changes no
  size (55, 27 and 13 are all odd); on small inputs it keeps the last pool from running out of
  input, so 64x64 works (14 -> 7 -> 7 -> 3 -> 3 -> 1), as does anything from 39x39 up.
* ``AdaptiveAvgPool2d((6, 6))`` before the classifier, as torchvision: the identity at 227x227,
  and a fixed 9216-wide classifier input at any other size.
* ``lrn=True`` adds ``LocalResponseNorm(5, 1e-4, 0.75, 2)`` after the ReLUs of conv1 and conv2
  (before their pools, as in the paper). gradcnn's LRN scales ``alpha`` by the *mean* of the
  squares over the window, like PyTorch and Caffe; the paper's ``alpha * sum`` is alpha=5e-4 here.
* Dropout sits before fc6 and fc7 (torchvision's order; the paper's "first two fully connected
  layers"). Module names follow torchvision: ``features.N``, ``avgpool``, ``classifier.N``.
* Initialisation is PyTorch's default for each layer, not the paper's N(0, 0.01) with unit biases.
"""

from .. import nn

__all__ = ["AlexNet", "alexnet", "register_all"]


class AlexNet(nn.Module):
    """Shape: ``(N, in_channels, 227, 227)`` (39x39 or larger) to ``(N, num_classes)`` logits."""

    def __init__(self, num_classes=1000, in_channels=3, groups=1, lrn=False, dropout=0.5):
        super().__init__()

        def lrn_layer():
            return [nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)] if lrn else []

        def pool():
            return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)

        layers = [
            nn.Conv2d(in_channels, 96, kernel_size=11, stride=4), nn.ReLU(inplace=True), *lrn_layer(), pool(),
            nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=groups), nn.ReLU(inplace=True), *lrn_layer(),
            pool(),
            nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=groups), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=groups), nn.ReLU(inplace=True),
            pool(),
        ]
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def alexnet(num_classes=1000, in_channels=3, groups=1, lrn=False, dropout=0.5):
    """AlexNet: 62,378,344 parameters for 1000 classes; ``groups=2``: 60,965,224 (see the module
    docstring for the layers and the choices made)."""
    return AlexNet(num_classes, in_channels, groups, lrn, dropout)


def register_all(register):
    """Register ``alexnet``."""
    register("alexnet", alexnet)
