"""gradcnn/summary.py: receptive fields worked out by hand, layer tables, multiply-adds, branches,
custom and plugin modules, and the ``gradcnn summary`` command.

The recurrence, per spatial axis (k_eff = d * (k - 1) + 1):
    r_out = r_in + (k_eff - 1) * j_in,  j_out = j_in * s,  start_out = start_in + ((k_eff - 1) / 2 - p) * j_in
from r = 1, j = 1, start = 0 at the input.
"""

import re

import numpy as np
import pytest
from plugin_dists import MACHINERY_BUILTINS, PluginDists

import gradcnn
from gradcnn import nn, plugins
from gradcnn.architectures import alexnet, lenet, vgg
from gradcnn.cli import main


def fields(records, types=(nn.Conv2d, nn.MaxPool2d)):
    """(type, r, j) of the records of the given layer types, one axis (they are square here)."""
    names = {t.__name__ for t in types}
    return [(r.type, r.rf[0], r.jump[0]) for r in records if r.type in names]


def test_two_stacked_3x3_convolutions_see_5x5():
    # conv3: r = 1 + 2*1 = 3; conv3: r = 3 + 2*1 = 5; stride 1 throughout, j = 1
    records, r = gradcnn.receptive_field([nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)], (1, 9, 9))
    assert r == (5, 5)
    assert [(rec.rf, rec.jump, rec.start) for rec in records] == [((3, 3), (1, 1), (1, 1)), ((5, 5), (1, 1), (2, 2))]
    # unpadded, the first output unit is centred on pixel 1, then on pixel 2; padding 1 keeps it at 0
    _, padded = gradcnn.receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1)),
                                        (1, 9, 9))
    assert padded == (5, 5)


def test_stride_dilation_padding_and_rectangles():
    # conv 3x3 /2 pad 1: r = 1 + 2 = 3, j = 2, start = 0 + (1 - 1)*1 = 0
    # conv 3x3 dilation 2 (k_eff 5) pad 2: r = 3 + 4*2 = 11, j = 2, start = 0 + (2 - 2)*2 = 0
    # conv 1x5 (k_eff 1 x 5), no pad: r = 11 + (0, 4)*2 = (11, 19), start = (0, 0 + 2*2) = (0, 4)
    layers = [nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 3, dilation=2, padding=2),
              nn.Conv2d(1, 1, (1, 5))]
    records, r = gradcnn.receptive_field(layers, (1, 16, 16))
    assert [(rec.rf, rec.jump, rec.start) for rec in records] == [
        ((3, 3), (2, 2), (0, 0)), ((11, 11), (2, 2), (0, 0)), ((11, 19), (2, 2), (0, 4))]
    assert r == (11, 19)
    # "same" padding: an odd kernel at stride 1 pads (k - 1) / 2 on each side, so start stays 0
    records, _ = gradcnn.receptive_field([nn.Conv2d(1, 1, 5, padding="same")], (1, 8, 8))
    assert (records[0].rf, records[0].start) == ((5, 5), (0, 0))
    # at stride 2 on 8 pixels, 3x3 "same" pads 3*2 + 3 - 8 = 1 in all: the odd zero goes after, so
    # nothing before and start = (3 - 1) / 2 = 1; "full" pads 2 before: start = 1 - 2 = -1
    records, _ = gradcnn.receptive_field([nn.Conv2d(1, 1, 3, stride=2, padding="same"),
                                          nn.Conv2d(1, 1, 3, padding="full")], (1, 8, 8))
    assert [(rec.rf, rec.jump, rec.start, rec.output_shape) for rec in records] == [
        ((3, 3), (2, 2), (1, 1), (1, 4, 4)), ((7, 7), (2, 2), (-1, -1), (1, 6, 6))]


def test_pools_given_as_pytorch_keeps_them():
    # kernel (2, 3) with stride [1, 2]: r = (2, 3), j = (1, 2); the default stride is the kernel
    records, _ = gradcnn.receptive_field([nn.MaxPool2d((2, 3), stride=[1, 2]), nn.AvgPool2d(2, stride=())],
                                         (1, 8, 9))
    assert [(rec.rf, rec.jump) for rec in records] == [((2, 3), (1, 2)), ((3, 5), (2, 4))]


def test_transposed_convolution_and_adaptive_pooling():
    # conv 3x3 /2 pad 1: r = 3, j = 2; transposed 4x4 /2 pad 1: each output reads ceil(4/2) = 2
    # inputs, r = 3 + (2 - 1)*2 = 5, j = 2/2 = 1, start = 0 + (1 - 3/2) * 2/2 = -0.5
    layers = [nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1)]
    records, r = gradcnn.receptive_field(layers, (1, 8, 8))
    assert (records[1].rf, records[1].jump, records[1].start) == ((5, 5), (1, 1), (-0.5, -0.5))
    # a global average pool over a 6x6 map of jump 1: one window of 6, r = 3 + 5*1 = 8
    records, r = gradcnn.receptive_field([nn.Conv2d(1, 1, 3), nn.AdaptiveAvgPool2d(1)], (1, 8, 8))
    assert (records[1].rf, records[1].jump) == ((8, 8), (6, 6)) and r == (8, 8)


def test_lenet5_receptive_fields():
    # conv5:  r = 1 + (5-1)*1 = 5,   j = 1
    # pool2:  r = 5 + (2-1)*1 = 6,   j = 1*2 = 2
    # conv5:  r = 6 + (5-1)*2 = 14,  j = 2
    # pool2:  r = 14 + (2-1)*2 = 16, j = 2*2 = 4
    records, r = gradcnn.receptive_field(lenet.lenet5(), (1, 32, 32))
    assert fields(records) == [("Conv2d", 5, 1), ("MaxPool2d", 6, 2), ("Conv2d", 14, 2), ("MaxPool2d", 16, 4)]
    assert r == (16, 16)
    assert [rec.rf for rec in records if rec.type == "Linear"] == [None] * 3  # no spatial dims
    # the 1998 network: the same through S4, then C5 (5x5 on jump 4): r = 16 + 4*4 = 32, the whole input
    records, r = gradcnn.receptive_field(lenet.lenet5_classic(), (1, 32, 32))
    assert fields(records, (nn.Conv2d, lenet.Subsampling, lenet.PartialConv2d)) == [
        ("Conv2d", 5, 1), ("Subsampling", 6, 2), ("PartialConv2d", 14, 2), ("Subsampling", 16, 4),
        ("Conv2d", 32, 4)]
    assert r == (32, 32)


def test_alexnet_receptive_fields():
    # conv1 11/4:      r = 1 + 10*1 = 11,    j = 4
    # pool 3/2:        r = 11 + 2*4 = 19,    j = 8
    # conv2 5 pad 2:   r = 19 + 4*8 = 51,    j = 8
    # pool 3/2:        r = 51 + 2*8 = 67,    j = 16
    # conv3, 4, 5 3x3: r = 67 + 2*16 = 99, 131, 163
    # pool 3/2:        r = 163 + 2*16 = 195, j = 32
    # the adaptive pool is 6x6 -> 6x6 at 227: k = s = 1, r stays 195
    records, r = gradcnn.receptive_field(alexnet.alexnet(num_classes=10), (3, 227, 227))
    assert fields(records, (nn.Conv2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d)) == [
        ("Conv2d", 11, 4), ("MaxPool2d", 19, 8), ("Conv2d", 51, 8), ("MaxPool2d", 67, 16),
        ("Conv2d", 99, 16), ("Conv2d", 131, 16), ("Conv2d", 163, 16), ("MaxPool2d", 195, 32),
        ("AdaptiveAvgPool2d", 195, 32)]
    assert r == (195, 195)


def test_vgg16_receptive_fields():
    # each 3x3 conv adds 2*j, each 2x2/2 pool adds 1*j and doubles j:
    # block 1 (j = 1):  conv 1+2 = 3, 5;              pool 5 + 1 = 6,       j = 2
    # block 2 (j = 2):  conv 6+4 = 10, 14;            pool 14 + 2 = 16,     j = 4
    # block 3 (j = 4):  conv 16+8 = 24, 32, 40;       pool 40 + 4 = 44,     j = 8
    # block 4 (j = 8):  conv 44+16 = 60, 76, 92;      pool 92 + 8 = 100,    j = 16
    # block 5 (j = 16): conv 100+32 = 132, 164, 196;  pool 196 + 16 = 212,  j = 32
    model = vgg.vgg16(num_classes=10, init_weights=False)
    records, r = gradcnn.receptive_field(model, (3, 32, 32))
    pools = [(rf, j) for kind, rf, j in fields(records) if kind == "MaxPool2d"]
    assert pools == [(6, 2), (16, 4), (44, 8), (100, 16), (212, 32)]
    convs = [rf for kind, rf, _ in fields(records) if kind == "Conv2d"]
    assert convs == [3, 5, 10, 14, 24, 32, 40, 60, 76, 92, 132, 164, 196]
    assert r == (212, 212)  # at 32x32 the pool output is 1x1, the 7x7 adaptive pool only repeats it


class Residual(nn.Module):
    """A plugin-style network that is no Sequential: a residual block, then two branches joined
    by ``cat`` (gradcnn.cat, not a module)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3)
        self.body = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.shortcut = nn.Conv2d(4, 4, 1)
        self.wide = nn.Conv2d(4, 2, 5, padding=2)
        self.narrow = nn.Conv2d(4, 2, 1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.stem(x)
        x = self.body(x) + self.shortcut(x)
        x = gradcnn.cat([self.wide(x), self.narrow(x)], dim=1)
        return self.head(x.mean(dim=(2, 3)))


def test_branches_follow_the_largest_field():
    # stem 3x3: r = 3. body: 3 + 2 = 5, 5 + 2 = 7; shortcut 1x1: r = 3.
    # the sum meets 7 and 3: 7. wide 5x5: 7 + 4 = 11; narrow 1x1: 7. cat meets 7 and 11: 11.
    records, r = gradcnn.receptive_field(Residual(), (1, 10, 10))
    assert [(rec.name, rec.rf[0] if rec.rf else None) for rec in records] == [
        ("stem", 3), ("body.0", 5), ("body.1", 5), ("body.2", 7), ("shortcut", 3), ("wide", 11), ("narrow", 7),
        ("head", None)]
    assert r == (11, 11)  # the largest, though narrow (7) was called last


def test_summary_of_lenet5():
    s = gradcnn.summary(lenet.lenet5(), (1, 32, 32))
    assert (s.total_params, s.trainable_params, s.receptive_field) == (61_706, 61_706, (16, 16))
    conv1 = s.records[0]
    assert (conv1.name, conv1.type, conv1.output_shape, conv1.params) == ("features.0", "Conv2d", (6, 28, 28), 156)
    assert conv1.macs == 28 * 28 * 6 * 25 == 117_600
    # conv2 10*10*16*(6*25) = 240,000; fc 400*120 + 120*84 + 84*10 = 48,000 + 10,080 + 840
    assert s.total_macs == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520
    table = str(s)
    assert table == repr(s)
    for text in ("features.0", "Conv2d", "6x28x28", "117,600", "Total params: 61,706",
                 "Trainable params: 61,706", "Mult-adds per sample: 416,520", "Receptive field: 16"):
        assert text in table, text
    assert [line.split()[0] for line in table.splitlines()[4:15]] == [
        "features.0", "features.1", "features.2", "features.3", "features.4", "features.5",
        "classifier.0", "classifier.1", "classifier.2", "classifier.3", "classifier.4"]


def test_summary_counts_groups_transposed_custom_and_frozen_parameters():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2), nn.ConvTranspose2d(8, 2, 2, stride=2), nn.BatchNorm2d(2),
                          nn.Flatten(), nn.Linear(2 * 8 * 8, 5))
    model[0].requires_grad_(False)
    s = gradcnn.summary(model, (4, 6, 6))
    # conv: 4x4x8 outputs * (4/2)*9 taps = 2,304; transposed: 4x4x8 inputs * (2/1)*4 taps = 1,024
    assert [rec.macs for rec in s.records] == [4 * 4 * 8 * 18, 4 * 4 * 8 * 8, 0, 0, 128 * 5]
    conv_params = 8 * 2 * 9 + 8
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.trainable_params == s.total_params - conv_params
    assert "Non-trainable params: 152" in str(s)
    # the 1998 LeNet's C3 reports its own mult-adds: 10*10 outputs * 60 kernels * 25 = 150,000
    classic = gradcnn.summary(lenet.lenet5_classic(), (1, 32, 32))
    assert next(r.macs for r in classic.records if r.name == "c3") == 150_000
    assert classic.total_params == 60_000


def test_summary_restores_modes_forward_and_running_statistics():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout())
    model[2].eval()  # a mixed state must come back as it was
    before = [m.training for m in model.modules()]
    gradcnn.summary(model, (1, 5, 5))
    assert [m.training for m in model.modules()] == before
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert int(model[1].num_batches_tracked.item()) == 0
    assert not model[1].running_mean.detach().numpy().any()
    # a module called twice is listed twice, its parameters counted once
    conv = nn.Conv2d(2, 2, 3, padding=1)
    s = gradcnn.summary([nn.Conv2d(1, 2, 1), conv, conv], (1, 4, 4))
    assert [r.params for r in s.records] == [4, 38, 0] and [r.rf[0] for r in s.records] == [1, 3, 5]


def test_summary_takes_an_example_input_and_checks_shapes():
    x = gradcnn.zeros(3, 1, 32, 32, dtype=np.float64)
    s = gradcnn.summary(lenet.lenet5().double(), x)
    assert s.input_shape == (1, 32, 32) and s.records[0].output_shape == (6, 28, 28)
    with pytest.raises(gradcnn.errors.ShapeError, match=r"input_shape must be one sample's shape.*got \(0, 3\)"):
        gradcnn.summary(lenet.lenet5(), (0, 3))


PLUGIN = '''
import gradcnn
from gradcnn import nn


class Tiny(nn.Module):
    def __init__(self, num_classes=2):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


@gradcnn.hookimpl
def register_architectures(register):
    register("tiny_cnn", Tiny)
'''


def test_summary_command_on_builtin_and_plugin_architectures(tmp_path, monkeypatch, capsys):
    dists = PluginDists(tmp_path, monkeypatch)  # installed plugins: only the one below
    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", (*MACHINERY_BUILTINS, "gradcnn.default_plugins.architectures",
                                                     "gradcnn.default_plugins.summary_command"))
    plugins._reset()
    try:
        dists.install("tiny", PLUGIN)
        assert main(["summary", "tiny_cnn", "--input", "3x8x8", "--num-classes", "5"]) == 0
        out = capsys.readouterr().out
        # conv 4*(3*9)+4 = 112, mult-adds 6*6*4*27 = 3,888; fc 4*5+5 = 25, mult-adds 20
        assert re.search(r"conv +Conv2d +4x6x6", out) and "3,888" in out and "Total params: 137" in out
        assert "Mult-adds per sample: 3,908" in out and "Receptive field: 3" in out
        assert main(["summary", "lenet5", "--input", "1x32x32"]) == 0
        assert "Total params: 61,706" in capsys.readouterr().out
        assert main(["summary", "lenet5", "--input", "1x32"]) == 1  # a shape the model rejects
        assert "gradcnn: error: " in capsys.readouterr().err
        assert main(["summary", "lenet5", "--input", "1xx32"]) == 2
        assert "expected positive sizes joined by 'x'" in capsys.readouterr().err
    finally:
        dists.close()


def test_summary_and_receptive_field_are_plain_functions_of_the_package():
    from gradcnn import introspect

    assert gradcnn.summary is introspect.summary and gradcnn.receptive_field is introspect.receptive_field
    assert gradcnn.summary(nn.Conv2d(1, 1, 3), (1, 4, 4)).receptive_field == (3, 3)
    assert {"summary", "receptive_field"} <= set(gradcnn.__all__)
