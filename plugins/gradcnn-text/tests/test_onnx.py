"""TextCNN exports to ONNX with gradcnn.onnx: token ids in, logits out, at any batch size."""

import gradcnn
import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="needs gradcnn's onnx extra: pip install 'gradcnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime: pip install 'gradcnn[onnx]'")

from gradcnn.onnx import export  # noqa: E402


@pytest.mark.parametrize("padding_idx", [0, None])
def test_textcnn_exports_and_runs_in_onnxruntime(tmp_path, padding_idx):
    gradcnn.manual_seed(0)
    model = gradcnn.create_model("textcnn", vocab_size=50, num_classes=3, embed_dim=8, num_filters=4,
                                 padding_idx=padding_idx)
    rng = np.random.default_rng(0)
    path = tmp_path / "textcnn.onnx"
    export(model, gradcnn.from_numpy(rng.integers(0, 50, (2, 12))), path)
    onnx.checker.check_model(str(path), full_check=True)
    proto = onnx.load(str(path))
    assert "Gather" in [n.op_type for n in proto.graph.node]  # the embedding is a lookup
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    model.eval()
    for n in (1, 5):
        ids = rng.integers(0, 50, (n, 12))
        with gradcnn.no_grad():
            ref = model(gradcnn.from_numpy(ids)).numpy()
        (got,) = session.run(None, {"input": ids})
        assert got.shape == (n, 3)
        assert float(np.abs(got - ref).max()) <= 1e-4
