"""Module, Parameter, containers and init: registration, traversal, modes, state dicts, devices."""

import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import gradcnn
import gradcnn.functional as F
import gradcnn.nn as nn
from gradcnn.errors import AutogradError, DTypeError, IndexOutOfRangeError, ShapeError
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
        (lambda: nn.Linear(3, -1), ShapeError, "out_features must be >= 0, got out_features=-1"),
        (lambda: nn.Dropout(1.5), ShapeError, r"p must be >= 0 and <= 1, got p=1.5"),
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


# -- module API: registration, traversal, lookup -----------------------------------------------------


def test_named_modules_memo_prefix_and_duplicates():
    lin = nn.Linear(1, 1)
    net = nn.Sequential(lin, nn.Sequential(lin, nn.ReLU()))
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "1.1"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "1.0", "1.1"]
    assert [n for n, _ in net.named_modules(prefix="net")] == ["net", "net.0", "net.1", "net.1.1"]
    memo = {id(net[1])}
    assert [n for n, _ in net.named_modules(memo)] == ["", "0"]
    assert [n for n, _ in net.named_parameters(remove_duplicate=False)] == ["0.weight", "0.bias", "1.0.weight",
                                                                             "1.0.bias"]
    assert [n for n, _ in net.named_children()] == ["0", "1"] and list(net.children()) == [lin, net[1]]
    assert len(list(net.modules())) == 4


def test_named_modules_agree_with_torch():
    torch = pytest.importorskip("torch")
    for lib in (nn, torch.nn):
        lin = lib.Linear(1, 1)
        net = lib.Sequential(lin, lib.Sequential(lin, lib.ReLU()), lin)
        names = ([n for n, _ in net.named_modules()], [n for n, _ in net.named_modules(remove_duplicate=False)],
                 [n for n, _ in net.named_children()], [n for n, _ in net.named_parameters(remove_duplicate=False)])
        if lib is nn:
            ours = names
    assert ours == names


def test_add_module_register_module_and_lookups():
    net = nn.Module()
    net.add_module("block", nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    net.register_module("head", nn.Linear(2, 1))
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert net.get_submodule("") is net and isinstance(net.get_submodule("block.1"), nn.BatchNorm2d)
    assert net.get_parameter("block.0.weight") is net.block[0].weight
    assert net.get_buffer("block.1.running_mean") is net.block[1].running_mean
    with pytest.raises(AttributeError, match=r"Sequential has no attribute `2`"):
        net.get_submodule("block.2")
    with pytest.raises(AttributeError, match=r"`weight` is not an nn.Module"):
        net.get_submodule("head.weight")
    with pytest.raises(AttributeError, match=r"`running_mean` is not an nn.Parameter"):
        net.get_parameter("block.1.running_mean")
    with pytest.raises(AttributeError, match=r"`weight` is not a buffer"):
        net.get_buffer("head.weight")
    with pytest.raises(AttributeError, match=r"Linear has no attribute `foo`"):
        net.get_parameter("head.foo")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m: m.add_module("a.b", nn.ReLU()), StateDictError, r"module name must be non-empty and without '\.', got 'a\.b'"),
        (lambda m: m.add_module("", nn.ReLU()), StateDictError, r"got ''"),
        (lambda m: m.add_module(3, nn.ReLU()), DTypeError, r"a module name must be a str, got int"),
        (lambda m: m.add_module("x", 5), DTypeError, r"add_module: 'x' must be a Module or None, got int"),
        (lambda m: m.add_module("training", nn.ReLU()), StateDictError, r"already has an attribute 'training'"),
        (lambda m: m.register_buffer("a.b", gradcnn.zeros(1)), StateDictError, r"buffer name"),
        (lambda m: m.register_parameter("", None), StateDictError, r"parameter name"),
        (lambda m: setattr(m, "lin", 3), DTypeError, r"Holder\.lin is a sub-module: assign a Module or None, not int"),
        (lambda m: m.train("yes"), ShapeError, r"Holder\.train: mode must be a bool, got 'yes'"),
    ],
)
def test_registration_errors(call, error, message):
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(1, 1)

    with pytest.raises(error, match=message):
        call(Holder())


def test_train_calls_each_childs_train_and_returns_self():
    class FrozenBN(nn.BatchNorm2d):
        def train(self, mode=True):
            return super().train(False)  # a common trick: batch norm stays in eval

    net = nn.Sequential(nn.Conv2d(1, 1, 1), FrozenBN(1))
    assert net.train() is net and net.training and net[0].training and not net[1].training
    assert net.eval() is net and not any(m.training for m in net.modules())


def test_zero_grad_requires_grad_and_apply_return_values():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    net(gradcnn.randn(3, 2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    assert net.requires_grad_(False) is net and not any(p.requires_grad for p in net.parameters())
    assert net.apply(lambda m: None) is net


def test_repr_lists_every_child_slot():
    lin = nn.Linear(1, 1)
    assert repr(nn.Sequential(lin, lin)).count("Linear(in_features=1") == 2


# -- hooks ----------------------------------------------------------------------------------------


def test_forward_hooks_replace_arguments_and_results_and_are_removable():
    lin = nn.Linear(2, 2)
    x = gradcnn.ones(1, 2)
    plain = lin(x).detach().numpy()
    calls = []
    pre = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = lin.register_forward_hook(lambda m, args, out: out + 100)
    first = lin.register_forward_hook(lambda m, args, out: calls.append("first"), prepend=True)
    np.testing.assert_allclose(lin(x).detach().numpy(), lin.bias.detach().numpy()[None] + 100, rtol=1e-6)
    assert calls == ["first"]
    pre.remove(), post.remove(), first.remove()
    np.testing.assert_array_equal(lin(x).detach().numpy(), plain)
    assert not lin._forward_hooks and not lin._forward_pre_hooks
    # a non-tuple result of a pre-hook is wrapped in one, as in PyTorch
    with lin.register_forward_pre_hook(lambda m, args: args[0] * 0):
        np.testing.assert_allclose(lin(x).detach().numpy(), lin.bias.detach().numpy()[None], rtol=1e-6)
    np.testing.assert_array_equal(lin(x).detach().numpy(), plain)


def test_forward_hooks_with_kwargs_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            if scale < 0:
                raise ValueError("negative scale")
            return x * scale

    m = Scale()
    seen = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": kwargs["scale"] * 2}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs["scale"]), with_kwargs=True)
    assert m(gradcnn.ones(1), scale=3.0).item() == 6.0 and seen == [6.0]
    called = []
    m.register_forward_hook(lambda mod, args, out: called.append(out), always_call=True)
    with pytest.raises(ValueError, match="negative scale"):
        m(gradcnn.ones(1), scale=-1.0)
    assert called == [None]
    bad = Scale()
    bad.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(DTypeError, match=r"must return None or \(args, kwargs\), got 5"):
        bad(gradcnn.ones(1))


class TwoOut(nn.Module):
    def forward(self, a, b, scale=1.0):
        return a * b * scale, a + b


def test_full_backward_hooks_see_and_replace_gradients():
    m = TwoOut()
    log = []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", [g is not None for g in go])))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("full", [None if g is None else g.numpy().tolist()
                                                                             for g in gi], [g is not None for g in go])))
    a = gradcnn.tensor([1.0, 2.0], requires_grad=True)
    b = gradcnn.tensor([3.0, 4.0])
    y1, _ = m(a, b, scale=2.0)
    y1.sum().backward()
    # grad_output: None for the unused output; grad_input: zeros for the argument that needs no
    # gradient, as PyTorch gives them
    assert log == [("pre", [True, False]), ("full", [[6.0, 8.0], [0.0, 0.0]], [True, False])]
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 7,))
    x = gradcnn.randn(3, 2, requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 2), 7.0))
    lin.weight.grad = None
    lin2 = nn.Linear(2, 2)
    lin2.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
    x2 = gradcnn.randn(3, 2, requires_grad=True)
    lin2(x2).sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), 2 * lin2.weight.detach().numpy().sum(0)[None].repeat(3, 0), rtol=1e-6)


def test_full_backward_hooks_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 2))
    results = []
    for lib, tensor in ((nn, gradcnn.tensor), (torch.nn, torch.tensor)):
        lin = lib.Linear(2, 3, bias=False).double()
        with (gradcnn.no_grad() if lib is nn else torch.no_grad()):
            lin.weight.copy_(tensor(w))
        got = []
        lin.register_full_backward_hook(lambda m, gi, go, got=got: got.append((gi[0].detach().numpy().copy(),
                                                                               go[0].detach().numpy().copy())))
        xt = tensor(x)
        xt.requires_grad_(True)
        (lin(xt) ** 2).sum().backward()
        results.append(got[0])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_full_backward_hook_without_inputs_requiring_grad_warns_and_must_return_none():
    lin = nn.Linear(2, 2)
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append(gi))
    with pytest.warns(UserWarning, match="no argument of the call requires grad"):
        lin(gradcnn.randn(3, 2)).sum().backward()
    assert seen == [(None,)]
    bad = nn.Linear(2, 2)
    bad.register_full_backward_hook(lambda mod, gi, go: (gradcnn.ones(3, 2),))
    with pytest.warns(UserWarning), pytest.raises(AutogradError, match="must return None, or None for every gradient"):
        bad(gradcnn.randn(3, 2)).sum().backward()
    wrong = nn.Linear(2, 2)
    wrong.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(AutogradError, match=r"must return None or a tuple of 1 gradients .* got 2 entries"):
        wrong(gradcnn.randn(3, 2, requires_grad=True)).sum().backward()


def test_outputs_of_a_hooked_call_refuse_in_place_changes_and_share_versions():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda *args: None)
    out = lin(gradcnn.randn(3, 2, requires_grad=True))
    with pytest.raises(AutogradError, match="in-place change of a view"):
        out.add_(1)


def test_backward_hooks_allow_second_derivatives_and_run_once_per_call():
    lin = nn.Linear(2, 1).double()
    calls = []
    lin.register_full_backward_hook(lambda m, gi, go: calls.append(len(gi)))
    x = gradcnn.randn(3, 2, dtype=np.float64, requires_grad=True)
    gradcnn.testing.gradgradcheck(lambda t: lin(t) ** 2, x)
    y = lin(x) + lin(x * 2)
    calls.clear()
    y.sum().backward()
    assert calls == [1, 1]


def test_no_hooks_run_without_grad_mode():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda *args: pytest.fail("backward hook ran"))
    with gradcnn.no_grad():
        out = lin(gradcnn.randn(1, 2, requires_grad=True))
    assert out.grad_fn is None


# -- lazy modules ---------------------------------------------------------------------------------


def d2l_lenet():
    return nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.LazyLinear(120), nn.Sigmoid(), nn.LazyLinear(84), nn.Sigmoid(), nn.LazyLinear(10))


def test_textbook_lazy_lenet_initializes_then_trains():
    gradcnn.manual_seed(0)
    net = d2l_lenet()
    opt = gradcnn.optim.SGD(net.parameters(), lr=0.5)  # built on the placeholders, as PyTorch allows
    assert all(isinstance(p, nn.UninitializedParameter) for p in net.parameters())
    with pytest.raises(ShapeError, match=r"numel: this UninitializedParameter has no shape or values yet"):
        sum(p.numel() for p in net.parameters())
    net(gradcnn.randn(1, 1, 28, 28))  # the dummy forward
    assert [type(net[i]) for i in (0, 3, 7, 9, 11)] == [nn.Conv2d, nn.Conv2d, nn.Linear, nn.Linear, nn.Linear]
    assert (net[0].in_channels, net[3].in_channels, net[7].in_features, net[9].in_features) == (1, 6, 400, 120)
    assert sum(p.numel() for p in net.parameters()) == 61_706

    def init_cnn(module):  # d2l's init: type(), not isinstance()
        if type(module) == nn.Linear or type(module) == nn.Conv2d:  # noqa: E721
            nn.init.xavier_uniform_(module.weight)

    net.apply(init_cnn).to("cpu")
    x, y = gradcnn.randn(16, 1, 28, 28), gradcnn.randint(0, 10, (16,))
    losses = []
    for _ in range(4):
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    fresh = d2l_lenet()
    fresh.load_state_dict(net.state_dict())  # placeholders take the checkpoint's shapes
    np.testing.assert_array_equal(fresh(x).detach().numpy(), net(x).detach().numpy())
    assert (type(fresh[7]), fresh[7].in_features) == (nn.Linear, 400)


def test_lazy_modules_match_torch_behaviour():
    torch = pytest.importorskip("torch")
    for lib, randn in ((nn, gradcnn.randn), (torch.nn, torch.randn)):
        lin = lib.LazyLinear(3)
        assert repr(lin) == "LazyLinear(in_features=0, out_features=3, bias=True)"
        assert repr(lin.weight) == "<UninitializedParameter>" and list(lin.state_dict()) == ["weight", "bias"]
        lin(randn(2, 5))
        assert type(lin) is lib.Linear and tuple(lin.weight.shape) == (3, 5) and type(lin.weight) is lib.Parameter
        bn = lib.LazyBatchNorm2d()
        assert [type(b).__name__ for b in bn.buffers()] == ["UninitializedBuffer", "UninitializedBuffer", "Tensor"]
        bn(randn(2, 4, 3, 3))
        assert type(bn) is lib.BatchNorm2d and bn.num_features == 4 and int(bn.num_batches_tracked) == 1
        conv = lib.LazyConvTranspose2d(4, 3, groups=2)
        conv(randn(1, 6, 5, 5))
        assert tuple(conv.weight.shape) == (6, 2, 3, 3) and conv.in_channels == 6


def test_lazy_modules_keep_device_dtype_and_optimizer_state():
    conv = nn.LazyConv2d(4, 3).double().to("cpu")
    assert conv.weight.dtype == np.float64
    adam = gradcnn.optim.Adam(conv.parameters(), lr=1e-3)
    weight = conv.weight
    conv(gradcnn.randn(2, 3, 5, 5, dtype=np.float64)).sum().backward()
    adam.step()
    assert conv.weight is weight and weight.dtype == np.float64 and weight.shape == (4, 3, 3, 3)
    assert adam.state[weight]["exp_avg"].shape == (4, 3, 3, 3)


def test_lazy_initialization_validates_the_input():
    with pytest.raises(ShapeError, match=r"LazyConv2d: expected 3-D \(unbatched\) or 4-D \(batched\) input, got shape \(2, 3\)"):
        nn.LazyConv2d(4, 3)(gradcnn.zeros(2, 3))
    with pytest.raises(ShapeError, match=r"LazyConv2d: in_channels \(3\) and out_channels \(4\) must both be divisible by groups \(2\)"):
        nn.LazyConv2d(4, 3, groups=2)(gradcnn.zeros(1, 3, 5, 5))
    with pytest.raises(ShapeError, match=r"LazyConv2d: in_channels \(0\) and out_channels \(5\) must both be divisible by groups \(2\)"):
        nn.LazyConv2d(5, 3, groups=2)
    with pytest.raises(ShapeError, match=r"LazyBatchNorm2d: expected 4-D input, got shape \(2, 3\)"):
        nn.LazyBatchNorm2d()(gradcnn.zeros(2, 3))
    with pytest.raises(ShapeError, match=r"LazyLinear: in_features must be a positive int, got 0"):
        nn.LazyLinear(3)(gradcnn.zeros(2, 0))
    lazy = nn.LazyLinear(2)
    with pytest.raises(ShapeError, match=r"ndim: this UninitializedParameter"):
        nn.init.xavier_uniform_(lazy.weight)


def test_loading_an_uninitialized_state_into_an_initialized_module_is_reported():
    with pytest.raises(StateDictError, match=r"weight: checkpoint uninitialized, model \(2, 3\)"):
        nn.Linear(3, 2).load_state_dict(nn.LazyLinear(2).state_dict())


# -- new layers: construction checks and torch parity ---------------------------------------------


@pytest.mark.parametrize(
    "build, error, match",
    [
        (lambda: nn.GroupNorm(3, 4), ShapeError, r"GroupNorm: num_channels \(4\) must be divisible by num_groups \(3\)"),
        (lambda: nn.GroupNorm(0, 4), ShapeError, r"GroupNorm: num_groups must be a positive int, got 0"),
        (lambda: nn.LayerNorm(()), ShapeError, r"LayerNorm: normalized_shape must name at least one dim, got \(\)"),
        (lambda: nn.LayerNorm(-1), ShapeError, r"LayerNorm: normalized_shape must be non-negative, got \(-1,\)"),
        (lambda: nn.LayerNorm(3.0), DTypeError, r"LayerNorm: normalized_shape must be an int or a tuple"),
        (lambda: nn.LayerNorm(3, eps=-1), ShapeError, r"LayerNorm: eps must be >= 0, got eps=-1"),
        (lambda: nn.BatchNorm2d(3, eps=-1), ShapeError, r"BatchNorm2d: eps must be >= 0, got eps=-1"),
        (lambda: nn.Dropout2d(1.5), ShapeError, r"Dropout2d: p must be >= 0 and <= 1, got p=1.5"),
        (lambda: nn.Upsample(), ShapeError, r"Upsample: give size or scale_factor$"),
        (lambda: nn.Upsample(size=3, scale_factor=2), ShapeError, r"Upsample: give size or scale_factor, not both"),
        (lambda: nn.Upsample(size=3, mode="foo"), ShapeError, r"Upsample: mode 'foo' is not one of"),
        (lambda: nn.Upsample(size=3, align_corners=True), ShapeError, r"Upsample: align_corners=True is only for"),
        (lambda: nn.Upsample(scale_factor=0), ShapeError, r"Upsample: scale_factor must be positive and finite"),
        (lambda: nn.Unflatten(1, (2, 2.5)), DTypeError, r"Unflatten: unflattened_size must be a tuple of ints"),
        (lambda: nn.Unflatten(1, (-1, -1)), ShapeError, r"may hold one -1"),
        (lambda: nn.Softmax2d()(gradcnn.zeros(2, 3)), ShapeError, r"Softmax2d: expected 3-D \(C, H, W\) or 4-D"),
        (lambda: nn.DataParallel("net"), DTypeError, r"DataParallel: expected a Module, got str"),
    ],
)
def test_new_layer_configurations_are_checked_at_construction(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_new_layers_agree_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cases = [
        (lambda lib: lib.LayerNorm((3, 4)), (2, 5, 3, 4)),
        (lambda lib: lib.LayerNorm(4, elementwise_affine=False), (2, 3, 4)),
        (lambda lib: lib.GroupNorm(2, 4), (3, 4, 2, 2)),
        (lambda lib: lib.GroupNorm(4, 4, affine=False), (3, 4, 5)),
        (lambda lib: lib.Upsample(scale_factor=2, mode="bilinear", align_corners=False), (2, 3, 4, 5)),
        (lambda lib: lib.Upsample(size=(7, 3)), (2, 3, 4, 5)),
        (lambda lib: lib.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3, 3)),
        (lambda lib: lib.UpsamplingNearest2d(size=5), (1, 2, 3, 3)),
        (lambda lib: lib.Softmax2d(), (2, 3, 2, 2)),
        (lambda lib: lib.Unflatten(1, (2, 3)), (4, 6)),
        (lambda lib: lib.BatchNorm2d(3, bias=False), (4, 3, 2, 2)),
    ]
    for build, shape in cases:
        x = rng.standard_normal(shape)
        ours, theirs = build(nn).double(), build(torch.nn).double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        gx, tx = gradcnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, t = ours(gx), theirs(tx)
        np.testing.assert_allclose(y.detach().numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)
        seed = np.linspace(-1, 1, y.numel()).reshape(y.shape)
        y.backward(gradcnn.tensor(seed))
        t.backward(torch.tensor(seed))
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
        for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_reprs_follow_the_conventions():
    # PyTorch's: conv and linear show what differs from the defaults, norms, dropout and pools show all.
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.LayerNorm((2, 3), eps=1e-3, bias=False)) == (
        "LayerNorm((2, 3), eps=0.001, elementwise_affine=True, bias=False)")
    assert repr(nn.GroupNorm(2, 4, affine=False)) == "GroupNorm(2, 4, eps=1e-05, affine=False, bias=False)"
    assert repr(nn.BatchNorm2d(3, bias=False)) == (
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=False, track_running_stats=True)")
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert repr(nn.Upsample(size=(3, 4), mode="bilinear")) == "Upsample(size=(3, 4), mode='bilinear')"
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"
    assert repr(nn.LazyConv2d(8, 3)) == "LazyConv2d(0, 8, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    assert repr(nn.Conv2d(1, 2, 3, padding="same")) == "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=same)"
    assert repr(nn.ZeroPad2d(1)) == "ZeroPad2d((1, 1, 1, 1))"


def test_reprs_are_pytorchs():
    torch = pytest.importorskip("torch", reason="the comparison needs torch")
    layers = [
        ("MaxPool2d", (3, 2, 1), {}), ("MaxPool1d", (2,), {"ceil_mode": True}), ("AvgPool2d", (2,), {}),
        ("AvgPool2d", (3, 2, 1), {"ceil_mode": True, "count_include_pad": False}), ("AvgPool1d", (3,), {}),
        ("BatchNorm2d", (4,), {}), ("BatchNorm1d", (3,), {"momentum": 0.2, "affine": False}),
        ("LayerNorm", ([2, 3],), {"elementwise_affine": False}), ("GroupNorm", (2, 4), {}),
        ("Dropout", (), {}), ("Dropout", (0.2,), {"inplace": True}), ("Dropout1d", (0.3,), {}),
        ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("LeakyReLU", (0.2,), {"inplace": True}),
        ("ELU", (), {}), ("RReLU", (), {}), ("Conv2d", (1, 2, 3), {"padding": "same"}),
        ("Conv2d", (2, 2, 3), {"groups": 2, "bias": False, "padding": 1, "stride": 2}),
        ("ConvTranspose2d", (2, 3, 2), {"stride": 2}), ("ZeroPad2d", (1,), {}), ("ConstantPad2d", (1, 2.0), {}),
        ("LazyBatchNorm2d", (), {}), ("Linear", (3, 4), {"bias": False}), ("Embedding", (10, 3), {"padding_idx": 0}),
    ]
    for name, args, kwargs in layers:
        assert repr(getattr(nn, name)(*args, **kwargs)) == repr(getattr(torch.nn, name)(*args, **kwargs))


def test_data_parallel_is_a_pass_through_with_module_prefixed_state():
    torch = pytest.importorskip("torch")
    net = nn.DataParallel(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    assert list(net.state_dict()) == list(torch.nn.DataParallel(torch.nn.Sequential(
        torch.nn.Linear(3, 2), torch.nn.ReLU())).state_dict()) == ["module.0.weight", "module.0.bias"]
    x = gradcnn.randn(4, 3)
    np.testing.assert_array_equal(net(x).detach().numpy(), net.module(x).detach().numpy())
    with pytest.warns(UserWarning, match=r"device_ids \[0, 1\] beyond the first are not used"):
        nn.DataParallel(nn.Linear(1, 1), device_ids=[0, 1])


def test_batch_norm_layers_on_an_empty_batch_follow_torch():
    torch = pytest.importorskip("torch")
    for train in (True, False):
        ours, theirs = nn.BatchNorm2d(3).train(train), torch.nn.BatchNorm2d(3).train(train)
        y, t = ours(gradcnn.zeros(0, 3, 4, 4)), theirs(torch.zeros(0, 3, 4, 4))
        assert y.shape == tuple(t.shape)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
        np.testing.assert_array_equal(ours.running_mean.numpy(), theirs.running_mean.numpy())
        np.testing.assert_array_equal(ours.running_var.numpy(), theirs.running_var.numpy())
    assert nn.LocalResponseNorm(2)(gradcnn.zeros(0, 3, 4, 4)).shape == (0, 3, 4, 4)
    with pytest.raises(ShapeError, match=r"training needs more than one value per channel"):
        nn.BatchNorm1d(3)(gradcnn.zeros(1, 3))


def test_activation_and_norm_layers_propagate_nan_like_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[[[np.nan, 1.0], [-2.0, 0.5]], [[0.3, -0.1], [1.5, -3.0]], [[1.0, 2.0], [3.0, 4.0]]]])
    x = np.concatenate([x, x[:, ::-1] * 0.5 + 0.1], 0)
    builds = [
        lambda lib: lib.ReLU(), lambda lib: lib.LeakyReLU(), lambda lib: lib.PReLU(), lambda lib: lib.ELU(),
        lambda lib: lib.Sigmoid(),
        lambda lib: lib.Tanh(), lambda lib: lib.Softmax(1), lambda lib: lib.LogSoftmax(1), lambda lib: lib.Softmax2d(),
        lambda lib: lib.BatchNorm2d(3), lambda lib: lib.BatchNorm2d(3).eval(), lambda lib: lib.LayerNorm(2),
        lambda lib: lib.GroupNorm(3, 3), lambda lib: lib.LocalResponseNorm(2), lambda lib: lib.Dropout2d(1.0),
        lambda lib: lib.Upsample(scale_factor=2, mode="bilinear"), lambda lib: lib.RReLU().eval(),
    ]
    for build in builds:
        ours, theirs = build(nn).double(), build(torch.nn).double()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's word on the NaN in softmax's max
            y = ours(gradcnn.tensor(x)).detach().numpy()
        t = theirs(torch.tensor(x)).detach().numpy()
        np.testing.assert_array_equal(np.isnan(y), np.isnan(t), err_msg=repr(ours))
        np.testing.assert_allclose(y, t, rtol=1e-6, atol=1e-10, err_msg=repr(ours))


@pytest.mark.gpu
def test_lazy_modules_hooks_and_new_layers_on_cuda():
    net = nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.GroupNorm(2, 4), nn.ReLU(),
                        nn.Dropout2d(0.5), nn.Upsample(scale_factor=2, mode="bilinear"), nn.Flatten(),
                        nn.LayerNorm(4 * 8 * 8), nn.LazyLinear(3)).to("cuda")
    assert all(p.device.startswith("cuda") for p in net.parameters())
    grads = []
    net[0].register_full_backward_hook(lambda m, gi, go: grads.append(go[0].device))
    x = gradcnn.randn(2, 3, 4, 4, device="cuda", requires_grad=True)
    net(x).sum().backward()
    assert type(net[0]) is nn.Conv2d and net[0].weight.device.startswith("cuda")
    assert grads and grads[0].startswith("cuda") and x.grad.device.startswith("cuda")
    assert all(p.grad is not None and p.grad.device.startswith("cuda") for p in net.parameters())


def test_load_state_dict_result_prints_as_pytorchs():
    lin = nn.Linear(2, 2)
    assert repr(lin.load_state_dict(lin.state_dict())) == "<All keys matched successfully>"
    state = lin.state_dict()
    del state["bias"]
    state["extra"] = gradcnn.ones(1)
    result = lin.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["extra"]
    assert str(result) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['extra'])"


def test_parameter_classes_live_at_pytorchs_address_too():
    from gradcnn.nn.parameter import Buffer, Parameter, UninitializedParameter

    assert Parameter is nn.Parameter and Buffer is nn.Buffer and UninitializedParameter is nn.UninitializedParameter
    assert nn.parameter.UninitializedBuffer is nn.UninitializedBuffer


def test_module_to_takes_pytorchs_keywords():
    lin = nn.Linear(2, 2)
    weight = lin.weight
    assert lin.to("cpu", non_blocking=True) is lin and lin.weight is weight
    assert lin.to(gradcnn.float64, memory_format=None).weight.dtype == np.float64
