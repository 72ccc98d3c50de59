"""Module, Parameter, containers and init: registration, traversal, modes, state dicts, devices."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
import gradcnn.nn as nn
from gradcnn.errors import DTypeError, IndexOutOfRangeError, ShapeError
from gradcnn.nn import StateDictError


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))
        self.register_buffer("steps", gradcnn.zeros(1))
        self.register_buffer("scratch", gradcnn.zeros(2), persistent=False)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x))) * self.scale


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def test_registration_and_traversal_order():
    b = Block()
    assert [n for n, _ in b.named_parameters()] == ["scale", "conv.weight", "conv.bias", "bn.weight", "bn.bias"]
    assert [n for n, _ in b.named_buffers()] == [
        "steps", "scratch", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert [n for n, _ in b.named_modules()] == ["", "conv", "bn"]
    assert list(b.state_dict()) == ["scale", "steps", "conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                    "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert all(p.requires_grad for p in b.parameters())


def test_lenet5_parameter_count():
    assert sum(p.numel() for p in lenet5().parameters()) == 61_706


def test_shared_parameters_are_counted_once():
    lin = nn.Linear(3, 3)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(net.parameters())) == 2


def test_train_eval_reach_every_module():
    net = nn.Sequential(nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(3)))
    assert net.eval() is net and not any(m.training for m in net.modules())
    assert all(m.training for m in net.train().modules())


def test_state_dict_round_trip_and_in_place_load():
    gradcnn.manual_seed(0)
    a, b = Block(), Block()
    w = b.conv.weight
    b.load_state_dict(a.state_dict())
    assert b.conv.weight is w  # loaded in place: optimizers keep their references
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), b.state_dict()[k].numpy())
    b.load_state_dict({k: v.numpy() for k, v in a.state_dict().items()})  # arrays work too


def test_load_state_dict_lists_every_problem():
    b = Block()
    sd = b.state_dict()
    del sd["conv.bias"]
    sd["extra.weight"] = gradcnn.zeros(1)
    sd["bn.weight"] = gradcnn.zeros(4)
    with pytest.raises(StateDictError) as info:
        b.load_state_dict(sd)
    msg = str(info.value)
    assert "missing keys ['conv.bias']" in msg and "unexpected keys ['extra.weight']" in msg
    assert "bn.weight: checkpoint (4,), model (3,)" in msg
    sd["bn.weight"] = gradcnn.ones(3)
    result = b.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["conv.bias"] and result.unexpected_keys == ["extra.weight"]


def test_to_dtype_keeps_parameter_identity_and_skips_integer_buffers():
    b = Block()
    w = b.conv.weight
    b.double()
    assert b.conv.weight is w and w.dtype == np.float64
    assert b.bn.num_batches_tracked.dtype == np.int64
    y = b(gradcnn.randn(2, 2, 4, 4, dtype=gradcnn.float64))
    assert y.dtype == np.float64
    with pytest.raises(DTypeError, match="only floating dtypes"):
        b.to(gradcnn.int32)


def test_zero_grad_and_apply():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    net(gradcnn.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Sequential"]


def test_default_init_bounds_match_pytorch():
    gradcnn.manual_seed(3)
    conv = nn.Conv2d(8, 16, 3)
    bound = 1 / math.sqrt(8 * 9)  # kaiming_uniform(a=sqrt(5)) gives 1/sqrt(fan_in)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound and np.abs(conv.weight.detach().numpy()).max() > 0.9 * bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound
    emb = nn.Embedding(1000, 8, padding_idx=0)
    assert abs(emb.weight.detach().numpy()[1:].std() - 1) < 0.05 and not emb.weight.detach().numpy()[0].any()


def test_init_functions():
    t = nn.Parameter(np.zeros((256, 128), dtype=np.float32))
    nn.init.kaiming_normal_(t, nonlinearity="relu")
    assert abs(t.detach().numpy().std() - math.sqrt(2 / 128)) < 0.01
    nn.init.xavier_uniform_(t)
    assert np.abs(t.detach().numpy()).max() <= math.sqrt(6 / (128 + 256))
    nn.init.constant_(t, 0.5)
    assert (t.detach().numpy() == 0.5).all()
    with pytest.raises(ShapeError, match="at least 2 dims"):
        nn.init.xavier_normal_(nn.Parameter(np.zeros(3)))


def test_repr_shows_non_default_settings():
    assert repr(nn.Conv2d(3, 8, 3)) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(3, 8, 3, padding=1, groups=1, bias=False)) == (
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)")
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in repr(nn.Sequential(nn.Linear(2, 3)))


def test_containers():
    seq = nn.Sequential(OrderedDict(first=nn.Linear(2, 2), act=nn.Tanh()))
    assert isinstance(seq[1], nn.Tanh) and len(seq) == 2 and isinstance(seq[:1], nn.Sequential)
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(ml.parameters())) == 6 and len(ml[1:]) == 2
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.Linear(1, 2)
    assert list(md.keys()) == ["a", "b"] and "b" in md
    with pytest.raises(IndexOutOfRangeError, match="index 5 is out of range for 2 modules"):
        seq[5]


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: nn.Conv2d(3, 4, 3, groups=2), ShapeError, r"in_channels \(3\) and out_channels \(4\) .* groups \(2\)"),
        (lambda: nn.Conv2d(0, 4, 3), ShapeError, "in_channels must be a positive int, got 0"),
        (lambda: nn.Conv2d(2, 4, 3, padding_mode="reflect"), ShapeError, "padding_mode 'reflect'"),
        (lambda: nn.Linear(3, -1), ShapeError, "out_features must be a positive int, got -1"),
        (lambda: nn.Dropout(1.5), ShapeError, r"p must be a probability in \[0, 1\], got 1.5"),
        (lambda: nn.Embedding(5, 2, padding_idx=7), ShapeError, r"padding_idx 7 is outside \[-5, 5\)"),
        (lambda: nn.Sequential(nn.Linear(1, 1), "relu"), DTypeError, r"Sequential\[1\]: expected a Module, got str"),
        (lambda: nn.BatchNorm2d(3)(gradcnn.zeros(2, 3)), ShapeError, r"expected 4-D input, got shape \(2, 3\)"),
        (lambda: nn.Linear(3, 2)(gradcnn.zeros(2, 4)), ShapeError, r"input \(2, 4\) has 4 features"),
    ],
)
def test_bad_configurations(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_module_without_super_init_is_a_clear_error():
    class Forgot(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(1, 1)

    with pytest.raises(gradcnn.GradcnnError, match=r"super\(\)\.__init__\(\)"):
        Forgot()


def test_batchnorm_running_stats_follow_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((8, 3, 4, 4)).astype(np.float32)
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    for _ in range(3):
        ours(gradcnn.tensor(x))
        theirs(torch.tensor(x))
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.detach().numpy(), rtol=1e-5)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(gradcnn.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-5)
