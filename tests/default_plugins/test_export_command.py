"""gradcnn/default_plugins/export_command.py: ``gradcnn export MODEL --weights FILE --input CxHxW``."""

import numpy as np
import pytest

import gradcnn
from gradcnn.cli import main
from gradcnn.io import save

onnx = pytest.importorskip("onnx", reason="needs the onnx extra: pip install 'gradcnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime: pip install 'gradcnn[onnx]'")


def _trained(path, num_classes=4, checkpoint=False):
    """Weights as ``gradcnn train`` writes them: its model file, or its training checkpoint."""
    gradcnn.manual_seed(7)
    model = gradcnn.create_model("lenet5", num_classes=num_classes, in_channels=1)
    metadata = {"architecture": "lenet5", "num_classes": num_classes, "in_channels": 1}
    state = {"model": model.state_dict(), "optimizer": {"state": {}}, "epoch": 1} if checkpoint else model.state_dict()
    save(state, str(path), metadata=metadata)
    return model


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("checkpoint", [False, True])
def test_export_writes_the_trained_weights(tmp_path, capsys, checkpoint):
    model = _trained(tmp_path / "w.safetensors", checkpoint=checkpoint)
    out = tmp_path / "lenet.onnx"
    assert main(["export", "lenet5", "--weights", str(tmp_path / "w.safetensors"), "--input", "1x32x32",
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}: lenet5, input (batch, 1, 32, 32) -> output (batch, 4)"
    onnx.checker.check_model(str(out), full_check=True)
    x = np.random.default_rng(0).standard_normal((3, 1, 32, 32)).astype(np.float32)
    with gradcnn.no_grad():
        ref = model.eval()(gradcnn.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)


def test_weights_are_required_unless_random_weights_are_asked_for(tmp_path, capsys):
    assert main(["export", "lenet5", "--input", "1x32x32", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "one of the arguments --weights --random-weights is required" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    out = tmp_path / "r.onnx"
    assert main(["export", "lenet5", "--random-weights", "--input", "3x32x32", "--num-classes", "5",
                 "--opset", "13", "--static-batch", "--out", str(out)]) == 0
    proto = onnx.load(str(out))
    assert proto.opset_import[0].version == 13
    assert _dims(proto.graph.input[0]) == [1, 3, 32, 32]
    assert _dims(proto.graph.output[0]) == [1, 5]


def test_mismatches_are_one_line_errors(tmp_path, capsys):
    _trained(tmp_path / "w.safetensors")
    weights = str(tmp_path / "w.safetensors")
    assert main(["export", "vgg11", "--weights", weights, "--input", "1x32x32"]) == 1
    assert "holds weights of 'lenet5', not 'vgg11'" in capsys.readouterr().err
    assert main(["export", "lenet5", "--weights", weights, "--input", "3x32x32"]) == 1
    assert "--input 3x32x32 has 3 channels but" in capsys.readouterr().err
    assert main(["export", "lenet5", "--weights", weights, "--input", "1x32x32", "--opset", "7",
                 "--out", str(tmp_path / "m.onnx")]) == 1
    assert "opset_version 7 is outside the supported range" in capsys.readouterr().err
    assert main(["export", "lenet5", "--weights", weights, "--input", "1x0x32"]) == 2
    assert main(["export", "lenet5", "--weights", str(tmp_path / "none.safetensors"), "--input", "1x32x32"]) == 1
    assert "no checkpoint at" in capsys.readouterr().err
