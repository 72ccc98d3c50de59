"""LeNet-5: the modern simplification and the 1998 network (LeCun, Bottou, Bengio and Haffner,
"Gradient-Based Learning Applied to Document Recognition", Proc. IEEE 86(11), 1998).

``lenet5()`` is the network as it is taught today: ReLU, max pooling, full C3, a linear output for
``cross_entropy``; 61,706 parameters for 10 classes. ``lenet5_classic()`` is the paper's network,
layer by layer, with the paper's parameter counts (Section II.B):

====  =====================================================  ======  ========================
layer what                                                   output  parameters
====  =====================================================  ======  ========================
C1    6 convolutions 5x5                                     6@28    6 * (25 + 1) = 156
S2    2x2 sums x a coefficient + a bias, per map             6@14    6 * 2 = 12
C3    16 convolutions 5x5 over the subsets of Table I        16@10   60 * 25 + 16 = 1,516
S4    as S2                                                  16@5    16 * 2 = 32
C5    120 convolutions 5x5 (full)                            120@1   120 * (400 + 1) = 48,120
F6    84 units                                               84      84 * (120 + 1) = 10,164
out   10 Euclidean RBF units, 84 centres each                10      10 * 84 = 840 (fixed)
====  =====================================================  ======  ========================

Every layer up to F6 is followed by the squashing function ``1.7159 * tanh(2/3 * a)`` (Appendix A);
weights start uniform in ``+-2.4 / F_i``, ``F_i`` the fan-in of the unit (Appendix C). The RBF
centres are fixed by default (a buffer: 60,000 trainable parameters, as in the paper) or trained
(``trainable_centres=True``: 60,840). The paper drew them as stylised 7x12 bitmaps of the
characters; it names random +-1 codes as an equally valid choice, and that is what they are here
(seeded, so every model gets the same codes).

The classic network's output is a *squared distance* per class, small for the predicted class:
predict with ``argmin``, and train with :func:`rbf_loss` (the paper's MAP criterion, or the
distance of the correct class alone), not with ``cross_entropy`` on the raw output. With ``j=None``
:func:`rbf_loss` is exactly ``F.cross_entropy(-distances, target)``.
"""

import numpy as np

from .. import functional as F
from .. import nn
from ..errors import ShapeError

__all__ = ["LeNet5", "LeNet5Classic", "C3_TABLE", "ScaledTanh", "Subsampling", "PartialConv2d",
           "EuclideanRBF", "lenet5", "lenet5_classic", "rbf_loss", "register_all"]


class LeNet5(nn.Module):
    """conv5x5(6) - ReLU - maxpool2 - conv5x5(16) - ReLU - maxpool2 - FC120 - FC84 - FC classes.

    Shape: ``(N, in_channels, 32, 32)`` to ``(N, num_classes)`` logits.
    """

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


# -- the 1998 network ---------------------------------------------------------------------------

# Table I of the paper: the S2 maps each C3 map reads. Six maps read 3 neighbours, six read 4
# neighbours, three read 4 non-neighbours, one reads all six: 18 + 24 + 12 + 6 = 60 connections.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


def _lecun_uniform_(t, fan_in):
    """Appendix C: uniform in ``+-2.4 / F_i``."""
    nn.init.uniform_(t, -2.4 / fan_in, 2.4 / fan_in)


class ScaledTanh(nn.Module):
    """``A * tanh(S * x)`` with the paper's ``A = 1.7159``, ``S = 2/3`` (so f(1) = 1, f(-1) = -1).
    Shape: any."""

    def __init__(self, amplitude=1.7159, slope=2.0 / 3.0):
        super().__init__()
        self.amplitude, self.slope = amplitude, slope

    def forward(self, input):
        return F.tanh(input * self.slope) * self.amplitude

    def extra_repr(self):
        return f"amplitude={self.amplitude}, slope={self.slope:.4g}"


class Subsampling(nn.Module):
    """The paper's S layers: each unit sums a ``kernel_size`` x ``kernel_size`` block of its map,
    multiplies by the map's trainable coefficient and adds the map's trainable bias.

    Shape: ``(N, C, H, W)`` to ``(N, C, H / kernel_size, W / kernel_size)``.
    """

    def __init__(self, channels, kernel_size=2):
        super().__init__()
        self.channels, self.kernel_size, self.stride, self.padding = channels, kernel_size, kernel_size, 0
        self.weight = nn.Parameter(np.empty(channels, dtype=np.float32))
        self.bias = nn.Parameter(np.empty(channels, dtype=np.float32))
        self.reset_parameters()

    def reset_parameters(self):
        _lecun_uniform_(self.weight, 1)  # one weight per unit: fan-in 1, like the bias
        _lecun_uniform_(self.bias, 1)

    def forward(self, input):
        sums = F.avg_pool2d(input, self.kernel_size, divisor_override=1)
        return sums * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self):
        return f"{self.channels}, kernel_size={self.kernel_size}"


class PartialConv2d(nn.Module):
    """A convolution in which output map ``o`` reads only the input maps ``table[o]`` (C3).

    Only the connected kernels are parameters: ``weight`` is ``(connections, kH, kW)``, one kernel
    per (output, input) pair of the table in table order, and ``bias`` is ``(out_channels,)``. The
    forward scatters them into a dense ``(out, in, kH, kW)`` kernel with a fixed 0/1 matrix and
    convolves; the matmul's backward hands each connected kernel its gradient and drops the rest,
    so the missing kernels stay zero through training.

    Shape: ``(N, in_channels, H, W)`` to ``(N, len(table), H - kH + 1, W - kW + 1)``.
    """

    def __init__(self, in_channels, table, kernel_size=5):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, len(table)
        self.table = tuple(tuple(int(i) for i in row) for row in table)
        self.kernel_size, self.stride, self.padding, self.dilation = (kernel_size, kernel_size), 1, 0, 1
        pairs = [(o, i) for o, row in enumerate(self.table) for i in row]
        bad = [(o, i) for o, i in pairs if not 0 <= i < in_channels]
        if bad:
            raise ShapeError(f"PartialConv2d: table connects output map {bad[0][0]} to input map "
                             f"{bad[0][1]}, outside the {in_channels} input maps")
        scatter = np.zeros((self.out_channels * in_channels, len(pairs)), dtype=np.float32)
        for c, (o, i) in enumerate(pairs):
            scatter[o * in_channels + i, c] = 1.0
        self.scatter = nn.Buffer(scatter, persistent=False)
        self.weight = nn.Parameter(np.empty((len(pairs), kernel_size, kernel_size), dtype=np.float32))
        self.bias = nn.Parameter(np.empty(self.out_channels, dtype=np.float32))
        self.reset_parameters()

    def reset_parameters(self):
        k = self.kernel_size[0] * self.kernel_size[1]
        fan_in = np.array([len(row) * k for row in self.table], dtype=np.float64)  # per output map
        bound = np.repeat(2.4 / fan_in, [len(row) for row in self.table])  # per connection
        for c, b in enumerate(bound):
            nn.init.uniform_(self.weight[c], -b, b)
        for o, b in enumerate(2.4 / fan_in):
            nn.init.uniform_(self.bias[o], -b, b)

    def dense_weight(self):
        """The ``(out, in, kH, kW)`` kernel, zero where the table has no connection."""
        kh, kw = self.kernel_size
        flat = self.scatter @ self.weight.reshape(self.weight.shape[0], kh * kw)
        return flat.reshape(self.out_channels, self.in_channels, kh, kw)

    def forward(self, input):
        return F.conv2d(input, self.dense_weight(), self.bias)

    def macs(self, _input_shape, output_shape):
        """Multiply-adds per sample: one kernel per connection (summary's hook for custom layers)."""
        kh, kw = self.kernel_size
        return int(np.prod(output_shape[-2:])) * self.weight.shape[0] * kh * kw

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, connections={self.weight.shape[0]}"


class EuclideanRBF(nn.Module):
    """``y_i = sum_j (x_j - w_ij)^2``: the squared distance from the input to each class's centre.

    ``centres`` is ``(num_classes, in_features)`` of seeded random +-1 codes: a persistent buffer
    (fixed, as in the paper), or a parameter with ``trainable=True``.

    Shape: ``(N, in_features)`` to ``(N, num_classes)``.
    """

    def __init__(self, in_features=84, num_classes=10, trainable=False, seed=0):
        super().__init__()
        self.in_features, self.num_classes = in_features, num_classes
        codes = np.random.default_rng(seed).choice(np.float32([-1, 1]), size=(num_classes, in_features))
        if trainable:
            self.centres = nn.Parameter(codes)
        else:
            self.centres = nn.Buffer(codes)

    def forward(self, input):
        diff = input.unsqueeze(1) - self.centres
        return (diff * diff).sum(-1)

    def macs(self, _input_shape, _output_shape):
        """One multiply-add (a squared difference summed) per centre component."""
        return self.num_classes * self.in_features

    def extra_repr(self):
        trainable = isinstance(self.centres, nn.Parameter)
        return f"in_features={self.in_features}, num_classes={self.num_classes}, trainable={trainable}"


class LeNet5Classic(nn.Module):
    """The 1998 LeNet-5 (see the module docstring). Shape: ``(N, in_channels, 32, 32)`` to
    ``(N, num_classes)`` squared distances (smallest = predicted class)."""

    def __init__(self, num_classes=10, in_channels=1, trainable_centres=False):
        super().__init__()
        self.c1 = nn.Conv2d(in_channels, 6, 5)
        self.s2 = Subsampling(6)
        self.c3 = PartialConv2d(6, C3_TABLE, 5)
        self.s4 = Subsampling(16)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = EuclideanRBF(84, num_classes, trainable=trainable_centres)
        self.squash = ScaledTanh()
        for layer in (self.c1, self.c5, self.f6):
            fan_in = layer.weight[0].numel()
            _lecun_uniform_(layer.weight, fan_in)
            _lecun_uniform_(layer.bias, fan_in)

    def forward(self, x):
        for layer in (self.c1, self.s2, self.c3, self.s4, self.c5):
            x = self.squash(layer(x))
        return self.output(self.squash(self.f6(x.flatten(1))))


def rbf_loss(distances, target, j=None):
    """The paper's loss for RBF outputs (``distances``: ``(N, classes)``, ``target``: ``(N,)`` ints).

    ``j=None``: ``cross_entropy(-distances, target)``, i.e. the correct class's distance plus the
    log-sum-exp of all the negative distances. A number ``j``: the MAP criterion of eq. (9), which
    adds a rubbish class at fixed distance ``j``: ``y_D + log(exp(-j) + sum_i exp(-y_i))``, averaged
    over the batch. (Eq. (8), the correct distance alone, is ``distances[arange(N), target].mean()``;
    it suits fixed centres only, since trained ones can collapse onto each other.)
    """
    logits = -distances
    if j is not None:
        logits = F.pad(logits, (0, 1), value=-float(j))  # the rubbish class's column
    return F.cross_entropy(logits, target)


def lenet5(num_classes=10, in_channels=1):
    """LeNet-5 as taught today (ReLU, max pooling, linear output): 61,706 parameters for 10
    classes. Input ``(N, in_channels, 32, 32)``."""
    return LeNet5(num_classes, in_channels)


def lenet5_classic(num_classes=10, in_channels=1, trainable_centres=False):
    """The 1998 LeNet-5 with RBF outputs (train with :func:`rbf_loss`). Input ``(N, in_channels,
    32, 32)``; 60,000 parameters, 60,840 with ``trainable_centres``."""
    return LeNet5Classic(num_classes, in_channels, trainable_centres)


def register_all(register):
    """Register ``lenet5`` and ``lenet5_classic``."""
    for builder in (lenet5, lenet5_classic):
        register(builder.__name__, builder)
