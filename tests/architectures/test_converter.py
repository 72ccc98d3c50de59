"""examples/convert_torchvision.py: torchvision-keyed weights load into gradcnn without renaming."""

import pathlib
import sys

import numpy as np
import pytest

import gradcnn

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))
import convert_torchvision  # noqa: E402

sys.path.pop(0)


def _arrays(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_convert_loads_every_key_strictly_and_reproduces_outputs():
    gradcnn.manual_seed(0)
    source = gradcnn.create_model("resnet18", num_classes=5).eval()
    gradcnn.manual_seed(1)
    model = convert_torchvision.convert("resnet18", _arrays(source), num_classes=5).eval()
    x = gradcnn.randn(1, 3, 32, 32)
    with gradcnn.no_grad():
        np.testing.assert_array_equal(model(x).numpy(), source(x).numpy())


def test_convert_refuses_foreign_keys():
    arrays = _arrays(gradcnn.create_model("lenet5"))
    arrays["fc.weight"] = arrays.pop(next(iter(arrays)))
    with pytest.raises(gradcnn.nn.StateDictError, match="unexpected keys"):
        convert_torchvision.convert("lenet5", arrays)


def test_command_line_round_trip_through_a_pth_file(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.numpy import load_file

    source = gradcnn.create_model("lenet5")
    pth = tmp_path / "lenet5.pth"
    torch.save({k: torch.from_numpy(v) for k, v in _arrays(source).items()}, pth)
    out = tmp_path / "lenet5.safetensors"
    assert convert_torchvision.main(["lenet5", str(pth), str(out), "--num-classes", "10"]) == 0
    loaded = load_file(str(out))
    for key, value in _arrays(source).items():
        np.testing.assert_array_equal(loaded[key], value)
