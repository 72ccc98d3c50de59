"""ResNet, DenseNet and GoogLeNet (gradcnn/architectures/{resnet,densenet,googlenet}.py): torchvision's
parameter counts and state_dict names, forward and backward at small inputs, train/eval behaviour,
state_dict round trips, and the ``gradcnn.create_model`` path through the built-in plugin.

Cost on 2 cores: building every model at its defaults takes about 6 s in all (ResNet-152, 60M
parameters, about 1.4 s); the heaviest cases are marked.
"""

import math

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn.architectures import densenet, googlenet, resnet

BUILDERS = {
    "resnet18": resnet.resnet18, "resnet34": resnet.resnet34, "resnet50": resnet.resnet50,
    "resnet101": resnet.resnet101, "resnet152": resnet.resnet152,
    "densenet121": densenet.densenet121, "densenet169": densenet.densenet169,
    "densenet201": densenet.densenet201, "googlenet": googlenet.googlenet,
}

COUNTS = {  # torchvision's, trainable parameters only (buffers excluded)
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
    "densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928,
    "googlenet": 6_624_904,
}

# Keys of torchvision's state dicts, with their shapes, written out by hand.
SPOT_KEYS = {
    "resnet18": {
        "conv1.weight": (64, 3, 7, 7), "bn1.running_mean": (64,), "bn1.num_batches_tracked": (),
        "layer1.0.conv1.weight": (64, 64, 3, 3), "layer1.1.bn2.bias": (64,),
        "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer2.0.downsample.1.running_var": (128,),
        "layer4.1.conv2.weight": (512, 512, 3, 3), "fc.weight": (1000, 512), "fc.bias": (1000,),
    },
    "resnet50": {
        "layer1.0.downsample.0.weight": (256, 64, 1, 1), "layer1.0.conv3.weight": (256, 64, 1, 1),
        "layer2.0.conv2.weight": (128, 128, 3, 3), "layer3.5.bn3.weight": (1024,),
        "layer4.2.bn3.running_var": (2048,), "fc.weight": (1000, 2048),
    },
    "resnet152": {"layer2.7.conv1.weight": (128, 512, 1, 1), "layer3.35.bn3.running_mean": (1024,)},
    "densenet121": {
        "features.conv0.weight": (64, 3, 7, 7), "features.norm0.running_var": (64,),
        "features.denseblock1.denselayer1.norm1.weight": (64,),
        "features.denseblock1.denselayer1.conv1.weight": (128, 64, 1, 1),
        "features.denseblock1.denselayer6.conv2.weight": (32, 128, 3, 3),
        "features.transition1.conv.weight": (128, 256, 1, 1),
        "features.denseblock4.denselayer16.norm1.weight": (992,),
        "features.norm5.running_mean": (1024,), "classifier.weight": (1000, 1024),
    },
    "densenet201": {"features.denseblock3.denselayer48.conv1.weight": (128, 1760, 1, 1),
                    "classifier.weight": (1000, 1920)},
    "googlenet": {
        "conv1.conv.weight": (64, 3, 7, 7), "conv1.bn.running_var": (64,), "conv3.conv.weight": (192, 64, 3, 3),
        "inception3a.branch1.conv.weight": (64, 192, 1, 1),
        "inception3a.branch2.1.conv.weight": (128, 96, 3, 3),
        "inception3a.branch3.1.conv.weight": (32, 16, 3, 3),  # torchvision's 3x3 "5x5" branch
        "inception3a.branch4.1.bn.num_batches_tracked": (),
        "inception5b.branch4.1.conv.weight": (128, 832, 1, 1), "fc.weight": (1000, 1024),
    },
}
AUX_KEYS = {"aux1.conv.conv.weight": (128, 512, 1, 1), "aux1.fc1.weight": (1024, 2048),
            "aux2.conv.bn.running_mean": (128,), "aux2.fc2.weight": (1000, 1024), "aux2.fc2.bias": (1000,)}

SMALL = {"googlenet": 64}  # the smallest side each test uses (32 elsewhere)


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def image(n, c, side, seed=0):
    return gradcnn.tensor(np.random.default_rng(seed).standard_normal((n, c, side, side)).astype(np.float32))


# ResNet-152 and ResNet-101 dominate: about 1.4 s and 1 s to build.
@pytest.mark.parametrize("name", list(COUNTS))
def test_parameter_counts_and_torchvision_keys(name):
    model = gradcnn.create_model(name)
    assert n_params(model) == COUNTS[name]
    state = model.state_dict()
    for key, shape in SPOT_KEYS.get(name, {}).items():
        assert key in state, key
        assert state[key].shape == shape, key
    if name.startswith("resnet"):  # BN buffers: running_mean, running_var, num_batches_tracked
        assert len(state) == len(list(model.parameters())) + 3 * sum(k.endswith(".running_var") for k in state)


def test_googlenet_aux_logits_count_and_keys():
    model = gradcnn.create_model("googlenet", aux_logits=True)
    assert n_params(model) == 13_004_888
    state = model.state_dict()
    for key, shape in AUX_KEYS.items():
        assert state[key].shape == shape, key
    assert not any(k.startswith("aux") for k in googlenet.googlenet().state_dict())


def _torchvision_models():
    try:  # a torchvision built for another torch raises RuntimeError, not ImportError
        import torchvision.models
    except Exception as exc:
        pytest.skip(f"torchvision is not usable here: {type(exc).__name__}: {exc}")
    return torchvision.models


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnet152", "densenet121", "densenet201", "googlenet"])
def test_state_dict_keys_equal_torchvision(name):
    tv = _torchvision_models()
    options = {"aux_logits": True, "init_weights": False} if name == "googlenet" else {}
    theirs = getattr(tv, name)(weights=None, **options).state_dict()
    ours = BUILDERS[name](**({"aux_logits": True} if name == "googlenet" else {})).state_dict()
    assert list(ours) == list(theirs)
    assert all(tuple(ours[k].shape) == tuple(theirs[k].shape) for k in ours)


# ResNet-152 (1.3 s) and DenseNet-201 (0.5 s) are the costly ones.
@pytest.mark.parametrize("name", list(BUILDERS))
def test_any_num_classes_and_in_channels_at_small_input(name):
    model = gradcnn.create_model(name, num_classes=3, in_channels=1).eval()
    with gradcnn.no_grad():
        out = model(image(1, 1, SMALL.get(name, 32)))
    assert out.shape == (1, 3)
    assert np.isfinite(out._data).all()


def _check_grads(model):
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reached {missing[:5]} ({len(missing)} in all)"
    bad = [n for n, p in model.named_parameters() if not np.isfinite(p.grad._data).all()]
    assert not bad, f"non-finite gradients in {bad[:5]}"


@pytest.mark.parametrize("name, num_classes, in_channels", [
    ("resnet18", 10, 3), ("resnet50", 5, 1), ("densenet121", 4, 3),
])
def test_forward_backward_float32(name, num_classes, in_channels):
    gradcnn.manual_seed(0)
    model = BUILDERS[name](num_classes=num_classes, in_channels=in_channels)
    x = image(2, in_channels, 32)
    out = model(x)
    assert out.shape == (2, num_classes) and out.dtype == np.float32
    F.cross_entropy(out, gradcnn.tensor(np.array([0, 1]))).backward()
    _check_grads(model)


def test_googlenet_aux_logits_training_outputs_and_backward():
    gradcnn.manual_seed(0)
    model = googlenet.googlenet(num_classes=6, aux_logits=True)
    out = model(image(2, 3, 64))
    assert isinstance(out, googlenet.GoogLeNetOutputs)
    assert out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert all(o.shape == (2, 6) for o in out)
    target = gradcnn.tensor(np.array([2, 5]))
    loss = F.cross_entropy(out.logits, target) + 0.3 * (
        F.cross_entropy(out.aux_logits1, target) + F.cross_entropy(out.aux_logits2, target))
    loss.backward()
    _check_grads(model)  # the aux heads included
    with gradcnn.no_grad():
        logits = model.eval()(image(2, 3, 64))
    assert isinstance(logits, gradcnn.Tensor) and logits.shape == (2, 6)


def test_googlenet_dropout_only_in_training():
    model = googlenet.googlenet(num_classes=5)
    x = image(2, 3, 64)
    with gradcnn.no_grad():
        a, b = model(x), model(x)
        assert not np.allclose(a._data, b._data)  # dropout 0.2 before fc draws new masks
        model.eval()
        np.testing.assert_array_equal(model(x)._data, model(x)._data)


def test_resnet_batch_norm_train_uses_the_batch_eval_the_running_statistics():
    model = resnet.resnet18(num_classes=4)
    x = image(4, 3, 32)
    bn = model.layer1[0].bn1
    with gradcnn.no_grad():
        alone, in_batch = model(x[:2]), model(x)
        assert not np.allclose(alone._data, in_batch._data[:2], atol=1e-4)  # batch statistics
        assert int(bn.num_batches_tracked.item()) == 2
        moved = bn.running_mean._data.copy()
        model.eval()
        alone, in_batch = model(x[:2]), model(x)
        np.testing.assert_allclose(alone._data, in_batch._data[:2], rtol=1e-5, atol=1e-6)
        assert int(bn.num_batches_tracked.item()) == 2
        np.testing.assert_array_equal(bn.running_mean._data, moved)


@pytest.mark.parametrize("name, side, options", [
    ("resnet18", 32, {}), ("densenet121", 32, {}), ("googlenet", 64, {"aux_logits": True}),
])
def test_state_dict_round_trip_through_arrays(name, side, options):
    gradcnn.manual_seed(1)
    trained = BUILDERS[name](num_classes=7, **options)
    with gradcnn.no_grad():
        trained(image(2, 3, side, seed=1))  # moves the running statistics off their start
    arrays = {key: np.array(value._data) for key, value in trained.state_dict().items()}
    gradcnn.manual_seed(2)
    fresh = BUILDERS[name](num_classes=7, **options)
    x = image(2, 3, side, seed=3)
    with gradcnn.no_grad():
        assert not np.allclose(fresh.eval()(x)._data, trained.eval()(x)._data)
        fresh.load_state_dict(arrays)
        np.testing.assert_array_equal(fresh(x)._data, trained(x)._data)


def test_initialisation_follows_torchvision():
    gradcnn.manual_seed(0)
    res = resnet.resnet50(num_classes=10)
    w = res.layer3[0].conv2.weight._data  # kaiming normal, fan_out = 256 * 3 * 3, relu gain
    assert abs(w.std() - math.sqrt(2 / (256 * 9))) < 0.02 * math.sqrt(2 / (256 * 9))
    assert (res.layer3[0].bn2.weight._data == 1).all() and (res.layer3[0].bn2.bias._data == 0).all()
    dense = densenet.densenet121(num_classes=10)
    w = dense.features.denseblock3.denselayer1.conv1.weight._data  # kaiming normal, fan_in = 256
    assert abs(w.std() - math.sqrt(2 / 256)) < 0.02 * math.sqrt(2 / 256)
    assert (dense.classifier.bias._data == 0).all()
    goog = googlenet.googlenet(num_classes=10)
    assert abs(goog.inception4e.branch2[1].conv.weight._data.std() - 0.01) < 0.0005


def test_registered_through_the_builtin_plugin():
    assert set(BUILDERS) <= set(gradcnn.list_models())
    owners = {r.name: r for r in gradcnn.plugin_report()}
    registered = owners["gradcnn.default_plugins.architectures_cnn"].registered["architectures"]
    assert registered == list(BUILDERS)
    model = gradcnn.create_model("resnet34", num_classes=2, in_channels=5)
    assert model.conv1.weight.shape == (64, 5, 7, 7) and model.fc.weight.shape == (2, 512)
