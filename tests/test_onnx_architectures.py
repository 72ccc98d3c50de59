"""Every built-in architecture exports to ONNX, passes ``onnx.checker.check_model(full_check=True)``
and runs in onnxruntime at two batch sizes (neither the traced one) within 1e-4 of gradcnn.

Each family runs at the smallest input it accepts (see its module docstring). The representative
subset in ``FAST`` runs in every test run; the rest (deeper or wider variants, and the VGGs, 5 to
40 s each on two cores) run with ``GRADCNN_SLOW=1``. TextCNN, from the gradcnn-text plugin, is
tested by that plugin's own tests.

The 1e-4 is absolute. The deepest random-weight networks (ResNet-101 and -152, Inception v3) have
outputs of 1e3 to 1e8, where float32 itself is coarser than 1e-4: for them the check is that
onnxruntime is no further from gradcnn's float64 result than gradcnn's own float32 result is
(twice that distance, plus 1e-4).
"""

import os

import numpy as np
import pytest

import gradcnn

onnx = pytest.importorskip("onnx", reason="needs the onnx extra: pip install 'gradcnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime: pip install 'gradcnn[onnx]'")

from gradcnn.onnx import export  # noqa: E402

SHAPES = {  # the smallest input of each family
    "lenet5": (1, 32, 32), "lenet5_classic": (1, 32, 32), "alexnet": (3, 39, 39), "googlenet": (3, 15, 15),
    "inception_v3": (3, 75, 75), "densenet121": (3, 29, 29), "densenet169": (3, 29, 29),
    "densenet201": (3, 29, 29),
}
FAST = ["lenet5", "lenet5_classic", "alexnet", "resnet18", "densenet121", "googlenet"]
# The VGGs carry a 25088x4096 classifier at any input size (over 500 MB of weights to write and
# load: 15 to 40 s each); what sets them apart, the 7x7 adaptive pool of a 1x1 map, is in
# test_onnx.py.
SLOW = ["resnet34", "resnet50", "resnet101", "resnet152", "densenet169", "densenet201", "inception_v3",
        "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
PLUGINS = {"textcnn"}  # tested by plugins/gradcnn-text/tests


def _inputs(name, n, seed):
    return np.random.default_rng(seed).standard_normal((n, *SHAPES.get(name, (3, 32, 32)))).astype(np.float32)


def _exports_and_agrees(name, tmp_path):
    gradcnn.manual_seed(0)
    model = gradcnn.create_model(name, num_classes=10)
    path = tmp_path / f"{name}.onnx"
    export(model, gradcnn.from_numpy(_inputs(name, 2, 0)), path)
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    del path
    model.eval()
    for n, seed in ((1, 1), (3, 2)):
        x = _inputs(name, n, seed)
        with gradcnn.no_grad():
            ref = model(gradcnn.from_numpy(x)).numpy()
        (got,) = session.run(None, {"input": x})
        assert got.shape == ref.shape == (n, 10)
        diff = float(np.abs(got - ref).max())
        if diff > 1e-4:  # float32's own error may be larger at this output's scale: measure it
            model.double()
            with gradcnn.no_grad():
                exact = model(gradcnn.from_numpy(x.astype(np.float64))).numpy()
            model.float()
            own = float(np.abs(ref - exact).max())
            assert float(np.abs(got - exact).max()) <= 2 * own + 1e-4, (
                f"{name} at batch {n}: onnxruntime differs from gradcnn by {diff:.3g}, from the float64 "
                f"result by {np.abs(got - exact).max():.3g}; gradcnn's float32 is {own:.3g} from it"
            )


def test_every_registered_architecture_is_covered():
    missing = set(gradcnn.list_models()) - set(FAST) - set(SLOW) - PLUGINS
    assert not missing, f"add {sorted(missing)} (and its smallest input) to this module's lists"


@pytest.mark.parametrize("name", FAST)
def test_architecture_exports(name, tmp_path):
    _exports_and_agrees(name, tmp_path)


slow = pytest.mark.skipif(os.environ.get("GRADCNN_SLOW") != "1",
                          reason="slow (minutes on two cores): GRADCNN_SLOW=1 runs it")


@slow
@pytest.mark.parametrize("name", SLOW)
def test_slow_architecture_exports(name, tmp_path):
    _exports_and_agrees(name, tmp_path)


@slow
def test_alexnet_with_local_response_norm_and_groups(tmp_path):
    gradcnn.manual_seed(0)
    model = gradcnn.create_model("alexnet", num_classes=10, lrn=True, groups=2)
    export(model, gradcnn.from_numpy(_inputs("alexnet", 2, 0)), tmp_path / "a.onnx")
    session = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"])
    x = _inputs("alexnet", 3, 1)
    with gradcnn.no_grad():
        ref = model.eval()(gradcnn.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], ref, rtol=1e-5, atol=1e-4)
