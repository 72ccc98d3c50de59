"""gradcnn/visualize.py and ``gradcnn visualize``: what LeNet-5 learns on the digits, stages found
from the traced graph of any architecture, receptive-field boxes against gradient supports,
Grad-CAM and saliency against hand computations, and the PNG files.

**Do trained first-layer filters look like strokes?** The measure, ``stroke_energy``: the share of
the kernels' energy (each kernel's mean removed) that lies along each kernel's best-matching
stroke template, the templates being a bar and a step edge across a line through the centre at 8
orientations (mean removed, unit norm). A kernel that is a bar or an edge at some angle puts
nearly all its energy there; white noise on 5x5 puts about 0.15 there (computed below), since 16
templates span little of a 24-dimensional random vector. It ignores scale, sign and mean, so it
measures shape alone, and weighting by energy keeps a kernel that training shrank to nearly
nothing from counting either way. ``stroke_score`` is the per-kernel version: the largest
|correlation| with a template.

LeNet-5 is trained for 3 epochs of Adam (lr 0.01) with weight decay 0.01 (a few seconds): the
digits are 8x8 images enlarged to 28x28, so every 5x5 patch is smooth and the data pin down only
the smooth part of a kernel; without weight decay the rest of the random start stays in the
kernels, since nothing in the data pushes it away (seed 0: stroke energy 0.07 untrained, 0.46
trained with weight decay, 0.15 without; 0.12 after ``gradcnn train``'s 15 epochs of SGD).
"""

import math
import subprocess
import sys

import matplotlib.image as matplotlib_image  # the test extra installs matplotlib
import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn import nn, optim
from gradcnn import visualize as V
from gradcnn.cli import main
from gradcnn.data import DataLoader
from gradcnn.errors import ShapeError, UnknownNameError
from gradcnn.io import save
from gradcnn.train import fit

# -- the stroke measure ------------------------------------------------------------------------


def stroke_templates(size=5, orientations=8, width=0.8):
    """Unit-norm, zero-mean bars (a Gaussian ridge) and edges (a tanh step) across lines through
    the centre of a ``size`` x ``size`` kernel, at ``orientations`` angles in [0, pi)."""
    centre = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size] - centre
    out = []
    for angle in np.arange(orientations) * np.pi / orientations:
        across = xx * np.cos(angle) + yy * np.sin(angle)
        for t in (np.exp(-across**2 / (2 * width**2)), np.tanh(across / width)):
            t = t - t.mean()
            out.append(t / np.linalg.norm(t))
    return np.array(out)


def _centred(kernels):
    k = np.asarray(kernels, dtype=np.float64)
    return k - k.mean((1, 2), keepdims=True)


def stroke_score(kernels):
    """Per kernel ``(n, k, k)``: max over templates of |correlation| (see the module docstring)."""
    k = _centred(kernels)
    k = k / np.linalg.norm(k, axis=(1, 2), keepdims=True)
    return np.abs(np.einsum("nij,tij->nt", k, stroke_templates(k.shape[-1]))).max(1)


def stroke_energy(kernels):
    """The share of the kernels' energy along their best templates (see the module docstring)."""
    k = _centred(kernels)
    along = np.einsum("nij,tij->nt", k, stroke_templates(k.shape[-1])) ** 2
    return along.max(1).sum() / (k**2).sum()


def test_stroke_score_tells_strokes_from_noise():
    templates = stroke_templates()
    np.testing.assert_allclose(stroke_score(templates * 3 + 1), 1.0)  # scale and offset do not matter
    yy, xx = np.mgrid[:5, :5]
    assert stroke_score(np.where(xx + yy > 4, 1.0, -1.0)[None])[0] > 0.9  # a diagonal edge
    assert stroke_score(np.where(xx == 2, 1.0, 0.0)[None])[0] > 0.8  # a one-pixel vertical line
    noise = np.random.default_rng(0).standard_normal((20000, 5, 5))
    assert 0.35 < stroke_score(noise).mean() < 0.40
    assert 0.14 < stroke_energy(noise) < 0.16
    assert stroke_energy(templates) == pytest.approx(1.0)
    assert stroke_energy(np.concatenate([templates[:3], 1e-6 * noise[:3]])) > 0.999  # tiny kernels hardly count


# -- LeNet-5 on the digits ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits_test():
    return gradcnn.create_dataset("digits", split="test")


@pytest.fixture(scope="module")
def lenet(digits_test):
    """(untrained first-layer kernels, LeNet-5 after 3 epochs of Adam with weight decay)."""
    gradcnn.manual_seed(0)
    model = gradcnn.create_model("lenet5")
    initial = model.features[0].weight.detach().numpy().copy()
    train = gradcnn.create_dataset("digits", split="train")
    history = fit(model, DataLoader(train, batch_size=64, shuffle=True),
                  optimizer=optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01),
                  loss=F.cross_entropy, epochs=3, progress=False, log=lambda _: None)
    assert history[-1]["train_accuracy"] > 0.8
    return initial, model.eval()


def test_trained_first_filters_moved_and_look_like_oriented_strokes(lenet, digits_test):
    initial, model = lenet
    tr = V.trace(model, digits_test[0][0])
    trained = tr.first_weight  # the first convolution call of the traced graph
    np.testing.assert_array_equal(trained, model.features[0].weight.detach().numpy())
    assert np.linalg.norm(trained - initial) > 0.5 * np.linalg.norm(initial)
    before, after = stroke_energy(initial[:, 0]), stroke_energy(trained[:, 0])
    # seed 0: 0.07 before, 0.46 after (seeds 1, 2, 3: 0.14 -> 0.64, 0.18 -> 0.56, 0.14 -> 0.60)
    assert after > 0.4 and after > before + 0.25
    # ... and beyond what any of a thousand sets of six random kernels reach (their largest: 0.28)
    noise = np.random.default_rng(1).standard_normal((1000, 6, 5, 5))
    assert after > max(stroke_energy(six) for six in noise)


def test_pngs_have_the_documented_sizes(lenet, digits_test, tmp_path):
    _, model = lenet
    image, label = digits_test[1]
    report = V.visualize(model, image, tmp_path / "out", label=int(label), class_names=digits_test.classes)
    sizes = {name: matplotlib_image.imread(report[name]).shape[:2]
             for name in ("filters", "feature_maps", "receptive_field", "saliency")}
    # 6 kernels: 3 columns, 2 rows (+ colour bar); 2 stages
    assert sizes == {"filters": (28 + 2 * 116, 3 * 96 + 56), "feature_maps": (28 + 2 * 132, 8 * 112),
                     "receptive_field": (272, 2 * 224), "saliency": (272, 3 * 224)}
    assert report["predicted"] == int(np.asarray(model(image.unsqueeze(0))).argmax())
    assert [s["gradient"] for s in report["stages"]] == ["= box", "inside box"]
    with_layer = V.visualize(model, image, tmp_path / "layer", layer="features.3")
    assert matplotlib_image.imread(with_layer["feature_maps"]).shape[:2] == (28 + 3 * 132, 896)


def test_rgb_kernels_are_drawn_in_colour_without_a_colour_bar(tmp_path):
    weight = np.random.default_rng(0).standard_normal((5, 3, 3, 3))
    V.plot_filters(weight, tmp_path / "rgb.png")
    picture = matplotlib_image.imread(tmp_path / "rgb.png")
    assert picture.shape[:2] == (28 + 2 * 116, 3 * 96)
    V.plot_filters(weight[:, :2], tmp_path / "slices.png")  # 10 (out, in) slices: 4 x 3, colour bar
    assert matplotlib_image.imread(tmp_path / "slices.png").shape[:2] == (28 + 3 * 116, 4 * 96 + 56)


# -- stages from the traced graph ----------------------------------------------------------------


def test_lenet_stages_from_the_graph(lenet, digits_test):
    _, model = lenet
    tr = V.trace(model, digits_test[0][0])
    assert [(s.level, s.convs, s.name, tuple(s.activation.shape)) for s in tr.stages] == [
        (0, ["features.0"], "features.1", (1, 6, 28, 28)),  # what the first max pool takes: after ReLU
        (1, ["features.3"], "features.4", (1, 16, 10, 10)),
    ]
    # conv 5 (r 5, start 2); pool 2 (r 6, j 2, start 2.5); conv 5 (r 14, start 6.5)
    assert tr.stages[0].field == ((5, 5), (1, 1), (2, 2))
    assert tr.stages[1].field == ((14, 14), (2, 2), (6.5, 6.5))


class Misnamed(nn.Module):
    """Names that lie, and a convolution and a pool called through gradcnn.functional."""

    def __init__(self):
        super().__init__()
        self.pool = nn.Conv2d(1, 4, 3)
        self.conv = nn.MaxPool2d(2)
        self.kernel = nn.Parameter(gradcnn.randn(8, 4, 3, 3) * 0.2)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        x = F.avg_pool2d(F.conv2d(self.conv(F.relu(self.pool(x))), self.kernel), 2)
        return self.head(x.mean((2, 3)))


def test_stages_ignore_names_and_see_functional_calls():
    gradcnn.manual_seed(0)
    model = Misnamed()
    tr = V.trace(model, gradcnn.randn(1, 16, 16))
    assert [(s.level, s.convs, tuple(s.activation.shape)) for s in tr.stages] == [
        (0, ["pool"], (1, 4, 14, 14)), (1, ["functional conv"], (1, 8, 5, 5))]
    # receptive_field sees modules only: the functional 3x3 convolution is missing from its field,
    # and the gradient shows it
    agreement = [agree for _, _, agree in V.stage_fields(tr)]
    assert agreement == ["= box", "OUTSIDE box"]


@pytest.mark.parametrize("name, side, options, channels", [
    ("resnet18", 32, {}, [64, 64, 128, 256, 512]),
    # a transition's 1x1 convolution works at its block's resolution: its output leaves the stage
    ("densenet121", 32, {}, [64, 128, 256, 512, 1024]),
    ("googlenet", 64, {}, [64, 192, 480, 832, 1024]),
    ("lenet5_classic", 32, {"in_channels": 1}, [6, 16, 120]),
])
def test_any_architecture_stages_and_fields_contain_the_gradient(name, side, options, channels):
    gradcnn.manual_seed(0)
    model = gradcnn.create_model(name, num_classes=5, **options)
    c = options.get("in_channels", 3)
    tr = V.trace(model, gradcnn.randn(c, side, side))
    assert [s.activation.shape[1] for s in tr.stages] == channels
    assert [s.level for s in tr.stages] == sorted(s.level for s in tr.stages)
    assert all(agree != "OUTSIDE box" for _, _, agree in V.stage_fields(tr))
    assert V.grad_cam(tr).shape == tuple(tr.stages[-1].activation.shape[2:])


def test_inception_v3_stages_at_its_smallest_input():
    gradcnn.manual_seed(0)
    model = gradcnn.create_model("inception_v3", num_classes=4)
    tr = V.trace(model, gradcnn.randn(3, 75, 75), layer="Mixed_6e")
    stages = [(s.name, len(s.convs), tuple(s.activation.shape[1:])) for s in tr.stages]
    assert stages == [("Conv2d_2b_3x3", 3, (64, 35, 35)), ("Conv2d_4a_3x3", 2, (192, 15, 15)),
                      ("Mixed_5d", 23, (288, 7, 7)), ("Mixed_6e", 46, (768, 3, 3)), ("avgpool", 20, (2048, 1, 1))]
    assert tr.stages[1].field[0] == (23, 23)  # by hand, as in test_inception.py
    assert V.grad_cam(tr).shape == (3, 3)  # on Mixed_6e, as asked
    assert model.training and all(p.requires_grad for p in model.parameters())  # restored


# -- receptive field against gradient support -------------------------------------------------


def _linear_stack(layers, in_shape, classes=3):
    body = nn.Sequential(*layers)
    with gradcnn.no_grad():
        features = body(gradcnn.zeros(1, *in_shape)).numel()
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, classes))


STACKS = {
    "conv-avgpool-strided conv": ([nn.Conv2d(1, 3, 3), nn.AvgPool2d(2), nn.Conv2d(3, 4, 3, stride=2),
                                   nn.AvgPool2d(3, stride=1)], (1, 20, 20)),
    "dilated then plain": ([nn.Conv2d(2, 3, 3, dilation=2), nn.Conv2d(3, 3, 3), nn.AvgPool2d(2, stride=2),
                            nn.Conv2d(3, 2, (5, 3)), nn.AvgPool2d(2)], (2, 23, 21)),
    "overlapping pools": ([nn.Conv2d(1, 2, 5, stride=2), nn.AvgPool2d(3, stride=2), nn.Conv2d(2, 2, 3),
                           nn.AvgPool2d(2)], (1, 41, 41)),
}


@pytest.mark.parametrize("name", list(STACKS))
def test_box_equals_gradient_support_on_plain_stacks(name):
    gradcnn.manual_seed(3)
    layers, shape = STACKS[name]
    model = _linear_stack(layers, shape)
    tr = V.trace(model, gradcnn.randn(*shape))
    assert len(tr.stages) >= 2
    for stage in tr.stages:
        box = V.field_box(stage.field, V.centre_unit(stage))
        (top, bottom), (left, right) = box
        assert 0 <= top and bottom < shape[1] and 0 <= left and right < shape[2]  # no padding effects
        support = V.gradient_support(tr, stage)
        expected = np.zeros(shape[1:], dtype=bool)
        expected[top:bottom + 1, left:right + 1] = True
        np.testing.assert_array_equal(support, expected, err_msg=f"{name}: stage {stage.convs}")


def test_box_by_hand_on_the_first_stack():
    gradcnn.manual_seed(3)
    layers, shape = STACKS["conv-avgpool-strided conv"]
    tr = V.trace(_linear_stack(layers, shape), gradcnn.randn(*shape))
    # conv 3 on 20: 18 units, r 3, start 1; centre unit 8 sees 8..10
    # pool 2: 9 units, r 4, j 2, start 1.5; conv 3 stride 2: 4 units, r 8, j 4, start 3.5;
    # centre unit 1 is centred at 7.5 and sees 4..11
    assert [V.field_box(s.field, V.centre_unit(s)) for s in tr.stages] == [((8, 10), (8, 10)), ((4, 11), (4, 11))]


def test_zero_padding_cuts_the_box_at_the_border():
    gradcnn.manual_seed(0)
    layers = [nn.Conv2d(1, 2, 5, padding=2), nn.AvgPool2d(2), nn.Conv2d(2, 2, 5, padding=2),
              nn.AvgPool2d(2), nn.Conv2d(2, 2, 5, padding=2), nn.AvgPool2d(2)]
    tr = V.trace(_linear_stack(layers, (1, 16, 16)), gradcnn.randn(1, 16, 16))
    *_, (box, support, agree) = V.stage_fields(tr)
    assert box[0][0] < 0 and box[0][1] >= 16  # the last field (r 36) is wider than the image
    assert agree == "= box" and support.all()


# -- Grad-CAM and saliency by hand --------------------------------------------------------------


def _conv2d_valid(x, w, b):
    """Plain loops: x (H, W), w (K, 3, 3), b (K,) -> (K, H - 2, W - 2)."""
    k, kh, kw = w.shape
    h, wd = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((k, h, wd))
    for c in range(k):
        for i in range(h):
            for j in range(wd):
                out[c, i, j] = (x[i:i + kh, j:j + kw] * w[c]).sum() + b[c]
    return out


def test_grad_cam_matches_a_hand_computation():
    # conv -> ReLU -> global average pool -> linear: d score_c / d A_k = W[c, k] / (h w), so
    # Grad-CAM is relu(sum_k W[c, k] A_k) / (h w), the class activation map of Zhou et al.
    rng = np.random.default_rng(0)
    conv_w, conv_b = rng.standard_normal((2, 3, 3)), np.array([0.1, -0.2])
    fc_w, fc_b = rng.standard_normal((3, 2)), np.array([0.0, 0.5, -0.5])
    x = rng.standard_normal((6, 7))
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    with gradcnn.no_grad():
        model[0].weight.copy_(gradcnn.tensor(conv_w[:, None].astype(np.float32)))
        model[0].bias.copy_(gradcnn.tensor(conv_b.astype(np.float32)))
        model[4].weight.copy_(gradcnn.tensor(fc_w.astype(np.float32)))
        model[4].bias.copy_(gradcnn.tensor(fc_b.astype(np.float32)))
    a = np.maximum(_conv2d_valid(x, conv_w, conv_b), 0)  # (2, 4, 5)
    logits = fc_w @ a.mean((1, 2)) + fc_b
    tr = V.trace(model, x[None].astype(np.float32))
    assert tr.stages[-1].name == "1" and tr.predicted == logits.argmax()
    for c in range(3):
        expected = np.maximum(np.tensordot(fc_w[c], a, axes=1), 0) / a[0].size
        np.testing.assert_allclose(V.grad_cam(tr, target=c), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(V.grad_cam(tr), V.grad_cam(tr, target=int(logits.argmax())))


def test_saliency_of_a_linear_model_is_its_weights():
    gradcnn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 1, 1, bias=False), nn.Flatten(), nn.Linear(12, 4))
    tr = V.trace(model, gradcnn.randn(2, 3, 4))
    w = model[2].weight.detach().numpy().reshape(4, 3, 4)
    mix = np.abs(model[0].weight.detach().numpy().reshape(2))
    for c in range(4):
        np.testing.assert_allclose(V.saliency(tr, c), np.abs(w[c]) * mix.max(), rtol=1e-6)
    with pytest.raises(ShapeError, match="target class 4 is outside the model's 4 classes"):
        V.saliency(tr, 4)


# -- arguments, state, dependencies -------------------------------------------------------------


def test_layer_names_and_shapes_are_checked(lenet, digits_test):
    _, model = lenet
    image = digits_test[0][0]
    with pytest.raises(UnknownNameError, match="no module named 'feature.3'; did you mean 'features.3'"):
        V.trace(model, image, layer="feature.3")
    with pytest.raises(ShapeError, match=r"layer 'classifier.0' returns shape \(1, 120\)"):
        V.trace(model, image, layer="classifier.0")
    with pytest.raises(ShapeError, match=r"image must be \(C, H, W\) or \(1, C, H, W\), got shape \(2, 1, 32, 32\)"):
        V.trace(model, gradcnn.zeros(2, 1, 32, 32))
    with pytest.raises(ShapeError, match="made no 2-D convolution call"):
        V.trace(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), gradcnn.zeros(1, 2, 2))


def test_trace_restores_the_model():
    gradcnn.manual_seed(0)
    model = gradcnn.create_model("lenet5")
    model.classifier.requires_grad_(False)
    V.trace(model, gradcnn.zeros(1, 32, 32), layer="features")
    assert model.training and all(m.training for m in model.modules())
    assert all(p.requires_grad for p in model.features.parameters())
    assert not any(p.requires_grad for p in model.classifier.parameters())
    assert not any("forward" in m.__dict__ for m in model.modules())
    assert all(p.grad is None for p in model.parameters())


def test_importing_needs_no_matplotlib_and_drawing_says_how_to_get_it(monkeypatch):
    code = "import sys, gradcnn.visualize; assert 'matplotlib' not in sys.modules, 'imported eagerly'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    for module in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.patches"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match="needs matplotlib, which is not installed: pip install matplotlib"):
        V.plot_filters(np.ones((1, 1, 3, 3)))


# -- the command --------------------------------------------------------------------------------


def test_visualize_command(lenet, tmp_path, capsys):
    from safetensors.numpy import save_file

    _, model = lenet
    weights = tmp_path / "model.safetensors"
    save(model.state_dict(), weights, metadata={"architecture": "lenet5", "num_classes": 10, "in_channels": 1})
    out = tmp_path / "pictures"
    argv = ["visualize", "lenet5", "--weights", str(weights), "--dataset", "digits", "--index", "5",
            "--layer", "features.3", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "digits test[5]: label" in printed and "stage 2: 1 conv, output of features.4 16x10x10" in printed
    assert "receptive field 14x14, gradient support inside box" in printed
    sizes = {p.name: matplotlib_image.imread(p).shape[:2] for p in out.glob("*.png")}
    assert sizes["feature_maps.png"] == (28 + 3 * 132, 896) and sizes["saliency.png"] == (272, 672)
    assert len(sizes) == 4

    plain = tmp_path / "plain.safetensors"  # any safetensors state dict, without gradcnn's metadata
    save_file({k: np.ascontiguousarray(v.numpy()) for k, v in model.state_dict().items()}, str(plain))
    assert main(["visualize", "lenet5", "--weights", str(plain), "--out", str(tmp_path / "p")]) == 0
    capsys.readouterr()

    assert main(["visualize", "resnet18", "--weights", str(weights), "--out", str(out)]) == 1
    assert "holds weights of 'lenet5', not 'resnet18'" in capsys.readouterr().err
    assert main(["visualize", "lenet5", "--weights", str(weights), "--index", "359", "--out", str(out)]) == 1
    assert "--index 359 is outside the 359 images of digits's test split" in capsys.readouterr().err
    assert main(["visualize", "lenet5", "--layer", "feature.3", "--out", str(out)]) == 1
    assert "did you mean 'features.3'" in capsys.readouterr().err
    assert main(["visualize", "inception_v3", "--out", str(out)]) == 1  # needs 75x75 at least
    assert "the dataset's images are 32x32; --size N makes them N x N" in capsys.readouterr().err


def test_sizes_follow_the_formulas_for_many_kernels(tmp_path):
    for n in (1, 7, 100):
        V.plot_filters(np.ones((n, 1, 3, 3)), tmp_path / "f.png")
        shown = min(n, 64)
        cols = math.ceil(math.sqrt(shown))
        rows = math.ceil(shown / cols)
        assert matplotlib_image.imread(tmp_path / "f.png").shape[:2] == (28 + rows * 116, cols * 96 + 56)
