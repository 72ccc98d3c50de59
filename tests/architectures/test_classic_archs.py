"""LeNet-5, AlexNet and VGG (gradcnn/architectures/{lenet,alexnet,vgg}.py): the papers' and
torchvision's parameter counts, layer by layer for the 1998 LeNet-5, forward and backward at small
inputs, dropout in train and eval mode, state_dict round trips and the ``gradcnn.create_model`` path
through the built-in plugin.

Cost on 2 cores: a VGG allocates 130-145M parameters; the count tests build them with
``init_weights=False`` (about 1.3 s each instead of 4.5 s). The whole module takes about 20 s.
"""

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn import nn
from gradcnn.architectures import alexnet, lenet, vgg


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def forward_backward(model, shape, num_classes):
    """One float32 training step's forward and backward: every parameter gets a finite gradient."""
    gradcnn.manual_seed(0)
    x = gradcnn.randn(*shape)
    target = gradcnn.tensor(np.arange(shape[0]) % num_classes)
    out = model(x)
    assert out.shape == (shape[0], num_classes) and out.dtype == np.float32
    loss = F.cross_entropy(out, target)
    loss.backward()
    assert np.isfinite(loss.item())
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert p.grad.dtype == np.float32 and np.isfinite(p.grad.detach().numpy()).all(), name
    return out


def round_trip(build, x):
    """state_dict -> NumPy arrays -> a model built with another seed: same outputs in eval mode."""
    gradcnn.manual_seed(1)
    model = build().eval()
    arrays = {key: np.array(value.detach().numpy()) for key, value in model.state_dict().items()}
    gradcnn.manual_seed(2)
    fresh = build().eval()
    with gradcnn.no_grad():
        assert not np.array_equal(model(x).detach().numpy(), fresh(x).detach().numpy())
        assert fresh.load_state_dict(arrays) == ([], [])
        np.testing.assert_array_equal(model(x).detach().numpy(), fresh(x).detach().numpy())


# -- LeNet-5 ------------------------------------------------------------------------------------


def test_lenet5_has_61706_parameters():
    # conv1 6*(1*25)+6 = 156, conv2 16*(6*25)+16 = 2,416, fc 400*120+120 = 48,120,
    # 120*84+84 = 10,164, 84*10+10 = 850: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706
    model = lenet.lenet5()
    assert n_params(model) == 61_706
    assert [n_params(m) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))] == [
        156, 2_416, 48_120, 10_164, 850]
    assert n_params(lenet.lenet5(num_classes=5, in_channels=3)) == 61_706 - 850 + 425 + 2 * 150


def test_lenet5_classic_counts_each_layer_as_the_paper():
    model = lenet.lenet5_classic()
    expected = {
        "c1": 6 * (5 * 5 + 1),  # 156: six 5x5 kernels and biases
        "s2": 6 * 2,  # 12: a coefficient and a bias per map
        "c3": 60 * 5 * 5 + 16,  # 1,516: the 60 connections of Table I, 16 biases
        "s4": 16 * 2,  # 32
        "c5": 120 * (16 * 5 * 5 + 1),  # 48,120: full connections to the 16 S4 maps
        "f6": 84 * (120 + 1),  # 10,164
        "output": 0,  # the 84x10 centres are fixed: a buffer, not parameters
    }
    assert {name: n_params(getattr(model, name)) for name in expected} == expected
    assert n_params(model) == 60_000  # "about 60,000", exactly
    assert model.output.centres.shape == (10, 84) and "output.centres" in model.state_dict()
    trainable = lenet.lenet5_classic(trainable_centres=True)
    assert n_params(trainable.output) == 840 and n_params(trainable) == 60_840


def test_c3_connects_exactly_the_maps_of_table_1():
    table = lenet.C3_TABLE
    assert sorted(len(row) for row in table) == [3] * 6 + [4] * 9 + [6]
    assert sum(len(row) for row in table) == 60
    # Table I, rows = S2 maps, columns = C3 maps, as printed in the paper
    printed = ["X   XXX  XXXX XX", "XX   XXX  XXXX X", "XXX   XXX  X XXX",
               " XXX  XXXX  X XX", "  XXX  XXXX XX X", "   XXX  XXXX XXX"]
    for o, row in enumerate(table):
        assert set(row) == {i for i in range(6) if printed[i][o] == "X"}, o
    c3 = lenet.PartialConv2d(6, table)
    dense = c3.dense_weight().detach().numpy()
    connected = np.zeros((16, 6), dtype=bool)
    for o, row in enumerate(table):
        connected[o, list(row)] = True
    assert np.array_equal(np.abs(dense).sum(axis=(2, 3)) > 0, connected)
    # forward = a dense convolution with the table's kernels; gradients reach only those 60
    x = gradcnn.randn(2, 6, 14, 14)
    reference = np.zeros((16, 6, 5, 5), dtype=np.float32)
    weights = iter(c3.weight.detach().numpy())
    for o, row in enumerate(table):
        for i in row:
            reference[o, i] = next(weights)
    expected = F.conv2d(x, gradcnn.tensor(reference), c3.bias.detach())
    np.testing.assert_allclose(c3(x).detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    c3(x).sum().backward()
    assert c3.weight.grad.shape == (60, 5, 5) and np.abs(c3.weight.grad.detach().numpy()).sum(axis=(1, 2)).all()


def test_classic_layers_pass_the_layer_checks():
    gradcnn.testing.check_layer(lenet.Subsampling, (2, 3, 6, 4), config={"channels": 3},
                                output_shape=(2, 3, 3, 2), max_examples=5)
    gradcnn.testing.check_layer(lenet.PartialConv2d, (1, 3, 5, 5),
                                config={"in_channels": 3, "table": ((0,), (1, 2), (0, 1, 2)), "kernel_size": 3},
                                output_shape=(1, 3, 3, 3), max_examples=5)
    gradcnn.testing.check_layer(lenet.EuclideanRBF, (3, 4), config={"in_features": 4, "num_classes": 2,
                                                                    "trainable": True},
                                output_shape=(3, 2), max_examples=5)
    gradcnn.testing.check_layer(lenet.ScaledTanh, (2, 5), max_examples=5)


def test_scaled_tanh_maps_plus_minus_one_to_themselves():
    f = lenet.ScaledTanh()
    np.testing.assert_allclose(f(gradcnn.tensor([-1.0, 0.0, 1.0])).detach().numpy(), [-1, 0, 1], atol=1e-4)


def test_lenet5_forward_backward_float32():
    forward_backward(lenet.lenet5(), (4, 1, 32, 32), 10)


def test_lenet5_classic_outputs_distances_and_trains_with_rbf_loss():
    gradcnn.manual_seed(0)
    model = lenet.lenet5_classic()
    x, target = gradcnn.randn(3, 1, 32, 32), gradcnn.tensor([0, 4, 9])
    distances = model(x)
    assert distances.shape == (3, 10) and (distances.detach().numpy() >= 0).all()
    # the output is |f6 - centre|^2 per class
    with gradcnn.no_grad():
        f6 = x
        for layer in (model.c1, model.s2, model.c3, model.s4, model.c5):
            f6 = model.squash(layer(f6))
        f6 = model.squash(model.f6(f6.flatten(1))).detach().numpy()
    centres = model.output.centres.detach().numpy()
    np.testing.assert_allclose(distances.detach().numpy(), ((f6[:, None] - centres) ** 2).sum(-1), rtol=1e-5)
    # j=None is cross_entropy on negative distances; a number j adds a class at distance j (eq. 9)
    d = distances.detach().numpy().astype(np.float64)
    loss = lenet.rbf_loss(distances, target)
    assert loss.item() == pytest.approx(F.cross_entropy(-distances, target).item())
    j = 50.0
    eq9 = np.mean(d[np.arange(3), [0, 4, 9]] + np.log(np.exp(-j) + np.exp(-d).sum(1)))
    assert lenet.rbf_loss(distances, target, j=j).item() == pytest.approx(eq9, rel=1e-5)
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.detach().numpy()).all() for p in model.parameters())
    assert model.output.centres.grad is None  # fixed


def test_lenet_state_dicts_round_trip_through_arrays():
    x = gradcnn.randn(2, 1, 32, 32)
    round_trip(lenet.lenet5, x)
    round_trip(lambda: lenet.lenet5_classic(trainable_centres=True), x)
    # the 0/1 scatter matrix of C3 is derived, not state
    assert "c3.scatter" not in lenet.lenet5_classic().state_dict()


# -- AlexNet ------------------------------------------------------------------------------------


def test_alexnet_counts():
    # conv1 96*3*121+96 = 34,944; conv2 256*96*25+256 = 614,656; conv3 384*256*9+384 = 885,120;
    # conv4 384*384*9+384 = 1,327,488; conv5 256*384*9+256 = 884,992; fc6 9216*4096+4096 =
    # 37,752,832; fc7 4096*4096+4096 = 16,781,312; fc8 4096*1000+1000 = 4,097,000
    model = alexnet.alexnet()
    assert n_params(model) == 62_378_344
    assert [n_params(m) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))] == [
        34_944, 614_656, 885_120, 1_327_488, 884_992, 37_752_832, 16_781_312, 4_097_000]
    # groups=2 halves the kernels' depth in conv2, conv4 and conv5:
    # -(256*48*25) - (384*192*9) - (256*192*9) = -307,200 - 663,552 - 442,368 = -1,413,120
    split = alexnet.alexnet(groups=2, lrn=True)
    assert n_params(split) == 62_378_344 - 1_413_120 == 60_965_224
    convs = [m for m in split.features if isinstance(m, nn.Conv2d)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    lrns = [i for i, m in enumerate(split.features) if isinstance(m, nn.LocalResponseNorm)]
    assert lrns == [2, 6]  # after the ReLUs of conv1 and conv2, before their pools
    assert (split.features[2].size, split.features[2].alpha, split.features[2].beta, split.features[2].k) == (
        5, 1e-4, 0.75, 2.0)


def test_alexnet_at_227_keeps_the_paper_sizes():
    model = alexnet.alexnet(num_classes=10).eval()
    sizes = []
    x = gradcnn.zeros(1, 3, 227, 227)
    with gradcnn.no_grad():
        for layer in model.features:
            x = layer(x)
            if isinstance(layer, (nn.Conv2d, nn.MaxPool2d)):
                sizes.append(x.shape[1:])
    assert sizes == [(96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13),
                     (384, 13, 13), (256, 13, 13), (256, 6, 6)]


def test_alexnet_forward_backward_at_64x64_and_dropout_modes():
    model = alexnet.alexnet(num_classes=10, groups=2, lrn=True)
    out = forward_backward(model, (2, 3, 64, 64), 10)
    x = gradcnn.randn(2, 3, 64, 64)
    with gradcnn.no_grad():
        model.train()
        a, b = model(x).detach().numpy(), model(x).detach().numpy()
        assert not np.allclose(a, b)  # fresh dropout masks
        model.eval()
        c, d = model(x).detach().numpy(), model(x).detach().numpy()
        np.testing.assert_array_equal(c, d)
        assert not np.allclose(a, c)
        quiet = alexnet.alexnet(num_classes=10, dropout=0.0)
        np.testing.assert_array_equal(quiet.train()(x).detach().numpy(), quiet.eval()(x).detach().numpy())
    assert out.shape == (2, 10)


def test_alexnet_state_dict_round_trips_with_torchvision_names():
    build = lambda: alexnet.alexnet(num_classes=10)  # noqa: E731
    keys = list(build().state_dict())
    assert keys == [f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")] + [
        f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")]
    round_trip(build, gradcnn.randn(1, 3, 64, 64))


# -- VGG ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, count", [
    ("vgg11", 132_863_336), ("vgg16", 138_357_544), ("vgg19", 143_667_240), ("vgg16_bn", 138_365_992),
])
def test_vgg_counts(name, count):
    model = gradcnn.create_model(name, init_weights=False)
    assert n_params(model) == count
    # the classifier: 25088*4096+4096 + 4096*4096+4096 + 4096*1000+1000 = 123,642,856
    assert n_params(model.classifier) == 123_642_856
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert len(convs) == {"vgg11": 8, "vgg16": 13, "vgg19": 16, "vgg16_bn": 13}[name]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)


def test_vgg16_bn_has_torchvision_keys():
    state = vgg.vgg16_bn(init_weights=False).state_dict()
    spot = {  # torchvision.models.vgg16_bn().state_dict(), by hand
        "features.0.weight": (64, 3, 3, 3), "features.1.running_var": (64,),
        "features.1.num_batches_tracked": (), "features.3.weight": (64, 64, 3, 3),
        "features.7.weight": (128, 64, 3, 3), "features.40.weight": (512, 512, 3, 3),
        "features.41.bias": (512,), "classifier.0.weight": (4096, 25088),
        "classifier.3.weight": (4096, 4096), "classifier.6.bias": (1000,),
    }
    assert {key: state[key].shape for key in spot} == spot
    assert len(state) == 13 * 2 + 13 * 5 + 3 * 2  # conv w, b; bn w, b, mean, var, count; fc w, b


def test_vgg11_forward_backward_at_32x32_and_torchvision_init():
    gradcnn.manual_seed(0)
    model = vgg.vgg11(num_classes=10)
    assert model.classifier[0].weight.shape == (4096, 25088)
    w = model.classifier[0].weight.detach().numpy()
    assert abs(w.std() - 0.01) < 1e-4 and not model.classifier[0].bias.detach().numpy().any()
    conv = model.features[0].weight.detach().numpy()  # kaiming normal, fan_out = 64 * 9
    assert abs(conv.std() - np.sqrt(2 / (64 * 9))) < 0.01 and not model.features[0].bias.detach().numpy().any()
    forward_backward(model, (1, 3, 32, 32), 10)


# -- the plugin ---------------------------------------------------------------------------------

NAMES = ["alexnet", "lenet5", "lenet5_classic", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
         "vgg16_bn", "vgg19", "vgg19_bn"]


def test_the_builtin_plugin_registers_every_classic_architecture():
    assert set(NAMES) <= set(gradcnn.list_models())
    record = next(r for r in gradcnn.plugin_report() if r.name == "gradcnn.default_plugins.architectures")
    assert (record.failure, record.distribution) == (None, "gradcnn")
    assert sorted(record.registered["architectures"]) == NAMES
    model = gradcnn.create_model("lenet5_classic", num_classes=4, trainable_centres=True)
    assert isinstance(model, lenet.LeNet5Classic) and model(gradcnn.zeros(1, 1, 32, 32)).shape == (1, 4)
    assert isinstance(gradcnn.create_model("alexnet", num_classes=3), alexnet.AlexNet)
