"""Inception v3 (gradcnn/architectures/inception.py): torchvision's state_dict keys, shapes and
parameter counts against a table written from torchvision's ``Inception3``; forward and backward
at the smallest input (75x75); the auxiliary head and ``InceptionOutputs``; ``transform_input``;
``summary`` and ``receptive_field``; weights converted by ``examples/convert_torchvision.py``.

Cost on 2 cores: each build of the 27M-parameter model takes about 1 s; a training pass at 299x299
(the only size at which the auxiliary head runs inside the network) takes about 17 s, so the head
is tested on its own 17x17 input and its wiring with a stand-in. The module runs in about 15 s.
"""

import math
import pathlib
import sys

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
from gradcnn import nn
from gradcnn.architectures import inception
from gradcnn.errors import ShapeError
from gradcnn.io import load_metadata

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import convert_torchvision  # noqa: E402

sys.path.pop(0)


# -- torchvision's structure, transcribed from torchvision/models/inception.py ------------------
# Every convolution is a BasicConv2d: conv (no bias) + batch norm. (name, in, out, kh, kw).

def _block_a(name, c_in, pool):
    return [(f"{name}.branch1x1", c_in, 64, 1, 1), (f"{name}.branch5x5_1", c_in, 48, 1, 1),
            (f"{name}.branch5x5_2", 48, 64, 5, 5), (f"{name}.branch3x3dbl_1", c_in, 64, 1, 1),
            (f"{name}.branch3x3dbl_2", 64, 96, 3, 3), (f"{name}.branch3x3dbl_3", 96, 96, 3, 3),
            (f"{name}.branch_pool", c_in, pool, 1, 1)]


def _block_b(name, c_in):
    return [(f"{name}.branch3x3", c_in, 384, 3, 3), (f"{name}.branch3x3dbl_1", c_in, 64, 1, 1),
            (f"{name}.branch3x3dbl_2", 64, 96, 3, 3), (f"{name}.branch3x3dbl_3", 96, 96, 3, 3)]


def _block_c(name, c_in, c7):
    return [(f"{name}.branch1x1", c_in, 192, 1, 1), (f"{name}.branch7x7_1", c_in, c7, 1, 1),
            (f"{name}.branch7x7_2", c7, c7, 1, 7), (f"{name}.branch7x7_3", c7, 192, 7, 1),
            (f"{name}.branch7x7dbl_1", c_in, c7, 1, 1), (f"{name}.branch7x7dbl_2", c7, c7, 7, 1),
            (f"{name}.branch7x7dbl_3", c7, c7, 1, 7), (f"{name}.branch7x7dbl_4", c7, c7, 7, 1),
            (f"{name}.branch7x7dbl_5", c7, 192, 1, 7), (f"{name}.branch_pool", c_in, 192, 1, 1)]


def _block_d(name, c_in):
    return [(f"{name}.branch3x3_1", c_in, 192, 1, 1), (f"{name}.branch3x3_2", 192, 320, 3, 3),
            (f"{name}.branch7x7x3_1", c_in, 192, 1, 1), (f"{name}.branch7x7x3_2", 192, 192, 1, 7),
            (f"{name}.branch7x7x3_3", 192, 192, 7, 1), (f"{name}.branch7x7x3_4", 192, 192, 3, 3)]


def _block_e(name, c_in):
    return [(f"{name}.branch1x1", c_in, 320, 1, 1), (f"{name}.branch3x3_1", c_in, 384, 1, 1),
            (f"{name}.branch3x3_2a", 384, 384, 1, 3), (f"{name}.branch3x3_2b", 384, 384, 3, 1),
            (f"{name}.branch3x3dbl_1", c_in, 448, 1, 1), (f"{name}.branch3x3dbl_2", 448, 384, 3, 3),
            (f"{name}.branch3x3dbl_3a", 384, 384, 1, 3), (f"{name}.branch3x3dbl_3b", 384, 384, 3, 1),
            (f"{name}.branch_pool", c_in, 192, 1, 1)]


def torchvision_state(aux_logits=True, num_classes=1000):
    """``[(key, shape, is_parameter)]`` of torchvision's ``inception_v3(aux_logits=...)``, in order."""
    convs = [("Conv2d_1a_3x3", 3, 32, 3, 3), ("Conv2d_2a_3x3", 32, 32, 3, 3), ("Conv2d_2b_3x3", 32, 64, 3, 3),
             ("Conv2d_3b_1x1", 64, 80, 1, 1), ("Conv2d_4a_3x3", 80, 192, 3, 3),
             *_block_a("Mixed_5b", 192, 32), *_block_a("Mixed_5c", 256, 64), *_block_a("Mixed_5d", 288, 64),
             *_block_b("Mixed_6a", 288),
             *_block_c("Mixed_6b", 768, 128), *_block_c("Mixed_6c", 768, 160),
             *_block_c("Mixed_6d", 768, 160), *_block_c("Mixed_6e", 768, 192)]
    tail = [*_block_d("Mixed_7a", 768), *_block_e("Mixed_7b", 1280), *_block_e("Mixed_7c", 2048)]
    entries = []

    def basic(name, c_in, c_out, kh, kw):
        entries.append((f"{name}.conv.weight", (c_out, c_in, kh, kw), True))
        entries.append((f"{name}.bn.weight", (c_out,), True))
        entries.append((f"{name}.bn.bias", (c_out,), True))
        entries.append((f"{name}.bn.running_mean", (c_out,), False))
        entries.append((f"{name}.bn.running_var", (c_out,), False))
        entries.append((f"{name}.bn.num_batches_tracked", (), False))

    for conv in convs:
        basic(*conv)
    if aux_logits:  # AuxLogits is registered after Mixed_6e, before Mixed_7a
        basic("AuxLogits.conv0", 768, 128, 1, 1)
        basic("AuxLogits.conv1", 128, 768, 5, 5)
        entries += [("AuxLogits.fc.weight", (num_classes, 768), True), ("AuxLogits.fc.bias", (num_classes,), True)]
    for conv in tail:
        basic(*conv)
    entries += [("fc.weight", (num_classes, 2048), True), ("fc.bias", (num_classes,), True)]
    return entries


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def image(n, c, side, seed=0):
    return gradcnn.tensor(np.random.default_rng(seed).standard_normal((n, c, side, side)).astype(np.float32))


def test_parameter_counts_computed_from_torchvisions_structure():
    table = torchvision_state()
    with_aux = sum(math.prod(shape) for _, shape, param in table if param)
    without = sum(math.prod(shape) for _, shape, param in torchvision_state(aux_logits=False) if param)
    assert with_aux == 27_161_264  # torchvision's published count for inception_v3
    # the head: conv0 768*128 + bn 2*128, conv1 128*768*25 + bn 2*768, fc 768*1000 + 1000
    assert with_aux - without == (98_304 + 256) + (2_457_600 + 1_536) + 769_000 == 3_326_696
    assert without == 23_834_568
    gradcnn.manual_seed(0)
    assert n_params(inception.inception_v3()) == with_aux
    assert n_params(inception.inception_v3(aux_logits=False, init_weights=False)) == without


@pytest.mark.parametrize("aux_logits", [True, False])
def test_state_dict_keys_and_shapes_are_torchvisions_in_order(aux_logits):
    ours = inception.inception_v3(num_classes=10, aux_logits=aux_logits, init_weights=False).state_dict()
    theirs = torchvision_state(aux_logits, num_classes=10)
    assert list(ours) == [key for key, _, _ in theirs]
    assert [tuple(v.shape) for v in ours.values()] == [shape for _, shape, _ in theirs]


def test_module_structure_names_match_torchvision():
    model = inception.inception_v3(init_weights=False)
    names = [name for name, _ in model.named_children()]
    assert names == ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
                     "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
                     "Mixed_6c", "Mixed_6d", "Mixed_6e", "AuxLogits", "Mixed_7a", "Mixed_7b", "Mixed_7c",
                     "avgpool", "dropout", "fc"]
    block = model.Mixed_5b.branch5x5_2
    assert isinstance(block.conv, nn.Conv2d) and block.conv.bias is None
    assert block.conv.kernel_size == (5, 5) and block.conv.padding == (2, 2)
    assert block.bn.eps == 0.001
    assert model.Mixed_6b.branch7x7_2.conv.kernel_size == (1, 7)
    assert model.Mixed_6b.branch7x7_2.conv.padding == (0, 3)
    assert model.Mixed_7a.branch7x7x3_4.conv.stride == (2, 2)
    assert model.dropout.p == 0.5


def test_forward_backward_at_the_smallest_input_and_eval_logits():
    gradcnn.manual_seed(0)
    model = inception.inception_v3(num_classes=4, aux_logits=False, in_channels=1)
    x = image(2, 1, 75)
    out = model(x)  # training mode, no head: plain logits
    assert isinstance(out, gradcnn.Tensor) and out.shape == (2, 4)
    F.cross_entropy(out, gradcnn.tensor(np.array([0, 3]))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, missing[:5]
    assert all(np.isfinite(p.grad._data).all() for p in model.parameters())
    with gradcnn.no_grad():
        logits = model.eval()(x)
    assert logits.shape == (2, 4) and np.isfinite(logits._data).all()


def test_inputs_below_75_are_refused_with_the_reason():
    model = inception.inception_v3(aux_logits=False, init_weights=False).eval()
    with pytest.raises(ShapeError, match=r"H, W >= 75.*\(1, 3, 74, 80\)"):
        model(image(1, 3, 80)[:, :, :74])


def test_auxiliary_head_on_its_17x17_input():
    gradcnn.manual_seed(0)
    head = inception.InceptionAux(768, 6)
    x = image(2, 768, 17)
    x.requires_grad_()
    out = head(x)
    assert out.shape == (2, 6)
    out.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in head.parameters())
    with pytest.raises(ShapeError, match="at least 17x17"):
        head(image(2, 768, 16))


def test_training_with_aux_logits_returns_inception_outputs_eval_returns_logits(monkeypatch):
    gradcnn.manual_seed(0)
    model = inception.inception_v3(num_classes=3, init_weights=False)
    seen = []

    class StandIn(nn.Module):  # the real head needs Mixed_6e at 17x17, i.e. a 299x299 input
        def forward(self, x):
            seen.append(tuple(x.shape))
            return F.adaptive_avg_pool2d(x, 1).flatten(1)[:, :3]

    model.AuxLogits = StandIn()
    out = model(image(2, 3, 75))
    assert isinstance(out, inception.InceptionOutputs)
    assert out._fields == ("logits", "aux_logits")
    assert out.logits.shape == (2, 3) and out.aux_logits.shape == (2, 3)
    assert seen == [(2, 768, 3, 3)]  # the head reads Mixed_6e
    with gradcnn.no_grad():
        logits = model.eval()(image(2, 3, 75))
    assert isinstance(logits, gradcnn.Tensor) and logits.shape == (2, 3)
    assert len(seen) == 1  # not run in eval mode


def test_transform_input_is_torchvisions_renormalisation():
    gradcnn.manual_seed(0)
    plain = inception.inception_v3(num_classes=5, aux_logits=False).eval()
    gradcnn.manual_seed(0)
    moved = inception.inception_v3(num_classes=5, aux_logits=False, transform_input=True).eval()
    x = image(1, 3, 75, seed=4)
    a = x.numpy()
    expected = np.concatenate([a[:, c:c + 1] * (s / 0.5) + (m - 0.5) / 0.5 for c, (m, s) in
                               enumerate(zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))], 1)
    with gradcnn.no_grad():
        np.testing.assert_allclose(moved(x).numpy(), plain(gradcnn.tensor(expected)).numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ShapeError, match="in_channels is 1"):
        inception.inception_v3(transform_input=True, in_channels=1)


def test_initialisation_follows_torchvision():
    gradcnn.manual_seed(0)
    model = inception.inception_v3()
    w = model.Mixed_7c.branch3x3dbl_2.conv.weight._data  # 384 x 448 x 3 x 3: std 0.1
    assert abs(w.std() - 0.1) < 0.002 and abs(w.mean()) < 0.002
    assert abs(model.AuxLogits.conv1.conv.weight._data.std() - 0.01) < 0.0005
    assert abs(model.AuxLogits.fc.weight._data.std() - 0.001) < 0.0001
    assert abs(model.fc.weight._data.std() - 0.1) < 0.002
    bn = model.Mixed_6b.branch1x1.bn
    assert (bn.weight._data == 1).all() and (bn.bias._data == 0).all()
    default = inception.inception_v3(init_weights=False)  # the layers' own (kaiming uniform) init
    bound = 1 / math.sqrt(448 * 9)
    assert np.abs(default.Mixed_7c.branch3x3dbl_2.conv.weight._data).max() <= bound


def test_summary_and_receptive_field_at_75():
    model = gradcnn.create_model("inception_v3", num_classes=10)
    table = gradcnn.summary(model, (3, 75, 75))
    assert table.total_params == n_params(model)
    assert table.records[-1].name == "fc" and table.records[-1].output_shape == (10,)
    records, field = gradcnn.receptive_field(model, (3, 75, 75))
    by_name = {r.name: r for r in records}
    # By hand: 3x3 s2 (r 3, j 2), 3x3 (7), 3x3 p1 (11), pool 3 s2 (15, j 4), 1x1, 3x3 (23), pool 3 s2 (31, j 8).
    assert by_name["Conv2d_2b_3x3.conv"].rf == (11, 11)
    assert by_name["maxpool1"].rf == (15, 15) and by_name["maxpool1"].jump == (4, 4)
    assert by_name["Conv2d_4a_3x3.conv"].rf == (23, 23)
    assert by_name["maxpool2"].rf == (31, 31) and by_name["maxpool2"].jump == (8, 8)
    assert by_name["maxpool2"].output_shape == (192, 7, 7)
    assert by_name["Mixed_7c.branch_pool.conv"].output_shape == (192, 1, 1)
    assert min(field) > 1000  # far beyond the input, as at 299


def test_registered_as_a_builtin():
    assert "inception_v3" in gradcnn.list_models()
    owners = {r.name: r for r in gradcnn.plugin_report()}
    assert owners["gradcnn.default_plugins.architectures_inception"].registered["architectures"] == ["inception_v3"]


# -- converting torchvision weights -------------------------------------------------------------


def _torchvision_arrays(num_classes, seed=0, counters=True):
    """A state dict with torchvision's names and shapes and random values, as a .pth would hold."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for key, shape, _ in torchvision_state(num_classes=num_classes):
        if key.endswith("num_batches_tracked"):
            if counters:
                arrays[key] = np.array(7, dtype=np.int64)
        elif key.endswith("running_var"):
            arrays[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            arrays[key] = (0.05 * rng.standard_normal(shape)).astype(np.float32)
    return arrays


def test_converter_loads_torchvision_names_one_to_one():
    arrays = _torchvision_arrays(10)
    model = convert_torchvision.convert("inception_v3", arrays, num_classes=10)
    state = model.state_dict()
    assert list(state) == list(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(state[key].numpy(), value, err_msg=key)
    with gradcnn.no_grad():
        assert np.isfinite(model.eval()(image(1, 3, 75)).numpy()).all()


def test_converter_fills_counters_missing_from_old_checkpoints_and_refuses_other_gaps():
    arrays = _torchvision_arrays(10, counters=False)  # saved before PyTorch 0.4.1, like torchvision's file
    model = convert_torchvision.convert("inception_v3", arrays, num_classes=10)
    assert int(model.Mixed_6e.branch_pool.bn.num_batches_tracked.item()) == 0
    assert "Mixed_6e.branch_pool.bn.num_batches_tracked" not in arrays  # the caller's dict is untouched
    del arrays["Mixed_5b.branch5x5_2.bn.running_mean"]
    with pytest.raises(nn.StateDictError, match="Mixed_5b.branch5x5_2.bn.running_mean"):
        convert_torchvision.convert("inception_v3", arrays, num_classes=10)


def test_converter_command_writes_a_checkpoint_with_torchvisions_options(tmp_path):
    torch = pytest.importorskip("torch")  # the script reads .pth files with torch
    arrays = _torchvision_arrays(10, seed=1, counters=False)
    pth = tmp_path / "inception_v3.pth"
    torch.save({k: torch.from_numpy(v) for k, v in arrays.items()}, pth)
    out = tmp_path / "inception_v3.safetensors"
    assert convert_torchvision.main(["inception_v3", str(pth), str(out), "--num-classes", "10"]) == 0
    meta = load_metadata(out)
    assert meta == {"architecture": "inception_v3", "num_classes": 10, "in_channels": 3,
                    "config": {"transform_input": True}}
    loaded = gradcnn.load(out)
    assert loaded["AuxLogits.fc.weight"].shape == (10, 768)
    np.testing.assert_array_equal(loaded["Mixed_7c.branch_pool.conv.weight"].numpy(),
                                  arrays["Mixed_7c.branch_pool.conv.weight"])
    model = gradcnn.create_model("inception_v3", num_classes=10, **meta["config"])
    model.load_state_dict(loaded)
    assert model.transform_input
