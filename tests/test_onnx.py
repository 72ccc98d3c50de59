"""gradcnn.onnx: every primitive of the table against onnxruntime, the dynamic batch and its
refusals, the trace's side effects (none), names, opsets and errors.

The architectures end to end are in test_onnx_architectures.py. Each check here exports a small
model, runs ``onnx.checker.check_model(full_check=True)`` and compares onnxruntime with gradcnn at
batch sizes other than the traced one.
"""

import io
import sys

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import gradcnn
import gradcnn.functional as F
from gradcnn import nn
from gradcnn.errors import DTypeError, ExportError, ShapeError

onnx = pytest.importorskip("onnx", reason="needs the onnx extra: pip install 'gradcnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime: pip install 'gradcnn[onnx]'")

from gradcnn.onnx import MAX_DEFAULT_OPSET, MIN_OPSET, default_opset, export  # noqa: E402


class Fn(nn.Module):
    """A module around a function of its input(s), for exporting single ops."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *inputs):
        return self.fn(*inputs)


def _proto(model, example, **kwargs):
    buffer = io.BytesIO()
    export(model, example, buffer, **kwargs)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def _agree(model, proto, *inputs, atol=1e-5):
    """onnxruntime's outputs equal gradcnn's for ``inputs`` (NumPy arrays, one per graph input)."""
    model.eval()
    with gradcnn.no_grad():
        ref = model(*[gradcnn.from_numpy(x) for x in inputs])
    refs = ref if isinstance(ref, (tuple, list)) else (ref,)
    sess = _session(proto)
    got = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})
    assert len(got) == len(refs)
    for g, r in zip(got, refs):
        assert g.shape == r.shape and g.dtype == r.dtype
        np.testing.assert_allclose(g, r.numpy(), rtol=1e-5, atol=atol)


def _randn(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(fn_or_model, *shape, batches=(1, 3), atol=1e-5, **kwargs):
    """Export at batch 2, then compare at each of ``batches``; returns the ModelProto."""
    model = fn_or_model if isinstance(fn_or_model, nn.Module) else Fn(fn_or_model)
    proto = _proto(model, gradcnn.from_numpy(_randn(2, *shape)), **kwargs)
    for i, n in enumerate(batches):
        _agree(model, proto, _randn(n, *shape, seed=i + 1), atol=atol)
    return proto


def ops(proto):
    return [n.op_type for n in proto.graph.node]


# -- pools ----------------------------------------------------------------------------------------


@st.composite
def pool_configs(draw, average):
    k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    d = (1, 1) if average else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    hw = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    extra = {"ceil_mode": draw(st.booleans())}
    if average:
        extra["count_include_pad"] = draw(st.booleans())
        extra["divisor_override"] = draw(st.sampled_from([None, None, 1, 3]))
    else:
        extra["dilation"] = d
    return hw, dict(kernel_size=k, stride=s, padding=p, **extra)


def _pool_check(fn, hw, config):
    try:
        fn(gradcnn.zeros(1, 2, *hw), **config)
    except ShapeError:  # a window larger than the padded input: rejected by gradcnn itself
        assume(False)
    try:
        check(lambda x: fn(x, **config), 2, *hw)
    except ExportError as exc:  # -inf there: ONNX's MaxPool has no such window; refused by name
        assume("wholly in the padding" not in str(exc))
        raise


@given(pool_configs(average=False))
def test_max_pool2d_matches_for_any_window(case):
    _pool_check(F.max_pool2d, *case)


@given(pool_configs(average=True))
def test_avg_pool2d_matches_with_any_divisor(case):
    _pool_check(F.avg_pool2d, *case)


@pytest.mark.parametrize("fn, shape, size", [
    (F.adaptive_avg_pool2d, (3, 1, 1), (7, 7)),  # VGG's classifier input at 32x32: a 1x1 map repeated
    (F.adaptive_avg_pool2d, (3, 7, 9), (3, 5)),  # windows of uneven sizes: no ONNX pool has them
    (F.adaptive_avg_pool2d, (3, 5, 4), 1),       # global average
    (F.adaptive_max_pool2d, (3, 7, 9), (3, 5)),
    (F.adaptive_max_pool2d, (3, 6, 6), (2, 3)),
    (F.adaptive_max_pool1d, (3, 11), 1),         # TextCNN's max over time
    (F.adaptive_avg_pool1d, (3, 10), 4),
])
def test_adaptive_pools(fn, shape, size):
    check(lambda x: fn(x, size), *shape)


def test_pools_with_regular_windows_become_onnx_pools():
    assert ops(check(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), 2, 9, 9)) == ["MaxPool"]
    assert ops(check(lambda x: F.avg_pool2d(x, 2), 2, 8, 8)) == ["AveragePool"]
    assert ops(check(lambda x: F.adaptive_avg_pool2d(x, (2, 2)), 2, 8, 8)) == ["AveragePool"]
    # PyTorch's divisor at the cut last window (count_include_pad with ceil_mode): a constant factor
    assert ops(check(lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), 2, 6, 6)) == ["AveragePool", "Mul"]


def test_one_dimensional_pools():
    check(lambda x: F.max_pool1d(x, 3, 2, 1, dilation=2, ceil_mode=True), 3, 12)
    check(lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), 3, 12)


# -- convolutions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [
    dict(stride=2, padding=1),
    dict(padding="same", dilation=2),
    dict(stride=2, padding="same"),   # gradcnn's "same" at stride 2: the extra pad goes at the end
    dict(groups=2, padding="full"),
])
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d(config, bias):
    conv = nn.Conv2d(4, 6, 3, bias=bias, **config)
    assert ops(check(conv, 4, 9, 8)) == ["Conv"]


def test_conv1d_runs_as_two_dimensional():
    check(nn.Conv1d(3, 5, 4, stride=2, padding=2), 3, 17)


@pytest.mark.parametrize("config", [
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=3, dilation=2, groups=2),
    dict(stride=1, padding=2),
])
def test_conv_transpose2d(config):
    proto = check(nn.ConvTranspose2d(4, 6, 3, **config), 4, 5, 6)
    assert "ConvTranspose" in ops(proto)


def test_conv_transpose1d():
    check(nn.ConvTranspose1d(3, 2, 4, stride=2, padding=1), 3, 7)


# -- elementwise, activations, reductions, shapes -------------------------------------------------


UNARY = {
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
    "elu": lambda x: F.elu(x, 0.7),
    "rrelu_eval": lambda x: F.rrelu(x, training=False),
    "softmax": lambda x: F.softmax(x, dim=1),
    "log_softmax": lambda x: F.log_softmax(x, dim=-1),
    "clamp": lambda x: x.clamp(-0.5, 0.75),
    "clamp_min": lambda x: x.clamp(min=0.1),
    "exp_log_sqrt": lambda x: (x.abs() + 1).log() + x.exp() + x.abs().sqrt(),
    "log1p": lambda x: x.abs().log1p(),
    "pow": lambda x: x**2 + 2.0**x,
    "max_min": lambda x: gradcnn.maximum(x, gradcnn.tensor(0.25)) + gradcnn.minimum(x, gradcnn.tensor(-0.25)),
    "arithmetic": lambda x: (1 - x) / 3 + (-x) * 0.5,
    "reductions": lambda x: x.mean((1, 2), keepdim=True) + x.amax(-1, keepdim=True) - x.amin(1, keepdim=True),
    "var_std": lambda x: x.var(1) + x.std(1),
    "logsumexp": lambda x: gradcnn.logsumexp(x, 2),
    "sum_all": lambda x: x.sum(),
    "casts": lambda x: x.double().exp().float() + x.half().float(),
    "permute": lambda x: x.permute(0, 2, 1).transpose(1, 2) * x,
    "flatten_unsqueeze": lambda x: x.flatten(1).unsqueeze(1).squeeze(1),
    "expand": lambda x: x[:, :1].expand(-1, 4, 5) + x,
    "getitem": lambda x: x[:, 1:3, ::2] + x[:, -1:, 0::2] * x[:, None, 0, :3] + x[:, 1:4:2, 0::2].flip((1, 2))
                         + x[:, 1::2].flip((1, 2))[:, :2, :3],
    "getitem_batch": lambda x: x[1:] - x[:-1],
    "getitem_ellipsis": lambda x: x[..., 2] + x[0, ..., 1],
    "cat": lambda x: gradcnn.cat([x, -x], 2).sum(2) + gradcnn.cat([x[:, :1], x[:, 1:] * 2], 1).sum(2),
    "pad": lambda x: F.pad(x, (1, 2, 0, 3), value=0.5),
    "clone": lambda x: x.clone() + 1,
    "stack_split": lambda x: gradcnn.stack(gradcnn.split(x, 2, 1)[:2], 1).flatten(1, 2),
    "lrn": lambda x: F.local_response_norm(x.unsqueeze(-1), 3),
    "dropout_eval": lambda x: F.dropout(x, 0.5, training=False),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_elementwise_and_shape_ops(name):
    check(UNARY[name], 4, 5)


def test_modules_with_parameters_and_buffers():
    model = nn.Sequential(nn.Linear(5, 7), nn.PReLU(4), nn.BatchNorm1d(4), nn.Linear(7, 3))
    model[2].running_mean.copy_(gradcnn.randn(4))
    model[2].running_var.copy_(gradcnn.rand(4) + 0.5)
    proto = check(model, 4, 5)
    names = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "3.weight"} <= names  # parameters keep their state_dict names
    check(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ELU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 2)),
          3, 6, 6)


def test_linear_on_two_dimensional_input_is_one_gemm():
    assert ops(check(nn.Linear(6, 3), 6)) == ["Gemm"]


def test_matmul_with_a_parameter():
    w = nn.Parameter(_randn(5, 3))
    check(lambda x: x @ w + gradcnn.matmul(x, w.detach()), 4, 5)


def test_an_embedding_lookup_with_one_dimensional_convolutions():
    class Tiny(nn.Module):  # TextCNN's path: integer ids, Gather, conv1d, max over time
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(20, 6, padding_idx=0)
            self.conv = nn.Conv1d(6, 4, 3)
            self.fc = nn.Linear(4, 2)

        def forward(self, ids):
            x = self.embedding(ids).transpose(1, 2)
            return self.fc(F.adaptive_max_pool1d(F.relu(self.conv(x)), 1).flatten(1))

    model = Tiny()
    ids = np.random.default_rng(0).integers(0, 20, (2, 9))
    proto = _proto(model, gradcnn.from_numpy(ids))
    assert "Gather" in ops(proto)
    for n in (1, 4):
        _agree(model, proto, np.random.default_rng(n).integers(0, 20, (n, 9)))


# -- the dynamic batch ----------------------------------------------------------------------------


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_the_batch_dim_is_symbolic_unless_asked_otherwise():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    proto = check(model, 1, 6, 6)
    assert _dims(proto.graph.input[0]) == ["batch", 1, 6, 6]
    assert _dims(proto.graph.output[0]) == ["batch", 3]
    fixed = _proto(model, gradcnn.randn(2, 1, 6, 6), dynamic_batch=False)
    assert _dims(fixed.graph.input[0]) == [2, 1, 6, 6]
    assert _dims(fixed.graph.output[0]) == [2, 3]
    _agree(model, fixed, _randn(2, 1, 6, 6))


def test_a_value_computed_outside_the_traced_ops_is_refused_not_frozen():
    model = Fn(lambda x: x * (x > 0).float())  # the comparison makes no node
    with pytest.raises(ExportError, match="dynamic_batch=False"):
        _proto(model, gradcnn.randn(2, 3))
    _proto(model, gradcnn.randn(2, 3), dynamic_batch=False)  # frozen, as asked


def test_a_number_that_follows_the_batch_is_refused():
    model = Fn(lambda x: x / x.shape[0])
    with pytest.raises(ExportError, match=r"argument 1 depends on the batch size .*\(2 at batch 2, 3 at batch 3\)"):
        _proto(model, gradcnn.randn(2, 3))


def test_batch_statistics_in_eval_mode_follow_the_batch_and_are_refused():
    bn = nn.BatchNorm1d(3, track_running_stats=False)
    with pytest.raises(ExportError, match="BatchNorm1d"):
        _proto(bn, gradcnn.randn(4, 3))


def test_a_constant_expanded_to_the_batch_size_is_refused():
    model = Fn(lambda x: gradcnn.cat([x, gradcnn.ones(1, 2).expand(x.shape[0], -1)], 1))
    with pytest.raises(ExportError, match="Expand"):
        _proto(model, gradcnn.randn(2, 3))


def test_a_model_that_only_runs_at_the_traced_batch_size_is_explained():
    model = Fn(lambda x: x.reshape(2, -1))
    with pytest.raises(ExportError, match=r"second pass at batch 3.*dynamic_batch=False") as info:
        _proto(model, gradcnn.randn(2, 3))
    assert isinstance(info.value.__cause__, ShapeError)
    _proto(model, gradcnn.randn(2, 3), dynamic_batch=False)


def test_a_reshape_that_mixes_the_batch_into_two_dims_is_refused():
    model = Fn(lambda x: (x.unsqueeze(0) + x.unsqueeze(1)).unsqueeze(-1))  # (N, N, C) to (N, N, C, 1)
    with pytest.raises(ExportError, match="ONNX's Reshape can infer only one"):
        _proto(model, gradcnn.randn(2, 4))


def test_a_where_whose_condition_cannot_be_rebuilt_is_refused():
    model = Fn(lambda x: gradcnn.where(x > 0.5, x, 0.0))
    with pytest.raises(ExportError, match="condition"):
        _proto(model, gradcnn.randn(3, 4))


def test_prelu_and_elu_rebuild_their_conditions():
    assert "Greater" in ops(check(nn.PReLU(), 6))
    assert "Greater" in ops(check(nn.ELU(), 6))


def test_logsumexp_rebuilds_its_finite_test_and_log_softmax_is_one_node():
    assert {"IsInf", "IsNaN", "Where"} <= set(ops(check(lambda x: gradcnn.logsumexp(x, 1), 5)))
    assert "LogSoftmax" in ops(check(lambda x: F.log_softmax(x, 1), 5))


# -- errors name the op and the layer -------------------------------------------------------------


class Poke(nn.Module):
    def forward(self, x):
        y = x.clone()
        y[:, 0] = 0.0  # IndexPut: no mapping
        return y


def test_an_op_without_mapping_names_itself_and_its_layer():
    model = nn.Sequential(nn.Linear(3, 3), nn.Sequential(nn.ReLU(), Poke()))
    with pytest.raises(ExportError, match=r"IndexPut .*layer 1\.1 \(Poke\)"):
        _proto(model, gradcnn.randn(2, 3))


def test_an_in_place_change_after_the_op_is_refused():
    def bump(x):
        y = x * 2.0
        y.add_(1.0)
        return y

    with pytest.raises(ExportError, match="in place"):
        _proto(Fn(bump), gradcnn.randn(2, 3))


def test_the_model_must_return_tensors():
    with pytest.raises(ExportError, match="must return a Tensor"):
        _proto(Fn(lambda x: {"y": x}), gradcnn.randn(2, 3))


def test_arguments_are_checked(tmp_path):
    model = nn.Linear(3, 2)
    x = gradcnn.randn(2, 3)
    with pytest.raises(DTypeError, match="Module"):
        export(lambda t: t, x, tmp_path / "m.onnx")
    with pytest.raises(DTypeError, match="opset_version must be an int"):
        export(model, x, tmp_path / "m.onnx", opset_version=True)
    with pytest.raises(ShapeError, match=r"opset_version 12 is outside the supported range \[13, "):
        export(model, x, tmp_path / "m.onnx", opset_version=12)
    with pytest.raises(ShapeError, match="outside the supported range"):
        export(model, x, tmp_path / "m.onnx", opset_version=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(DTypeError, match="example_input"):
        export(model, [1.0, 2.0], tmp_path / "m.onnx")
    with pytest.raises(ShapeError, match="input_names"):
        export(model, x, tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(ExportError, match="output_names"):
        export(model, x, tmp_path / "m.onnx", output_names=["a", "b"])
    with pytest.raises(ShapeError, match="batch dim"):
        export(Fn(lambda t: t * 2), gradcnn.tensor(3.0), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_a_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ExportError, match=r"gradcnn\[onnx\]"):
        export(nn.Linear(2, 2), gradcnn.randn(1, 2), tmp_path / "m.onnx")


# -- the trace leaves the model as it was ---------------------------------------------------------


def test_modes_forward_and_statistics_are_restored():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5), nn.Sequential(nn.ReLU()))
    model.train()
    model[3].eval()  # a mix of modes comes back as it was
    before = [m.training for m in model.modules()]
    stats = model[1].running_mean.numpy().copy(), model[1].num_batches_tracked.item()
    proto = _proto(model, gradcnn.randn(2, 1, 5, 5))
    assert [m.training for m in model.modules()] == before
    assert all("forward" not in m.__dict__ for m in model.modules())
    assert np.array_equal(model[1].running_mean.numpy(), stats[0])
    assert model[1].num_batches_tracked.item() == stats[1]
    assert "Dropout" not in ops(proto)  # eval mode: dropout is the identity
    _agree(model, proto, _randn(3, 1, 5, 5))  # _agree puts the model in eval mode


# -- names, several inputs and outputs, opsets, files ---------------------------------------------


def test_several_inputs_and_outputs_with_names():
    model = Fn(lambda a, b: (a + b, a * b.sum(1, keepdim=True), a))
    proto = _proto(model, (gradcnn.randn(2, 3), gradcnn.randn(2, 3)), input_names=["a", "b"],
                   output_names=["sum", "scaled", "same"])
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["sum", "scaled", "same"]
    _agree(model, proto, _randn(4, 3), _randn(4, 3, seed=1))


def test_the_default_opset_is_the_newest_both_packages_run_up_to_21():
    opset = default_opset()
    assert MIN_OPSET <= opset <= min(MAX_DEFAULT_OPSET, onnx.defs.onnx_opset_version())
    proto = _proto(nn.Linear(2, 2), gradcnn.randn(1, 2))
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", opset)]
    assert proto.ir_version == onnx.helper.find_min_ir_version_for(list(proto.opset_import))


@pytest.mark.parametrize("opset", [MIN_OPSET, 17, 18])
def test_older_opsets_run_too(opset):
    # Reductions took their axes as an attribute before opset 18: both spellings are written.
    proto = check(lambda x: F.softmax(x, 1) + x.amin(1, keepdim=True) + F.max_pool1d(x, 2).sum(), 4, 6,
                  opset_version=opset)
    assert proto.opset_import[0].version == opset


def test_export_writes_a_path_or_a_file_object(tmp_path):
    model = nn.Linear(3, 2)
    export(model, gradcnn.randn(1, 3), tmp_path / "m.onnx")
    export(model, gradcnn.randn(1, 3), str(tmp_path / "n.onnx"))
    buffer = io.BytesIO()
    export(model, gradcnn.randn(1, 3), buffer)
    assert onnx.load(str(tmp_path / "m.onnx")) == onnx.load(str(tmp_path / "n.onnx"))
    assert onnx.load_from_string(buffer.getvalue()).graph == onnx.load(str(tmp_path / "m.onnx")).graph
    assert export(model, gradcnn.randn(1, 3), io.BytesIO()) is None


def test_a_numpy_example_input_is_accepted():
    model = nn.Linear(3, 2)
    _agree(model, _proto(model, _randn(2, 3)), _randn(5, 3))


@pytest.mark.gpu
def test_a_model_on_the_gpu_exports_the_same_graph():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AdaptiveAvgPool2d((3, 3)), nn.Flatten(), nn.Linear(27, 4))
    x = _randn(2, 2, 8, 8)
    on_cpu = _proto(model, gradcnn.from_numpy(x))
    model.cuda()
    on_gpu = _proto(model, gradcnn.from_numpy(x).cuda())
    assert on_gpu.graph == on_cpu.graph
    assert all(p.device == "cuda:0" for p in model.parameters())
    model.cpu()
    _agree(model, on_gpu, _randn(3, 2, 8, 8))


def test_weights_past_the_protobuf_limit_go_to_a_side_file(tmp_path, monkeypatch):
    import gradcnn.onnx as gradcnn_onnx

    monkeypatch.setattr(gradcnn_onnx, "_TWO_GIB", 1000)  # as if the weights passed 2 GiB
    model = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 3))
    path = tmp_path / "big.onnx"
    export(model, gradcnn.randn(2, 30), path)
    assert (tmp_path / "big.onnx.data").stat().st_size >= 4 * 30 * 20  # small tensors stay inline
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _randn(4, 30)
    with gradcnn.no_grad():
        ref = model.eval()(gradcnn.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ExportError, match="side file"):
        export(model, gradcnn.randn(2, 30), io.BytesIO())


# -- the primitives added for ported programs ------------------------------------------------------


@pytest.mark.parametrize("name, fn", [
    ("Sin", lambda x: gradcnn.sin(x)), ("Cos", lambda x: gradcnn.cos(x)),
    ("Asin", lambda x: gradcnn.asin(x.tanh())), ("Atan", lambda x: gradcnn.atan(x)),
    ("CumSum", lambda x: gradcnn.cumsum(x, 2)),
])
def test_new_primitives(name, fn):
    assert name in ops(check(fn, 2, 3, 4))


def test_gather_exports_as_gather_elements_at_a_fixed_batch():
    index = gradcnn.tensor(np.array([[[[2, 0], [1, 1], [0, 3]]] * 2] * 2))  # (2, 2, 3, 2)
    proto = check(lambda x: gradcnn.gather(x, 3, index), 2, 3, 4, batches=(2,), dynamic_batch=False)
    assert "GatherElements" in ops(proto)


@pytest.mark.parametrize("mode, kwargs", [("nearest", {"scale_factor": 2}), ("bilinear", {"size": (5, 7)}),
                                          ("bilinear", {"scale_factor": 1.5, "align_corners": True})])
def test_interpolate_exports_as_matrix_products(mode, kwargs):
    proto = check(lambda x: F.interpolate(x, mode=mode, **kwargs), 2, 4, 6)
    assert "MatMul" in ops(proto)


def test_a_module_with_backward_hooks_exports_its_forward():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU())
    model[0].register_full_backward_hook(lambda module, gin, gout: None)
    check(model, 2, 6, 6)
